// Every signed-in session of POP, IMAP and ManageSieve is listed in the process's SignedInSessions
// (what `postern who` reads) and leaves it when it ends; a kick (`postern kick`) ends it with its
// protocol's goodbye: IMAP `* BYE`, POP `-ERR [SYS/TEMP]` with nothing applied, ManageSieve `BYE`.
// Over real processes (workers, nodes, the control socket and HTTP): test/e2e/who-kick.test.ts.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KICK_REASON } from '../../sessions/signed-in.js';
import { RawImap } from '../helpers/imap-client.js';
import { type InProcessServer, startInProcess } from '../helpers/in-process.js';
import { RawSieve } from '../helpers/managesieve-client.js';
import { RawPop } from '../helpers/pop-client.js';

const LISTENERS = [
  { name: 'pop3', module: 'pop', address: '127.0.0.1', port: 0 },
  { name: 'imap', module: 'imap', address: '127.0.0.1', port: 0 },
  { name: 'sieve', module: 'managesieve', address: '127.0.0.1', port: 0 },
];
const plain = (user: string, password: string) => `AUTHENTICATE "PLAIN" "${Buffer.from(`\0${user}\0${password}`).toString('base64')}"`;

async function until(check: () => boolean, ms = 3000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not reached');
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('signed-in sessions: listed and kicked', () => {
  let server: InProcessServer;
  beforeAll(async () => {
    server = await startInProcess({ config: { listeners: LISTENERS } });
    await server.addAccount('ann', 'secret');
    await server.addAccount('bob', 'secret');
    await server.deliver('ann@example.org', 'Subject: one\r\n\r\nbody\r\n');
  });
  afterAll(() => server.stop());

  const list = () => server.ctx.signedIn.list();

  it('lists a session once it signed in, with its account, protocol and address, and not before; ended: gone', async () => {
    const { client } = await RawImap.connect(server.portOf('imap'));
    expect(list()).toEqual([]);
    expect((await client.command('LOGIN ann secret')).status).toBe('OK');
    const [entry] = list();
    expect(entry).toMatchObject({ account: 'ann@example.org', protocol: 'imap', remoteAddress: expect.any(String) });
    expect(Date.now() - entry.since).toBeLessThan(5000);
    await client.command('LOGOUT');
    await until(() => list().length === 0);
  });

  it('lists POP, IMAP and ManageSieve sessions; ManageSieve UNAUTHENTICATE takes it off the list', async () => {
    const pop = await RawPop.signIn(server.portOf('pop3'), 'ann', 'secret');
    const imap = await RawImap.signIn(server.portOf('imap'), 'bob@example.org', 'secret');
    const sieve = await RawSieve.signIn(server.portOf('sieve'), 'ann', 'secret');
    expect(
      list()
        .map((s) => `${s.protocol} ${s.account}`)
        .sort(),
    ).toEqual(['imap bob@example.org', 'managesieve ann@example.org', 'pop ann@example.org']);
    expect((await sieve.command('UNAUTHENTICATE')).status).toBe('OK');
    expect(list().some((s) => s.protocol === 'managesieve')).toBe(false);
    expect((await sieve.command(plain('bob', 'secret'))).status).toBe('OK');
    expect(list().find((s) => s.protocol === 'managesieve')?.account).toBe('bob@example.org');
    pop.close();
    imap.raw.close();
    sieve.close();
    await until(() => list().length === 0);
  });

  it('kicks an IMAP session with * BYE, even in IDLE; other accounts stay', async () => {
    const ann = await RawImap.signIn(server.portOf('imap'), 'ann', 'secret');
    const bob = await RawImap.signIn(server.portOf('imap'), 'bob', 'secret');
    await ann.command('SELECT INBOX');
    ann.raw.send('i1 IDLE\r\n');
    expect(await ann.response()).toBe('+ idling');
    expect(server.ctx.signedIn.kick('ann@example.org', null, KICK_REASON)).toBe(1);
    expect(await ann.response()).toBe(`* BYE ${KICK_REASON}`);
    await ann.raw.closed();
    expect((await bob.command('NOOP')).status).toBe('OK');
    expect(list().map((s) => s.account)).toEqual(['bob@example.org']);
    expect(server.ctx.signedIn.kick('ann@example.org', null, KICK_REASON)).toBe(0);
    bob.raw.close();
    await until(() => list().length === 0);
  });

  it('kicks a POP session with -ERR [SYS/TEMP] and applies none of its deletions', async () => {
    const pop = await RawPop.signIn(server.portOf('pop3'), 'ann', 'secret');
    expect(await pop.command('DELE 1')).toMatch(/^\+OK/);
    expect(server.ctx.signedIn.kick('ann@example.org', 'pop', KICK_REASON)).toBe(1);
    expect(await pop.line()).toBe(`-ERR [SYS/TEMP] ${KICK_REASON}; no changes were made`);
    await pop.closed();
    const again = await RawPop.signIn(server.portOf('pop3'), 'ann', 'secret');
    expect(await again.command('STAT')).toMatch(/^\+OK 1 /);
    again.close();
    await until(() => list().length === 0);
  });

  it('a kick during a command waits for its answer: the BYE never lands inside a message body (IMAP FETCH, POP RETR)', async () => {
    const body = `Subject: big\r\n\r\n${'0123456789abcdef\r\n'.repeat(65_536)}`; // 1.1 MB
    await server.deliver('bob@example.org', body);
    const imap = await RawImap.signIn(server.portOf('imap'), 'bob', 'secret');
    await imap.command('SELECT INBOX');
    // BODY.PEEK: a BODY[] that sets \Seen on a streamed message puts its FLAGS before the literal's octets (reported)
    imap.raw.send('f1 FETCH 1 BODY.PEEK[]\r\n');
    const head = await imap.raw.line(); // the FETCH has begun: its literal is on its way
    const size = Number(/^\* 1 FETCH \(BODY\[\] \{(\d+)\}$/.exec(head)![1]);
    server.ctx.signedIn.kick('bob@example.org', 'imap', KICK_REASON);
    const literal = await imap.raw.bytes(size);
    expect(literal.subarray(0, 12).toString()).toBe('Subject: big');
    expect(literal.includes('* BYE')).toBe(false);
    expect(await imap.raw.line()).toBe(')');
    expect(await imap.response()).toMatch(/^f1 OK/);
    expect(await imap.response()).toBe(`* BYE ${KICK_REASON}`);

    const pop = await RawPop.signIn(server.portOf('pop3'), 'bob', 'secret');
    pop.send('RETR 1\r\n');
    expect(await pop.line()).toMatch(/^\+OK/); // the message is on its way
    server.ctx.signedIn.kick('bob@example.org', 'pop', KICK_REASON);
    expect((await pop.body()).length).toBeGreaterThan(1_000_000);
    expect(await pop.line()).toBe(`-ERR [SYS/TEMP] ${KICK_REASON}; no changes were made`);
    await until(() => list().length === 0);
  });

  it('kicks only the protocol asked for; ManageSieve gets BYE', async () => {
    const imap = await RawImap.signIn(server.portOf('imap'), 'ann', 'secret');
    const sieve = await RawSieve.signIn(server.portOf('sieve'), 'ann', 'secret');
    expect(server.ctx.signedIn.kick('ann@example.org', 'managesieve', KICK_REASON)).toBe(1);
    expect((await sieve.answer()).text).toBe(`BYE "${KICK_REASON}"\r\n`);
    expect((await imap.command('NOOP')).status).toBe('OK');
    expect(list().map((s) => s.protocol)).toEqual(['imap']);
    imap.raw.close();
    await until(() => list().length === 0);
  });
});
