// The SEARCH indexes of this process: one MailboxIndex per mailbox folder (one connection to its file),
// at most MAX_OPEN open at once (the least recently used closed, opened again when asked for), and the
// one upkeep queue. One per process, whatever store is built (a SIGHUP builds a new one): two connections
// of one process to one SQLite file would share its POSIX locks badly.
import type { MailboxSearchIndex, MailboxView, SearchIndexAnswer, SearchIndexQuery } from '../contract.js';
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
    this.upkeep = new IndexUpkeep(log);
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

  /** Queues the mailbox's upkeep (upkeep.ts); `open` gives a view of it as it is then. */
  keepUp(folder: string, open: () => Promise<MailboxView>): void {
    this.upkeep.want({ index: this.of(folder), open });
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
}

let processIndexes: SearchIndexes | null = null;

/** This process's indexes (the log and journal of the first store that asked). */
export function searchIndexes(log?: IndexLog, journal: IndexJournal = 'wal'): SearchIndexes {
  processIndexes ??= new SearchIndexes(log, journal);
  return processIndexes;
}

/** A view's side of its mailbox's index (MailboxView.searchIndex): the answer, and upkeep when it may be behind. */
export class ViewSearchIndex implements MailboxSearchIndex {
  constructor(
    private readonly indexes: SearchIndexes,
    private readonly folder: string,
    private readonly view: MailboxView,
    private readonly openNow: () => Promise<MailboxView>,
  ) {}

  async narrow(query: SearchIndexQuery): Promise<SearchIndexAnswer | null> {
    const index = this.indexes.of(this.folder);
    const answer = index.answer(query, this.view.uidValidity);
    // what the index does not hold yet is checked by this SEARCH and indexed after it
    if (answer === null || this.view.messages.some((m) => !index.recorded.has(m.uid))) this.changed();
    return answer;
  }

  /** The mailbox changed (or was opened): its index is brought up to date in the background. */
  changed(): void {
    this.indexes.keepUp(this.folder, this.openNow);
  }
}
