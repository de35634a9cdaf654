// Signing in and defending the server: APOP, AUTH (PLAIN, LOGIN, CRAM-MD5), attempt limits, the
// growing delay, disabled and expired accounts, alerts, channel limits, a client that stops reading.
import { createHash, createHmac } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { poplib } from '../helpers/clients.js';
import { RawPop } from '../helpers/pop-client.js';
import { startServer, type TestServer } from '../helpers/server.js';

const b64 = (s: string) => Buffer.from(s).toString('base64');
const stamp = (greeting: string) => /<[^>]+>/.exec(greeting)![0];

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
  it('gives each connection its own timestamp and accepts the MD5 of timestamp + shared secret', async () => {
    const a = await greeted();
    const b = await greeted();
    expect(stamp(a.greeting)).not.toBe(stamp(b.greeting));
    const digest = createHash('md5').update(stamp(a.greeting) + 'tanstaaf').digest('hex');
    expect(await a.c.command(`APOP bob ${digest}`)).toBe('+OK bob@example.org has 1 messages (21 octets)');
    // the same digest on another connection (a replay) fails
    expect(await b.c.command(`APOP bob ${digest}`)).toBe('-ERR [AUTH] Authentication failed');
    a.c.close();
    b.c.close();
  });

  it('works from python3 poplib', async () => {
    const r = await poplib<string>(server.port, `p = poplib.POP3('127.0.0.1', port); print(json.dumps(p.apop('bob', 'tanstaaf').decode()))`);
    expect(r).toMatch(/^\+OK bob@example.org/);
  });

  it('fails like a wrong password for an account without a shared secret or an unknown one', async () => {
    const { c, greeting } = await greeted();
    const digest = createHash('md5').update(stamp(greeting) + 'anything').digest('hex');
    expect(await c.command(`APOP alice ${digest}`)).toBe('-ERR [AUTH] Authentication failed');
    expect(await c.command(`APOP nobody ${digest}`)).toBe('-ERR [AUTH] Authentication failed');
    expect(await c.command('APOP bob xyz')).toBe('-ERR APOP expects a 32-digit hexadecimal digest');
    c.close();
  });
});

describe('AUTH (RFC 5034)', () => {
  it('a bare AUTH lists the mechanisms; CAPA shows them as SASL', async () => {
    const { c } = await greeted();
    expect(await c.command('AUTH')).toBe('+OK Supported authentication mechanisms follow');
    expect(await c.lines()).toEqual(['PLAIN', 'LOGIN', 'CRAM-MD5']);
    expect(await c.command('CAPA')).toMatch(/^\+OK/);
    expect(await c.lines()).toContain('SASL PLAIN LOGIN CRAM-MD5');
    c.close();
  });

  it('PLAIN with an initial response, and without one', async () => {
    let { c } = await greeted();
    expect(await c.command(`AUTH PLAIN ${b64('\0alice\0a secret')}`)).toMatch(/^\+OK alice@example.org has/);
    c.close();
    ({ c } = await greeted());
    expect(await c.command('AUTH PLAIN')).toBe('+ ');
    expect(await c.command(b64('alice\0alice\0a secret'))).toMatch(/^\+OK alice@example.org has/);
    c.close();
  });

  it('LOGIN with and without an initial response', async () => {
    let { c } = await greeted();
    expect(await c.command('AUTH LOGIN')).toBe(`+ ${b64('Username:')}`);
    expect(await c.command(b64('alice'))).toBe(`+ ${b64('Password:')}`);
    expect(await c.command(b64('a secret'))).toMatch(/^\+OK alice@example.org has/);
    c.close();
    ({ c } = await greeted());
    expect(await c.command(`AUTH LOGIN ${b64('alice')}`)).toBe(`+ ${b64('Password:')}`);
    expect(await c.command(b64('wrong'))).toBe('-ERR [AUTH] Authentication failed');
    c.close();
  });

  it('CRAM-MD5 with the account\'s shared secret', async () => {
    const { c } = await greeted();
    const line = await c.command('AUTH CRAM-MD5');
    const challenge = Buffer.from(line.slice(2), 'base64').toString();
    expect(challenge).toMatch(/^<.+@example.org>$/);
    const digest = createHmac('md5', 'tanstaaf').update(challenge).digest('hex');
    expect(await c.command(b64(`bob ${digest}`))).toBe('+OK bob@example.org has 1 messages (21 octets)');
    c.close();
  });

  it('"*" cancels, bad base64 and "=" are answered, and the session goes on', async () => {
    const { c } = await greeted();
    expect(await c.command('AUTH LOGIN')).toMatch(/^\+ /);
    expect(await c.command('*')).toBe('-ERR Authentication cancelled');
    expect(await c.command('AUTH PLAIN not*base64')).toBe('-ERR Invalid base64 in the SASL response');
    expect(await c.command('AUTH PLAIN')).toBe('+ ');
    expect(await c.command('!!!')).toBe('-ERR Invalid base64 in the SASL response');
    expect(await c.command('AUTH PLAIN =')).toBe('-ERR PLAIN expects authzid NUL authcid NUL password');
    expect(await c.command('AUTH KERBEROS_V4')).toMatch(/^-ERR Unsupported authentication mechanism "KERBEROS_V4"/);
    expect(await c.command(`AUTH PLAIN ${b64('boss\0alice\0a secret')}`)).toMatch(/^-ERR \[AUTH\] Signing in as another user/);
    // none of that counted as a failed sign-in (maxAuthAttempts is 3 here): this still works
    expect(await c.command(`AUTH PLAIN ${b64('\0alice\0a secret')}`)).toMatch(/^\+OK/);
    c.close();
  });

  it('curl signs in with SASL', async () => {
    const { curlPop } = await import('../helpers/clients.js');
    const r = await curlPop(server.port, '1', 'bob', 'b pass', ['--login-options', 'AUTH=PLAIN']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.body.toString()).toBe('Subject: hi\r\n\r\nbody\r\n');
  });
});

describe('attempts and refusals', () => {
  it('closes after maxAuthAttempts failures, counting every mechanism', async () => {
    const { c } = await greeted();
    await c.command('USER alice');
    expect(await c.command('PASS x')).toBe('-ERR [AUTH] Authentication failed');
    expect(await c.command(`AUTH PLAIN ${b64('\0alice\0y')}`)).toBe('-ERR [AUTH] Authentication failed');
    expect(await c.command(`APOP bob ${'0'.repeat(32)}`)).toBe('-ERR [AUTH] Authentication failed; too many attempts, closing connection');
    await c.closed();
  });

  it('refuses disabled and expired accounts with the same answer; the log says why', async () => {
    await server.addAccount('carol', 'c pass');
    await server.addAccount('dave', 'd pass');
    expect((await server.cli(['account', 'set', 'carol', '--disabled'])).code).toBe(0);
    expect((await server.cli(['account', 'set', 'dave', '--expires', '2020-01-01'])).code).toBe(0);
    for (const [name, pass, reason] of [['carol', 'c pass', 'disabled'], ['dave', 'd pass', 'expired']]) {
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

  it('USER/PASS can be turned off (pop.userPass: false) while AUTH still works', async () => {
    const s = await startServer({ config: { pop: { userPass: false } } });
    try {
      await s.addAccount('alice', 'a secret');
      const c = await RawPop.connect(s.port);
      await c.line();
      expect(await c.command('CAPA')).toMatch(/^\+OK/);
      expect(await c.lines()).not.toContain('USER');
      expect(await c.command('USER alice')).toBe('-ERR [AUTH] USER/PASS is turned off here; sign in with APOP or AUTH');
      expect(await c.command(`AUTH PLAIN ${b64('\0alice\0a secret')}`)).toMatch(/^\+OK/);
      c.close();
    } finally {
      await s.stop();
    }
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
    expect((await server.cli(['account', 'alert', 'erin', 'Your mailbox moves on Sunday'])).stdout).toBe(`alert queued for erin@example.org (1 pending) in the data folder ${server.dataDir}\n`);
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

describe('channel limits', () => {
  it('refuses connections over pop.maxChannels with -ERR [SYS/TEMP] and serves again when one closes', async () => {
    const s = await startServer({ config: { pop: { maxChannels: 2 } } });
    try {
      await s.addAccount('alice', 'a secret');
      const a = await RawPop.signIn(s.port, 'alice', 'a secret');
      const b = await RawPop.signIn(s.port, 'alice', 'a secret');
      const c = await RawPop.connect(s.port);
      expect(await c.line()).toBe('-ERR [SYS/TEMP] Too many connections; try again later');
      await c.closed();
      expect(await a.command('QUIT')).toMatch(/^\+OK/);
      await a.closed();
      await s.waitForLog((r) => r.msg === 'session end');
      const d = await RawPop.connect(s.port);
      expect(await d.line()).toMatch(/^\+OK/);
      // the limit is reached again, by b (signed in) and d (not): d, only waiting, is closed to make room
      const e = await RawPop.connect(s.port);
      expect(await d.line()).toBe('-ERR [SYS/TEMP] Too many connections waiting to sign in; closing the oldest, try again later');
      expect(await e.line()).toMatch(/^\+OK/);
      expect(await b.command('STAT')).toMatch(/^\+OK/); // a signed-in session is never closed for room
      b.close();
      e.close();
      expect(s.logs.some((r) => r.msg === 'connection refused: too many connections' && r.limit === 'maxChannels')).toBe(true);
    } finally {
      await s.stop();
    }
  });

  it('limits connections from one address (pop.maxChannelsPerAddress)', async () => {
    const s = await startServer({ config: { pop: { maxChannelsPerAddress: 1 } } });
    try {
      await s.addAccount('alice', 'a secret');
      const a = await RawPop.signIn(s.port, 'alice', 'a secret');
      const b = await RawPop.connect(s.port);
      expect(await b.line()).toBe('-ERR [SYS/TEMP] Too many connections; try again later');
      a.close();
    } finally {
      await s.stop();
    }
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
