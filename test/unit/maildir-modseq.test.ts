// Mod-sequences of the Maildir store (store/maildir/modseq.ts): kept in postern-modseq so that a restart,
// another worker or node (another MaildirStore on the same tree) and changes Dovecot makes to the files
// all end up with the same modseqs; bounded memory of expunges; appends, not rewrites, per change.
import { mkdtemp, readdir, readFile, rename, rm, stat, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { AccountAddress } from '../../accounts/names.js';
import { MaildirStore } from '../../store/maildir/store.js';
import { MODSEQ_FILE, ModseqLog } from '../../store/maildir/modseq.js';

const alice: AccountAddress = { name: 'alice', domain: 'example.org' };
let dir: string;
let maildir: string;

function makeStore(): MaildirStore {
  const folders = {
    accountDir: (a: AccountAddress) => join(dir, a.domain, a.name),
    maildir: (a: AccountAddress) => join(dir, a.domain, a.name, 'Maildir'),
  };
  // no file watch: each sync looks at the disk, as another node's process would
  return new MaildirStore(folders, { mainDomain: 'example.org', watching: { fileWatch: false } });
}

async function* chunks(text: string): AsyncGenerator<Buffer> {
  yield Buffer.from(text);
}

/** The file of a message in cur/ or new/ by its key. */
async function fileOf(key: string): Promise<{ sub: string; name: string }> {
  for (const sub of ['cur', 'new']) for (const name of await readdir(join(maildir, sub))) if (name.startsWith(key)) return { sub, name };
  throw new Error(`no file for ${key}`);
}

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'postern-modseq-'));
  maildir = join(dir, 'example.org', 'alice', 'Maildir');
});
afterEach(() => rm(dir, { recursive: true, force: true }));

describe('Maildir mod-sequences', () => {
  it('survive a restart and agree between two processes on one tree', async () => {
    const a = makeStore();
    const uids = [];
    for (let i = 0; i < 5; i++) uids.push((await a.deliver(alice, 'INBOX', chunks(`Subject: ${i}\n\n${i}\n`))).uid);
    const view = await a.open(alice, 'INBOX');
    const [changed] = await view.store([uids[2]], { add: ['\\Seen'] });
    await view.expunge([uids[4]]);
    await view.sync();
    const highest = view.highestModseq;
    expect(highest).toBeGreaterThan(changed.modseq);
    // "another process" (or Postern after a restart): a store with nothing in memory
    const b = makeStore();
    const other = await b.open(alice, 'INBOX');
    expect(other.highestModseq).toBe(highest);
    expect(other.messages.map((m) => [m.uid, m.modseq])).toEqual(view.messages.map((m) => [m.uid, m.modseq]));
    expect(other.expungedSince(changed.modseq)).toEqual([uids[4]]);
    // a change made by the second is seen by the first with the modseq the second gave it
    const [byB] = await other.store([uids[0]], { add: ['\\Flagged'] });
    expect(byB.modseq).toBe(highest + 1);
    const sync = await view.sync();
    expect(sync.flagsChanged.map((m) => [m.uid, m.modseq])).toEqual([[uids[0], highest + 1]]);
    expect(view.highestModseq).toBe(highest + 1);
    view.close();
    other.close();
  });

  it("another server's changes to the files (renames, removals, new files) get one new modseq, the same in every process", async () => {
    const a = makeStore();
    const one = await a.deliver(alice, 'INBOX', chunks('Subject: one\n\n1\n'));
    const two = await a.deliver(alice, 'INBOX', chunks('Subject: two\n\n2\n'));
    const three = await a.deliver(alice, 'INBOX', chunks('Subject: three\n\n3\n'));
    const view = await a.open(alice, 'INBOX');
    const before = view.highestModseq;
    // as Dovecot sets \Flagged and \Seen: the file renamed into cur/ with the letters
    const f = await fileOf(one.key);
    await rename(join(maildir, f.sub, f.name), join(maildir, 'cur', `${one.key}:2,FS`));
    // as Dovecot expunges
    const g = await fileOf(two.key);
    await unlink(join(maildir, g.sub, g.name));
    // as Dovecot delivers (a file the uidlist does not know yet)
    await writeFile(join(maildir, 'new', '1796113801.M1P1.other'), 'Subject: four\n\n4\n');
    const sync = await view.sync();
    expect(sync.flagsChanged.map((m) => m.uid)).toEqual([one.uid]);
    expect(sync.expunged).toEqual([two.uid]);
    expect(sync.added).toHaveLength(1);
    const modseq = view.get(one.uid)!.modseq;
    expect(modseq).toBe(before + 1);
    expect(sync.added[0].modseq).toBe(modseq);
    expect(view.highestModseq).toBe(modseq);
    expect(view.expungedSince(before)).toEqual([two.uid]);
    expect(view.get(three.uid)!.modseq).toBeLessThanOrEqual(before);
    // another process that noticed nothing itself finds the same
    const other = await makeStore().open(alice, 'INBOX');
    expect(other.highestModseq).toBe(modseq);
    expect(other.get(one.uid)!.modseq).toBe(modseq);
    expect(other.expungedSince(before)).toEqual([two.uid]);
    // a look that finds nothing new writes nothing
    const size = (await stat(join(maildir, MODSEQ_FILE))).size;
    await view.sync();
    await (await makeStore().open(alice, 'INBOX')).sync();
    expect((await stat(join(maildir, MODSEQ_FILE))).size).toBe(size);
    view.close();
    other.close();
  });

  it('a change made while no Postern ran is found at the next open', async () => {
    const a = makeStore();
    const one = await a.deliver(alice, 'INBOX', chunks('Subject: one\n\n1\n'));
    const view = await a.open(alice, 'INBOX');
    const before = view.highestModseq;
    view.close();
    const f = await fileOf(one.key);
    await rename(join(maildir, f.sub, f.name), join(maildir, 'cur', `${one.key}:2,S`));
    const later = await makeStore().open(alice, 'INBOX');
    expect(later.get(one.uid)!.modseq).toBe(before + 1);
    expect([...later.get(one.uid)!.flags]).toEqual(['\\Seen']);
    later.close();
  });

  it('postern-modseq removed or damaged: made again with modseqs above any a client saw', async () => {
    const a = makeStore();
    const one = await a.deliver(alice, 'INBOX', chunks('Subject: one\n\n1\n'));
    const view = await a.open(alice, 'INBOX');
    await view.store([one.uid], { add: ['\\Seen'] });
    const seen = view.highestModseq;
    view.close();
    for (const damage of [() => unlink(join(maildir, MODSEQ_FILE)), () => writeFile(join(maildir, MODSEQ_FILE), 'garbage\n')]) {
      await damage();
      const later = await makeStore().open(alice, 'INBOX');
      expect(later.highestModseq).toBeGreaterThan(seen);
      expect(later.get(one.uid)!.modseq).toBeGreaterThan(seen);
      later.close();
    }
  });
});

describe('the modseq log (postern-modseq)', () => {
  const live = (n: number, letters = '') => Array.from({ length: n }, (_, i) => ({ uid: i + 1, letters }));

  it('remembers a bounded number of expunged UIDs and says when a request reaches back further (null)', async () => {
    await writeFile(join(dir, 'x'), '');
    const log = new ModseqLog(dir, undefined, 5);
    let messages = live(40);
    await log.reconcile(7, messages, true);
    const start = log.highest;
    // 30 expunges, one at a time
    for (let uid = 1; uid <= 30; uid++) {
      messages = messages.filter((m) => m.uid !== uid);
      await log.record(7, [], [uid]);
    }
    // the last 5 at least are remembered exactly; a request older than what is kept gets null (the RFC's fallback)
    const recent = log.expungedSince(log.highest - 5);
    expect(recent).toEqual([26, 27, 28, 29, 30]);
    expect(log.expungedSince(start)).toBeNull();
    // and so does a process that reads the file afresh
    const fresh = new ModseqLog(dir, undefined, 5);
    await fresh.reconcile(7, messages, true);
    expect(fresh.highest).toBe(log.highest);
    expect(fresh.expungedSince(log.highest - 5)).toEqual([26, 27, 28, 29, 30]);
    expect(fresh.expungedSince(start)).toBeNull();
  });

  it('changes recorded at once by two processes each get a modseq of their own, and both read the same file', async () => {
    const a = new ModseqLog(dir);
    const b = new ModseqLog(dir);
    await a.reconcile(3, live(40), true);
    await b.reconcile(3, live(40), true);
    const start = a.highest;
    const results = await Promise.all(
      Array.from({ length: 40 }, (_, i) => (i % 2 ? a : b).record(3, [{ uid: i + 1, letters: 'F' }], []).then((m) => m.get(i + 1)!)),
    );
    expect(new Set(results).size).toBe(40);
    expect(Math.max(...results)).toBe(start + 40);
    const fresh = new ModseqLog(dir);
    await fresh.reconcile(3, live(40, 'F'), true);
    expect(fresh.highest).toBe(start + 40);
    for (let uid = 1; uid <= 40; uid++) expect(fresh.modseqOf(uid)).toBe(results[uid - 1]);
  });

  it("a change recorded already (a session's own STORE, then the watch's report of it) takes no lock and writes nothing", async () => {
    const log = new ModseqLog(dir);
    await log.reconcile(5, live(10), true);
    await log.record(5, [{ uid: 3, letters: 'S' }], [7]);
    const before = await stat(dir);
    const file = await stat(join(dir, MODSEQ_FILE));
    await new Promise((r) => setTimeout(r, 20)); // a lock made and removed would move the folder's change time past this
    await log.reconcileSome(5, [{ uid: 3, letters: 'S' }], [7]);
    const after = await stat(dir);
    expect(after.ctimeMs).toBe(before.ctimeMs);
    expect((await stat(join(dir, MODSEQ_FILE))).size).toBe(file.size);
    // a change another process has not recorded still is, under the lock
    await log.reconcileSome(5, [{ uid: 4, letters: 'F' }], []);
    expect((await stat(dir)).ctimeMs).toBeGreaterThan(before.ctimeMs);
    expect(log.modseqOf(4)).toBe(log.highest);
  });

  it('100 flag changes in a mailbox of 100,000 messages append short lines, never rewrite the file', async () => {
    const log = new ModseqLog(dir);
    const messages = live(100_000);
    let started = performance.now();
    await log.reconcile(9, messages, true);
    const created = performance.now() - started;
    const size = (await stat(join(dir, MODSEQ_FILE))).size;
    const inode = (await stat(join(dir, MODSEQ_FILE))).ino;
    for (let i = 0; i < 100; i++) await log.record(9, [{ uid: 1000 * i + 1, letters: 'S' }], []);
    const grown = (await stat(join(dir, MODSEQ_FILE))).size - size;
    expect(grown).toBeLessThan(100 * 32);
    expect((await stat(join(dir, MODSEQ_FILE))).ino).toBe(inode);
    // a process that opens the mailbox reads it once; a look that finds nothing changed costs little
    for (let i = 0; i < 100; i++) messages[1000 * i] = { uid: 1000 * i + 1, letters: 'S' };
    const other = new ModseqLog(dir);
    started = performance.now();
    await other.reconcile(9, messages, true);
    const opened = performance.now() - started;
    expect(other.highest).toBe(log.highest);
    expect((await stat(join(dir, MODSEQ_FILE))).size - size).toBe(grown);
    started = performance.now();
    await other.reconcile(9, messages, true);
    const looked = performance.now() - started;
    // bounds that only catch work growing out of proportion (the machine running the tests may be busy)
    expect(created).toBeLessThan(15_000);
    expect(opened).toBeLessThan(15_000);
    expect(looked).toBeLessThan(2_000);
    expect((await readFile(join(dir, MODSEQ_FILE), 'latin1')).split('\n')[0]).toMatch(/^P1 V9 H\d+ F\d+$/);
  });
});
