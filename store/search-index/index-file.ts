// The SEARCH index file of one mailbox: `postern-search.sqlite` in its Maildir folder (Postern's own name:
// the folder watch ignores postern-* files, and Dovecot's Maildir reads only its own files and the
// dot-folders of Maildir++ there), an SQLite database in WAL mode (readers never wait for the writer; one
// writer at a time among every process on the tree, each waiting at most BUSY_MS for the lock). On a tree
// several machines share (sharedTree: NFS) the rollback journal instead: WAL's shared memory works only
// between the processes of one machine (SQLite's "WAL does not work over a network filesystem").
//
//   meta(key, value)          version, the mailbox's uidvalidity, a generation made new at each wipe
//   messages(seq, uid, indexed)  each message the index has looked at: indexed 0 when its text is not in
//                             the index (too large), so SEARCH checks it always; seq grows with every row
//                             so that another process's additions are read without reading all rows
//   fields, texts             FTS5 tables, contentless (the text is not kept: the index is a fraction of the mail;
//                             contentless_delete lets an expunged message's row go), trigram tokenizer
//                             (substring matching) over the folded text (message-text.ts), case-sensitive
//                             since the text is folded already. fields: subject, from, to, cc, bcc, detail=column
//                             (which field holds a trigram: FROM does not find the body's or the subject's words);
//                             texts: the whole header, the part headers and the body, detail=none (which message
//                             holds a trigram: a third of detail=column's size, and most of the text is here).
//                             Neither keeps positions: fts-query.ts asks for trigrams, not phrases.
//
// The file is Postern's own and can always be made again from the mail: one that is damaged, missing, of
// another version or of another UIDVALIDITY is replaced by an empty one, which upkeep.ts fills.
import { lchownSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';

export const INDEX_FILE = 'postern-search.sqlite';

/**
 * The version of the file's layout and of the text in it (message-text.ts): a file of another version is
 * made again, so a change to the evaluator's text or folding bumps it.
 */
export const INDEX_VERSION = 1;

/** How long a write waits for another process's write (SQLite's busy timeout), in ms. */
export const BUSY_MS = 200;

/** The FTS5 tables' options, as measured (README "Index for SEARCH"; test/unit/search-index-size.test.ts). */
export const FTS_OPTIONS = "content='', contentless_delete=1, tokenize='trigram case_sensitive 1'";

const SCHEMA = `
  CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value) WITHOUT ROWID;
  CREATE TABLE IF NOT EXISTS messages (seq INTEGER PRIMARY KEY AUTOINCREMENT, uid INTEGER NOT NULL UNIQUE, indexed INTEGER NOT NULL);
  CREATE VIRTUAL TABLE IF NOT EXISTS fields USING fts5(subject, from_, to_, cc, bcc, ${FTS_OPTIONS}, detail=column);
  CREATE VIRTUAL TABLE IF NOT EXISTS texts USING fts5(header, parts, body, ${FTS_OPTIONS}, detail=none);
`;

export type IndexDatabase = Database.Database;

/** The SQLite codes that say the file is not a usable index (as opposed to busy, full, or read-only). */
const DAMAGED = new Set(['SQLITE_CORRUPT', 'SQLITE_NOTADB', 'SQLITE_CORRUPT_VTAB', 'SQLITE_CORRUPT_INDEX', 'SQLITE_CORRUPT_SEQUENCE']);

export function isDamage(err: unknown): boolean {
  const code = (err as { code?: unknown }).code;
  return typeof code === 'string' && (DAMAGED.has(code) || code.startsWith('SQLITE_CORRUPT'));
}

/** The busy answer of a write while another process writes. */
export function isBusy(err: unknown): boolean {
  const code = (err as { code?: unknown }).code;
  return typeof code === 'string' && code.startsWith('SQLITE_BUSY');
}

export function indexPath(folder: string): string {
  return join(folder, INDEX_FILE);
}

/** The file's inode, or null when there is none: a file replaced or removed under an open connection is noticed by it. */
export function inodeOf(path: string): number | null {
  try {
    return statSync(path).ino;
  } catch {
    return null;
  }
}

/** Removes the file and its WAL and shared-memory files (another process's open connection keeps its own until it notices). */
export function removeIndexFile(path: string): void {
  for (const suffix of ['', '-wal', '-shm', '-journal']) rmSync(`${path}${suffix}`, { force: true });
}

/**
 * A file made as root gets the folder's owner, as every file Postern makes in a Maildir (store/maildir/owner.ts),
 * so the mail user's processes can use it; SQLite gives its -wal and -shm files the database file's owner.
 */
function ownedAsFolder(folder: string, path: string): void {
  if (process.geteuid?.() !== 0) return;
  const owner = statSync(folder);
  const file = statSync(path);
  if (file.uid !== owner.uid || file.gid !== owner.gid) lchownSync(path, owner.uid, owner.gid);
}

function randomGeneration(): string {
  return `${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 10)}`;
}

export interface OpenedIndex {
  readonly db: IndexDatabase;
  readonly ino: number;
  /** Why the file was made anew, when it was ("missing", "damaged", "another version"); null: opened as it was. */
  readonly made: string | null;
}

/** wal: one machine's processes; delete: the rollback journal, for a tree several machines share. */
export type IndexJournal = 'wal' | 'delete';

/** Opens (or makes) the index of `folder`; a damaged file or one of another version is removed and made again. */
export function openIndexFile(folder: string, journal: IndexJournal = 'wal'): OpenedIndex {
  const path = indexPath(folder);
  let made: string | null = inodeOf(path) === null ? 'missing' : null;
  for (let attempt = 0; ; attempt++) {
    let db: IndexDatabase | null = null;
    try {
      db = new Database(path, { timeout: BUSY_MS });
      db.pragma(`journal_mode = ${journal === 'wal' ? 'WAL' : 'DELETE'}`);
      db.pragma('synchronous = NORMAL'); // the index is made again from the mail after a crash: no fsync per commit
      db.pragma('journal_size_limit = 1048576'); // the WAL is cut back to 1 MiB after each checkpoint
      db.exec(SCHEMA);
      const version = db.prepare("SELECT value FROM meta WHERE key = 'version'").pluck().get() as number | undefined;
      if (version === undefined) {
        db.prepare("INSERT OR IGNORE INTO meta (key, value) VALUES ('version', ?), ('generation', ?)").run(
          INDEX_VERSION,
          randomGeneration(),
        );
      } else if (version !== INDEX_VERSION) {
        db.close();
        db = null;
        removeIndexFile(path);
        made = 'another version';
        continue;
      }
      if (made !== null) ownedAsFolder(folder, path);
      const ino = inodeOf(path);
      if (ino === null) throw Object.assign(new Error('the index file went away while it was opened'), { code: 'SQLITE_CORRUPT' });
      return { db, ino, made };
    } catch (err) {
      db?.close();
      if (!isDamage(err) || attempt >= 2) throw err;
      removeIndexFile(path);
      made = 'damaged';
    }
  }
}

/** Empties the index (a new UIDVALIDITY, a rebuild): every row goes and the generation changes, in one transaction. */
export function wipe(db: IndexDatabase, uidValidity: number): void {
  db.transaction(() => {
    db.exec("INSERT INTO fields (fields) VALUES ('delete-all'); INSERT INTO texts (texts) VALUES ('delete-all'); DELETE FROM messages;");
    db.prepare("INSERT OR REPLACE INTO meta (key, value) VALUES ('generation', ?), ('uidvalidity', ?)").run(
      randomGeneration(),
      uidValidity,
    );
  }).immediate();
}
