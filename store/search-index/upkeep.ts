// Keeping the SEARCH indexes of this process's mailboxes up to date, in the background: after a delivery,
// an APPEND, a sync that saw new or expunged messages, an open, or a SEARCH, the mailbox is queued; one
// mailbox at a time, its messages the index has not looked at are read and their text (message-text.ts)
// written in small transactions (at most SLICE_MS of work or MAX_ROWS messages each, then the event loop
// runs: better-sqlite3 is synchronous), and the rows of expunged messages are dropped. Nothing waits for
// it: a delivery, an APPEND and a SEARCH answer at once (SEARCH checks what the index does not hold yet).
// Its timers do not keep a process alive: a command that exits leaves the rest to the next process.
import { type MailboxView, type MessageInfo, MessageGoneError } from '../contract.js';
import { toCrlf } from '../../lib/crlf.js';
import { indexPath, inodeOf, isBusy } from './index-file.js';
import type { IndexLog, IndexRow, MailboxIndex } from './mailbox-index.js';
import { indexedText } from './message-text.js';

/** A mailbox to keep up: its index, and a view of it as it is now (opened when the work starts). */
export interface IndexSource {
  readonly index: MailboxIndex;
  open(): Promise<MailboxView>;
}

/** Work done between two turns of the event loop, at most (ms), and messages per transaction. */
const SLICE_MS = 15;
const MAX_ROWS = 200;
/** Messages larger than this are not indexed: recorded as such, SEARCH always checks them (memory per message bounded). */
export const MAX_INDEXED_SIZE = 16 * 1024 * 1024;
/** Read in place (from the page cache) up to this size, as SEARCH reads (view.readNow). */
const IN_PLACE_MAX = 256 * 1024;
/** A job of at least this many messages logs its progress, every PROGRESS_MS. */
const PROGRESS_AT = 1000;
const PROGRESS_MS = 10_000;
/** How long a write that found the file busy (another process writing) waits before it tries again, and how often. */
const BUSY_WAIT_MS = 250;
const BUSY_TRIES = 40;

const pause = (ms = 0): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms).unref());

/** Progress of one mailbox's upkeep (postern index rebuild draws its bar from it). */
export type IndexProgress = (done: number, total: number) => void;

/** The message's octets as SEARCH reads them (CRLF line ends), through a stream; null when it was expunged meanwhile. */
async function readMessage(view: MailboxView, m: MessageInfo): Promise<Buffer | null> {
  try {
    const parts: Buffer[] = [];
    for await (const chunk of await view.open(m.uid)) parts.push(chunk as Buffer);
    return toCrlf(Buffer.concat(parts));
  } catch (err) {
    if (err instanceof MessageGoneError || (err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}

/**
 * The index's row of one message; null when it was expunged meanwhile. One that cannot be read (a file
 * the server may not read) is recorded without its text: SEARCH checks it always, as without an index.
 */
async function rowOf(view: MailboxView, m: MessageInfo): Promise<IndexRow | null> {
  if (m.size > MAX_INDEXED_SIZE) return { uid: m.uid, text: null };
  try {
    // readNow's buffer is reused by the next readNow anywhere in the process: its text is made at once
    const now = m.size <= IN_PLACE_MAX ? view.readNow(m.uid) : null;
    if (now) return { uid: m.uid, text: indexedText(toCrlf(now)) };
    const raw = await readMessage(view, m);
    return raw === null ? null : { uid: m.uid, text: indexedText(raw) };
  } catch {
    return { uid: m.uid, text: null };
  }
}

/** A write, tried again while another process holds the file's write lock. */
async function whenNotBusy<T>(write: () => T): Promise<T> {
  for (let tries = 1; ; tries++) {
    try {
      return write();
    } catch (err) {
      if (!isBusy(err) || tries >= BUSY_TRIES) throw err;
      await pause(BUSY_WAIT_MS);
    }
  }
}

/**
 * Brings one mailbox's index up to date with `view`: emptied when it held another UIDVALIDITY (or when
 * `rebuild`), expunged messages dropped, the others added, newest first (the mail searched most).
 */
export async function keepUp(
  view: MailboxView,
  index: MailboxIndex,
  log?: IndexLog,
  progress?: IndexProgress,
  rebuild = false,
): Promise<void> {
  if (view.messages.length === 0 && inodeOf(indexPath(index.folder)) === null) return; // an empty mailbox gets no file
  if (rebuild || !index.ready(view.uidValidity)) await whenNotBusy(() => index.reset(view.uidValidity));
  const messages = view.messages;
  const highest = messages.length > 0 ? messages[messages.length - 1].uid : 0;
  const stale = [...index.recorded].filter((uid) => uid <= highest && view.get(uid) === undefined);
  for (let i = 0; i < stale.length; i += MAX_ROWS) {
    await whenNotBusy(() => index.drop(stale.slice(i, i + MAX_ROWS)));
    await pause();
  }
  const todo: MessageInfo[] = [];
  for (let i = messages.length - 1; i >= 0; i--) if (!index.recorded.has(messages[i].uid)) todo.push(messages[i]);
  if (todo.length === 0) return;
  const loud = todo.length >= PROGRESS_AT;
  const started = Date.now();
  let told = started;
  if (loud) log?.info?.({ path: index.folder, messages: todo.length }, 'indexing messages for SEARCH');
  let done = 0;
  while (done < todo.length) {
    const rows: IndexRow[] = [];
    const sliceStart = performance.now();
    while (done < todo.length && rows.length < MAX_ROWS && performance.now() - sliceStart < SLICE_MS) {
      const m = todo[done++];
      if (index.recorded.has(m.uid)) continue; // another process did it meanwhile
      const row = await rowOf(view, m);
      if (row !== null) rows.push(row);
    }
    // false: a new UIDVALIDITY, the next upkeep starts over
    if (rows.length > 0 && !(await whenNotBusy(() => index.add(rows, view.uidValidity)))) return;
    progress?.(done, todo.length);
    if (loud && Date.now() - told >= PROGRESS_MS) {
      told = Date.now();
      log?.info?.({ path: index.folder, done, messages: todo.length }, 'indexing messages for SEARCH');
    }
    await pause();
  }
  if (loud) log?.info?.({ path: index.folder, messages: todo.length, ms: Date.now() - started }, 'indexed messages for SEARCH');
}

/** The queue of mailboxes to keep up, worked through one at a time. */
export class IndexUpkeep {
  private readonly waiting = new Map<string, IndexSource>();
  private running = false;

  constructor(private readonly log?: IndexLog) {}

  /** Queues the mailbox (once, however often it is asked for before its turn). */
  want(source: IndexSource): void {
    this.waiting.set(source.index.folder, source);
    if (!this.running) void this.run();
  }

  /** Whether nothing is queued or under way (tests wait for it). */
  get idle(): boolean {
    return !this.running && this.waiting.size === 0;
  }

  private async run(): Promise<void> {
    this.running = true;
    try {
      await pause();
      for (let next = this.waiting.entries().next(); !next.done; next = this.waiting.entries().next()) {
        const [folder, source] = next.value;
        this.waiting.delete(folder);
        try {
          const view = await source.open();
          try {
            await keepUp(view, source.index, this.log);
          } finally {
            view.close();
          }
        } catch (err) {
          // the mailbox went away, the disk is full, the file is damaged: logged, the index answers null until it is well again
          if ((err as NodeJS.ErrnoException).code !== 'ENOENT' && (err as Error).name !== 'MailboxNotFoundError') source.index.fail(err);
        }
      }
    } finally {
      this.running = false;
    }
  }
}
