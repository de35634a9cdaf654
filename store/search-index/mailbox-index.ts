// One mailbox's SEARCH index as this process uses it: its connection to the file (index-file.ts), the UIDs
// it holds (kept in memory, read again only as far as another process changed them), the answer to a
// query, and the writes upkeep.ts makes. Every failure of the file makes the answer null (SEARCH then
// checks every message) and the file is made again at the next upkeep: the index never decides an answer.
import { statSync } from 'node:fs';
import type Database from 'better-sqlite3';
import type { SearchIndexAnswer, SearchIndexQuery } from '../contract.js';
import { candidatesOf } from './fts-query.js';
import { type IndexDatabase, type IndexJournal, indexPath, inodeOf, isDamage, openIndexFile, removeIndexFile, wipe } from './index-file.js';
import type { IndexedText } from './message-text.js';

/** What upkeep hands over for one message: its text, or null when it is not indexed (too large) and always checked. */
export interface IndexRow {
  readonly uid: number;
  readonly text: IndexedText | null;
}

/** The store's log (its info lines are the progress of a large job, when the log has them). */
export interface IndexLog {
  info?(details: Record<string, unknown>, message: string): void;
  warn(details: Record<string, unknown>, message: string): void;
}

/**
 * The read path's statements, prepared once per connection: prepared at every SEARCH (with the pragma and the
 * transaction wrapper) they were about a sixth of a SEARCH FROM's work over 100,000 messages.
 */
interface ReadStatements {
  readonly dataVersion: Database.Statement;
  readonly meta: Database.Statement;
  readonly rowsSince: Database.Statement;
  readonly fields: Database.Statement;
  readonly texts: Database.Statement;
  /** The count of the recorded UIDs and three sums of them (holdsExactly): the UIDs, and two scramblings of them (scrambled()). */
  readonly summary: Database.Statement;
  /** refresh() in a read transaction. */
  readonly refresh: () => void;
  /** answer()'s reads in one read transaction. */
  readonly answer: (query: SearchIndexQuery, uidValidity: number) => SearchIndexAnswer | null;
}

/** Below the square root of 2^53: every step of scrambled() is exact in a double, as in SQLite's integers. */
const SCRAMBLE_PRIME = 94906249;

/** The two scramblings' constants (a, b): x = UID × a + b. */
const SCRAMBLINGS = [
  [48271, 12345],
  [69621, 54321],
] as const;

/** A UID scrambled (x = UID × a + b, then x cubed, modulo a prime): sums of it tell sets of UIDs apart as their sums and squares do not. */
function scrambled(uid: number, [a, b]: readonly [number, number]): number {
  const x = (uid * a + b) % SCRAMBLE_PRIME;
  return (((x * x) % SCRAMBLE_PRIME) * x) % SCRAMBLE_PRIME;
}

/** scrambled() in SQLite's integers, summed over the recorded UIDs, after their count and plain sum (holdsExactly). */
const SUMMARY_SQL = (() => {
  const p = SCRAMBLE_PRIME;
  const xs = SCRAMBLINGS.map(([a, b], i) => `(uid * ${a} + ${b}) % ${p} AS x${i}`);
  const sums = SCRAMBLINGS.map((_, i) => `coalesce(sum(x${i} * x${i} % ${p} * x${i} % ${p}), 0)`);
  return `SELECT count(*), coalesce(sum(uid), 0), ${sums.join(', ')} FROM (SELECT uid, ${xs.join(', ')} FROM messages)`;
})();

export class MailboxIndex {
  private db: IndexDatabase | null = null;
  private read: ReadStatements | null = null;
  private ino = 0;
  /** PRAGMA data_version when the UIDs below were read: it changes when another connection commits. */
  private dataVersion = -1;
  private generation = '';
  private lastSeq = 0;
  private uidValidity = 0;
  /** Every UID the index has looked at. */
  readonly recorded = new Set<number>();
  /**
   * The messages whose text it holds, each with the seq of its row: an answer holds for the rows up to the
   * last seq it saw, so a message indexed while a SEARCH runs is checked by that SEARCH, not skipped.
   */
  private indexedSeq = new Map<number, number>();
  /** Whether this process had the file open before (its disappearance is then worth a log line). */
  private hadFile = false;
  /** Set when the file failed: it is reopened (and made again if it has to be) at the next use. */
  private failed = false;
  lastUsed = Date.now();

  constructor(
    readonly folder: string,
    private readonly log?: IndexLog,
    private readonly journal: IndexJournal = 'wal',
  ) {}

  /** The open connection, the file (re)opened when it was replaced, removed or failed. */
  private connection(): IndexDatabase {
    if (this.db && !this.failed && inodeOf(indexPath(this.folder)) === this.ino) return this.db;
    this.close();
    const opened = openIndexFile(this.folder, this.journal);
    if (opened.made !== null && opened.made !== 'missing')
      this.log?.warn({ path: indexPath(this.folder), why: opened.made }, 'the search index was made again');
    else if (opened.made === 'missing' && this.hadFile)
      this.log?.warn({ path: indexPath(this.folder) }, 'the search index file was missing: made again');
    this.hadFile = true;
    const db = opened.db;
    this.db = db;
    this.read = {
      dataVersion: db.prepare('PRAGMA data_version').pluck(),
      meta: db.prepare('SELECT key, value FROM meta').raw(),
      rowsSince: db.prepare('SELECT seq, uid, indexed FROM messages WHERE seq > ?').raw(),
      fields: db.prepare('SELECT rowid FROM fields WHERE fields MATCH ?').pluck(),
      texts: db.prepare('SELECT rowid FROM texts WHERE texts MATCH ?').pluck(),
      summary: db.prepare(SUMMARY_SQL).raw(),
      refresh: db.transaction(() => this.refresh()),
      answer: db.transaction((query: SearchIndexQuery, uidValidity: number) => this.answerNow(query, uidValidity)),
    };
    this.ino = opened.ino;
    this.failed = false;
    this.dataVersion = -1;
    return db;
  }

  /** The read statements, the connection (re)opened first when it has to be. */
  private statements(): ReadStatements {
    this.connection();
    return this.openStatements();
  }

  /** The read statements of the connection as it is (inside its transactions: never reopened there). */
  private openStatements(): ReadStatements {
    if (this.read === null) throw new Error('the search index connection is closed');
    return this.read;
  }

  /** Brings the in-memory UIDs up to the file's, reading only what another process added since (all after a wipe). */
  private refresh(): void {
    const read = this.openStatements();
    const version = read.dataVersion.get() as number;
    if (version === this.dataVersion) return;
    {
      const meta = new Map(read.meta.all() as [string, unknown][]);
      const generation = String(meta.get('generation') ?? '');
      this.uidValidity = Number(meta.get('uidvalidity') ?? 0);
      if (generation !== this.generation) {
        this.generation = generation;
        this.lastSeq = 0;
        this.recorded.clear();
        this.indexedSeq = new Map(); // an answer given before keeps the old one: a new file's seqs start again
      }
      // deletions (expunged UIDs) by another process are not read back: such a UID is not in the mailbox any more
      const rows = read.rowsSince.all(this.lastSeq) as [number, number, number][];
      for (const [seq, uid, indexed] of rows) {
        this.lastSeq = Math.max(this.lastSeq, seq);
        this.recorded.add(uid);
        if (indexed) this.indexedSeq.set(uid, seq);
      }
    }
    this.dataVersion = version;
  }

  /** Opened and current, for `uidValidity`: false when the file holds another UIDVALIDITY's messages (upkeep wipes it). */
  ready(uidValidity: number): boolean {
    this.lastUsed = Date.now();
    try {
      this.statements().refresh();
      return this.uidValidity === uidValidity;
    } catch (err) {
      this.fail(err);
      return false;
    }
  }

  /**
   * The answer to `query` (see the contract's SearchIndexAnswer); null when the index cannot say (see the top
   * of this file). The UIDs and the match are read in one read transaction: one state of the file.
   */
  answer(query: SearchIndexQuery, uidValidity: number): SearchIndexAnswer | null {
    this.lastUsed = Date.now();
    try {
      return this.statements().answer(query, uidValidity);
    } catch (err) {
      this.fail(err);
      return null;
    }
  }

  /** answer() inside its read transaction. */
  private answerNow(query: SearchIndexQuery, uidValidity: number): SearchIndexAnswer | null {
    this.refresh();
    if (this.uidValidity !== uidValidity) return null;
    const read = this.openStatements();
    const candidates = candidatesOf(query, {
      fields: (match) => read.fields.all(match) as number[],
      texts: (match) => read.texts.all(match) as number[],
    });
    if (candidates === null) return null;
    const upTo = this.lastSeq;
    const seqs = this.indexedSeq;
    return {
      candidates,
      indexed: (uid) => (seqs.get(uid) ?? Number.POSITIVE_INFINITY) <= upTo,
      unindexed: (uids) => this.unindexedOf(uids, upTo, seqs),
    };
  }

  /**
   * The UIDs of `uids` not held as of `upTo`, remembered for the same list (by identity and length: a session's
   * UID list is replaced when messages go, and only appended to in place) and the same state of the index
   * (`seqs` changes only by rows added, raising lastSeq, or dropped, lowering its size). A repeated SEARCH of a
   * 100,000-message mailbox walked the list each time: about 5 ms of the 14.
   */
  private unindexedMemo: { list: readonly number[]; length: number; seqs: Map<number, number>; key: string; missing: number[] } | null =
    null;

  private unindexedOf(uids: readonly number[], upTo: number, seqs: Map<number, number>): readonly number[] {
    const key = `${this.generation}\0${upTo}\0${seqs.size}`;
    const memo = this.unindexedMemo;
    if (memo && memo.list === uids && memo.length === uids.length && memo.seqs === seqs && memo.key === key) return memo.missing;
    const missing: number[] = [];
    for (const uid of uids) if (!((seqs.get(uid) ?? Number.POSITIVE_INFINITY) <= upTo)) missing.push(uid);
    this.unindexedMemo = { list: uids, length: uids.length, seqs, key, missing };
    return missing;
  }

  /**
   * Whether the index has recorded every message of `messages` (read or not): remembered as unindexedOf is (a
   * view's list is replaced whenever it changes).
   */
  private recordedMemo: { list: readonly { uid: number }[]; length: number; key: string; all: boolean } | null = null;

  recordsAll(messages: readonly { uid: number }[]): boolean {
    const key = `${this.generation}\0${this.lastSeq}\0${this.recorded.size}`;
    const memo = this.recordedMemo;
    if (memo && memo.list === messages && memo.length === messages.length && memo.key === key) return memo.all;
    const all = messages.every((m) => this.recorded.has(m.uid));
    this.recordedMemo = { list: messages, length: messages.length, key, all };
    return all;
  }

  /** Set once holdsExactly() answered from the file's summary: later asks read the UIDs (a wrong "yes" waits one job). */
  private summaryTold = false;

  /**
   * Whether the index has recorded exactly the messages `uids` (read or not) under `uidValidity`: upkeep's job then
   * has nothing to do. Every SELECT asks for a job; a job that read the index's 100,000 UIDs into memory to find
   * nothing to do took about 150 ms of the upkeep thread, which on two cores slowed the searches that followed
   * the SELECT. With the UIDs in memory they are compared; before, the first time, the file's count and sums of
   * its UIDs are (SQLite sums them without handing over a row). A different set with the same count and sums is
   * all but impossible, and costs only time: SEARCH checks what the index does not hold, and the next job reads the UIDs.
   */
  holdsExactly(uidValidity: number, uids: Uint32Array): boolean {
    try {
      if (this.dataVersion !== -1) {
        this.statements().refresh();
        if (this.uidValidity !== uidValidity || this.recorded.size !== uids.length) return false;
        for (const uid of uids) if (!this.recorded.has(uid)) return false;
        return true;
      }
      if (this.summaryTold) return false;
      this.summaryTold = true;
      const read = this.statements();
      const meta = new Map(read.meta.all() as [string, unknown][]);
      if (Number(meta.get('uidvalidity') ?? 0) !== uidValidity) return false;
      const [count, sum, a, b] = read.summary.get() as [number, number, number, number];
      if (count !== uids.length) return false;
      let sumNow = 0;
      let aNow = 0;
      let bNow = 0;
      for (const uid of uids) {
        sumNow += uid;
        aNow += scrambled(uid, SCRAMBLINGS[0]);
        bNow += scrambled(uid, SCRAMBLINGS[1]);
      }
      return sum === sumNow && a === aNow && b === bNow;
    } catch {
      return false; // the job's own path meets the failure and says so
    }
  }

  /** Whether the index holds the message's text now. */
  holds(uid: number): boolean {
    return this.indexedSeq.has(uid);
  }

  /** How many messages' text it holds. */
  get indexedCount(): number {
    return this.indexedSeq.size;
  }

  /** Makes the index hold `uidValidity`'s messages: emptied when it held another's (or on a rebuild). */
  reset(uidValidity: number): void {
    const db = this.connection();
    wipe(db, uidValidity);
    this.dataVersion = -1;
    this.statements().refresh();
  }

  /**
   * Adds messages in one write transaction (BEGIN IMMEDIATE: one writer at a time; SQLITE_BUSY when another
   * process keeps writing past the busy timeout). Those another process added meanwhile are skipped.
   * False when the index now holds another UIDVALIDITY than the rows were read for (a rebuild meanwhile keeps them).
   */
  add(rows: readonly IndexRow[], uidValidity: number): boolean {
    const db = this.connection();
    const insertFields = db.prepare('INSERT INTO fields (rowid, subject, from_, to_, cc, bcc) VALUES (?, ?, ?, ?, ?, ?)');
    const insertTexts = db.prepare('INSERT INTO texts (rowid, header, parts, body) VALUES (?, ?, ?, ?)');
    const insertMessage = db.prepare('INSERT OR IGNORE INTO messages (uid, indexed) VALUES (?, ?)');
    const uidValidityNow = db.prepare("SELECT value FROM meta WHERE key = 'uidvalidity'").pluck();
    const added = db
      .transaction(() => {
        if (Number(uidValidityNow.get() ?? 0) !== uidValidity) return false;
        for (const row of rows) {
          if (insertMessage.run(row.uid, row.text === null ? 0 : 1).changes === 0) continue; // another process was first
          const t = row.text;
          if (t === null) continue;
          insertFields.run(row.uid, t.subject, t.from, t.to, t.cc, t.bcc);
          insertTexts.run(row.uid, t.header, t.parts, t.body);
        }
        return true;
      })
      .immediate();
    this.dataVersion = -1; // data_version does not change for this connection's own commits
    this.statements().refresh();
    return added;
  }

  /** Drops expunged messages' rows (UIDs are never reused under one UIDVALIDITY: a stale row misleads no one meanwhile). */
  drop(uids: readonly number[]): void {
    if (uids.length === 0) return;
    const db = this.connection();
    const deleteFields = db.prepare('DELETE FROM fields WHERE rowid = ?');
    const deleteTexts = db.prepare('DELETE FROM texts WHERE rowid = ?');
    const deleteMessage = db.prepare('DELETE FROM messages WHERE uid = ? RETURNING indexed').pluck();
    db.transaction(() => {
      for (const uid of uids) {
        const indexed = deleteMessage.get(uid) as number | undefined;
        if (indexed !== 1) continue;
        deleteFields.run(uid);
        deleteTexts.run(uid);
      }
    }).immediate();
    for (const uid of uids) {
      this.recorded.delete(uid);
      this.indexedSeq.delete(uid);
    }
  }

  /** The file's size in octets (with its WAL), for `postern index status`. */
  size(): number {
    const path = indexPath(this.folder);
    let total = 0;
    for (const suffix of ['', '-wal']) {
      try {
        total += statSync(`${path}${suffix}`).size;
      } catch {
        // no such file
      }
    }
    return total;
  }

  /** A failure of the file: logged, the connection closed; a damaged file is removed so that it is made again. */
  fail(err: unknown): void {
    const damaged = isDamage(err);
    this.log?.warn(
      { path: indexPath(this.folder), err: (err as Error).message },
      damaged ? 'the search index is damaged: made again' : 'the search index failed',
    );
    this.failed = true;
    this.close();
    if (damaged) removeIndexFile(indexPath(this.folder));
  }

  close(): void {
    try {
      this.db?.close();
    } catch {
      // closing a connection to a damaged file
    }
    this.db = null;
    this.read = null;
    this.ino = 0;
    this.dataVersion = -1;
  }
}
