// A tree Dovecot has been serving, as Postern finds it (issue 20's leftovers), with a real Dovecot 2.3:
//  - \Recent on upgrade: a mailbox without Postern's first-seen mark (made by Dovecot, or by a Postern
//    before the mark) shows as recent only what Dovecot would (files still in new/, nobody took them),
//    not every message once (store/maildir/first-seen.ts).
//  - a mailbox with children deleted by Dovecot: Dovecot 2.3.19 removes its folder whole (checked here:
//    nothing of `.tree` is left), so Postern lists the level \Noselect, refuses to open it and keeps the
//    child. A level folder without cur/ (as a damaged tree may hold) is \Noselect in Postern too; Dovecot
//    counts any folder as a mailbox and makes cur/, new/ and tmp/ when it opens one.
import { access, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Dovecot, shareWithDovecot, startDovecot } from '../helpers/dovecot.js';
import { type ImapAnswer, RawImap } from '../helpers/imap-client.js';
import { startServer, type TestServer } from '../helpers/server.js';

const PASSWORD = 'a secret';
let server: TestServer;
let dovecot: Dovecot;
let maildir: string;

function signIn(side: 'postern' | 'dovecot'): Promise<RawImap> {
  return RawImap.signIn(side === 'postern' ? server.portOf('imap') : dovecot.imapPort, 'dan', `"${PASSWORD}"`);
}

async function ok(c: RawImap, command: string): Promise<ImapAnswer> {
  const answer = await c.command(command);
  if (answer.status !== 'OK') throw new Error(`${command.slice(0, 80)}: ${answer.tagged}`);
  return answer;
}

const message = (subject: string) => `From: a@example.net\r\nSubject: ${subject}\r\n\r\n${subject}\r\n`;

async function append(c: RawImap, mailbox: string, subject: string): Promise<void> {
  const m = message(subject);
  await ok(c, `APPEND ${mailbox} {${Buffer.byteLength(m)}+}\r\n${m}`);
}

const recentOf = (a: ImapAnswer) => a.untagged.find((l) => / RECENT$/.test(l));

beforeAll(async () => {
  server = await startServer({ config: { listeners: [{ name: 'imap', module: 'imap', address: '127.0.0.1', port: 0 }] } });
  const accounts = join(server.dataDir, 'accounts', 'example.org');
  await server.addAccount('dan', PASSWORD);
  await shareWithDovecot(server.dir, join(accounts, 'dan'));
  maildir = join(accounts, 'dan', 'Maildir');
  dovecot = await startDovecot([{ name: 'dan', password: PASSWORD }], accounts);
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
    await expect(access(join(maildir, '.Old', 'postern-recent'))).rejects.toMatchObject({ code: 'ENOENT' });

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
