// The work of one upkeep job (upkeep-job.ts), done in the upkeep's worker thread (upkeep-worker.ts), never
// on the event loop of the process's sessions: better-sqlite3 is synchronous, a message's text is CPU work
// and memory, and on a slow or network file system every file call may wait. Here they may: this thread
// does nothing else. The index is emptied when it held another UIDVALIDITY (or on a rebuild), the rows of
// expunged messages are dropped, and the messages it has not looked at are read from their files and
// written, newest first, in small transactions (other processes' writers wait at most one of them).
//
// A message's file may have been renamed since the main thread said where it was (a flag change in
// another process or session: `:2,S`; new/ to cur/): it is looked for by its base name in cur/ and new/. One found nowhere was expunged
// meanwhile, or is being moved: it is left unrecorded, and the next upkeep (the next sync sees it or not)
// settles it. One that cannot be read (permissions) is recorded without its text: SEARCH checks it always, as it
// does a message an earlier thread died reading (upkeep-suspects.ts).
import { closeSync, constants, fstatSync, openSync, readdirSync, readSync } from 'node:fs';
import { toCrlf } from '../../lib/crlf.js';
import { indexPath, inodeOf, isBusy } from './index-file.js';
import type { IndexLog, IndexRow, MailboxIndex } from './mailbox-index.js';
import { indexedText } from './message-text.js';
import type { UpkeepJob } from './upkeep-job.js';

/**
 * Messages larger than this (CRLF size) are not indexed: recorded as such, SEARCH always checks them. It
 * bounds the thread's work and memory per message (README "Index for SEARCH"): measured here, a message
 * of 16 MiB of plain text took 384 ms and 54 MiB of heap to make its text; 3 messages of 11 MB of
 * base64-like text (many distinct trigrams) 13 s of FTS5 work and 55 MiB more RSS; at 4 MiB the text
 * takes 155 ms and 18 MiB of heap, and the largest mail (attachments) is read by SEARCH as without an index.
 */
export const MAX_INDEXED_SIZE = 4 * 1024 * 1024;
/** Messages per transaction at most, and their octets at most: the text of a transaction is held until it commits. */
const MAX_ROWS = 200;
const MAX_BATCH_OCTETS = 8 * 1024 * 1024;
/** A job of at least this many messages logs its progress, every PROGRESS_MS. */
const PROGRESS_AT = 1000;
const PROGRESS_MS = 10_000;
/** How long a write that found the file busy (another process writing) waits before it tries again, and how often. */
const BUSY_WAIT_MS = 250;
const BUSY_TRIES = 40;
/** A folder's listing (to find renamed files) is read again at most this often within a job. */
const RELIST_MS = 1000;

const READ_NO_FOLLOW = constants.O_RDONLY | constants.O_NOFOLLOW;

const pause = (ms = 0): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Progress of one job (postern index rebuild draws its bar from it). */
export type IndexProgress = (done: number, total: number) => void;

/** Where the messages' files are, asked of the main thread (null: it knows no file for it now). */
export type FilesOf = (uids: readonly number[]) => Promise<(string | null)[]>;

/** A message to read: its UID, its CRLF size, and its file as the main thread last said. */
interface ToRead {
  readonly uid: number;
  readonly size: number;
  readonly path: string | null;
}

/** The file's octets (at most `max`: a larger file is 'large'), 'gone' when it is not there, 'unreadable' otherwise. */
function readFile(path: string, max: number): Buffer | 'gone' | 'large' | 'unreadable' {
  let fd: number;
  try {
    fd = openSync(path, READ_NO_FOLLOW);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return code === 'ENOENT' || code === 'ELOOP' ? 'gone' : 'unreadable'; // a symbolic link is never followed
  }
  try {
    const size = fstatSync(fd).size;
    if (size > max) return 'large';
    const buffer = Buffer.allocUnsafe(size);
    let got = 0;
    while (got < size) {
      const n = readSync(fd, buffer, got, size - got, got);
      if (n === 0) break;
      got += n;
    }
    return buffer.subarray(0, got);
  } catch {
    return 'unreadable';
  } finally {
    closeSync(fd);
  }
}

/** The base of a Maildir file name: everything before the first ":" (as store/maildir/folder.ts keys its listing). */
function baseOf(name: string): string {
  const colon = name.indexOf(':');
  return colon < 0 ? name : name.slice(0, colon);
}

/** Where each file of a folder is now, by base name, read when a file was not where the snapshot said. */
class FolderListing {
  private files: Map<string, string> | null = null;
  private readAt = 0;

  constructor(private readonly folder: string) {}

  /** The file's path now, or null when it is in neither cur/ nor new/. */
  find(path: string): string | null {
    const base = baseOf(path.slice(path.lastIndexOf('/') + 1));
    const known = this.files?.get(base);
    if (known !== undefined && known !== path) return known;
    if (this.files !== null && performance.now() - this.readAt < RELIST_MS) return null;
    this.files = new Map();
    this.readAt = performance.now();
    for (const sub of ['cur', 'new']) {
      let names: string[];
      try {
        names = readdirSync(`${this.folder}/${sub}`);
      } catch {
        continue;
      }
      for (const name of names) this.files.set(baseOf(name), `${this.folder}/${sub}/${name}`);
    }
    const now = this.files.get(base);
    return now !== undefined && now !== path ? now : null;
  }
}

/** The index's row of one message; null when its file is nowhere now (expunged, or moved: left for the next upkeep). */
function rowOf(m: ToRead, listing: FolderListing): IndexRow | null {
  if (m.size > MAX_INDEXED_SIZE) return { uid: m.uid, text: null };
  if (m.path === null) return null;
  let read = readFile(m.path, MAX_INDEXED_SIZE);
  if (read === 'gone') {
    const moved = listing.find(m.path);
    if (moved === null) return null;
    read = readFile(moved, MAX_INDEXED_SIZE);
    if (read === 'gone') return null;
  }
  if (read === 'large' || read === 'unreadable') return { uid: m.uid, text: null };
  try {
    return { uid: m.uid, text: indexedText(toCrlf(read)) };
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
 * Brings one mailbox's index up to date with the job's snapshot. `stopping` is asked between
 * transactions: true ends the job there (what is written stays; the rest is the next upkeep's).
 */
export async function keepUp(
  job: UpkeepJob,
  index: MailboxIndex,
  filesOf: FilesOf,
  log?: IndexLog,
  progress?: IndexProgress,
  stopping: () => boolean = () => false,
): Promise<void> {
  const { uids, sizes } = job;
  if (uids.length === 0 && inodeOf(indexPath(index.folder)) === null) return; // an empty mailbox gets no file
  // every SELECT asks for a job: one that finds the index as the mailbox is ends here (mailbox-index.ts holdsExactly)
  if (!job.rebuild && index.holdsExactly(job.uidValidity, uids)) return;
  if (job.rebuild || !index.ready(job.uidValidity)) await whenNotBusy(() => index.reset(job.uidValidity));
  const highest = uids.length > 0 ? uids[uids.length - 1] : 0;
  const present = new Set(uids);
  const stale = [...index.recorded].filter((uid) => uid <= highest && !present.has(uid));
  for (let i = 0; i < stale.length; i += MAX_ROWS) await whenNotBusy(() => index.drop(stale.slice(i, i + MAX_ROWS)));
  // newest first: the mail searched most
  const todo: number[] = [];
  for (let i = uids.length - 1; i >= 0; i--) if (!index.recorded.has(uids[i])) todo.push(i);
  if (todo.length === 0) return;
  const listing = new FolderListing(index.folder);
  const suspects = new Set(job.suspects);
  const skipped = new Set(job.skipped);
  const loud = todo.length >= PROGRESS_AT;
  const started = Date.now();
  let told = started;
  if (loud) log?.info?.({ path: index.folder, messages: todo.length }, 'indexing messages for SEARCH');
  let done = 0;
  while (done < todo.length) {
    if (stopping()) return;
    // the next transaction's messages: at most MAX_ROWS, at most MAX_BATCH_OCTETS, those another process did not do meanwhile
    // (a message a thread died reading among others is read alone: upkeep-suspects.ts)
    const batch: number[] = [];
    let octets = 0;
    for (; done < todo.length && batch.length < MAX_ROWS && octets < MAX_BATCH_OCTETS; done++) {
      const i = todo[done];
      if (index.recorded.has(uids[i])) continue;
      if (suspects.has(uids[i]) && batch.length > 0) break;
      batch.push(i);
      if (sizes[i] <= MAX_INDEXED_SIZE) octets += sizes[i];
      if (suspects.has(uids[i])) {
        done++;
        break;
      }
    }
    const paths = await filesOf(batch.map((i) => uids[i]));
    const rows: IndexRow[] = [];
    for (const [k, i] of batch.entries()) {
      const row = skipped.has(uids[i])
        ? { uid: uids[i], text: null }
        : rowOf({ uid: uids[i], size: sizes[i], path: paths[k] ?? null }, listing);
      if (row !== null) rows.push(row);
    }
    // false: a new UIDVALIDITY, the next upkeep starts over
    if (rows.length > 0 && !(await whenNotBusy(() => index.add(rows, job.uidValidity)))) return;
    progress?.(done, todo.length);
    if (loud && Date.now() - told >= PROGRESS_MS) {
      told = Date.now();
      log?.info?.({ path: index.folder, done, messages: todo.length }, 'indexing messages for SEARCH');
    }
    await pause(); // a stop asked meanwhile is heard
  }
  if (loud) log?.info?.({ path: index.folder, messages: todo.length, ms: Date.now() - started }, 'indexed messages for SEARCH');
}
