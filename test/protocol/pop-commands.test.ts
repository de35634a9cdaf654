// Every RFC 1939 / RFC 2449 command over a raw socket against the POP module in this process
// (test/helpers/in-process.ts): success and error paths. What needs the Maildir on disk is in
// test/e2e/pop-commands.test.ts.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RawPop } from '../helpers/pop-client.js';
import { type InProcessServer, startInProcess } from '../helpers/in-process.js';

const MSG1 = 'From: a@example.org\r\nSubject: one\r\n\r\nfirst body line\r\nsecond\r\nthird\r\n';
const MSG2 = 'From: b@example.org\nSubject: two\n\n.starts with a dot\nplain\n';

let server: InProcessServer;

beforeAll(async () => {
  server = await startInProcess();
  await server.addAccount('alice', 'a secret');
  await server.deliver('alice', MSG1);
  await server.deliver('alice', MSG2);
});
afterAll(async () => {
  await server.stop();
  const ends = server.logs.filter((r) => r.msg === 'session end' && r.end === 'server shutdown');
  expect(ends).toEqual([]);
});

describe('AUTHORIZATION state', () => {
  it('greets, and CAPA lists the RFC 2449 capabilities', async () => {
    const c = await RawPop.connect(server.port);
    expect(await c.line()).toMatch(/^\+OK .*Postern POP3 server ready/);
    expect(await c.command('CAPA')).toBe('+OK Capability list follows');
    expect(await c.lines()).toEqual([
      'TOP',
      'UIDL',
      'USER',
      'SASL PLAIN LOGIN',
      'STLS',
      'RESP-CODES',
      'PIPELINING',
      'AUTH-RESP-CODE',
      'IMPLEMENTATION Postern',
    ]);
    expect(await c.command('QUIT')).toMatch(/^\+OK/);
    await c.closed();
  });

  it('answers an unknown user exactly like a wrong password', async () => {
    const c = await RawPop.connect(server.port);
    await c.line();
    expect(await c.command('USER nobody')).toBe('+OK Send your password');
    const unknown = await c.command('PASS whatever');
    expect(await c.command('USER alice')).toBe('+OK Send your password');
    const wrong = await c.command('PASS not the secret');
    expect(unknown).toBe('-ERR [AUTH] Authentication failed');
    expect(wrong).toMatch(/^-ERR \[AUTH\] Authentication failed; too many attempts/);
    await c.closed();
    const refused = await server.waitForLog((r) => r.msg === 'sign-in refused' && r.reason === 'unknown-user');
    expect(JSON.stringify(server.logs)).not.toContain('not the secret');
    expect(refused.tag).toBe('POP');
  });

  it('refuses PASS without USER and transaction commands before sign-in', async () => {
    const c = await RawPop.connect(server.port);
    await c.line();
    expect(await c.command('PASS a secret')).toBe('-ERR Send USER first');
    for (const cmd of ['STAT', 'LIST', 'RETR 1', 'DELE 1', 'NOOP', 'TOP 1 1']) {
      expect(await c.command(cmd)).toMatch(/^-ERR .* is not allowed before signing in/);
    }
    expect(await c.command('USER')).toBe('-ERR Usage: USER name');
    expect(await c.command('FROB')).toBe('-ERR Unknown command "FROB"');
    expect(await c.command('quit')).toMatch(/^\+OK/);
  });

  it("never echoes a client's raw octets: 8-bit, control and lone-CR octets in what an error quotes are shown as \\xNN", async () => {
    const c = await RawPop.connect(server.port);
    await c.line();
    // a verb with a lone CR, an escape and 8-bit octets; an AUTH mechanism likewise
    c.send(Buffer.from([0x46, 0x0d, 0x1b, 0xff, 0xc3, 0xa9, 0x0d, 0x0a]));
    // read as UTF-8 (0xff is U+FFFD) and upper-cased (é is É)
    expect(await c.line()).toBe('-ERR Unknown command "F\\x0d\\x1b\\xef\\xbf\\xbd\\xc3\\x89"');
    for (const line of ['AUTH X\r\x1b\xe9', '\x1bQUIT\r', 'AUTH \xff\xfe']) {
      c.send(Buffer.concat([Buffer.from(line, 'latin1'), Buffer.from('\r\n')]));
      const answer = await c.line();
      expect(answer, line).toMatch(/^-ERR [\x20-\x7e]*$/);
      expect(answer, line).toContain('\\x');
    }
    expect(await c.command('quit')).toMatch(/^\+OK/);
  });

  it('accepts a password with spaces and lower-case verbs', async () => {
    const c = await RawPop.connect(server.port);
    await c.line();
    await c.command('user ALICE');
    expect(await c.command('pass a secret')).toBe('+OK alice@example.org has 2 messages (133 octets)');
    expect(await c.command('USER alice')).toBe('-ERR USER is not allowed after signing in');
    c.close();
  });
});

describe('TRANSACTION state', () => {
  it('STAT, LIST and UIDL agree and LIST sizes are the octets RETR sends', async () => {
    const c = await RawPop.signIn(server.port, 'alice', 'a secret');
    expect(await c.command('STAT')).toBe('+OK 2 133');
    expect(await c.command('LIST')).toBe('+OK 2 messages (133 octets)');
    expect(await c.lines()).toEqual(['1 69', '2 64']);
    expect(await c.command('LIST 2')).toBe('+OK 2 64');
    expect(await c.command('UIDL')).toMatch(/^\+OK/);
    const uidls = (await c.lines()).map((l) => l.split(' '));
    expect(uidls.map((u) => u[0])).toEqual(['1', '2']);
    for (const [, id] of uidls) expect(id).toMatch(/^[\x21-\x7e]{1,70}$/);
    expect(uidls[0][1]).not.toBe(uidls[1][1]);
    expect(await c.command('UIDL 1')).toBe(`+OK 1 ${uidls[0][1]}`);

    expect(await c.command('RETR 2')).toBe('+OK 64 octets');
    const body = await c.body();
    // Bare LF served as CRLF, the leading dot stuffed; the unstuffed size is what LIST said.
    expect(body.toString()).toBe('From: b@example.org\r\nSubject: two\r\n\r\n..starts with a dot\r\nplain\r\n.\r\n');
    expect(body.length - 3 - 1).toBe(64);
    c.close();
  });

  it('answers bad message numbers with -ERR and goes on', async () => {
    const c = await RawPop.signIn(server.port, 'alice', 'a secret');
    expect(await c.command('RETR 3')).toBe('-ERR No such message: there are only 2 messages');
    expect(await c.command('RETR 0')).toBe('-ERR "0" is not a message number');
    expect(await c.command('RETR x')).toBe('-ERR "x" is not a message number');
    expect(await c.command('LIST -1')).toBe('-ERR "-1" is not a message number');
    expect(await c.command('RETR')).toBe('-ERR Usage: RETR message');
    expect(await c.command('TOP 1')).toBe('-ERR Usage: TOP message lines');
    expect(await c.command('TOP 1 x')).toBe('-ERR "x" is not a number of lines');
    expect(await c.command('LIST 1 2')).toBe('-ERR Usage: LIST [message]');
    expect(await c.command('NOOP')).toBe('+OK');
    c.close();
  });

  it('DELE marks, hides from STAT/LIST, RSET unmarks, and only QUIT deletes', async () => {
    await server.deliver('alice', 'Subject: three\n\nto delete\n');
    const c = await RawPop.signIn(server.port, 'alice', 'a secret');
    expect(await c.command('STAT')).toMatch(/^\+OK 3 /);
    expect(await c.command('DELE 3')).toBe('+OK Message 3 deleted');
    expect(await c.command('DELE 3')).toBe('-ERR Message 3 is already deleted');
    expect(await c.command('RETR 3')).toBe('-ERR Message 3 is already deleted');
    expect(await c.command('LIST 3')).toBe('-ERR Message 3 is already deleted');
    expect(await c.command('STAT')).toBe('+OK 2 133');
    expect(await c.command('LIST')).toMatch(/^\+OK 2 messages/);
    expect(await c.lines()).toEqual(['1 69', '2 64']);
    expect(await c.command('RSET')).toMatch(/^\+OK Maildrop has 3 messages/);
    expect(await c.command('DELE 3')).toMatch(/^\+OK/);
    expect(await c.command('QUIT')).toBe('+OK Postern signing off (2 messages left)');
    await c.closed();
    const again = await RawPop.signIn(server.port, 'alice', 'a secret');
    expect(await again.command('STAT')).toBe('+OK 2 133');
    again.close();
  });
});

describe('robustness', () => {
  it('answers pipelined commands in order (RFC 2449 PIPELINING)', async () => {
    const c = await RawPop.connect(server.port);
    await c.line();
    c.send('USER alice\r\nPASS a secret\r\nSTAT\r\nLIST 1\r\nFROB\r\nUIDL\r\nNOOP\r\nRETR 2\r\nNOOP\r\n');
    expect(await c.line()).toBe('+OK Send your password');
    expect(await c.line()).toMatch(/^\+OK alice@example.org has 2 messages/);
    expect(await c.line()).toBe('+OK 2 133');
    expect(await c.line()).toBe('+OK 1 69');
    expect(await c.line()).toMatch(/^-ERR Unknown command/);
    expect(await c.line()).toMatch(/^\+OK/);
    expect(await c.lines()).toHaveLength(2);
    expect(await c.line()).toBe('+OK');
    expect(await c.line()).toBe('+OK 64 octets');
    await c.body();
    expect(await c.line()).toBe('+OK');
    c.close();
  });

  it('answers an over-long line with -ERR and goes on', async () => {
    const c = await RawPop.connect(server.port);
    await c.line();
    expect(await c.command(`USER ${'x'.repeat(2000)}`)).toBe('-ERR Command line too long (the limit is 1024 octets)');
    expect(await c.command('CAPA')).toMatch(/^\+OK/);
    await c.lines();
    c.close();
  });

  it('closes a connection that sends endless input without a line end, memory bounded', async () => {
    const c = await RawPop.connect(server.port);
    await c.line();
    const junk = Buffer.alloc(64 * 1024, 'a');
    for (let i = 0; i < 64 && !c.isClosed; i++) {
      c.send(junk);
      await new Promise((r) => setImmediate(r));
    }
    expect(await c.line()).toBe('-ERR Command line too long; closing connection');
    await c.closed();
  });

  it('closes the connection after a run of bad commands', async () => {
    const c = await RawPop.connect(server.port);
    await c.line();
    for (let i = 1; i < 10; i++) expect(await c.command(`BAD${i}`)).toMatch(/^-ERR Unknown command/);
    expect(await c.command('BAD10')).toBe('-ERR Unknown command "BAD10"; too many bad commands, closing connection');
    await c.closed();
  });

  it('a session dropped after DELE deletes nothing', async () => {
    const c = await RawPop.signIn(server.port, 'alice', 'a secret');
    expect(await c.command('DELE 1')).toMatch(/^\+OK/);
    expect(await c.command('DELE 2')).toMatch(/^\+OK/);
    c.close();
    await server.waitForLog((r) => r.msg === 'session end' && r.end === 'connection lost; no changes applied');
    const again = await RawPop.signIn(server.port, 'alice', 'a secret');
    expect(await again.command('STAT')).toBe('+OK 2 133');
    again.close();
  });

  it('two sessions on one mailbox: a message the other removed answers -ERR and the session goes on', async () => {
    await server.deliver('alice', 'Subject: shared\n\nboth see me\n');
    const a = await RawPop.signIn(server.port, 'alice', 'a secret');
    const b = await RawPop.signIn(server.port, 'alice', 'a secret');
    expect(await a.command('STAT')).toMatch(/^\+OK 3 /);
    expect(await b.command('STAT')).toMatch(/^\+OK 3 /);
    expect(await a.command('DELE 3')).toMatch(/^\+OK/);
    expect(await a.command('QUIT')).toBe('+OK Postern signing off (2 messages left)');
    // b's numbering does not change; the removed message is answered -ERR, others still work.
    expect(await b.command('STAT')).toMatch(/^\+OK 3 /);
    expect(await b.command('RETR 3')).toBe('-ERR Message 3 was deleted by another session');
    expect(await b.command('RETR 1')).toBe('+OK 69 octets');
    await b.body();
    expect(await b.command('DELE 3')).toMatch(/^\+OK/);
    expect(await b.command('QUIT')).toBe('+OK Postern signing off (2 messages left)');
  });

  it('logs each POP record with the POP tag, a connection id and the peer', async () => {
    const record = await server.waitForLog((r) => r.msg === 'signed in');
    expect(record).toMatchObject({ tag: 'POP', user: 'alice@example.org', mechanism: 'USER' });
    expect(record.cid).toEqual(expect.any(String));
    expect(record.peer).toMatch(/^127\.0\.0\.1:\d+$/);
  });
});
