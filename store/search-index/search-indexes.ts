// The SEARCH indexes of this process: one MailboxIndex per mailbox folder (one connection to its file),
// at most MAX_OPEN open at once (the least recently used closed, opened again when asked for), and the
// one upkeep queue with its thread (upkeep.ts, upkeep-thread.ts). One per process, whatever store is built
// (a SIGHUP builds a new one): one thread and one connection per file for the answers are enough. The
// upkeep thread's connections to the same files are safe: SQLite's unix VFS keeps one record per file
// (inode) for the whole process, shared by every connection of every thread (better-sqlite3 is built with
// SQLITE_THREADSAFE=2, so that record is guarded by a mutex), takes the POSIX locks through it, and defers
// closing a descriptor while another connection holds a lock on the file; so a connection's close never
// drops another's lock (test/unit/search-index-worker.test.ts checks the locks between the two threads).
import type { MailboxSearchIndex, MailboxView, SearchIndexAnswer, SearchIndexQuery } from '../contract.js';
import type { MailboxFiles } from './upkeep-job.js';
import type { IndexJournal } from './index-file.js';
import { type IndexLog, MailboxIndex } from './mailbox-index.js';
import { IndexUpkeep } from './upkeep.js';

const MAX_OPEN = 64;

export class SearchIndexes {
  private readonly open = new Map<string, MailboxIndex>();
  readonly upkeep: IndexUpkeep;

  constructor(
    private readonly log?: IndexLog,
    private readonly journal: IndexJournal = 'wal',
  ) {
    this.upkeep = new IndexUpkeep(log, journal);
  }

  /** The index of the mailbox in `folder`. */
  of(folder: string): MailboxIndex {
    let index = this.open.get(folder);
    if (index)
      this.open.delete(folder); // most recently used last
    else index = new MailboxIndex(folder, this.log, this.journal);
    this.open.set(folder, index);
    if (this.open.size > MAX_OPEN) {
      const [oldest, least] = this.open.entries().next().value!;
      least.close();
      this.open.delete(oldest);
    }
    return index;
  }

  /** Queues the mailbox's upkeep (upkeep.ts); `snapshot` gives its messages as they are then, and their files. */
  keepUp(folder: string, snapshot: () => Promise<MailboxFiles>): void {
    this.upkeep.want({ folder, snapshot });
  }

  /** Closes the indexes of the folder `prefix` and the folders below it (renamed or deleted). */
  forget(prefix: string): void {
    for (const [folder, index] of [...this.open]) {
      if (folder !== prefix && !folder.startsWith(`${prefix}.`)) continue;
      index.close();
      this.open.delete(folder);
    }
  }

  /** Closes every connection (tests; a process that ends closes them anyway). */
  closeAll(): void {
    for (const index of this.open.values()) index.close();
    this.open.clear();
  }

  /** The server stops: the upkeep thread ends (between two of its transactions) and the connections close. */
  async stop(): Promise<void> {
    await this.upkeep.stop();
    this.closeAll();
  }
}

let processIndexes: SearchIndexes | null = null;

/** This process's indexes (the log and journal of the first store that asked). */
export function searchIndexes(log?: IndexLog, journal: IndexJournal = 'wal'): SearchIndexes {
  processIndexes ??= new SearchIndexes(log, journal);
  return processIndexes;
}

/** Holds the upkeep of the folder `prefix` and those below it while they are renamed or deleted (IndexUpkeep.hold). */
export async function holdSearchIndexes(prefix: string): Promise<() => void> {
  return processIndexes === null ? () => {} : processIndexes.upkeep.hold(prefix);
}

/** Ends this process's upkeep thread and closes its indexes, when it has any (the server stops). */
export async function stopSearchIndexes(): Promise<void> {
  await processIndexes?.stop();
}

/** A view's side of its mailbox's index (MailboxView.searchIndex): the answer, and upkeep when it may be behind. */
export class ViewSearchIndex implements MailboxSearchIndex {
  constructor(
    private readonly indexes: SearchIndexes,
    private readonly folder: string,
    private readonly view: MailboxView,
    private readonly snapshotNow: () => Promise<MailboxFiles>,
  ) {}

  /** Set by prepare() and the first search: until then (a POP session) the view's syncs start no upkeep. */
  private wanted = false;

  prepare(): void {
    this.wanted = true;
    this.changed();
  }

  async narrow(query: SearchIndexQuery): Promise<SearchIndexAnswer | null> {
    this.wanted = true;
    const index = this.indexes.of(this.folder);
    const answer = index.answer(query, this.view.uidValidity);
    // what the index does not hold yet is checked by this SEARCH and indexed after it
    if (answer === null || !index.recordsAll(this.view.messages)) this.changed();
    return answer;
  }

  /** The mailbox changed (a sync saw it): its index is brought up to date in the background, when this view searches. */
  changed(): void {
    if (this.wanted) this.indexes.keepUp(this.folder, this.snapshotNow);
  }
}
