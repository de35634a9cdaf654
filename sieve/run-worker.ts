// The program of one thread of the Sieve run pool (run-pool.ts): it runs `runScripts` for the runs the main
// thread sends, one at a time (and compiles the large scripts it sends, reading their includes from it), and
// asks the main thread whatever the run asks of its hooks (the duplicate test's memory lives there). The main
// thread stops the thread when a run or a compile passes its time, and the thread stops by itself past its
// memory (Worker resourceLimits): the run is lost, never the message.
import { parentPort } from 'node:worker_threads';
import { type CompiledScript, compileScript, SieveCompileError } from './compile.js';
import type { SieveOutcome, SieveRunInput } from './outcome.js';
import { runScripts, type SieveRunSettings } from './run.js';
import type { FromPool, ToPool } from './run-pool.js';

const port = parentPort;
if (!port) throw new Error('sieve/run-worker.js runs in a worker thread of the Sieve run pool');

/** Hook questions waiting for the main thread's answer, by their number. */
const asked = new Map<number, { resolve: (v: boolean | Buffer | null) => void; reject: (e: Error) => void }>();
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

/** Asks the main thread (a hook of the run, an include of the compile) and waits for its answer. */
type Question = { hook: 'seen'; key: string } | { hook: 'include'; name: string; location: 'personal' | 'global' };

function ask(id: number, q: Question): Promise<boolean | Buffer | null> {
  return new Promise((resolve, reject) => {
    const question = ++nextQuestion;
    asked.set(question, { resolve, reject });
    send({ type: 'ask', id, question, ...q });
  });
}

async function compile(id: number, source: Buffer, name: string) {
  try {
    const loadInclude = async (included: string, location: 'personal' | 'global') =>
      (await ask(id, { hook: 'include', name: included, location })) as Buffer | null;
    const compiled = await compileScript(source, { name, loadInclude });
    send({ type: 'compiled', id, warnings: [...compiled.warnings] });
  } catch (err) {
    if (err instanceof SieveCompileError) send({ type: 'compile-failed', id, messages: err.messages });
    else send({ type: 'failed', id, error: (err as Error)?.message ?? String(err) });
  }
}

async function run(id: number, scripts: readonly CompiledScript[], input: SieveRunInput, settings: SieveRunSettings) {
  const hooks = {
    seen: async (key: string) => (await ask(id, { hook: 'seen', key })) === true,
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
  } else if (message.type === 'compile') {
    void compile(message.id, asBuffer(message.source), message.name);
  } else if (message.type === 'answer') {
    const waiting = asked.get(message.question);
    asked.delete(message.question);
    if (message.error !== undefined) waiting?.reject(new Error(message.error));
    else if (message.script !== undefined) waiting?.resolve(message.script === null ? null : asBuffer(message.script));
    else waiting?.resolve(message.answer === true);
  }
});
send({ type: 'ready' });
