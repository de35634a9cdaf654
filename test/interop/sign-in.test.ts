// Signing in and defending the server: APOP, AUTH (PLAIN, LOGIN, CRAM-MD5), attempt limits, the
// growing delay, disabled and expired accounts, alerts, channel limits, a client that stops reading. Here: what
// real clients (python's poplib, curl), the command line, timing and a real socket's buffers show; the rest runs
// in this process: test/protocol/sign-in.test.ts.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { poplib } from '../helpers/clients.js';
import { RawPop } from '../helpers/pop-client.js';
import { startServer, type TestServer } from '../helpers/server.js';

let server: TestServer;

beforeAll(async () => {
  server = await startServer({ config: { pop: { saslMechanisms: ['PLAIN', 'LOGIN', 'CRAM-MD5'], maxAuthAttempts: 3 } } });
  await server.addAccount('alice', 'a secret');
  const r = await server.cli(['account', 'add', 'bob', '--password-stdin', '--apop-secret', 'tanstaaf'], 'b pass');
  expect(r.code).toBe(0);
  await server.deliver('bob', 'Subject: hi\n\nbody\n');
});
afterAll(async () => {
  await server.stop();
});

async function greeted(): Promise<{ c: RawPop; greeting: string }> {
  const c = await RawPop.connect(server.port);
  return { c, greeting: await c.line() };
}

describe('APOP (RFC 1939 section 7)', () => {
  it('works from python3 poplib', async () => {
    const r = await poplib<string>(
      server.port,
      `p = poplib.POP3('127.0.0.1', port); print(json.dumps(p.apop('bob', 'tanstaaf').decode()))`,
    );
    expect(r).toMatch(/^\+OK bob@example.org/);
  });
});

describe('AUTH (RFC 5034)', () => {
  it('curl signs in with SASL', async () => {
    const { curlPop } = await import('../helpers/clients.js');
    const r = await curlPop(server.port, '1', 'bob', 'b pass', ['--login-options', 'AUTH=PLAIN']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.body.toString()).toBe('Subject: hi\r\n\r\nbody\r\n');
  });
});

describe('attempts and refusals', () => {
  it('refuses disabled and expired accounts with the same answer; the log says why', async () => {
    await server.addAccount('carol', 'c pass');
    await server.addAccount('dave', 'd pass');
    expect((await server.cli(['account', 'set', 'carol', '--disabled'])).code).toBe(0);
    expect((await server.cli(['account', 'set', 'dave', '--expires', '2020-01-01'])).code).toBe(0);
    for (const [name, pass, reason] of [
      ['carol', 'c pass', 'disabled'],
      ['dave', 'd pass', 'expired'],
    ]) {
      const { c } = await greeted();
      await c.command(`USER ${name}`);
      expect(await c.command(`PASS ${pass}`)).toBe('-ERR [AUTH] Authentication failed');
      c.close();
      await server.waitForLog((r) => r.msg === 'sign-in refused' && r.user === name && r.reason === reason);
    }
    expect((await server.cli(['account', 'set', 'carol', '--enabled'])).code).toBe(0);
    const ok = await RawPop.signIn(server.port, 'carol', 'c pass');
    ok.close();
  });

  it('slows repeated failures from one address with a growing delay, never a correct password', async () => {
    const s = await startServer({ config: { pop: { authFailureDelay: 0.4, maxAuthAttempts: 10 } } });
    try {
      await s.addAccount('alice', 'a secret');
      const c = await RawPop.connect(s.port);
      await c.line();
      const timed = async (line: string) => {
        const t = Date.now();
        const answer = await c.command(line);
        return { answer, ms: Date.now() - t };
      };
      const fails: number[] = [];
      for (let i = 0; i < 4; i++) {
        await c.command('USER nobody');
        const r = await timed('PASS guess');
        expect(r.answer).toBe('-ERR [AUTH] Authentication failed');
        fails.push(r.ms);
      }
      expect(fails[2]).toBeGreaterThanOrEqual(400);
      expect(fails[3]).toBeGreaterThanOrEqual(800);
      await c.command('USER alice');
      const ok = await timed('PASS a secret');
      expect(ok.answer).toMatch(/^\+OK/);
      // a fifth failure would have waited 1.6 s; the correct password is answered without any delay
      expect(ok.ms).toBeLessThan(800);
      c.close();
    } finally {
      await s.stop();
    }
  });
});

describe('alerts (CommuniGate)', () => {
  it('answers correct sign-ins with the pending alerts in order, then signs in', async () => {
    await server.addAccount('erin', 'e pass');
    expect((await server.cli(['account', 'alert', 'erin', 'Your mailbox moves on Sunday'])).stdout).toBe(
      `alert queued for erin@example.org (1 pending) in the data folder ${server.dataDir}\n`,
    );
    expect((await server.cli(['account', 'alert', 'erin', 'Second notice'])).code).toBe(0);
    expect((await server.cli(['account', 'alert', 'erin', 'two\nlines'])).code).toBe(64);
    // a wrong password does not consume an alert
    let c = (await greeted()).c;
    await c.command('USER erin');
    expect(await c.command('PASS wrong')).toBe('-ERR [AUTH] Authentication failed');
    await c.command('USER erin');
    expect(await c.command('PASS e pass')).toBe('-ERR Your mailbox moves on Sunday');
    // not counted as a failure: the same connection can try again (maxAuthAttempts is 3)
    await c.command('USER erin');
    expect(await c.command('PASS e pass')).toBe('-ERR Second notice');
    await c.command('USER erin');
    expect(await c.command('PASS e pass')).toMatch(/^\+OK erin@example.org has 0 messages/);
    c.close();
    c = await RawPop.signIn(server.port, 'erin', 'e pass');
    c.close();
  });
});

describe('a client that stops reading (OpenVMS 15.1.3)', () => {
  it('is dropped after the doubling waits, logged, and other sessions are unaffected', async () => {
    const s = await startServer({ config: { pop: { blockedOutputWait: 0.1 } } });
    try {
      await s.addAccount('alice', 'a secret');
      await s.deliver('alice', `Subject: big\n\n${'z'.repeat(30 * 1024 * 1024)}\n`);
      const stuck = await RawPop.signIn(s.port, 'alice', 'a secret');
      stuck.socket.pause();
      stuck.send('RETR 1\r\n');
      const other = await RawPop.signIn(s.port, 'alice', 'a secret');
      expect(await other.command('STAT')).toMatch(/^\+OK 1 /);
      // 0.1 + 0.2 + 0.4 + 0.8 + 1.6 s of waiting, then the drop
      const record = await s.waitForLog((r) => r.msg === 'client stopped reading; connection dropped', 15_000);
      expect(record.tag).toBe('POP');
      expect(await other.command('NOOP')).toBe('+OK');
      other.close();
      stuck.close();
    } finally {
      await s.stop();
    }
  });
});
