// The SEARCH index on a tree several machines share (`sharedTree: true`, README "Index for SEARCH"): SQLite's
// rollback journal instead of WAL (whose shared memory works on one machine only), with the upkeep thread and
// the main thread each on a connection of their own, as with WAL. A file of its own: the process's index
// upkeep takes its journal mode once (store/search-index/search-indexes.ts), and vitest runs each file in a
// process of its own. Also the list of messages a SEARCH must check besides the index's candidates
// (SearchIndexAnswer.unindexed), remembered while neither the list nor the index changes.
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { SearchKey } from '../../modules/imap/search/search-key.js';
import { indexPath } from '../../store/search-index/index-file.js';
import { MailboxIndex } from '../../store/search-index/mailbox-index.js';
import { indexedText } from '../../store/search-index/message-text.js';
import { searchIndexes } from '../../store/search-index/search-indexes.js';
import {
  alice,
  checkedWithIndex,
  crlfChunks,
  maildirStore,
  referenceUids,
  selectedForSearch,
  upkeepDone,
  warningLog,
} from '../helpers/search-index-store.js';

let dir: string;
let maildir: string;
const { warnings, log } = warningLog();

const message = (subject: string, body: string) =>
  `From: Ann <ann@x.example>\nTo: alice@example.org\nSubject: ${subject}\nDate: Mon, 4 Mar 2024 10:00:00 +0000\n\n${body}\n`;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'postern-index-shared-'));
  maildir = join(dir, 'example.org', 'alice', 'Maildir');
  warnings.length = 0;
  searchIndexes(log, 'delete'); // this process's upkeep, as a server with sharedTree: true makes it
});
afterEach(async () => {
  await upkeepDone(log);
  await searchIndexes(log).stop();
  await rm(dir, { recursive: true, force: true });
});

describe('the SEARCH index with sharedTree: true', () => {
  it('uses the rollback journal (no -wal file) and gives the answers of the index-free path', async () => {
    const store = maildirStore(dir, log, true, true);
    for (let i = 0; i < 60; i++)
      await store.deliver(
        alice,
        'INBOX',
        crlfChunks(message(i % 10 === 3 ? `needle ${i}` : `hay ${i}`, `body ${i} ${i % 7 === 0 ? 'pin' : 'x'}`)),
      );
    const view = await selectedForSearch(store);
    await upkeepDone(log);
    const db = new Database(indexPath(maildir), { readonly: true });
    try {
      expect(db.pragma('journal_mode', { simple: true })).toBe('delete');
      expect(db.prepare('SELECT count(*) FROM messages WHERE indexed = 1').pluck().get()).toBe(60);
    } finally {
      db.close();
    }
    expect(existsSync(`${indexPath(maildir)}-wal`)).toBe(false);
    for (const key of [
      { kind: 'header', field: 'subject', value: 'needle', subject: true },
      { kind: 'text', where: 'body', value: 'body 4' },
    ] satisfies SearchKey[]) {
      const expected = await referenceUids(view, key);
      expect(expected.length).toBeGreaterThan(0);
      const checked = await checkedWithIndex(view, key);
      expect(checked).toEqual(expect.arrayContaining(expected));
      expect(checked!.length).toBeLessThan(view.messages.length); // it narrowed
    }
    expect(warnings).toEqual([]);
    view.close();
  });
});

describe('SearchIndexAnswer.unindexed', () => {
  it('gives the messages the index does not hold, and stays true as the index grows and the list is appended to', async () => {
    const store = maildirStore(dir, log, false);
    await store.deliver(alice, 'INBOX', crlfChunks(message('one', 'a body')));
    const view = await store.open(alice, 'INBOX');
    const index = new MailboxIndex(maildir, log, 'delete');
    try {
      index.reset(view.uidValidity); // a new file: emptied for this UIDVALIDITY, as the upkeep starts it
      expect(index.ready(view.uidValidity)).toBe(true);
      const row = (uid: number) => ({ uid, text: indexedText(Buffer.from(message(`m${uid}`, 'text').replace(/\n/g, '\r\n'))) });
      index.add([row(1), row(2)], view.uidValidity);
      const query = { kind: 'contains', fields: ['subject'], text: 'm10' } as const;
      const list = [1, 2, 3, 4];
      const first = index.answer(query, view.uidValidity)!;
      expect(first.unindexed(list)).toEqual([3, 4]);
      expect(first.unindexed(list)).toBe(first.unindexed(list)); // remembered: the same list, the same index
      list.push(5); // a session's list grows in place
      expect(first.unindexed(list)).toEqual([3, 4, 5]);
      index.add([row(3), row(5)], view.uidValidity);
      expect(index.answer(query, view.uidValidity)!.unindexed(list)).toEqual([4]);
      index.drop([1]);
      expect(index.answer(query, view.uidValidity)!.unindexed(list)).toEqual([1, 4]);
      expect(index.answer(query, view.uidValidity)!.unindexed([1, 2])).toEqual([1]); // another list
    } finally {
      index.close();
      view.close();
    }
  });
});
