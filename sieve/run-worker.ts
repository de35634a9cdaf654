// The program of one thread of the Sieve run pool (run-pool.ts): it runs `runScripts` for the runs the main
// thread sends, one at a time, and asks the main thread whatever the run asks of its hooks (the duplicate
// test's memory lives there). The main thread stops the thread when a run passes its time, and the thread
// stops by itself past its memory (Worker resourceLimits): the run is lost, never the message.
import { parentPort } from 'node:worker_threads';
import type { CompiledScript } from './compile.js';
import type { SieveOutcome, SieveRunInput } from './outcome.js';
import { runScripts, type SieveRunSettings } from './run.js';
import type { FromPool, ToPool } from './run-pool.js';

const port = parentPort;
if (!port) throw new Error('sieve/run-worker.js runs in a worker thread of the Sieve run pool');

/** Hook questions waiting for the main thread's answer, by their number. */
const asked = new Map<number, { resolve: (v: boolean) => void; reject: (e: Error) => void }>();
let nextQuestion = 0;
/** The compiled scripts the pool sent, by their number (it sends each once and names it after). */
const scripts = new Map<number, CompiledScript>();

function send(message: ToPool): void {
  port!.postMessage(message);
}

/** A Buffer over the bytes a structured clone gave as a plain Uint8Array. */
function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

async function run(id: number, scripts: readonly CompiledScript[], input: SieveRunInput, settings: SieveRunSettings) {
  const hooks = {
    seen: (key: string) =>
      new Promise<boolean>((resolve, reject) => {
        const question = ++nextQuestion;
        asked.set(question, { resolve, reject });
        send({ type: 'ask', id, question, hook: 'seen', key });
      }),
  };
  try {
    const outcome: SieveOutcome = await runScripts(scripts, { ...input, message: asBuffer(input.message) }, hooks, settings);
    send({ type: 'done', id, outcome });
  } catch (err) {
    send({ type: 'failed', id, error: (err as Error)?.message ?? String(err) });
  }
}

port.on('message', (message: FromPool) => {
  if (message.type === 'run') {
    if (message.forget) scripts.clear();
    for (const s of message.scripts) if (s.script) scripts.set(s.key, s.script);
    const sequence = message.scripts.map((s) => scripts.get(s.key));
    if (sequence.some((s) => s === undefined)) send({ type: 'failed', id: message.id, error: 'a script the pool named is not known here' });
    else void run(message.id, sequence as CompiledScript[], message.input, message.settings);
  } else if (message.type === 'answer') {
    const waiting = asked.get(message.question);
    asked.delete(message.question);
    if (message.error !== undefined) waiting?.reject(new Error(message.error));
    else waiting?.resolve(message.answer === true);
  }
});
send({ type: 'ready' });
