// Sieve runs off the event loop: a small pool of worker threads (made when first needed, never keeping the
// process alive while idle, as accounts/crypt-pool.ts) runs `runScripts` (run.ts) with the `sieve:` limits.
// A run that passes sieve.maxCpuTime has its thread terminated and replaced (a backtracking :regex or a body
// test of a huge message then holds neither the event loop nor the other deliveries); a run that passes
// sieve.maxMemory stops its thread by itself (Worker resourceLimits). Either way the answer is the keep into
// INBOX with the reason, never a lost message. The hooks a run calls (the duplicate test) are answered here,
// in the main thread, where the account's memory is; their waiting does not count as the run's time.
//
// A run that cannot take long (run-inline.ts: no :regex, no :matches that backtracks, a small message and
// small scripts) is made in the calling thread: the hop to a thread would cost more than the run.
//
// A large script a client sends (ManageSieve's PUTSCRIPT: up to sieve.maxScriptSize) is compiled on a thread
// too (compile()): a megabyte of rules takes the compiler about half a second, which would hold every session
// of the process; the includes it names are read here and sent over.
//
// The threads load the compiled worker (dist/sieve/run-worker.js): the server always runs from dist/. Loaded
// from the TypeScript sources (vitest's in-process tests), this module cannot start a .ts worker, so it runs
// in the calling thread instead ('in-thread' mode): the same answers, without the time and memory limits.
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { type CompiledScript, type CompileOptions, compileScript, SieveCompileError } from './compile.js';
import type { SieveOutcome, SieveRunHooks, SieveRunInput } from './outcome.js';
import { runScripts, type SieveRunSettings } from './run.js';
import { runsInline } from './run-inline.js';

/** What one run may use (the `sieve:` section's limits) besides what runScripts itself is given. */
export interface SieveRunLimits extends SieveRunSettings {
  /** Milliseconds the run may take on its thread (the hooks' waiting not counted). */
  readonly maxCpuTime: number;
  /** Octets of memory the run's thread may use. */
  readonly maxMemory: number;
}

/** Why the pool stopped a run before it answered (null: the run answered, maybe with its own error). */
export type SieveRunStop = 'time' | 'memory' | 'crash' | null;

export interface SieveRunResult {
  readonly outcome: SieveOutcome;
  readonly stopped: SieveRunStop;
}

/** The keep into INBOX a failed run comes to (RFC 5228 section 2.10.6: the implicit keep), with why. */
export function failedOutcome(error: string): SieveOutcome {
  return {
    actions: [{ kind: 'store', mailbox: 'INBOX', flags: [], create: false, implicit: true }],
    remember: [],
    edited: null,
    error,
    log: [],
  };
}

/** The messages between the pool and a thread (structured clones). */
export type FromPool =
  | {
      type: 'run';
      id: number;
      /**
       * The scripts by their number in the pool: the script itself only when the thread has not had it yet
       * (a thread keeps the scripts it was sent; `forget` first: drop them all, the thread has too many).
       */
      scripts: readonly { key: number; script?: CompiledScript }[];
      forget?: boolean;
      input: SieveRunInput;
      settings: SieveRunSettings;
    }
  | { type: 'compile'; id: number; source: Buffer; name: string }
  | { type: 'answer'; question: number; answer?: boolean; script?: Buffer | null; error?: string };

export type ToPool =
  | { type: 'ready' }
  | { type: 'ask'; id: number; question: number; hook: 'seen'; key: string }
  | { type: 'ask'; id: number; question: number; hook: 'include'; name: string; location: 'personal' | 'global' }
  | { type: 'compiled'; id: number; warnings: string[] }
  | { type: 'compile-failed'; id: number; messages: string[] }
  | { type: 'done'; id: number; outcome: SieveOutcome }
  | { type: 'failed'; id: number; error: string };

/** 'threads': worker threads with limits; 'in-thread': the calling thread (tests over the TypeScript sources only). */
export type SievePoolMode = 'threads' | 'in-thread';

/** Threads when this module was loaded from compiled JavaScript (dist/), the calling thread from TypeScript sources. */
export function defaultPoolMode(): SievePoolMode {
  return import.meta.url.endsWith('.ts') ? 'in-thread' : 'threads';
}

interface RunTask {
  readonly kind: 'run';
  readonly id: number;
  readonly scripts: readonly CompiledScript[];
  readonly input: SieveRunInput;
  readonly hooks: SieveRunHooks;
  readonly limits: SieveRunLimits;
  readonly done: (result: SieveRunResult) => void;
}

/** What a compile on a thread comes to: the compiler's warnings, its error lines, or why the thread failed. */
type CompileAnswer = { warnings: string[] } | { messages: string[] } | { failed: string };

interface CompileTask {
  readonly kind: 'compile';
  readonly id: number;
  readonly source: Buffer;
  readonly options: CompileOptions;
  readonly limits: { readonly maxCpuTime: number; readonly maxMemory: number };
  readonly done: (answer: CompileAnswer) => void;
}

type Task = RunTask | CompileTask;

/** A compile on a thread that did not finish: it passed its time or memory, or the thread failed; the message says which. */
export class SieveCompileStopped extends Error {}

/** A script this small compiles here: the hop to a thread would cost more than the compile (under a millisecond). */
const COMPILED_HERE = 64 * 1024;

interface Thread {
  readonly worker: Worker;
  /** The memory limit it was started with (a reload that changes sieve.maxMemory retires it). */
  readonly maxMemory: number;
  ready: boolean;
  task: Task | null;
  /** Time left to the running task, and since when it is running again (not waiting for a hook). */
  left: number;
  since: number;
  timer: NodeJS.Timeout | null;
  /** The numbers of the scripts the thread keeps. */
  readonly known: Set<number>;
}

/** Scripts a thread keeps before it is told to forget them all. */
const KEPT_SCRIPTS = 1000;

const MB = 1024 * 1024;

/** Buffers come back from a thread as plain Uint8Arrays. */
function buffer(bytes: Uint8Array | null): Buffer | null {
  if (bytes === null) return null;
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function revived(outcome: SieveOutcome): SieveOutcome {
  return {
    ...outcome,
    edited: buffer(outcome.edited),
    actions: outcome.actions.map((a) => (a.kind === 'vacation' ? { ...a, reply: buffer(a.reply)! } : a)),
  };
}

export class SieveRunPool {
  readonly mode: SievePoolMode;
  private readonly size: number;
  private readonly threads = new Set<Thread>();
  private readonly queue: Task[] = [];
  private nextId = 0;
  private closed = false;
  /** Each compiled script's number (the compiler keeps one object per script and content). */
  private readonly keys = new WeakMap<CompiledScript, number>();
  private nextKey = 0;

  private keyOf(script: CompiledScript): number {
    let key = this.keys.get(script);
    if (key === undefined) {
      key = ++this.nextKey;
      this.keys.set(script, key);
    }
    return key;
  }

  constructor(options: { size?: number; mode?: SievePoolMode } = {}) {
    this.mode = options.mode ?? defaultPoolMode();
    // at least two: one run held to its time limit leaves a thread for the other deliveries
    this.size = options.size ?? Math.max(2, Math.min(availableParallelism(), 4));
  }

  /** Runs the scripts in sequence (before, the user's, after) on the message; never rejects. */
  run(scripts: readonly CompiledScript[], input: SieveRunInput, hooks: SieveRunHooks, limits: SieveRunLimits): Promise<SieveRunResult> {
    // a small script on a small message, that cannot backtrack, runs here: the hop to a thread costs more (run-inline.ts)
    if (this.mode === 'in-thread' || runsInline(scripts, input.message.length)) return this.runHere(scripts, input, hooks, limits);
    return new Promise((done) => {
      this.queue.push({ kind: 'run', id: ++this.nextId, scripts, input, hooks, limits, done });
      this.pump();
    });
  }

  /**
   * compileScript (compile.ts) off the event loop for a large script: its warnings, or SieveCompileError with the
   * compiler's lines. The includes are read by `options.loadInclude` here. A thread that fails or passes its
   * time or memory makes it reject with SieveCompileStopped.
   */
  async compile(
    source: Buffer,
    options: CompileOptions,
    limits: { readonly maxCpuTime: number; readonly maxMemory: number },
  ): Promise<{ warnings: readonly string[] }> {
    if (this.mode === 'in-thread' || source.length <= COMPILED_HERE) return { warnings: (await compileScript(source, options)).warnings };
    const answer = await new Promise<CompileAnswer>((done) => {
      this.queue.push({ kind: 'compile', id: ++this.nextId, source, options, limits, done });
      this.pump();
    });
    if ('messages' in answer) throw new SieveCompileError(answer.messages);
    if ('failed' in answer) throw new SieveCompileStopped(answer.failed);
    return answer;
  }

  /** Stops the threads (a run still going gets the keep). */
  async close(): Promise<void> {
    this.closed = true;
    for (const t of [...this.threads]) this.retire(t, 'crash', 'the server is stopping');
    for (const task of this.queue.splice(0)) fail(task, 'the server is stopping', 'crash');
  }

  private async runHere(
    scripts: readonly CompiledScript[],
    input: SieveRunInput,
    hooks: SieveRunHooks,
    limits: SieveRunLimits,
  ): Promise<SieveRunResult> {
    try {
      return { outcome: await runScripts(scripts, input, hooks, limits), stopped: null };
    } catch (err) {
      return { outcome: failedOutcome(`the run failed: ${(err as Error).message}`), stopped: 'crash' };
    }
  }

  private pump(): void {
    while (this.queue.length > 0) {
      const want = this.queue[0].limits.maxMemory;
      // threads made for another memory limit (a reload changed it) go when idle
      for (const t of this.threads) if (t.task === null && t.ready && t.maxMemory !== want) this.retire(t, null, '');
      const idle = [...this.threads].find((t) => t.ready && t.task === null && t.maxMemory === want);
      if (!idle) {
        // as many new threads as runs wait (a thread takes a few hundred ms to load), up to the pool's size
        const starting = [...this.threads].filter((t) => !t.ready).length;
        for (let n = starting; n < this.queue.length && this.threads.size < this.size; n++) this.spawn(want);
        return;
      }
      this.start(idle, this.queue.shift()!);
    }
  }

  private spawn(maxMemory: number): void {
    if (this.closed) return;
    const heap = Math.max(16, Math.floor(maxMemory / MB));
    const worker = new Worker(new URL('./run-worker.js', import.meta.url), {
      resourceLimits: { maxOldGenerationSizeMb: heap, maxYoungGenerationSizeMb: Math.min(16, Math.max(4, heap / 4)) },
      stdout: false,
      stderr: false,
    });
    worker.unref();
    const thread: Thread = { worker, maxMemory, ready: false, task: null, left: 0, since: 0, timer: null, known: new Set() };
    this.threads.add(thread);
    worker.on('message', (m: ToPool) => this.heard(thread, m));
    worker.on('error', (err: Error & { code?: string }) => {
      const memory = err.code === 'ERR_WORKER_OUT_OF_MEMORY';
      this.retire(
        thread,
        memory ? 'memory' : 'crash',
        memory ? 'the run used more memory than sieve.maxMemory' : `the run failed: ${err.message}`,
      );
    });
    worker.on('exit', () => this.retire(thread, 'crash', 'the run stopped'));
  }

  private start(thread: Thread, task: Task): void {
    thread.task = task;
    thread.worker.ref(); // a run under way keeps `postern deliver` alive until it answers
    thread.left = task.limits.maxCpuTime;
    this.resumeClock(thread);
    if (task.kind === 'compile') {
      thread.worker.postMessage({ type: 'compile', id: task.id, source: task.source, name: task.options.name } satisfies FromPool);
      return;
    }
    const { id, input, limits } = task;
    const { maxCpuTime: _time, maxMemory: _memory, ...settings } = limits;
    // a compiled script is copied to a thread once, then named by its number (copying it costs more than a run)
    const keys = task.scripts.map((s) => this.keyOf(s));
    const forget = thread.known.size + keys.length > KEPT_SCRIPTS;
    if (forget) thread.known.clear();
    const scripts = keys.map((key, i) => {
      if (thread.known.has(key)) return { key };
      thread.known.add(key);
      return { key, script: task.scripts[i] };
    });
    thread.worker.postMessage({ type: 'run', id, scripts, forget, input, settings } satisfies FromPool);
  }

  private resumeClock(thread: Thread): void {
    thread.since = performance.now();
    thread.timer = setTimeout(() => {
      thread.timer = null;
      this.retire(thread, 'time', `the run took more than ${thread.task?.limits.maxCpuTime} ms (sieve.maxCpuTime)`);
    }, thread.left);
  }

  private pauseClock(thread: Thread): void {
    if (thread.timer) clearTimeout(thread.timer);
    thread.timer = null;
    thread.left = Math.max(1, thread.left - (performance.now() - thread.since));
  }

  private heard(thread: Thread, m: ToPool): void {
    if (m.type === 'ready') {
      thread.ready = true;
      this.pump();
      return;
    }
    const task = thread.task;
    if (!task || task.id !== m.id) return;
    if (m.type === 'ask') {
      this.pauseClock(thread);
      const failed = (err: Error) => this.answer(thread, task, { type: 'answer', question: m.question, error: err.message });
      if (m.hook === 'include') {
        const load = task.kind === 'compile' ? task.options.loadInclude : undefined;
        (load ? load(m.name, m.location) : Promise.resolve(null)).then(
          (script) => this.answer(thread, task, { type: 'answer', question: m.question, script }),
          failed,
        );
      } else if (task.kind === 'run') {
        task.hooks.seen(m.key).then((answer) => this.answer(thread, task, { type: 'answer', question: m.question, answer }), failed);
      }
      return;
    }
    if (thread.timer) clearTimeout(thread.timer);
    thread.timer = null;
    thread.task = null;
    thread.worker.unref();
    if (task.kind === 'compile') {
      if (m.type === 'compiled') task.done({ warnings: m.warnings });
      else if (m.type === 'compile-failed') task.done({ messages: m.messages });
      else task.done({ failed: `the compile failed: ${m.type === 'failed' ? m.error : 'an answer out of turn'}` });
    } else if (m.type === 'done') task.done({ outcome: revived(m.outcome), stopped: null });
    else
      task.done({ outcome: failedOutcome(`the run failed: ${m.type === 'failed' ? m.error : 'an answer out of turn'}`), stopped: 'crash' });
    this.pump();
  }

  private answer(thread: Thread, task: Task, message: FromPool): void {
    if (thread.task !== task) return; // stopped meanwhile
    this.resumeClock(thread);
    thread.worker.postMessage(message);
  }

  /** Takes the thread out of the pool (terminating it); its task, if any, gets the keep with `why`. */
  private retire(thread: Thread, stopped: SieveRunStop, why: string): void {
    if (!this.threads.delete(thread)) return;
    if (thread.timer) clearTimeout(thread.timer);
    const task = thread.task;
    thread.task = null;
    void thread.worker.terminate().catch(() => {});
    if (task) fail(task, why, stopped ?? 'crash');
    this.pump();
  }
}

/** A task the pool could not finish: a run comes to the keep into INBOX with `why`, a compile to its failure. */
function fail(task: Task, why: string, stopped: Exclude<SieveRunStop, null>): void {
  if (task.kind === 'compile') task.done({ failed: why.replace(/^the run/, 'the compile') });
  else task.done({ outcome: failedOutcome(why), stopped });
}
