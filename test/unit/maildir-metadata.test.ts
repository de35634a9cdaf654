// Dovecot's Maildir metadata as Postern reads and writes it (store/maildir/): the uidlist keeps
// fields it does not know and never lowers its next UID, the lock follows Dovecot's stale rules, and
// keywords and subscriptions are written in Dovecot's formats. Dovecot itself checks the same files in
// test/interop/dovecot-uids.test.ts; these cases are the ones a running Dovecot would not show.
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { acquireDotlock, LockTimeoutError } from '../../store/maildir/dotlock.js';
import { MaildirStore } from '../../store/maildir/store.js';
import { readMailboxGuid } from '../../store/maildir/metadata.js';
import type { AccountAddress } from '../../accounts/names.js';

let dir: string;
let store: MaildirStore;
const alice: AccountAddress = { name: 'alice', domain: 'example.org' };
const maildir = () => join(dir, 'alice', 'Maildir');

async function* text(s: string): AsyncGenerator<Buffer> {
  yield Buffer.from(s);
}

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'postern-meta-'));
  store = new MaildirStore(
    { accountDir: (a) => join(dir, a.name), maildir: (a) => join(dir, a.name, 'Maildir') },
    { mainDomain: 'example.org' },
  );
  for (const sub of ['cur', 'new', 'tmp']) await mkdir(join(maildir(), sub), { recursive: true });
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Headers that name no usable GUID: none, a short one, a version 1 header, one not hex, a record line. */
const HEADERS_WITHOUT_GUID = [
  '3 V5 N3',
  '3 V5 N3 G0123',
  '1 5 3',
  '3 V5 N3 Gxyz0123456789abcdef0123456789abcdef',
  '1 :a G0123456789abcdef0123456789abcdef',
];

describe('dovecot-uidlist', () => {
  it('keeps unknown header and record fields, takes the next UID as max(N, last + 1), and only appends', async () => {
    await writeFile(join(maildir(), 'cur', '1700000000.M1P1.host,S=12,W=13:2,S'), 'Subject: a\n\n');
    const before = '3 V1234567 N40 G0123456789abcdef0123456789abcdef Qhdr-unknown\n7 Zunknown-field :1700000000.M1P1.host,S=12,W=13\n';
    await writeFile(join(maildir(), 'dovecot-uidlist'), before);
    const added = await store.deliver(alice, 'INBOX', text('Subject: b\n\nb\n'));
    expect(added.uid).toBe(40); // N was ahead of the last record: it is never lowered
    expect(added.uidValidity).toBe(1234567);
    const after = await readFile(join(maildir(), 'dovecot-uidlist'), 'utf8');
    expect(after.startsWith(before)).toBe(true); // appended, nothing before it changed
    expect(after.slice(before.length)).toBe(`40 :${added.key}\n`);
    const view = await store.open(alice, 'INBOX');
    expect(view.messages.map((m) => m.uid)).toEqual([7, 40]);
    expect(view.uidNext).toBe(41);
    view.close();
  });

  it('a damaged uidlist is left alone, and the mailbox cannot be opened (Dovecot would renumber it)', async () => {
    await writeFile(join(maildir(), 'new', '1700000000.M1P1.host'), 'Subject: a\n\n');
    await writeFile(join(maildir(), 'dovecot-uidlist'), '3 V5 N3 G00\n2 :x\n1 :y\n'); // UIDs not ascending
    await expect(store.open(alice, 'INBOX')).rejects.toThrow(/dovecot-uidlist is damaged \(uidlist UIDs not in ascending order/);
    expect(await readFile(join(maildir(), 'dovecot-uidlist'), 'utf8')).toBe('3 V5 N3 G00\n2 :x\n1 :y\n');
  });

  it('the mailbox GUID is read from the header alone (its first 4 KiB): none without a file, null without a GUID', async () => {
    const uidlist = join(maildir(), 'dovecot-uidlist');
    expect(await readMailboxGuid(maildir())).toBeUndefined();
    const guid = '0123456789abcdef0123456789abcdef';
    // a header field after G, and a record line that is not read
    await writeFile(uidlist, `3 V5 N3 G${guid} Qx\n1 :${'y'.repeat(8000)}\n`);
    expect(await readMailboxGuid(maildir())).toBe(guid);
    for (const header of HEADERS_WITHOUT_GUID) {
      await writeFile(uidlist, `${header}\n`);
      expect(await readMailboxGuid(maildir()), header).toBeNull();
    }
  });

  it("gives files without UIDs theirs in Dovecot's order: seconds, then microseconds as numbers, then the name", async () => {
    for (const name of ['1700000001.M9P1.b', '1700000001.M10P1.a', 'weird-name', '1700000000.P5.c'])
      await writeFile(join(maildir(), 'new', name), 'x\n');
    const view = await store.open(alice, 'INBOX');
    expect(view.messages.map((m) => m.key)).toEqual(['weird-name', '1700000000.P5.c', '1700000001.M9P1.b', '1700000001.M10P1.a']);
    expect(view.messages.map((m) => m.uid)).toEqual([1, 2, 3, 4]);
    view.close();
  });
});

describe("dovecot-uidlist.lock (Dovecot's dotlock rules)", () => {
  const lock = () => join(maildir(), 'dovecot-uidlist.lock');

  it('is taken over at once from a process of this host that no longer runs (once 2 s old)', async () => {
    await writeFile(lock(), `999999:${hostname()}`);
    const old = new Date(Date.now() - 5000);
    await utimes(lock(), old, old);
    const t0 = Date.now();
    const held = await acquireDotlock(lock(), { timeoutMs: 5000, staleMs: 120_000 });
    expect(Date.now() - t0).toBeLessThan(1000);
    expect(await readFile(lock(), 'utf8')).toBe(`${process.pid}:${hostname()}`);
    await held.release();
  });

  it('is never taken over from a process that still runs', async () => {
    const sleeper = spawn('sleep', ['30']);
    try {
      await writeFile(lock(), `${sleeper.pid}:${hostname()}`);
      const old = new Date(Date.now() - 300_000);
      await utimes(lock(), old, old);
      await expect(acquireDotlock(lock(), { timeoutMs: 1500, staleMs: 500 })).rejects.toThrow(LockTimeoutError);
      expect(await readFile(lock(), 'utf8')).toBe(`${sleeper.pid}:${hostname()}`);
    } finally {
      sleeper.kill();
    }
  });

  it('left empty by a maker killed before it wrote its pid: taken over once 2 s old, not in 120 s', async () => {
    await writeFile(lock(), '');
    const t0 = Date.now();
    const held = await acquireDotlock(lock(), { timeoutMs: 10_000, staleMs: 120_000 });
    expect(Date.now() - t0).toBeGreaterThanOrEqual(1800); // a live maker writes at once: a fresh empty lock is waited for
    expect(Date.now() - t0).toBeLessThan(6000);
    expect(await readFile(lock(), 'utf8')).toBe(`${process.pid}:${hostname()}`);
    await held.release();
  });

  it('is taken over from another host once neither it nor the uidlist changed for the stale time', async () => {
    await writeFile(lock(), '12345:some-other-host');
    const t0 = Date.now();
    const held = await acquireDotlock(lock(), { timeoutMs: 5000, staleMs: 700 });
    expect(Date.now() - t0).toBeGreaterThanOrEqual(650);
    await held.release();
  });
});

describe("keywords and subscriptions in Dovecot's formats", () => {
  it('dovecot-keywords gets a line per keyword, letters in the name; its mtime grows with each change', async () => {
    const { uid } = await store.deliver(alice, 'INBOX', text('Subject: k\n\nk\n'));
    const view = await store.open(alice, 'INBOX');
    await view.store([uid], { add: ['$Label1', 'Work'] });
    expect(await readFile(join(maildir(), 'dovecot-keywords'), 'utf8')).toBe('0 $Label1\n1 Work\n');
    const { stat } = await import('node:fs/promises');
    const first = (await stat(join(maildir(), 'dovecot-keywords'))).mtimeMs;
    await view.store([uid], { add: ['Todo'] });
    expect(await readFile(join(maildir(), 'dovecot-keywords'), 'utf8')).toBe('0 $Label1\n1 Work\n2 Todo\n');
    expect(Math.floor((await stat(join(maildir(), 'dovecot-keywords'))).mtimeMs / 1000)).toBeGreaterThan(Math.floor(first / 1000));
    const { readdir } = await import('node:fs/promises');
    expect((await readdir(join(maildir(), 'cur')))[0]).toMatch(/:2,abc$/);
    view.close();
  });

  it('subscriptions: version 2, levels in modified UTF-7 joined by TAB; a version 1 file stays version 1', async () => {
    await store.createMailbox(alice, 'Archive/2024');
    await store.createMailbox(alice, 'Entwürfe');
    await store.subscribe(alice, 'INBOX');
    await store.subscribe(alice, 'Archive/2024');
    await store.subscribe(alice, 'Entwürfe');
    expect(await readFile(join(maildir(), 'subscriptions'), 'utf8')).toBe('V\t2\n\nINBOX\nArchive\t2024\nEntw&APw-rfe\n');
    expect(await store.subscriptions(alice)).toEqual(['Archive/2024', 'Entwürfe', 'INBOX']);
    await writeFile(join(maildir(), 'subscriptions'), 'Archive.2024\n');
    await store.subscribe(alice, 'Entwürfe');
    expect(await readFile(join(maildir(), 'subscriptions'), 'utf8')).toBe('Archive.2024\nEntw&APw-rfe\n');
    // the folder on disk carries the same name
    const { readdir } = await import('node:fs/promises');
    expect((await readdir(maildir())).filter((n) => n.startsWith('.')).sort()).toEqual(['.Archive', '.Archive.2024', '.Entw&APw-rfe']);
  });
});
