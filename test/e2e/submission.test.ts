// XTND XMIT: mail submitted through POP, relayed to a real SMTP server (the smtp-server package on
// port 0) and delivered locally, all or nothing.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RawPop } from '../helpers/pop-client.js';
import { startServer, type TestServer } from '../helpers/server.js';
import { startSmtpRecorder } from '../helpers/smtp-recorder.js';

/** A real SMTP server that records what it gets and refuses recipients whose address contains "refuse". */
const startSmtp = () => startSmtpRecorder((data) => data);

/** Dot-stuffs a message and ends it with the "." line. */
function stuffed(message: string): string {
  return `${message.replace(/^\./gm, '..')}${message.endsWith('\r\n') ? '' : '\r\n'}.\r\n`;
}

async function xmit(c: RawPop, message: string): Promise<string> {
  expect(await c.command('XTND XMIT')).toBe('+OK Start sending message.');
  c.send(stuffed(message));
  return c.line(15_000);
}

let smtp: Awaited<ReturnType<typeof startSmtp>>;
let server: TestServer;

beforeAll(async () => {
  smtp = await startSmtp();
  server = await startServer({
    config: {
      domains: ['client1.com'],
      submission: { maxSize: 64 * 1024, maxPerHour: 8, relay: { host: '127.0.0.1', port: smtp.port } },
    },
  });
  await server.addAccount('alice', 'a secret');
  await server.addAccount('bob', 'b secret');
  await server.addAccount('cl1@client1.com', 'c secret');
  expect((await server.cli(['route', 'add', 'sales@example.org', 'alice'])).code).toBe(0);
  expect((await server.cli(['route', 'add', 'abcdef@client1.com', 'cl1@client1.com'])).code).toBe(0);
});
afterAll(async () => {
  await server.stop();
  await smtp.close();
});

const BODY = 'First line\r\n.a line that starts with a dot\r\n..two dots\r\n.\r\nlast line\r\n';

describe('XTND XMIT', () => {
  it('is refused before signing in', async () => {
    const c = await RawPop.connect(server.port);
    await c.line();
    expect(await c.command('XTND XMIT')).toBe('-ERR XTND is not allowed before signing in');
    c.close();
  });

  it('is listed by CAPA after signing in', async () => {
    const c = await RawPop.signIn(server.port, 'bob', 'b secret');
    expect(await c.command('CAPA')).toMatch(/^\+OK/);
    expect(await c.lines()).toContain('XTND XMIT');
    c.close();
  });

  it('relays remote recipients with Bcc removed and the body byte-exact, and delivers local ones', async () => {
    const c = await RawPop.signIn(server.port, 'alice', 'a secret');
    const message =
      `From: Alice <alice@example.org>\r\nTo: friend@elsewhere.net\r\nCc: bob@example.org, abcdef@client1.com\r\nBcc: ` +
      `hidden@elsewhere.net\r\nSubject: relayed\r\n\r\n${BODY}`;
    expect(await xmit(c, message)).toMatch(/^\+OK Message sent to 4 recipients <[^>]+@example.org>$/);
    expect(await c.command('NOOP')).toBe('+OK');
    c.close();

    expect(smtp.received).toHaveLength(1);
    const got = smtp.received[0];
    expect(got.from).toBe('alice@example.org');
    expect(got.to.sort()).toEqual(['friend@elsewhere.net', 'hidden@elsewhere.net']);
    const text = got.data.toString('latin1');
    expect(text).not.toMatch(/^Bcc:/im);
    expect(text).not.toContain('hidden@elsewhere.net');
    expect(text).toMatch(
      /^Received: from \[127\.0\.0\.1\] by example\.org \(Postern\) with POP3 XTND XMIT id \S+ \(authenticated as alice@example\.org\); /,
    );
    expect(text).toMatch(/\r\nDate: .+\r\n/);
    expect(text).toMatch(/\r\nMessage-ID: <[^>]+@example\.org>\r\n/);
    expect(text.endsWith(`\r\n\r\n${BODY}`)).toBe(true);

    // the local recipients read it by POP, without Bcc, body byte-exact (dot-stuffed on the wire)
    const bob = await RawPop.signIn(server.port, 'bob', 'b secret');
    expect(await bob.command('RETR 1')).toMatch(/^\+OK/);
    const wire = (await bob.body()).toString('latin1');
    expect(wire).not.toMatch(/^Bcc:/im);
    expect(wire.endsWith(`\r\n\r\n${BODY.replace(/^\./gm, '..')}.\r\n`)).toBe(true);
    bob.close();
    const direct = await RawPop.signIn(server.port, 'abcdef@client1.com', 'c secret');
    expect(await direct.command('STAT')).toMatch(/^\+OK 1 /);
    expect(await direct.command('TOP 1 0')).toMatch(/^\+OK/);
    expect((await direct.lines())[0]).toBe('X-Real-To: abcdef@client1.com');
    direct.close();
  });

  it('refuses everything when the relay refuses a recipient: no local copy', async () => {
    const before = smtp.received.length;
    const c = await RawPop.signIn(server.port, 'alice', 'a secret');
    const answer = await xmit(
      c,
      'From: alice@example.org\r\nTo: refuse-me@elsewhere.net\r\nCc: bob@example.org\r\nSubject: refused\r\n\r\nbody\r\n',
    );
    expect(answer).toBe('-ERR The relay refused refuse-me@elsewhere.net; nothing was delivered');
    expect(await c.command('NOOP')).toBe('+OK');
    // one remote recipient refused, another accepted: SMTP cannot take that back, but nothing is stored here
    expect(
      await xmit(c, 'To: friend@elsewhere.net, refuse-too@elsewhere.net\r\nCc: bob@example.org\r\nSubject: half\r\n\r\nbody\r\n'),
    ).toBe('-ERR The relay refused refuse-too@elsewhere.net (it took the message for friend@elsewhere.net); nothing was delivered here');
    c.close();
    expect(smtp.received.length).toBe(before + 1);
    const bob = await RawPop.signIn(server.port, 'bob', 'b secret');
    expect(await bob.command('STAT')).toMatch(/^\+OK 1 /); // only the first test's message
    bob.close();
  });

  it('accepts From addresses that route to the account, and refuses forged ones', async () => {
    const c = await RawPop.signIn(server.port, 'alice', 'a secret');
    expect(await xmit(c, 'From: sales@example.org\r\nTo: bob@example.org\r\nSubject: from a route\r\n\r\nhi\r\n')).toMatch(/^\+OK/);
    expect(await xmit(c, 'From: boss@example.org\r\nTo: friend@elsewhere.net\r\nSubject: forged\r\n\r\nhi\r\n')).toBe(
      '-ERR From: boss@example.org is not one of your addresses; send as alice@example.org',
    );
    expect(await xmit(c, 'From: bob@example.org\r\nTo: friend@elsewhere.net\r\nSubject: forged\r\n\r\nhi\r\n')).toMatch(
      /^-ERR From: bob@example.org is not one of your addresses/,
    );
    c.close();
  });

  it('answers a message without recipients, an unknown local recipient, and an oversized message; the session goes on', async () => {
    const c = await RawPop.signIn(server.port, 'bob', 'b secret');
    expect(await xmit(c, 'From: bob@example.org\r\nSubject: nobody\r\n\r\nhi\r\n')).toBe(
      '-ERR The message has no recipients: give them in To, Cc or Bcc',
    );
    expect(await xmit(c, 'To: nosuch@example.org\r\nSubject: x\r\n\r\nhi\r\n')).toBe('-ERR No such local recipient: nosuch@example.org');
    const big = `To: alice@example.org\r\nSubject: big\r\n\r\n${'x'.repeat(100)}\r\n`.repeat(1) + `${'y'.repeat(998)}\r\n`.repeat(100);
    expect(await xmit(c, big)).toMatch(/^-ERR Message too large: \d+ octets, the limit is 65536$/);
    expect(await c.command('STAT')).toMatch(/^\+OK/);
    c.close();
  });

  it('reads a pipelined command after the end line', async () => {
    const c = await RawPop.signIn(server.port, 'bob', 'b secret');
    expect(await c.command('XTND XMIT')).toBe('+OK Start sending message.');
    c.send(`${stuffed('To: alice@example.org\r\nSubject: piped\r\n\r\nhi\r\n')}NOOP\r\n`);
    expect(await c.line()).toMatch(/^\+OK Message sent to 1 recipients/);
    expect(await c.line()).toBe('+OK');
    c.close();
  });

  it('adds From when missing, and limits submissions per account per hour', async () => {
    const c = await RawPop.signIn(server.port, 'cl1@client1.com', 'c secret');
    expect(await xmit(c, 'To: friend@elsewhere.net\r\nSubject: no from\r\n\r\nhi\r\n')).toMatch(/^\+OK/);
    expect(smtp.received.at(-1)!.data.toString()).toMatch(/\r\nFrom: cl1@client1\.com\r\n/);
    // refused attempts count too, so they are no way around the limit
    expect(await xmit(c, 'From: boss@example.org\r\nTo: bob@example.org\r\nSubject: forged\r\n\r\nhi\r\n')).toMatch(/^-ERR From:/);
    for (let i = 0; i < 6; i++) expect(await xmit(c, `To: bob@example.org\r\nSubject: ${i}\r\n\r\nhi\r\n`)).toMatch(/^\+OK/);
    expect(await xmit(c, 'To: bob@example.org\r\nSubject: one too many\r\n\r\nhi\r\n')).toMatch(
      /^-ERR \[SYS\/TEMP\] Too many messages submitted in the last hour \(the limit is 8\)/,
    );
    c.close();
    await server.waitForLog((r) => r.msg === 'submission refused: rate limit' && r.user === 'cl1@client1.com');
  });
});

describe('without a working relay', () => {
  it('a relay that is down: -ERR [SYS/TEMP] and no local copy', async () => {
    const down = await startSmtp();
    const port = down.port;
    await down.close();
    const s = await startServer({ config: { submission: { relay: { host: '127.0.0.1', port } } } });
    try {
      await s.addAccount('alice', 'a secret');
      await s.addAccount('bob', 'b secret');
      const c = await RawPop.signIn(s.port, 'alice', 'a secret');
      expect(await xmit(c, 'To: bob@example.org, friend@elsewhere.net\r\nSubject: x\r\n\r\nhi\r\n')).toMatch(
        /^-ERR \[SYS\/TEMP\] The relay is not available: .*; nothing was delivered$/,
      );
      c.close();
      const bob = await RawPop.signIn(s.port, 'bob', 'b secret');
      expect(await bob.command('STAT')).toBe('+OK 0 0');
      bob.close();
    } finally {
      await s.stop();
    }
  });

  it('no relay configured: remote recipients are refused, local ones work', async () => {
    const s = await startServer();
    try {
      await s.addAccount('alice', 'a secret');
      await s.addAccount('bob', 'b secret');
      const c = await RawPop.signIn(s.port, 'alice', 'a secret');
      expect(await xmit(c, 'To: friend@elsewhere.net\r\nSubject: x\r\n\r\nhi\r\n')).toBe(
        '-ERR Remote recipients (friend@elsewhere.net) cannot be reached: no relay is configured (submission.relay)',
      );
      expect(await xmit(c, 'To: bob@example.org\r\nSubject: local\r\n\r\n.hi\r\n')).toMatch(/^\+OK Message sent to 1 recipients/);
      c.close();
      const bob = await RawPop.signIn(s.port, 'bob', 'b secret');
      expect(await bob.command('STAT')).toMatch(/^\+OK 1 /);
      bob.close();
    } finally {
      await s.stop();
    }
  });
});
