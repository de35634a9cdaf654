// What the SEARCH index's store-level tests share (test/unit/search-index.test.ts, search-index-worker.test.ts):
// a real Maildir store in a temporary folder with the index on or off, a view opened as IMAP's SELECT opens
// it, waiting for the upkeep to end, and the two sides every check compares: the UIDs the evaluator finds
// reading every message, and the UIDs SEARCH reads once the index has narrowed.
import type { AccountAddress } from '../../accounts/names.js';
import { toCrlf } from '../../lib/crlf.js';
import { compileSearch, type SearchMessage } from '../../modules/imap/search/evaluate.js';
import { narrowByIndex } from '../../modules/imap/search/index-query.js';
import type { SearchKey } from '../../modules/imap/search/search-key.js';
import type { MailboxView } from '../../store/contract.js';
import { MaildirStore } from '../../store/maildir/store.js';
import type { IndexLog } from '../../store/search-index/mailbox-index.js';
import { searchIndexes } from '../../store/search-index/search-indexes.js';
import { join } from 'node:path';

export const alice: AccountAddress = { name: 'alice', domain: 'example.org' };

/** A log that keeps its warnings for the test to look at. */
export function warningLog(): { warnings: { details: Record<string, unknown>; message: string }[]; log: IndexLog } {
  const warnings: { details: Record<string, unknown>; message: string }[] = [];
  return { warnings, log: { warn: (details, message) => warnings.push({ details, message }) } };
}

/**
 * A Maildir store of accounts under `dir` (DOMAIN/NAME/Maildir), with the SEARCH index or without it; `sharedTree`:
 * as on a tree several machines share (the index with SQLite's rollback journal).
 */
export function maildirStore(dir: string, log: IndexLog, searchIndex = true, sharedTree = false): MaildirStore {
  const folders = {
    accountDir: (a: AccountAddress) => join(dir, a.domain, a.name),
    maildir: (a: AccountAddress) => join(dir, a.domain, a.name, 'Maildir'),
  };
  return new MaildirStore(folders, { mainDomain: 'example.org', watching: { fileWatch: false }, searchIndex, sharedTree, log });
}

/** alice's INBOX as IMAP's SELECT opens it: prepared for SEARCH (its index kept up in the background). */
export async function selectedForSearch(store: MaildirStore): Promise<MailboxView> {
  const view = await store.open(alice, 'INBOX');
  view.searchIndex?.prepare();
  return view;
}

/** A message's text as a delivery's input, with CRLF line ends. */
export async function* crlfChunks(text: string): AsyncGenerator<Buffer> {
  yield Buffer.from(text.replace(/\r?\n/g, '\r\n'));
}

/** Waits until this process's upkeep has had nothing queued or under way for three looks in a row. */
export async function upkeepDone(log: IndexLog, limitMs = 120_000): Promise<void> {
  const upkeep = searchIndexes(log).upkeep;
  const until = Date.now() + limitMs;
  for (let calm = 0; calm < 3; ) {
    if (Date.now() > until) throw new Error('the upkeep did not end');
    calm = upkeep.idle ? calm + 1 : 0;
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** The message's octets as SEARCH reads them (CRLF line ends). */
export async function rawOf(view: MailboxView, uid: number): Promise<Buffer> {
  const now = view.readNow(uid);
  if (now) return toCrlf(Buffer.from(now));
  const parts: Buffer[] = [];
  for await (const chunk of await view.open(uid)) parts.push(chunk as Buffer);
  return toCrlf(Buffer.concat(parts));
}

/** The UIDs the evaluator finds without any index. */
export async function referenceUids(view: MailboxView, key: SearchKey): Promise<number[]> {
  const compiled = compileSearch(key);
  const hits: number[] = [];
  for (const m of view.messages) {
    const raw = await rawOf(view, m.uid);
    const sm: SearchMessage = {
      uid: m.uid,
      size: m.size,
      flags: m.flags,
      internalDate: () => view.internalDate(m.uid),
      header: async () => raw,
      raw: async () => raw,
    };
    if (await compiled.test(sm)) hits.push(m.uid);
  }
  return hits;
}

/** The UIDs SEARCH reads with the index: those it does not hold, and its candidates; null when it gave no answer. */
export async function checkedWithIndex(view: MailboxView, key: SearchKey): Promise<number[] | null> {
  const answer = await narrowByIndex(view, key);
  if (answer === null) return null;
  return view.messages.map((m) => m.uid).filter((uid) => !answer.indexed(uid) || answer.candidates.has(uid));
}
