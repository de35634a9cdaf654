// Signing in and defending the server, against the POP module in this process (test/helpers/in-process.ts):
// APOP, AUTH (PLAIN, LOGIN, CRAM-MD5), attempt limits, USER/PASS turned off, channel limits. What real
// clients, the command line, timing and a real socket's buffers show is in test/interop/sign-in.test.ts.
import { createHash, createHmac } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type InProcessServer, startInProcess } from '../helpers/in-process.js';
import { RawPop } from '../helpers/pop-client.js';

const b64 = (s: string) => Buffer.from(s).toString('base64');
const stamp = (greeting: string) => /<[^>]+>/.exec(greeting)![0];

let server: InProcessServer;

beforeAll(async () => {
  server = await startInProcess({ config: { pop: { saslMechanisms: ['PLAIN', 'LOGIN', 'CRAM-MD5'], maxAuthAttempts: 3 } } });
  await server.addAccount('alice', 'a secret');
  await server.addAccount('bob', 'b pass', 'tanstaaf');
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
    const digest = createHash('md5')
      .update(`${stamp(a.greeting)}tanstaaf`)
      .digest('hex');
    expect(await a.c.command(`APOP bob ${digest}`)).toBe('+OK bob@example.org has 1 messages (21 octets)');
    // the same digest on another connection (a replay) fails
    expect(await b.c.command(`APOP bob ${digest}`)).toBe('-ERR [AUTH] Authentication failed');
    a.c.close();
    b.c.close();
  });

  it('fails like a wrong password for an account without a shared secret or an unknown one', async () => {
    const { c, greeting } = await greeted();
    const digest = createHash('md5')
      .update(`${stamp(greeting)}anything`)
      .digest('hex');
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

  it("CRAM-MD5 with the account's shared secret", async () => {
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

  it('USER/PASS can be turned off (pop.userPass: false) while AUTH still works', async () => {
    const s = await startInProcess({ config: { pop: { userPass: false } } });
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
});

describe('channel limits', () => {
  it('refuses connections over pop.maxChannels with -ERR [SYS/TEMP] and serves again when one closes', async () => {
    const s = await startInProcess({ config: { pop: { maxChannels: 2 } } });
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
    const s = await startInProcess({ config: { pop: { maxChannelsPerAddress: 1 } } });
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
