// Beside a real Dovecot 2.3 on the same tree (issue 20's leftovers):
//  - \Recent on upgrade: a mailbox without Postern's first-seen mark (made by Dovecot, or by a Postern
//    before the mark) shows as recent only what Dovecot would (files still in new/, nobody took them),
//    not every message once (store/maildir/first-seen.ts).
//  - a mailbox with children deleted by Dovecot: Dovecot 2.3.19 removes its folder whole (checked here:
//    nothing of `.tree` is left), so Postern lists the level \Noselect, refuses to open it and keeps the
//    child. A level folder without cur/ (as a damaged tree may hold) is \Noselect in Postern too; Dovecot
//    counts any folder as a mailbox and makes cur/, new/ and tmp/ when it opens one.
//  - SEARCH header keys read the whole header, as Dovecot does, up to a bound (10 MiB): a field after
//    200 KiB of other fields is found by SUBJECT and HEADER (it was not: only the first 64 KiB were
//    read), by Postern and by Dovecot alike. Postern stops at 10 MiB of header (memory and time per
//    message stay bounded whatever a sender puts there); Dovecot 2.3.19 reads on and finds a field past
//    it: the one difference, pinned here.
import { lstat, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Dovecot, shareWithDovecot, startDovecot } from '../helpers/dovecot.js';
import { type ImapAnswer, RawImap } from '../helpers/imap-client.js';
import { startServer, type TestServer } from '../helpers/server.js';

const PASSWORD = 'a secret';
let server: TestServer;
let dovecot: Dovecot;
let maildir: string;

/** Signs in to one server; `dan` is shared by both (the tree cases), `pat` is Postern's own (side by side). */
function signIn(side: 'postern' | 'dovecot', user = 'dan'): Promise<RawImap> {
  return RawImap.signIn(side === 'postern' ? server.portOf('imap') : dovecot.imapPort, user, `"${PASSWORD}"`);
}

async function ok(c: RawImap, command: string | Buffer, timeoutMs = 30_000): Promise<ImapAnswer> {
  const answer = await c.command(command, timeoutMs);
  if (answer.status !== 'OK') throw new Error(`${String(command).slice(0, 80)}: ${answer.tagged}`);
  return answer;
}

const message = (subject: string) => `From: a@example.net\r\nSubject: ${subject}\r\n\r\n${subject}\r\n`;

async function append(c: RawImap, mailbox: string, subject: string): Promise<void> {
  const m = message(subject);
  await ok(c, `APPEND ${mailbox} {${Buffer.byteLength(m)}+}\r\n${m}`);
}

/** A message whose header has `filler` octets of other fields before its Subject and X-Tail. */
function longHeader(filler: number, tag: string): Buffer {
  const line = `X-Filler: ${'f'.repeat(60)}\r\n`;
  const fields = line.repeat(Math.ceil(filler / line.length));
  return Buffer.from(`From: a@example.net\r\n${fields}Subject: needle-${tag}\r\nX-Tail: deep-${tag}\r\n\r\nbody\r\n`);
}

const recentOf = (a: ImapAnswer) => a.untagged.find((l) => / RECENT$/.test(l));

beforeAll(async () => {
  server = await startServer({ config: { listeners: [{ name: 'imap', module: 'imap', address: '127.0.0.1', port: 0 }] } });
  const accounts = join(server.dataDir, 'accounts', 'example.org');
  for (const user of ['pat', 'dan']) await server.addAccount(user, PASSWORD);
  for (const user of ['pat', 'dan']) await shareWithDovecot(server.dir, join(accounts, user));
  maildir = join(accounts, 'dan', 'Maildir');
  dovecot = await startDovecot(
    ['pat', 'dan'].map((name) => ({ name, password: PASSWORD })),
    accounts,
  );
}, 60_000);

afterAll(async () => {
  await dovecot?.stop();
  await server?.stop();
});

describe('\\Recent in a mailbox Dovecot made and served', () => {
  it('only what Dovecot would show as recent is recent to the first Postern session; nothing to the next', async () => {
    const d = await signIn('dovecot');
    await ok(d, 'CREATE Old');
    for (const s of ['o1', 'o2', 'o3']) await append(d, 'Old', s);
    expect(recentOf(await ok(d, 'SELECT Old'))).toBe('* 3 RECENT'); // Dovecot's session takes them
    await ok(d, 'CLOSE');
    for (const s of ['n1', 'n2']) await append(d, 'Old', s); // nobody has seen these
    d.close();
    await expect(lstat(join(maildir, '.Old', 'postern-recent'))).rejects.toMatchObject({ code: 'ENOENT' }); // (lstat: the mark is a link)

    const peek = await signIn('postern');
    expect((await ok(peek, 'STATUS Old (MESSAGES RECENT)')).untagged).toContain('* STATUS Old (MESSAGES 5 RECENT 2)');
    const first = await signIn('postern');
    expect(recentOf(await ok(first, 'SELECT Old'))).toBe('* 2 RECENT');
    expect((await ok(first, 'SEARCH RECENT')).untagged).toContain('* SEARCH 4 5');
    const second = await signIn('postern');
    expect(recentOf(await ok(second, 'SELECT Old'))).toBe('* 0 RECENT');
    for (const c of [peek, first, second]) c.close();

    // Dovecot on the same tree counts the same two as recent (its own index: Postern's mark is not its)
    const again = await signIn('dovecot');
    expect(recentOf(await ok(again, 'SELECT Old'))).toBe('* 2 RECENT');
    again.close();
  });

  it('a mailbox Postern makes: what arrives is recent to the first session that selects it', async () => {
    const c = await signIn('postern');
    await ok(c, 'CREATE Fresh');
    await append(c, 'Fresh', 'f1');
    const m = message('f2');
    await ok(c, `APPEND Fresh (\\Seen) {${Buffer.byteLength(m)}+}\r\n${m}`); // straight into cur/
    const s = await signIn('postern');
    expect(recentOf(await ok(s, 'SELECT Fresh'))).toBe('* 2 RECENT');
    for (const x of [c, s]) x.close();
  });
});

describe('a mailbox with children deleted by Dovecot', () => {
  it('leaves no folder; Postern lists the level \\Noselect, will not open it, and keeps the child', async () => {
    const p = await signIn('postern');
    for (const name of ['tree', 'tree/b']) await ok(p, `CREATE ${name}`);
    await append(p, 'tree', 'in tree');
    await append(p, 'tree/b', 'in b');
    await ok(p, 'SELECT tree'); // Postern's own files are in the folder too (postern-recent, postern-modseq)
    await ok(p, 'CLOSE');
    const d = await signIn('dovecot');
    await ok(d, 'DELETE tree');
    d.close();
    expect((await readdir(maildir)).filter((e) => e.startsWith('.tree'))).toEqual(['.tree.b']);
    const listed = (await ok(p, 'LIST "" "tree*"')).untagged.sort();
    expect(listed).toEqual(['* LIST (\\HasNoChildren) "/" tree/b', '* LIST (\\Noselect \\HasChildren) "/" tree']);
    expect((await p.command('SELECT tree')).status).toBe('NO');
    expect((await ok(p, 'STATUS tree/b (MESSAGES)')).untagged).toEqual(['* STATUS tree/b (MESSAGES 1)']);
    p.close();
  });

  it('a level folder without cur/ is \\Noselect in Postern, not an empty mailbox it would open', async () => {
    const p = await signIn('postern');
    for (const name of ['ghost', 'ghost/kid']) await ok(p, `CREATE ${name}`);
    for (const sub of ['cur', 'new', 'tmp', 'dovecot-uidlist']) await rm(join(maildir, '.ghost', sub), { recursive: true });
    const listed = (await ok(p, 'LIST "" "ghost*"')).untagged.sort();
    expect(listed).toEqual(['* LIST (\\HasNoChildren) "/" ghost/kid', '* LIST (\\Noselect \\HasChildren) "/" ghost']);
    expect((await p.command('SELECT ghost')).status).toBe('NO');
    p.close();
  });
});

describe('SEARCH on a long header', () => {
  it('finds a field after 200 KiB of header, as Dovecot does; not one past 10 MiB (Dovecot does)', async () => {
    const found: Record<string, string[]> = {};
    for (const [side, user] of [
      ['postern', 'pat'],
      ['dovecot', 'dan'],
    ] as const) {
      const c = await signIn(side, user);
      for (const [filler, tag] of [
        [200 * 1024, 'late'],
        [10 * 1024 * 1024 + 4096, 'past'],
        [100, 'early'],
      ] as const) {
        const m = longHeader(filler, tag);
        await ok(c, Buffer.concat([Buffer.from(`APPEND INBOX {${m.length}+}\r\n`), m]));
      }
      await ok(c, 'SELECT INBOX');
      found[side] = [];
      for (const key of [
        'SUBJECT needle-late',
        'HEADER X-Tail deep-late',
        'HEADER X-Tail deep-early',
        'HEADER X-Tail deep-past',
        'SUBJECT needle',
      ]) {
        found[side].push(`${key}: ${(await ok(c, `SEARCH ${key}`)).untagged.join(' ')}`);
      }
      c.close();
    }
    expect(found.postern).toEqual([
      'SUBJECT needle-late: * SEARCH 1',
      'HEADER X-Tail deep-late: * SEARCH 1',
      'HEADER X-Tail deep-early: * SEARCH 3',
      'HEADER X-Tail deep-past: * SEARCH',
      'SUBJECT needle: * SEARCH 1 3',
    ]);
    expect(found.dovecot).toEqual([...found.postern.slice(0, 3), 'HEADER X-Tail deep-past: * SEARCH 2', 'SUBJECT needle: * SEARCH 1 2 3']);
  }, 120_000);
});
