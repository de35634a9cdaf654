// Keeping the SEARCH indexes of this process's mailboxes up to date, in the background: after a delivery,
// an APPEND, a sync that saw new or expunged messages, an open, or a SEARCH, the mailbox is queued; one
// mailbox at a time, a snapshot of it (its messages' UIDs and sizes; their files when asked) goes to the upkeep thread
// (upkeep-thread.ts), which reads the messages, makes their text and writes the index off the event loop
// (upkeep-work.ts). The main thread makes no file call for it and never holds a message's text. Nothing
// waits for it: a delivery, an APPEND and a SEARCH answer at once (SEARCH checks what the index does not
// hold yet). A mailbox asked for again within JOB_GAP_MS of its last job waits for the gap. While the
// thread is down (after a crash, for its back-off) the queue waits, on a timer that does not keep the
// process alive; a job the thread's end cut short is queued again.
import type { IndexJournal } from './index-file.js';
import type { IndexLog } from './mailbox-index.js';
import type { MailboxFiles } from './upkeep-job.js';
import { UpkeepThread, UpkeepThreadGone } from './upkeep-thread.js';
import type { IndexProgress } from './upkeep-work.js';

/** A mailbox to keep up: its folder, and a snapshot of it as it is now (made when its turn comes). */
export interface IndexSource {
  readonly folder: string;
  snapshot(): Promise<MailboxFiles>;
}

/**
 * After a job of a mailbox failed (a full disk, a read-only tree, a file it may not write), its upkeep rests
 * this long before it is tried again, doubling up to REST_MAX_MS: every SEARCH asks for upkeep, and without the
 * rest a full disk gave a warning and a failed write per SEARCH. SEARCH stays exact meanwhile (it checks every
 * message the index does not hold).
 */
const REST_FIRST_MS = 30_000;
const REST_MAX_MS = 600_000;
/**
 * A mailbox's jobs start at least this far apart: asked for again sooner, it is queued when the time is up. Every
 * SELECT and APPEND asks; on a busy INBOX (the mixed load: hundreds a second) a job each, mostly finding nothing to
 * do, took about 3% of the event loop in posting snapshots and hearing the thread's answers. SEARCH meanwhile
 * reads the few messages the index does not hold yet.
 */
const JOB_GAP_MS = 1000;

/** The queue of mailboxes to keep up, worked through one at a time. */
export class IndexUpkeep {
  /** Mailboxes whose last job failed: not tried again before `until` (performance.now()). */
  private readonly resting = new Map<string, { until: number; restMs: number }>();
  private readonly waiting = new Map<string, IndexSource>();
  private running = false;
  private retry: NodeJS.Timeout | null = null;
  private stopping = false;
  /** Folders about to be renamed or deleted (hold()), with how many holds each: no job starts for them or below them. */
  private readonly held = new Map<string, number>();
  /** When each mailbox's last job started (performance.now()), and the mailboxes asked for again within JOB_GAP_MS. */
  private readonly started = new Map<string, number>();
  private readonly later = new Map<string, { source: IndexSource; timer: NodeJS.Timeout }>();
  readonly thread: UpkeepThread;

  constructor(
    log?: IndexLog,
    private readonly journal: IndexJournal = 'wal',
    thread?: UpkeepThread,
  ) {
    this.thread = thread ?? new UpkeepThread(log);
  }

  private isHeld(folder: string): boolean {
    for (const prefix of this.held.keys()) if (folder === prefix || folder.startsWith(`${prefix}.`)) return true;
    return false;
  }

  /**
   * The folder `prefix` and those below it are about to be renamed or deleted: their queued upkeep goes, the
   * thread ends their job under way and closes their files (so none is made in a folder being removed), and
   * none starts until the returned function is called.
   */
  async hold(prefix: string): Promise<() => void> {
    this.held.set(prefix, (this.held.get(prefix) ?? 0) + 1);
    for (const folder of [...this.waiting.keys()]) if (this.isHeld(folder)) this.waiting.delete(folder);
    for (const folder of [...this.later.keys()]) if (this.isHeld(folder)) this.dropLater(folder);
    await this.thread.release(prefix);
    let done = false;
    return () => {
      if (done) return;
      done = true;
      const left = (this.held.get(prefix) ?? 1) - 1;
      if (left > 0) this.held.set(prefix, left);
      else this.held.delete(prefix);
    };
  }

  /** Queues the mailbox (once, however often it is asked for before its turn). */
  want(source: IndexSource): void {
    if (this.isHeld(source.folder)) return;
    const rest = this.resting.get(source.folder);
    if (rest !== undefined && performance.now() < rest.until) return;
    const gap = (this.started.get(source.folder) ?? -Infinity) + JOB_GAP_MS - performance.now();
    if (gap > 0 && !this.waiting.has(source.folder)) {
      const known = this.later.get(source.folder);
      if (known !== undefined)
        known.source = source; // the latest view of it
      else {
        const timer = setTimeout(() => {
          const due = this.later.get(source.folder);
          this.later.delete(source.folder);
          if (due !== undefined && !this.stopping) this.want(due.source);
        }, gap);
        timer.unref();
        this.later.set(source.folder, { source, timer });
      }
      return;
    }
    this.waiting.set(source.folder, source);
    if (!this.running && this.retry === null && !this.stopping) void this.run();
  }

  /** Whether nothing is queued or under way (tests wait for it). */
  get idle(): boolean {
    return !this.running && this.waiting.size === 0 && this.later.size === 0;
  }

  private dropLater(folder: string): void {
    const due = this.later.get(folder);
    if (due === undefined) return;
    clearTimeout(due.timer);
    this.later.delete(folder);
  }

  /** Empties the mailbox's index and makes it again (postern index rebuild), on the same thread, after the jobs before it. */
  async rebuild(source: IndexSource, progress?: IndexProgress): Promise<void> {
    await this.thread.run(await source.snapshot(), { folder: source.folder, journal: this.journal, rebuild: true }, progress);
  }

  /** Ends the job under way and the thread; what was queued is dropped (a later want() starts again). */
  async stop(): Promise<void> {
    this.stopping = true;
    this.waiting.clear();
    for (const folder of [...this.later.keys()]) this.dropLater(folder);
    if (this.retry !== null) clearTimeout(this.retry);
    this.retry = null;
    try {
      await this.thread.stop();
    } finally {
      this.waiting.clear();
      this.stopping = false;
    }
  }

  private async run(): Promise<void> {
    this.running = true;
    try {
      await new Promise((resolve) => setImmediate(resolve)); // the asks of one turn of the event loop come as one job each
      for (let next = this.waiting.entries().next(); !next.done && !this.stopping; next = this.waiting.entries().next()) {
        const wait = this.thread.waitMs();
        if (wait > 0) {
          this.retry = setTimeout(() => {
            this.retry = null;
            if (!this.running) void this.run();
          }, wait);
          this.retry.unref();
          return;
        }
        const [folder, source] = next.value;
        this.waiting.delete(folder);
        if (this.started.size >= 10_000) this.started.clear(); // bounded: forgetting one only means a job sooner
        this.started.set(folder, performance.now());
        try {
          const files = await source.snapshot();
          if (this.isHeld(folder)) continue; // held while its snapshot was made
          await this.thread.run(files, { folder, journal: this.journal, rebuild: false });
          this.resting.delete(folder);
        } catch (err) {
          // the thread ended under the job: it is done again by the next thread; other failures were logged by the thread
          if (err instanceof UpkeepThreadGone) {
            if (!this.stopping && !this.waiting.has(folder)) this.waiting.set(folder, source);
          } else if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
            const restMs = Math.min((this.resting.get(folder)?.restMs ?? REST_FIRST_MS / 2) * 2, REST_MAX_MS);
            if (this.resting.size >= 10_000) this.resting.clear(); // bounded: forgetting a rest only means one more try
            this.resting.set(folder, { until: performance.now() + restMs, restMs });
          }
        }
      }
    } finally {
      this.running = false;
    }
  }
}
