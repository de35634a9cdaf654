// The IMAP module against hostile clients, on the wire and in the logs (issue 20, "Safe against hostile
// clients"): a connection that never signs in cannot hold its slot (a literal larger than
// MAX_LITERAL_BEFORE_SIGN_IN before sign-in is answered `* BYE` at once, as Dovecot does; a slow
// pre-auth sender is closed at imap.loginTimeout and may be evicted to make room); no client octet is
// echoed raw into a response (a CR LF inside a literal cannot forge a response line, an 8-bit tag is
// refused); no password reaches the protocol log or the trace in any form; SEARCH nested thousands deep
// is answered BAD past its documented depth, never NO [SERVERBUG]. What needs no real server (the huge
// literal, the echoes, the 8-bit tag, SEARCH's depth) runs in this process: test/protocol/imap-hostile-wire.test.ts.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RawImap, untilClosed } from '../helpers/imap-client.js';
import { RawPop } from '../helpers/pop-client.js';
import { startServer, type TestServer } from '../helpers/server.js';

const LISTENERS = [
  { name: 'pop3', module: 'pop', address: '127.0.0.1', port: 0 },
  { name: 'imap', module: 'imap', address: '127.0.0.1', port: 0 },
];

const PASSWORD = 'Sw0rdfish-Secret42';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('IMAP against hostile clients: slots, echoes, secrets, SEARCH depth', () => {
  let server: TestServer;
  let port: number;
  beforeAll(async () => {
    server = await startServer({
      config: { listeners: LISTENERS, imap: { loginTimeout: 3 }, log: { level: 'protocol', trace: 'trace.log' } },
    });
    port = server.portOf('imap');
    await server.addAccount('alice', PASSWORD);
    await server.deliver('alice@example.org', 'From: a@example.net\nSubject: one\nDate: Tue, 01 Dec 2026 09:00:00 +0000\n\nhello\n');
  });
  afterAll(() => server.stop());

  it('a client trickling a literal before sign-in is closed at imap.loginTimeout', async () => {
    const { client } = await RawImap.connect(port);
    // APPEND is not allowed before sign-in: the server skips the literal the client sends anyway
    client.send('x APPEND INBOX {8000+}\r\n');
    const t0 = performance.now();
    const trickle = setInterval(() => client.send('y'), 300);
    try {
      const { lines, closed } = await untilClosed(client, 8000);
      expect(lines).toEqual(['* BYE Not signed in within 3 s; closing connection']);
      expect(closed).toBe(true);
      expect(performance.now() - t0).toBeLessThan(6000);
    } finally {
      clearInterval(trickle);
      client.close();
    }
  });

  it('no password reaches the protocol log or the trace, in any of 20 forms (POP too)', async () => {
    const plain = Buffer.from(`\0alice\0${PASSWORD}`).toString('base64');
    const plainAuthz = Buffer.from(`alice\0alice\0${PASSWORD}`).toString('base64');
    const passwordB64 = Buffer.from(PASSWORD).toString('base64');
    const longB64 = Buffer.from(`\0alice\0${PASSWORD}${'A'.repeat(70_000)}`).toString('base64');
    const tooLong = 'x'.repeat(70_000);

    // each form on a connection of its own, IMAP: [what is sent, the tag of the last answer to wait for]
    const forms: [string, string | Buffer, string][] = [
      ['LOGIN, atom password', `a LOGIN alice ${PASSWORD}\r\n`, 'a'],
      ['LOGIN, quoted password', `a LOGIN "alice" "${PASSWORD}"\r\n`, 'a'],
      ['LOGIN, non-synchronising literal', `a LOGIN alice {${PASSWORD.length}+}\r\n${PASSWORD}\r\n`, 'a'],
      ['lowercase login', `a login alice ${PASSWORD}\r\n`, 'a'],
      ['malformed LOGIN (the BAD would quote the password)', `a LOGIN alice {${PASSWORD}\r\n`, 'a'],
      ['LOGIN with an argument too many', `a LOGIN alice ${PASSWORD} ${PASSWORD}\r\n`, 'a'],
      ['LOGIN with an unclosed quote', `a LOGIN alice "${PASSWORD}\r\n`, 'a'],
      ['LOGIN in the wrong state', `a LOGIN alice ${PASSWORD}\r\nb LOGIN alice ${PASSWORD}\r\n`, 'b'],
      ['UID LOGIN', `a UID LOGIN alice ${PASSWORD}\r\n`, 'a'],
      ['a bad tag before LOGIN', `a{ LOGIN alice ${PASSWORD}\r\nb NOOP\r\n`, 'b'],
      ['two spaces after the tag', `a  LOGIN alice ${PASSWORD}\r\nb NOOP\r\n`, 'b'],
      ['AUTHENTICATE PLAIN with an initial response', `a AUTHENTICATE PLAIN ${plain}\r\n`, 'a'],
      ['AUTHENTICATE PLAIN with an authorization identity', `a AUTHENTICATE PLAIN ${plainAuthz}\r\n`, 'a'],
      ['AUTHENTICATE PLAIN, then the continuation', `a AUTHENTICATE PLAIN\r\n${plain}\r\n`, 'a'],
      ['AUTHENTICATE LOGIN', `a AUTHENTICATE LOGIN\r\n${Buffer.from('alice').toString('base64')}\r\n${passwordB64}\r\n`, 'a'],
      ['AUTHENTICATE cancelled with *, then the answer anyway', `a AUTHENTICATE PLAIN\r\n*\r\n${plain}\r\nb NOOP\r\n`, 'b'],
      ['a refused mechanism, then the base64 line', `a AUTHENTICATE X-UNKNOWN\r\n${plain}\r\nb NOOP\r\n`, 'b'],
      ['a refused mechanism, then a too-long base64 line', `a AUTHENTICATE X-UNKNOWN\r\n${longB64}\r\nb NOOP\r\n`, 'b'],
      ['AUTHENTICATE PLAIN with the password as a bad initial response', `a AUTHENTICATE PLAIN ${PASSWORD}!\r\nb NOOP\r\n`, 'b'],
      ['a too-long line carrying a password', `a LOGIN alice ${PASSWORD}${tooLong}\r\nb NOOP\r\n`, 'b'],
      ['a password in a literal after a too-long line', `a LOGIN alice ${tooLong} {${PASSWORD.length}+}\r\n${PASSWORD}\r\nb NOOP\r\n`, 'b'],
      ['the password alone as a line', `${PASSWORD}\r\nb NOOP\r\n`, 'b'],
    ];
    for (const [what, bytes, lastTag] of forms) {
      const { client } = await RawImap.connect(port);
      client.send(bytes);
      const answer = await client.until(lastTag, 5000).catch((err: Error) => {
        throw new Error(`${what}: ${err.message}`);
      });
      expect(answer.tagged, what).toMatch(/ (OK|NO|BAD) /);
      client.close();
    }

    // POP: the same holes (a SASL answer after a refused or cancelled AUTH, an unknown verb)
    const popPort = server.portOf('pop3');
    const popForms: string[] = [
      `AUTH X-UNKNOWN\r\n${plain}\r\nNOOP\r\n`,
      `AUTH PLAIN\r\n*\r\n${plain}\r\nNOOP\r\n`,
      `USER alice\r\nPASS ${PASSWORD}\r\nQUIT\r\n`,
      ` PASS ${PASSWORD}\r\nQUIT\r\n`,
    ];
    for (const form of popForms) {
      const pop = await RawPop.connect(popPort);
      await pop.line();
      pop.send(form);
      for (let i = 0; i < form.split('\r\n').length - 1; i++) await pop.line().catch(() => '');
      pop.close();
    }

    await sleep(300); // the trace is written by a stream
    const trace = await readFile(join(server.dir, 'trace.log'), 'utf8');
    const logs = server.logs.map((r) => JSON.stringify(r)).join('\n');
    const secrets = [PASSWORD, passwordB64, plain, plainAuthz, longB64.slice(0, 200)];
    for (const [name, text] of [
      ['trace', trace],
      ['log', logs],
    ]) {
      for (const secret of secrets) {
        // any 12 characters in a row of it (a truncated echo of a base64 form too)
        for (let i = 0; i + 12 <= secret.length; i++)
          expect(text.includes(secret.slice(i, i + 12)), `${name} holds ${secret.slice(i, i + 12)} (of ${secret.slice(0, 20)}...)`).toBe(
            false,
          );
      }
    }
    // the commands were recorded, by their size
    expect(trace).toContain('LOGIN [redacted]');
    expect(trace).toContain('[unrecognised command, ');
    expect(logs).toContain('[unrecognised command, ');
  });
});

describe('IMAP against hostile clients: a slow sender before sign-in can be closed to make room', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer({ config: { listeners: LISTENERS, imap: { maxUnauthenticated: 3, maxUnauthenticatedPerAddress: 3 } } });
    await server.addAccount('alice', PASSWORD);
  });
  afterAll(() => server.stop());

  it('connections trickling a skipped literal before sign-in are evicted for a new client, who signs in', async () => {
    const port = server.portOf('imap');
    const slow: RawImap[] = [];
    for (let i = 0; i < 3; i++) {
      const { client } = await RawImap.connect(port);
      client.send('x APPEND INBOX {8000+}\r\ny');
      slow.push(client);
    }
    const trickle = setInterval(() => {
      for (const c of slow) c.send('y');
    }, 300);
    try {
      await sleep(500);
      const { client: fresh, greeting } = await RawImap.connect(port);
      expect(greeting).toMatch(/^\* OK /);
      const answer = await fresh.command(`LOGIN alice ${PASSWORD}`);
      expect(answer.status).toBe('OK');
      fresh.close();
      const evicted = await Promise.all(slow.map((c) => untilClosed(c, 1500)));
      expect(
        evicted.filter((e) => e.lines.some((l) => l.startsWith('* BYE Too many connections waiting to sign in'))).length,
      ).toBeGreaterThan(0);
    } finally {
      clearInterval(trickle);
      for (const c of slow) c.close();
    }
  });
});
