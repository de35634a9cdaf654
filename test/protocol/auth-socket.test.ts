// The auth module (Dovecot's authentication protocol, as Postfix's smtpd and Exim speak it) in this process:
// the handshake, PLAIN and LOGIN with their continuations, many requests on one connection answered as each
// is ready, what closes the connection as in Dovecot 2.3 (a bad line, an unknown mechanism, a broken
// handshake), CONT and CANCEL of unknown requests, invalid base64, the throttle counted by rip=, a request
// left waiting, and a damaged account answered as a temporary failure. The same lines against Dovecot's own
// socket and a real Postfix: test/interop/auth-socket.test.ts.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { b64, plain, RawAuth } from '../helpers/auth-client.js';
import { type InProcessServer, startInProcess } from '../helpers/in-process.js';

let server: InProcessServer;
const auth = () => server.portOf('auth');
const FAILURE_MS = 150;

beforeAll(async () => {
  server = await startInProcess({
    config: {
      listeners: [{ name: 'auth', module: 'auth', path: '/run/postern-test/auth' }],
      auth: { authFailureTime: FAILURE_MS / 1000, authFailureDelay: 0.6, requestTimeout: 0.5 },
    },
  });
  await server.addAccount('ann', 'ann secret');
  await server.addAccount('bob', 'bob secret');
  await server.addAccount('damaged', 'damaged secret');
});
afterAll(async () => {
  await server?.stop();
});

describe('the auth socket (Dovecot authentication protocol)', () => {
  it('greets as Dovecot 2.3 does: VERSION 1 2, a MECH line per mechanism with its flags, SPID, CUID, COOKIE, DONE', async () => {
    const { client, handshake } = await RawAuth.ready(auth());
    expect(handshake.slice(0, 3)).toEqual(['VERSION\t1\t2', 'MECH\tPLAIN\tplaintext', 'MECH\tLOGIN\tplaintext']);
    expect(handshake[3]).toBe(`SPID\t${process.pid}`);
    expect(handshake[4]).toMatch(/^CUID\t\d+$/);
    expect(handshake[5]).toMatch(/^COOKIE\t[0-9a-f]{32}$/);
    expect(handshake.slice(6)).toEqual(['DONE']);
    client.close();
  });

  it('PLAIN with the right password: OK with the account as user=, also for a name without its domain', async () => {
    const { client } = await RawAuth.ready(auth());
    client.send(`AUTH\t1\tPLAIN\tservice=smtp\tnologin\tlip=127.0.0.1\trip=192.0.2.10\tresp=${plain('ann@example.org', 'ann secret')}`);
    expect(await client.line()).toBe('OK\t1\tuser=ann@example.org');
    client.send(`AUTH\t2\tPLAIN\tservice=smtp\tnologin\tresp=${plain('Ann', 'ann secret', 'Ann')}`);
    expect(await client.line()).toBe('OK\t2\tuser=ann@example.org');
    client.close();
  });

  it('a wrong password and an unknown user get the same FAIL with the name given, after the failure time', async () => {
    const { client } = await RawAuth.ready(auth());
    for (const [id, user, password] of [
      [1, 'ann@example.org', 'wrong'],
      [2, 'nobody@example.org', 'ann secret'],
    ] as const) {
      const t = performance.now();
      client.send(`AUTH\t${id}\tPLAIN\tservice=smtp\trip=192.0.2.20\tresp=${plain(user, password)}`);
      expect(await client.line()).toBe(`FAIL\t${id}\tuser=${user}`);
      expect(performance.now() - t).toBeGreaterThanOrEqual(FAILURE_MS - 5);
    }
    client.close();
  });

  it('LOGIN asks Username: and Password: in CONT lines (base64), or only Password: after an initial response', async () => {
    const { client } = await RawAuth.ready(auth());
    client.send('AUTH\t7\tLOGIN\tservice=smtp\tnologin');
    expect(await client.line()).toBe(`CONT\t7\t${b64('Username:')}`);
    client.send(`CONT\t7\t${b64('ann@example.org')}`);
    expect(await client.line()).toBe(`CONT\t7\t${b64('Password:')}`);
    client.send(`CONT\t7\t${b64('ann secret')}`);
    expect(await client.line()).toBe('OK\t7\tuser=ann@example.org');
    client.send(`AUTH\t8\tLOGIN\tservice=smtp\tresp=${b64('bob@example.org')}`);
    expect(await client.line()).toBe(`CONT\t8\t${b64('Password:')}`);
    client.send(`CONT\t8\t${b64('wrong')}`);
    expect(await client.line()).toBe('FAIL\t8\tuser=bob@example.org');
    // PLAIN without an initial response asks for it with an empty challenge
    client.send('AUTH\t9\tPLAIN\tservice=smtp');
    expect(await client.line()).toBe('CONT\t9\t');
    client.send(`CONT\t9\t${plain('bob@example.org', 'bob secret')}`);
    expect(await client.line()).toBe('OK\t9\tuser=bob@example.org');
    client.close();
  });

  it('many requests on one connection: each answered when it is ready (a right password before an earlier wrong one)', async () => {
    const { client } = await RawAuth.ready(auth());
    client.send(
      `AUTH\t1\tPLAIN\tservice=smtp\trip=192.0.2.30\tresp=${plain('ann@example.org', 'wrong')}`,
      `AUTH\t2\tPLAIN\tservice=smtp\trip=192.0.2.31\tresp=${plain('bob@example.org', 'bob secret')}`,
      'AUTH\t3\tLOGIN\tservice=smtp\trip=192.0.2.32',
      `AUTH\t4\tplain\tservice=smtp\trip=192.0.2.33\tresp=${plain('ann@example.org', 'ann secret')}`,
    );
    const lines = [await client.line(), await client.line(), await client.line(), await client.line()];
    expect(lines.slice(0, 3).sort()).toEqual([
      `CONT\t3\t${b64('Username:')}`,
      'OK\t2\tuser=bob@example.org',
      'OK\t4\tuser=ann@example.org',
    ]);
    expect(lines[3]).toBe('FAIL\t1\tuser=ann@example.org');
    client.close();
  });

  it('CONT and CANCEL of a request that is not there, invalid base64, a continuation nobody asked for', async () => {
    const { client } = await RawAuth.ready(auth());
    client.send('CONT\t42\tYQ==');
    expect(await client.line()).toBe('FAIL\t42\treason=Authentication request timed out');
    client.send('AUTH\t1\tLOGIN\tservice=smtp', 'CANCEL\t1', 'CONT\t1\tYQ==');
    expect(await client.line()).toBe(`CONT\t1\t${b64('Username:')}`);
    expect(await client.line()).toBe('FAIL\t1\treason=Authentication request timed out');
    client.send('AUTH\t2\tPLAIN\tservice=smtp\tresp=YQ');
    expect(await client.line()).toBe('FAIL\t2\tcode=invalid_base64\treason=Invalid base64 data in initial response');
    client.send('AUTH\t3\tLOGIN\tservice=smtp');
    expect(await client.line()).toBe(`CONT\t3\t${b64('Username:')}`);
    client.send('CONT\t3\t*');
    expect(await client.line()).toBe('FAIL\t3\tcode=invalid_base64\treason=Invalid base64 data in continued response');
    client.send(`AUTH\t4\tPLAIN\tservice=smtp\tresp=${plain('ann@example.org', 'ann secret')}`, `CONT\t4\t${b64('x')}`);
    expect(await client.line()).toBe('FAIL\t4\treason=Unexpected continuation');
    // the connection still serves
    client.send(`AUTH\t5\tPLAIN\tservice=smtp\tresp=${plain('ann@example.org', 'ann secret')}`);
    expect(await client.line()).toBe('OK\t5\tuser=ann@example.org');
    client.close();
  });

  it.each([
    ['an unknown command', 'HELLO'],
    ['an empty line', ''],
    ['an unknown mechanism', 'AUTH\t1\tGSSAPI\tservice=smtp'],
    ['AUTH without service=', `AUTH\t1\tPLAIN\tresp=${plain('ann@example.org', 'ann secret')}`],
    ['a parameter after resp=', `AUTH\t1\tPLAIN\tservice=smtp\tresp=${plain('ann@example.org', 'ann secret')}\tnologin`],
    ['a request id 0', 'AUTH\t0\tLOGIN\tservice=smtp'],
    ['a request id that is not a number', 'AUTH\tx\tLOGIN\tservice=smtp'],
    ['a broken CONT', 'CONT\t1'],
    ['a line over 16384 octets', `AUTH\t1\tPLAIN\tservice=smtp\tresp=${'A'.repeat(17_000)}`],
  ])('%s closes the connection, as in Dovecot', async (_what, line) => {
    const { client } = await RawAuth.ready(auth());
    client.send(line);
    expect(await client.closesWithin(2000)).toBe(true);
  });

  it('a repeated request id closes the connection', async () => {
    const { client } = await RawAuth.ready(auth());
    client.send('AUTH\t1\tLOGIN\tservice=smtp', 'AUTH\t1\tLOGIN\tservice=smtp');
    expect(await client.line()).toBe(`CONT\t1\t${b64('Username:')}`);
    expect(await client.closesWithin(2000)).toBe(true);
  });

  it.each([
    ['another major version', ['VERSION\t2\t0', 'CPID\t1']],
    ['no CPID', ['VERSION\t1\t0', `AUTH\t1\tPLAIN\tservice=smtp\tresp=${plain('ann@example.org', 'ann secret')}`]],
    ['CPID 0', ['VERSION\t1\t0', 'CPID\t0']],
  ])('a broken client handshake (%s) closes the connection', async (_what, lines) => {
    const client = await RawAuth.open(auth());
    while ((await client.line()) !== 'DONE');
    client.send(...lines);
    expect(await client.closesWithin(2000)).toBe(true);
  });

  it('failures are throttled by the rip= the MTA passes: the third from one address waits, another address does not', async () => {
    const { client } = await RawAuth.ready(auth());
    const fail = async (id: number, rip: string) => {
      const t = performance.now();
      client.send(`AUTH\t${id}\tPLAIN\tservice=smtp\trip=${rip}\tresp=${plain('ann@example.org', 'wrong')}`);
      expect(await client.line()).toBe(`FAIL\t${id}\tuser=ann@example.org`);
      return performance.now() - t;
    };
    await fail(1, '198.51.100.7');
    await fail(2, '198.51.100.7');
    expect(await fail(3, '198.51.100.7')).toBeGreaterThanOrEqual(600 + FAILURE_MS - 5);
    expect(await fail(4, '198.51.100.8')).toBeLessThan(600);
    // a right password is never delayed
    const t = performance.now();
    client.send(`AUTH\t5\tPLAIN\tservice=smtp\trip=198.51.100.7\tresp=${plain('ann@example.org', 'ann secret')}`);
    expect(await client.line()).toBe('OK\t5\tuser=ann@example.org');
    expect(performance.now() - t).toBeLessThan(600);
    client.close();
  });

  it('a request whose continuation does not come within auth.requestTimeout is dropped', async () => {
    const { client } = await RawAuth.ready(auth());
    client.send('AUTH\t1\tLOGIN\tservice=smtp');
    expect(await client.line()).toBe(`CONT\t1\t${b64('Username:')}`);
    await new Promise((r) => setTimeout(r, 700));
    client.send(`CONT\t1\t${b64('ann@example.org')}`);
    expect(await client.line()).toBe('FAIL\t1\treason=Authentication request timed out');
    await server.waitForLog((r) => r.msg === 'request timed out waiting for the continuation');
    client.close();
  });

  it('an account that cannot be read is a temporary failure (FAIL ... temp, with a reason), logged', async () => {
    await writeFile(join(server.dataDir, 'accounts', 'example.org', 'damaged', 'account.json'), '{ not json');
    const { client } = await RawAuth.ready(auth());
    client.send(`AUTH\t1\tPLAIN\tservice=smtp\tresp=${plain('damaged@example.org', 'damaged secret')}`);
    expect(await client.line()).toBe('FAIL\t1\tuser=damaged@example.org\treason=Temporary authentication failure, try again later\ttemp');
    await server.waitForLog((r) => r.msg === 'cannot check the sign-in');
    client.close();
  });
});
