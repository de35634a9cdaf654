// The main thread's side of the SEARCH index's upkeep thread (upkeep-worker.ts): started at the first job,
// one per process, its heap bounded (resourceLimits), never keeping the process alive (unref: a command
// that exits leaves the rest of the upkeep to the next process). A job is sent as a snapshot of its mailbox
// (upkeep-job.ts), the thread's questions for files are answered from the mailbox's listing, and the job's
// promise settles when the thread says it is done. A thread that cannot start or
// dies (killed, out of memory) is logged and its jobs fail; a new one is started for the next job after a
// back-off that doubles up to MAX_BACKOFF_MS, so SEARCH answers meanwhile as without an index (exactly: the
// index only narrows). The messages it was reading when it died are read alone by the next, and one it dies on
// alone is left out of the index (upkeep-suspects.ts). stop() ends the job under way between two transactions and the thread with it (a
// later job starts a new one: the in-process test servers share one process).
import { Worker } from 'node:worker_threads';
import type { IndexLog } from './mailbox-index.js';
import type { FromWorker, MailboxFiles, ToWorker, UpkeepJob } from './upkeep-job.js';
import { UpkeepSuspects } from './upkeep-suspects.js';
import type { IndexProgress } from './upkeep-work.js';

/** The thread's heap (MiB): a message of MAX_INDEXED_SIZE with its text, and the UIDs of the mailboxes it keeps. */
export const UPKEEP_HEAP_MB = 256;
const YOUNG_HEAP_MB = 4;
const FIRST_BACKOFF_MS = 1000;
const MAX_BACKOFF_MS = 5 * 60_000;
/** How long stop() waits for the thread to end by itself before it terminates it, and release() for its answer. */
const STOP_WAIT_MS = 2000;
const RELEASE_WAIT_MS = 5000;

/** The thread's program: compiled beside this file; from the TypeScript sources (the tests), the one in dist/. */
function workerScript(): URL {
  return import.meta.url.endsWith('.ts')
    ? new URL('../../dist/store/search-index/upkeep-worker.js', import.meta.url)
    : new URL('./upkeep-worker.js', import.meta.url);
}

/** A job that did not run to its end because the thread was not there (not started yet after a failure, died, stopped). */
export class UpkeepThreadGone extends Error {}

interface Pending {
  readonly worker: Worker;
  readonly resolve: () => void;
  readonly reject: (err: Error) => void;
  readonly files: MailboxFiles;
  readonly folder: string;
  readonly progress?: IndexProgress;
  /** The messages of the transaction under way: asked for, not yet written. */
  reading: number[];
}

export class UpkeepThread {
  private worker: Worker | null = null;
  private readonly pending = new Map<number, Pending>();
  private readonly releases = new Map<number, () => void>();
  private nextId = 0;
  private failures = 0;
  private notBefore = 0;
  /** The thread being stopped: its end is no failure. */
  private stopping: Worker | null = null;
  private readonly suspects = new UpkeepSuspects();

  constructor(
    private readonly log?: IndexLog,
    private readonly script: URL = workerScript(),
    /** The thread's heap limit (tests: a smaller one, to run out of memory for real). */
    private readonly heapMb = UPKEEP_HEAP_MB,
  ) {}

  /** How long until a job can be sent (0: now): the back-off after the thread failed. */
  waitMs(): number {
    return Math.max(0, this.notBefore - Date.now());
  }

  /** Runs one job on the thread (started if it has to be); rejects with UpkeepThreadGone when it could not run to its end. */
  run(
    files: MailboxFiles,
    job: Omit<UpkeepJob, 'id' | 'uidValidity' | 'uids' | 'sizes' | 'suspects' | 'skipped'>,
    progress?: IndexProgress,
  ): Promise<void> {
    if (this.waitMs() > 0) return Promise.reject(new UpkeepThreadGone('the upkeep thread is not running'));
    const worker = this.started();
    if (worker === null) return Promise.reject(new UpkeepThreadGone('the upkeep thread could not start'));
    const id = ++this.nextId;
    const { uidValidity, uids, sizes } = files.snapshot;
    const { suspects, skipped } = this.suspects.forJob(job.folder, uidValidity);
    return new Promise<void>((resolve, reject) => {
      this.pending.set(id, { worker, resolve, reject, files, folder: job.folder, progress, reading: [] });
      // the arrays are moved to the thread, not copied
      worker.postMessage({ type: 'job', job: { ...job, id, uidValidity, uids, sizes, suspects, skipped } } satisfies ToWorker, [
        uids.buffer as ArrayBuffer,
        sizes.buffer as ArrayBuffer,
      ]);
    });
  }

  /**
   * Has the thread end the job of the folder `prefix` (and those below it) and close their files, before
   * they are renamed or deleted; resolves when it did (at once without a thread; at most RELEASE_WAIT_MS).
   */
  release(prefix: string): Promise<void> {
    const worker = this.worker;
    if (worker === null) return Promise.resolve();
    const id = ++this.nextId;
    return new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.releases.delete(id);
        worker.off('exit', done);
        resolve();
      };
      const timer = setTimeout(done, RELEASE_WAIT_MS);
      timer.unref();
      this.releases.set(id, done);
      worker.once('exit', done);
      worker.postMessage({ type: 'release', id, prefix } satisfies ToWorker);
    });
  }

  /** Whether a thread is up now (tests). */
  get running(): boolean {
    return this.worker !== null;
  }

  /** Ends the thread as a crash would (tests: the worker killed mid-job). */
  async kill(): Promise<void> {
    await this.worker?.terminate();
  }

  /** Ends the job under way between two transactions, then the thread (its jobs fail with UpkeepThreadGone). */
  stop(): Promise<void> {
    const worker = this.worker;
    if (worker === null) return Promise.resolve();
    this.stopping = worker;
    this.worker = null;
    return new Promise<void>((resolve) => {
      const timer = setTimeout(() => void worker.terminate(), STOP_WAIT_MS);
      timer.unref();
      worker.once('exit', () => {
        clearTimeout(timer);
        resolve();
      });
      worker.postMessage({ type: 'stop' } satisfies ToWorker);
    });
  }

  private started(): Worker | null {
    if (this.worker !== null) return this.worker;
    let worker: Worker;
    try {
      worker = new Worker(this.script, {
        resourceLimits: { maxOldGenerationSizeMb: this.heapMb, maxYoungGenerationSizeMb: YOUNG_HEAP_MB },
      });
    } catch (err) {
      this.failed(null, (err as Error).message);
      return null;
    }
    this.worker = worker;
    worker.on('message', (m: FromWorker) => this.heard(m));
    worker.on('error', (err: Error & { code?: string }) =>
      this.failed(worker, err.code === 'ERR_WORKER_OUT_OF_MEMORY' ? 'out of memory' : err.message),
    );
    worker.on('exit', (code) => this.failed(worker, `it exited (${code})`));
    worker.unref(); // after the listeners: adding a 'message' listener refs the worker's port again
    return worker;
  }

  private heard(m: FromWorker): void {
    switch (m.type) {
      case 'paths?': {
        const job = this.pending.get(m.id);
        if (job === undefined) return;
        job.reading = m.uids;
        let paths: (string | null)[];
        try {
          paths = job.files.pathsOf(m.uids);
        } catch {
          paths = [];
        }
        job.worker.postMessage({ type: 'paths', id: m.id, paths } satisfies ToWorker);
        return;
      }
      case 'progress': {
        // sent after each transaction: its messages are written
        const job = this.pending.get(m.id);
        if (job === undefined) return;
        job.reading = [];
        job.progress?.(m.done, m.total);
        return;
      }
      case 'log':
        if (m.level === 'info') this.log?.info?.(m.details, m.message);
        else this.log?.warn(m.details, m.message);
        return;
      case 'done': {
        const job = this.pending.get(m.id);
        this.pending.delete(m.id);
        if (m.error === undefined) {
          this.failures = 0;
          job?.resolve();
        } else job?.reject(Object.assign(new Error(m.error.message), { code: m.error.code }));
        return;
      }
      case 'released':
        this.releases.get(m.id)?.();
        return;
      case 'stopped':
        return;
    }
  }

  /** The thread could not start or ended: logged once, its jobs failed, the next one started after a back-off. */
  private failed(worker: Worker | null, why: string): void {
    const stopped = worker !== null && worker === this.stopping;
    if (worker !== null && this.worker !== worker && !stopped) return; // its 'error' and then its 'exit': told once
    if (stopped) this.stopping = null;
    else this.worker = null;
    for (const [id, job] of this.pending) {
      if (job.worker !== worker) continue;
      this.pending.delete(id);
      if (!stopped && job.reading.length > 0) {
        for (const uid of this.suspects.died(job.folder, job.files.snapshot.uidValidity, job.reading))
          this.log?.warn(
            { path: job.folder, uid, why },
            'the search index upkeep thread died twice reading this message: it is left out of the index, SEARCH reads it each time',
          );
      }
      job.reject(new UpkeepThreadGone(`the upkeep thread ended: ${why}`));
    }
    if (stopped) return;
    this.failures++;
    const backoff = Math.min(FIRST_BACKOFF_MS * 2 ** (this.failures - 1), MAX_BACKOFF_MS);
    this.notBefore = Date.now() + backoff;
    this.log?.warn(
      { why, retryInMs: backoff },
      'the search index upkeep thread ended: SEARCH reads every message the index does not hold until it is back',
    );
  }
}
