// The SEARCH index (store/search-index/) over a real Maildir store and a real SQLite file: trigrams as
// SQLite's tokenizer cuts them, the index kept up in the background after deliveries, expunges dropped,
// a removed, damaged or foreign-UIDVALIDITY file made again with a log line, and its answers never leaving
// out a message the evaluator finds (modules/imap/search/index-query.ts, evaluate.ts).
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { indexQuery, narrowByIndex } from '../../modules/imap/search/index-query.js';
import type { SearchKey } from '../../modules/imap/search/search-key.js';
import { fold } from '../../mime/mime-text.js';
import { candidatesOf, fieldsMatch, trigramsOf } from '../../store/search-index/fts-query.js';
import { INDEX_FILE } from '../../store/search-index/index-file.js';
import { MailboxIndex } from '../../store/search-index/mailbox-index.js';
import { searchIndexes } from '../../store/search-index/search-indexes.js';
import {
  alice,
  checkedWithIndex,
  crlfChunks,
  maildirStore,
  referenceUids,
  selectedForSearch,
  upkeepDone as upkeepDoneOf,
  warningLog,
} from '../helpers/search-index-store.js';

let dir: string;
let maildir: string;
const { warnings, log } = warningLog();
const makeStore = (searchIndex = true) => maildirStore(dir, log, searchIndex);
const selected = selectedForSearch;
const chunks = crlfChunks;

const message = (subject: string, from: string, body: string, extra = '') =>
  `From: ${from}\nTo: alice@example.org\nSubject: ${subject}\n${extra}Date: Mon, 4 Mar 2024 10:00:00 +0000\n\n${body}\n`;

const upkeepDone = () => upkeepDoneOf(log);
const reference = referenceUids;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'postern-search-index-'));
  maildir = join(dir, 'example.org', 'alice', 'Maildir');
  warnings.length = 0;
});
afterEach(async () => {
  await upkeepDone();
  searchIndexes(log).closeAll();
  await rm(dir, { recursive: true, force: true });
});

describe('trigrams of a needle (fts-query.ts)', () => {
  it('three code points each, distinct; none for a short needle', () => {
    expect(trigramsOf('ab')).toEqual([]);
    expect(trigramsOf('abc')).toEqual(['abc']);
    expect(trigramsOf('aaaa')).toEqual(['aaa']);
    expect(trigramsOf('needle')).toEqual(['nee', 'eed', 'edl', 'dle']);
  });

  it('a surrogate pair is one code point; a lone surrogate or a NUL ends a run', () => {
    expect(trigramsOf('a😀bc')).toEqual(['a😀b', '😀bc']);
    expect(trigramsOf('ab\ud800cd')).toEqual([]);
    expect(trigramsOf('abc\u0000def')).toEqual(['abc', 'def']);
  });

  it('a long needle asks for at most twelve, spread over it', () => {
    const t = trigramsOf('the quick brown fox jumps over the lazy dog');
    expect(t.length).toBe(12);
    expect(t[0]).toBe('the');
    expect(t[11]).toBe('dog');
  });

  it('a quote in a needle is doubled in the MATCH string; an OR with a side it cannot narrow narrows nothing', () => {
    expect(fieldsMatch(['subject', 'from'], ['a"b'])).toBe('{subject from_} : ("a""b")');
    const tables = { fields: () => [1, 2], texts: () => [2, 3] };
    const contains = (text: string, fields: ('body' | 'subject')[] = ['body']) => ({ kind: 'contains' as const, fields, text });
    expect(candidatesOf({ kind: 'or', queries: [contains('ab'), contains('abc')] }, tables)).toBeNull();
    expect(candidatesOf({ kind: 'and', queries: [contains('ab'), contains('abc')] }, tables)).toEqual(new Set([2, 3]));
    expect(candidatesOf({ kind: 'and', queries: [contains('abc', ['subject']), contains('abc')] }, tables)).toEqual(new Set([2]));
    expect(candidatesOf({ kind: 'or', queries: [contains('abc', ['subject']), contains('abc')] }, tables)).toEqual(new Set([1, 2, 3]));
  });
});

describe('the key tree as an index query (index-query.ts)', () => {
  const hdr = (field: string, value: string, address = false): SearchKey => ({
    kind: 'header',
    field,
    value,
    address,
    subject: field === 'subject',
  });
  const body = (value: string): SearchKey => ({ kind: 'text', where: 'body', value });
  it('AND keeps what narrows, OR needs both sides, NOT and flags narrow nothing', () => {
    expect(indexQuery({ kind: 'and', keys: [{ kind: 'flag', flag: '\\Seen', set: true }, body('needle')] })).toEqual({
      kind: 'contains',
      fields: ['body'],
      text: fold('needle'),
    });
    expect(indexQuery({ kind: 'or', a: body('needle'), b: { kind: 'flag', flag: '\\Seen', set: true } })).toBeNull();
    expect(indexQuery({ kind: 'not', key: body('needle') })).toBeNull();
    expect(indexQuery(hdr('x-spam', ''))).toBeNull();
    expect(indexQuery(body('ab'))).toBeNull();
  });
  it('the address keys ask the address fields; HEADER From the raw header; SUBJECT its own', () => {
    expect(indexQuery(hdr('from', 'Alice', true))).toEqual({ kind: 'contains', fields: ['from'], text: fold('alice') });
    expect(indexQuery(hdr('From', 'Alice'))).toEqual({ kind: 'contains', fields: ['header'], text: fold('alice') });
    expect(indexQuery(hdr('subject', 'Report'))).toEqual({ kind: 'contains', fields: ['subject'], text: fold('report') });
    expect(indexQuery({ kind: 'text', where: 'text', value: 'Word' })).toEqual({
      kind: 'contains',
      fields: ['header', 'body', 'parts'],
      text: fold('word'),
    });
  });
});

describe('a mailbox with its index (Maildir store)', () => {
  it('indexes deliveries in the background into postern-search.sqlite, and narrows a search to the messages that may match', async () => {
    const store = makeStore();
    for (let i = 0; i < 30; i++) {
      const subject = i === 7 ? 'Quarterly needle report' : `Ordinary ${i}`;
      const from = i % 10 === 3 ? '"Doe, John" <john@d.example>' : `User ${i} <u${i}@x.example>`;
      await store.deliver(alice, 'INBOX', chunks(message(subject, from, i === 12 ? 'a haystack with a Needle in it' : `body ${i}`)));
    }
    await upkeepDone();
    expect(readdirSync(maildir)).toContain(INDEX_FILE);
    const view = await selected(store);
    await upkeepDone();
    const keys: SearchKey[] = [
      { kind: 'header', field: 'subject', value: 'NEEDLE', subject: true },
      { kind: 'header', field: 'subject', value: 'NEEDLE' },
      { kind: 'text', where: 'body', value: 'needle' },
      { kind: 'text', where: 'text', value: 'needle' },
      { kind: 'header', field: 'from', value: 'doe, john', address: true },
      { kind: 'header', field: 'from', value: 'n@d.ex', address: true },
      { kind: 'or', a: { kind: 'text', where: 'body', value: 'haystack' }, b: { kind: 'header', field: 'subject', value: 'quarterly' } },
    ];
    for (const key of keys) {
      const expected = await reference(view, key);
      const checked = await checkedWithIndex(view, key);
      expect(checked, JSON.stringify(key)).not.toBeNull();
      for (const uid of expected) expect(checked, JSON.stringify(key)).toContain(uid);
      expect(checked!.length, JSON.stringify(key)).toBeLessThanOrEqual(expected.length + 3);
    }
    expect(await reference(view, keys[3])).toHaveLength(2);
    expect(await checkedWithIndex(view, keys[3])).toEqual(await reference(view, keys[3]));
  });

  it('a message the index does not hold yet is always checked; it is indexed after the search', async () => {
    const store = makeStore();
    await store.deliver(alice, 'INBOX', chunks(message('first needle', 'a@x.example', 'one')));
    await upkeepDone();
    const view = await selected(store);
    await upkeepDone();
    // another program delivers (as Dovecot would): the index cannot know it before the view's next sync
    const other = makeStore(false);
    await other.deliver(alice, 'INBOX', chunks(message('second needle', 'b@x.example', 'two')));
    await view.sync();
    const key: SearchKey = { kind: 'header', field: 'subject', value: 'needle', subject: true };
    const answer = await narrowByIndex(view, key);
    const second = view.messages[1].uid;
    expect(answer === null || !answer.indexed(second) || answer.candidates.has(second)).toBe(true);
    await upkeepDone();
    const later = await narrowByIndex(view, key);
    expect(later!.indexed(second)).toBe(true);
    expect(later!.candidates.has(second)).toBe(true);
  });

  it('drops expunged messages at the sync that sees them', async () => {
    const store = makeStore();
    for (let i = 0; i < 3; i++) await store.deliver(alice, 'INBOX', chunks(message(`needle ${i}`, 'a@x.example', 'x')));
    const view = await selected(store);
    await upkeepDone();
    // the upkeep thread writes the file: what it holds is read by a connection of its own
    const recorded = () => {
      const index = new MailboxIndex(maildir);
      index.ready(view.uidValidity);
      index.close();
      return index.recorded;
    };
    const gone = view.messages[1].uid;
    expect(recorded().has(gone)).toBe(true);
    const other = await selected(makeStore(false));
    await other.expunge([gone]);
    await view.sync();
    await upkeepDone();
    expect(recorded().has(gone)).toBe(false);
  });

  it('a removed index file is made again (with a log line) and answers stay those of the evaluator', async () => {
    const store = makeStore();
    for (let i = 0; i < 5; i++) await store.deliver(alice, 'INBOX', chunks(message(`needle ${i}`, 'a@x.example', 'x')));
    const view = await selected(store);
    await upkeepDone();
    const key: SearchKey = { kind: 'header', field: 'subject', value: 'needle 3', subject: true };
    expect(await checkedWithIndex(view, key)).toEqual(await reference(view, key));
    for (const suffix of ['', '-wal', '-shm']) await rm(join(maildir, INDEX_FILE + suffix), { force: true });
    const during = await checkedWithIndex(view, key);
    // the new, empty file holds nothing yet: every message is checked
    expect(during === null || during.length === 5).toBe(true);
    await upkeepDone();
    expect(
      warnings.some((w) => w.message.includes('missing')),
      JSON.stringify(warnings),
    ).toBe(true);
    expect(await checkedWithIndex(view, key)).toEqual(await reference(view, key));
  });

  it('a damaged index file is made again (with a log line), never a wrong answer', async () => {
    const store = makeStore();
    for (let i = 0; i < 5; i++) await store.deliver(alice, 'INBOX', chunks(message(`needle ${i}`, 'a@x.example', 'x')));
    let view = await selected(store);
    await upkeepDone();
    searchIndexes(log).closeAll();
    for (const suffix of ['-wal', '-shm']) await rm(join(maildir, INDEX_FILE + suffix), { force: true });
    writeFileSync(join(maildir, INDEX_FILE), Buffer.alloc(8192, 0x5a));
    view = await selected(store);
    const key: SearchKey = { kind: 'text', where: 'text', value: 'needle 4' };
    const during = await checkedWithIndex(view, key);
    expect(during === null || during.length === 5 || during.includes(view.messages[4].uid)).toBe(true);
    await upkeepDone();
    expect(warnings.some((w) => w.message.includes('made again') && w.details.why === 'damaged')).toBe(true);
    expect(await checkedWithIndex(view, key)).toEqual(await reference(view, key));
  });

  it('with the index off, no file is made and no view has an index', async () => {
    const store = makeStore(false);
    await store.deliver(alice, 'INBOX', chunks(message('needle', 'a@x.example', 'x')));
    const view = await selected(store);
    await upkeepDone();
    expect(view.searchIndex).toBeUndefined();
    expect(existsSync(join(maildir, INDEX_FILE))).toBe(false);
  });
});

describe("upkeep's check that the index holds the mailbox as it is (mailbox-index.ts holdsExactly)", () => {
  const written = (uids: number[]) => {
    mkdirSync(maildir, { recursive: true });
    const index = new MailboxIndex(maildir);
    index.reset(7);
    index.add(
      uids.map((uid) => ({ uid, text: null })),
      7,
    );
    index.close();
  };
  const fresh = () => new MailboxIndex(maildir);

  it('answers from the file summary the first time: yes for the same UIDs, no for others of the same count and sum', () => {
    written([1, 5, 6, 10]);
    const a = fresh();
    expect(a.holdsExactly(7, Uint32Array.of(1, 5, 6, 10))).toBe(true);
    a.close();
    // same count, sum and sum of squares as 1, 5, 6: told apart by the scrambled sums
    const b = fresh();
    expect(b.holdsExactly(7, Uint32Array.of(2, 3, 7, 10))).toBe(false);
    b.close();
    const c = fresh();
    expect(c.holdsExactly(7, Uint32Array.of(1, 5, 6))).toBe(false);
    c.close();
    const d = fresh();
    expect(d.holdsExactly(8, Uint32Array.of(1, 5, 6, 10))).toBe(false); // another UIDVALIDITY
    d.close();
  });

  it('SQLite and JavaScript scramble the largest UIDs alike (every step exact in both)', () => {
    const big = [1, 44_488, 94_906_249, 123_456_789, 3_000_000_000, 4_294_967_295];
    written(big);
    const index = fresh();
    expect(index.holdsExactly(7, Uint32Array.from(big))).toBe(true);
    index.close();
  });

  it('asks the summary once; then compares the UIDs read into memory', () => {
    written([1, 2, 3]);
    const index = fresh();
    expect(index.holdsExactly(7, Uint32Array.of(1, 2, 3))).toBe(true);
    expect(index.holdsExactly(7, Uint32Array.of(1, 2, 3))).toBe(false); // not yet read: the job reads them
    expect(index.ready(7)).toBe(true);
    expect(index.holdsExactly(7, Uint32Array.of(1, 2, 3))).toBe(true);
    expect(index.holdsExactly(7, Uint32Array.of(1, 2, 4))).toBe(false);
    index.add([{ uid: 4, text: null }], 7);
    expect(index.holdsExactly(7, Uint32Array.of(1, 2, 3, 4))).toBe(true);
    index.close();
  });
});
