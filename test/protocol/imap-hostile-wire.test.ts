// Hostile IMAP clients against the IMAP module in this process (test/helpers/in-process.ts): a huge
// literal before sign-in, client octets that must never be echoed raw, a tag with 8-bit octets, SEARCH
// nested thousands deep. The ones that need the real server (slots held by slow senders, the login timeout,
// the trace file) are in test/e2e/imap-hostile-wire.test.ts.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RawImap, untilClosed } from '../helpers/imap-client.js';
import { type InProcessServer, startInProcess } from '../helpers/in-process.js';
import type { Endpoint } from '../helpers/pop-client.js';

const LISTENERS = [
  { name: 'pop3', module: 'pop', address: '127.0.0.1', port: 0 },
  { name: 'imap', module: 'imap', address: '127.0.0.1', port: 0 },
];

const PASSWORD = 'Sw0rdfish-Secret42';

describe('IMAP against hostile clients: slots, echoes, secrets, SEARCH depth', () => {
  let server: InProcessServer;
  let port: Endpoint;
  beforeAll(async () => {
    server = await startInProcess({
      config: { listeners: LISTENERS, imap: { loginTimeout: 3 }, log: { level: 'protocol', trace: 'trace.log' } },
    });
    port = server.portOf('imap');
    await server.addAccount('alice', PASSWORD);
    await server.deliver('alice@example.org', 'From: a@example.net\nSubject: one\nDate: Tue, 01 Dec 2026 09:00:00 +0000\n\nhello\n');
  });
  afterAll(() => server.stop());

  it('a large literal before sign-in is answered * BYE at once, APPEND or not, synchronising or not', async () => {
    for (const command of ['x APPEND INBOX {999999999+}', 'x APPEND INBOX {999999999}', 'x LOGIN alice {999999999+}', 'x LOGIN {8193}']) {
      const { client } = await RawImap.connect(port);
      client.send(`${command}\r\n`);
      const t0 = performance.now();
      const { lines, closed } = await untilClosed(client, 3000);
      expect(lines, command).toEqual(['* BYE Literal size too large before signing in (the limit is 8192 octets); closing connection']);
      expect(closed).toBe(true);
      expect(performance.now() - t0).toBeLessThan(2000);
      client.close();
    }
    // a literal within the bound is read as before
    const { client } = await RawImap.connect(port);
    client.send(`c1 LOGIN {5+}\r\nalice {${PASSWORD.length}+}\r\n${PASSWORD}\r\n`);
    expect((await client.until('c1')).status).toBe('OK');
    client.close();
  });

  it('no client octet is echoed raw: CR LF and 8-bit octets in a literal or a quoted string stay inside the tagged line', async () => {
    const client = await RawImap.signIn(port, 'alice', PASSWORD);
    expect((await client.command('SELECT INBOX')).status).toBe('OK');
    const evil = Buffer.concat([Buffer.from('x\r\n* 99 EXISTS\r\n* BYE forged\r\n'), Buffer.from([0xff, 0xfe, 0xc3, 0xa9, 0x00, 0x1b])]);
    const literal = (before: string, after = '') =>
      Buffer.concat([Buffer.from(`${before} {${evil.length}+}\r\n`), evil, Buffer.from(after)]);
    const quoted = (before: string, after = '') =>
      Buffer.concat([Buffer.from(`${before} "`), Buffer.from([0x41, 0xff, 0xfe, 0xc3, 0xa9, 0x1b, 0x42]), Buffer.from(`"${after}`)]);
    const commands: Buffer[] = [
      literal('SETACL INBOX', ' lr'),
      literal('LISTRIGHTS INBOX'),
      literal('DELETEACL INBOX'),
      literal('SEARCH BEFORE'),
      literal('SEARCH CHARSET', ' ALL'),
      literal('FETCH 1 BODY.PEEK[HEADER.FIELDS (', ')]'),
      literal('STATUS', ' (MESSAGES)'),
      quoted('SETACL INBOX', ' lr'),
      quoted('LISTRIGHTS INBOX'),
      quoted('SEARCH BEFORE'),
      quoted('SEARCH CHARSET', ' ALL'),
      quoted('APPEND INBOX (\\Seen)', ' {3+}\r\nabc'),
    ];
    for (const command of commands) {
      const answer = await client.command(command);
      const shown = command.toString('latin1');
      expect(answer.untagged, shown).toEqual([]);
      expect(answer.status, shown).toMatch(/^(BAD|NO)$/);
      expect(answer.tagged, shown).toMatch(/^[\x20-\x7e]+$/);
    }
    // nothing was left behind to be read as a further answer
    expect((await client.command('NOOP')).untagged).toEqual([]);
    client.close();
  });

  it('a tag with 8-bit octets is refused with the tag "*", not re-encoded', async () => {
    const { client } = await RawImap.connect(port);
    client.send(Buffer.concat([Buffer.from('t'), Buffer.from([0xe9]), Buffer.from('g NOOP\r\n')]));
    const line = await client.response();
    expect(line).toMatch(/^\* BAD Expected a tag/);
    expect(line).toMatch(/^[\x20-\x7e]+$/);
    client.send(Buffer.from('t\xc3\xa9g NOOP\r\n', 'latin1'));
    expect(await client.response()).toMatch(/^\* BAD Expected a tag/);
    expect((await client.command('NOOP')).status).toBe('OK');
    client.close();
  });

  it('SEARCH nested thousands deep is answered BAD past its depth (1000), never NO [SERVERBUG]; within it, OK', async () => {
    const client = await RawImap.signIn(port, 'alice', PASSWORD);
    expect((await client.command('SELECT INBOX')).status).toBe('OK');
    const deep = [
      `SEARCH ${'('.repeat(4000)}ALL${')'.repeat(4000)}`,
      `SEARCH ${'NOT '.repeat(5000)}ALL`,
      `SEARCH ${'OR ALL '.repeat(3000)}ALL`,
      `SEARCH ${'OR '.repeat(3000)}${'ALL '.repeat(3000)}ALL`,
      `UID SEARCH ${'(NOT '.repeat(2000)}ALL${')'.repeat(2000)}`,
    ];
    for (const command of deep) {
      const t0 = performance.now();
      const answer = await client.command(command, 10_000);
      expect(answer.tagged, command.slice(0, 30)).toMatch(/ BAD \[LIMIT\] Search keys nested more than 1000 deep/);
      expect(performance.now() - t0).toBeLessThan(2000);
    }
    const within = [
      `SEARCH ${'('.repeat(998)}ALL${')'.repeat(998)}`,
      `SEARCH ${'NOT '.repeat(998)}ALL`,
      `SEARCH ${'OR ALL '.repeat(998)}ALL`,
    ];
    for (const command of within) {
      const answer = await client.command(command, 10_000);
      expect(answer.tagged, command.slice(0, 30)).toMatch(/ OK /);
      expect(answer.untagged[0]).toMatch(/^\* SEARCH/);
    }
    client.close();
  });
});
