// The IMAP module over real sockets, byte by byte (RFC 9051 and RFC 3501), where a real server is needed:
// STARTTLS and the cleartext policy, the trace file, the channel limits and the metrics port, SIGTERM,
// SELECT's answers and FETCH with \Seen as POP (python's poplib) sees it. Framing, sign-in, other sessions'
// changes, IDLE, APPEND, COPY/MOVE, SEARCH and rights run in this process: test/protocol/imap-protocol.test.ts.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { poplib } from '../helpers/clients.js';
import { RawImap } from '../helpers/imap-client.js';
import { startServer, type TestServer } from '../helpers/server.js';

const LISTENERS = [
  { name: 'pop3', module: 'pop', address: '127.0.0.1', port: 0 },
  { name: 'imap', module: 'imap', address: '127.0.0.1', port: 0 },
  { name: 'imaps', module: 'imap', address: '127.0.0.1', port: 0, tls: 'implicit' },
];

function message(subject: string, body = 'hello\n'): string {
  return (
    `From: Sender <sender@example.net>\nTo: jsmith@example.org\nSubject: ${subject}\nDate: Tue, 01 Dec 2026 09:00:00 +0000\n` +
    `Message-ID: <${subject.replace(/\W/g, '')}@example.net>\n\n${body}`
  );
}

describe('IMAP: framing, limits, sign-in', () => {
  let server: TestServer;
  let port: number;
  beforeAll(async () => {
    server = await startServer({
      config: { listeners: LISTENERS, imap: { maxLineLength: 2048, maxLiteralSize: 4096, maxBadCommands: 5 }, log: { trace: 'trace.log' } },
    });
    port = server.portOf('imap');
    await server.addAccount('jsmith', 'pass word');
  });
  afterAll(() => server.stop());

  it('STARTTLS: OK, then the handshake; commands pipelined behind it are never run', async () => {
    const { client } = await RawImap.connect(port);
    client.send('a1 STARTTLS\r\na2 LOGIN jsmith "pass word"\r\n');
    expect(await client.response()).toBe('a1 OK Begin TLS negotiation now');
    await client.raw.upgrade();
    const caps = await client.command('CAPABILITY');
    expect(caps.untagged[0]).not.toContain('STARTTLS');
    expect(client.raw.tlsSocket.getProtocol()).toMatch(/TLSv1\.[23]/);
    // a2 was sent in the clear after STARTTLS: no answer to it ever came
    expect(caps.untagged.join('\n')).not.toContain('a2');
    expect((await client.command('LOGIN jsmith "pass word"')).status).toBe('OK');
    client.close();
  });

  it('commands need their state; the trace has no password and no literal', async () => {
    const { client } = await RawImap.connect(port);
    expect((await client.command('SELECT INBOX')).tagged).toMatch(/^a1 BAD SELECT is not allowed before signing in/);
    expect((await client.command('LOGIN jsmith "pass word"')).status).toBe('OK');
    expect((await client.command('FETCH 1 FLAGS')).tagged).toMatch(/needs a selected mailbox/);
    client.send('a4 APPEND INBOX {28}\r\n');
    expect(await client.response()).toMatch(/^\+/);
    client.send('Subject: secret-body-text\r\n\r\n\r\n');
    expect((await client.until('a4')).tagged).toMatch(/^a4 OK \[APPENDUID \d+ \d+\]/);
    await client.command('LOGOUT');
    client.close();
    await new Promise((r) => setTimeout(r, 300));
    const trace = await readFile(join(server.dir, 'trace.log'), 'utf8');
    expect(trace).toContain('LOGIN [redacted]');
    expect(trace).not.toContain('pass word');
    expect(trace).not.toContain('secret-body-text');
  });
});

describe('IMAP: channel limits and metrics', () => {
  it(
    'refuses past imap.maxChannels with BYE [UNAVAILABLE], ' + 'closes the oldest waiting one past maxUnauthenticated, and counts commands',
    async () => {
      const server = await startServer({
        config: { listeners: LISTENERS, imap: { maxChannels: 3, maxUnauthenticated: 2 }, metrics: { port: 0 } },
      });
      try {
        await server.addAccount('jsmith', 'secret');
        const port = server.portOf('imap');
        const signedIn = await RawImap.signIn(port, 'jsmith', 'secret');
        const { client: waiting1 } = await RawImap.connect(port);
        const { client: waiting2 } = await RawImap.connect(port);
        // a third connection not signed in: the oldest waiting one makes room
        const { client: third, greeting } = await RawImap.connect(port);
        expect(greeting).toMatch(/^\* OK/);
        expect(await waiting1.response()).toMatch(/^\* BYE Too many connections waiting to sign in/);
        expect((await third.command('LOGIN jsmith secret')).status).toBe('OK');
        // now three signed-in or waiting sessions, two of them signed in: a fourth is refused
        const { client: waiting3 } = await RawImap.connect(port);
        expect(await waiting2.response()).toMatch(/^\* BYE/); // waiting2 was the oldest waiting: closed for room
        expect((await waiting3.command('LOGIN jsmith secret')).status).toBe('OK');
        const refused = await RawImap.connect(port).then((r) => r.greeting);
        expect(refused).toBe('* BYE [UNAVAILABLE] Too many connections; try again later');
        await signedIn.command('SELECT INBOX');
        await signedIn.command('NOOP');
        const { port: metricsPort } = await server.waitForLog((r) => r.msg === 'metrics at /metrics');
        const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
        expect(text).toMatch(/^postern_imap_commands_total\{command="SELECT"\} 1$/m);
        expect(text).toMatch(/^postern_imap_commands_total\{command="LOGIN"\} 3$/m);
        expect(text).toMatch(/^postern_imap_sessions_open 3$/m);
        expect(text).toMatch(/^postern_connections_refused_total\{limit="imap.maxChannels"\} 1$/m);
        for (const c of [signedIn, third, waiting3]) c.close();
      } finally {
        await server.stop();
      }
    },
  );
});

describe('IMAP: stopping the server', () => {
  it('SIGTERM: an idle session and one in IDLE get BYE at once and the server exits', async () => {
    const server = await startServer({ config: { listeners: LISTENERS, shutdownTimeout: 20 } });
    await server.addAccount('jsmith', 'secret');
    const idle = await RawImap.signIn(server.portOf('imap'), 'jsmith', 'secret');
    await idle.command('SELECT INBOX');
    idle.send('i1 IDLE\r\n');
    expect(await idle.response()).toBe('+ idling');
    const quiet = await RawImap.signIn(server.portOf('imap'), 'jsmith', 'secret');
    const t0 = Date.now();
    const exited = server.stop('SIGTERM');
    expect(await idle.response()).toMatch(/^\* BYE Server shutting down/);
    expect(await quiet.response()).toMatch(/^\* BYE Server shutting down/);
    expect(await exited).toBe(0);
    expect(Date.now() - t0).toBeLessThan(5000);
  });
});

describe('IMAP: the cleartext policy', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer({ config: { listeners: LISTENERS, imap: { cleartextAuth: 'never' } } });
    await server.addAccount('jsmith', 'secret');
  });
  afterAll(() => server.stop());

  it('says LOGINDISABLED and refuses LOGIN and PLAIN until STARTTLS; implicit TLS signs in at once', async () => {
    const { client, greeting } = await RawImap.connect(server.portOf('imap'));
    expect(greeting).toContain('LOGINDISABLED');
    expect(greeting).not.toContain('AUTH=PLAIN');
    expect((await client.command('LOGIN jsmith secret')).tagged).toMatch(/^a1 NO \[PRIVACYREQUIRED\]/);
    expect((await client.command('AUTHENTICATE PLAIN')).tagged).toMatch(/^a2 NO \[PRIVACYREQUIRED\]/);
    expect((await client.command('STARTTLS')).status).toBe('OK');
    await client.raw.upgrade();
    const caps = await client.command('CAPABILITY');
    expect(caps.untagged[0]).not.toContain('LOGINDISABLED');
    expect((await client.command('LOGIN jsmith secret')).status).toBe('OK');
    client.close();
    const { client: tls } = await RawImap.connect(server.portOf('imaps'), true);
    expect((await tls.command('LOGIN jsmith secret')).status).toBe('OK');
    tls.close();
  });
});

describe('IMAP: mailboxes, messages and other sessions', () => {
  let server: TestServer;
  let port: number;
  beforeAll(async () => {
    server = await startServer({ config: { listeners: LISTENERS } });
    port = server.portOf('imap');
    await server.addAccount('jsmith', 'secret');
    await server.addAccount('boss', 'secret');
    for (const s of ['one', 'two', 'three']) await server.deliver('jsmith', message(s));
  });
  afterAll(() => server.stop());

  it('SELECT answers EXISTS, FLAGS, PERMANENTFLAGS, UIDVALIDITY, UIDNEXT and READ-WRITE; EXAMINE is READ-ONLY', async () => {
    const c = await RawImap.signIn(port, 'jsmith', 'secret');
    const sel = await c.command('SELECT INBOX');
    expect(sel.untagged).toContain('* 3 EXISTS');
    expect(sel.untagged).toContain('* 3 RECENT');
    expect(sel.untagged).toContain('* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)');
    expect(sel.untagged.some((l) => l.startsWith('* OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft \\*)]'))).toBe(true);
    expect(sel.untagged.some((l) => /^\* OK \[UIDVALIDITY \d+\]/.test(l))).toBe(true);
    expect(sel.untagged).toContain('* OK [UIDNEXT 4] Predicted next UID');
    expect(sel.untagged).toContain('* OK [UNSEEN 1] First unseen');
    expect(sel.tagged).toMatch(/OK \[READ-WRITE\]/);
    const ex = await c.command('EXAMINE INBOX');
    expect(ex.untagged[0]).toBe('* OK [CLOSED] Previous mailbox closed');
    expect(ex.tagged).toMatch(/OK \[READ-ONLY\]/);
    expect((await c.command('STORE 1 +FLAGS (\\Flagged)')).tagged).toMatch(/NO \[READ-ONLY\]/);
    c.close();
  });

  it('FETCH BODY[] sends CRLF octets and sets \\Seen (seen by POP); BODY.PEEK does not', async () => {
    const c = await RawImap.signIn(port, 'jsmith', 'secret');
    await c.command('SELECT INBOX');
    const peek = await c.command('FETCH 1 (BODY.PEEK[TEXT] FLAGS)');
    expect(peek.untagged[0]).toBe('* 1 FETCH (BODY[TEXT] {7}\r\nhello\r\n FLAGS ())');
    const size = await c.command('FETCH 1 RFC822.SIZE');
    const full = await c.command('FETCH 1 BODY[]');
    const literal = /\{(\d+)\}\r\n/.exec(full.untagged[0])!;
    expect(size.untagged[0]).toBe(`* 1 FETCH (RFC822.SIZE ${literal[1]})`);
    expect(full.untagged[0]).toContain('\r\nSubject: one\r\n');
    expect(full.untagged[0]).toMatch(/ FLAGS \(\\Seen\)\)$/);
    const partial = await c.command('UID FETCH 1 (BODY.PEEK[]<0.4>)');
    expect(partial.untagged[0]).toBe('* 1 FETCH (UID 1 BODY[]<0> {4}\r\nFrom)');
    c.close();
    // POP on the same mailbox shows the same \Seen: it is Maildir's S flag
    const seen = await poplib<string[]>(
      server.port,
      `
p = poplib.POP3('127.0.0.1', port)
p.user('jsmith'); p.pass_('secret')
print(json.dumps([l.decode() for l in p.uidl()[1]]))
p.quit()`,
    );
    expect(seen).toHaveLength(3);
  });
});
