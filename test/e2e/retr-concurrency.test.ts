// Many sessions retrieving at once, clear and TLS, over mailboxes of mixed messages: every session gets
// exactly its own bytes. Small messages go out through buffers the server reuses between messages and
// sessions (see PopSession.sendMessage); this is what would catch one session's bytes in another's answer.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RawPop } from '../helpers/pop-client.js';
import { startServer, type TestServer } from '../helpers/server.js';

let server: TestServer;

/** A message of about `size` octets made of numbered lines, with the line ending `eol`. */
function message(
  owner: string,
  n: number,
  size: number,
  eol: '\r\n' | '\n',
  options: { dotLines?: boolean; noFinalEol?: boolean } = {},
): Buffer {
  const lines = [`From: sender@example.org`, `To: ${owner}@example.org`, `Subject: ${owner} message ${n}`, ''];
  let length = lines.join(eol).length;
  for (let i = 0; length < size; i++) {
    const line = options.dotLines && i % 7 === 0 ? `.${owner} ${n} line ${i} .` : `${owner} ${n} line ${i} ${'abcdefghij'.repeat(6)}`;
    lines.push(line);
    length += line.length + eol.length;
  }
  const text = lines.join(eol) + (options.noFinalEol ? '' : eol);
  return Buffer.from(text, 'latin1');
}

/** What RETR must send for a stored message (RFC 1939 section 3): CRLF lines, dots doubled, then ".". */
function retrBody(stored: Buffer): Buffer {
  let text = stored.toString('latin1').replace(/\r?\n/g, '\r\n');
  if (!text.endsWith('\r\n')) text += '\r\n';
  text = text.replace(/^\./gm, '..');
  return Buffer.from(`${text}.\r\n`, 'latin1');
}

/** A mix of sizes and forms: tiny, typical, LF-only, dot lines, no final newline, and one larger than
 * what is read whole (256 KiB), which is streamed. */
function mailbox(owner: string): Buffer[] {
  const out: Buffer[] = [];
  for (let n = 0; n < 36; n++) {
    const size = [200, 5_000, 17_000, 70_000, 130_000, 3_000][n % 6];
    const eol = n % 3 === 0 ? '\n' : '\r\n';
    out.push(message(owner, n, size, eol, { dotLines: n % 4 === 1, noFinalEol: n % 9 === 4 }));
  }
  out.push(message(owner, 36, 300_000, '\r\n', { dotLines: true }));
  out.push(message(owner, 37, 400_000, '\n'));
  return out;
}

const stored: Record<string, Buffer[]> = {};

beforeAll(async () => {
  server = await startServer({
    config: {
      listeners: [
        { name: 'pop3', module: 'pop', address: '127.0.0.1', port: 0 },
        { name: 'pop3s', module: 'pop', address: '127.0.0.1', port: 0, tls: 'implicit' },
      ],
    },
  });
  for (const owner of ['alice', 'bob']) {
    await server.addAccount(owner, `${owner} secret`);
    stored[owner] = mailbox(owner);
    // Files as another delivery agent leaves them: no size in the name, so Postern measures them.
    const dir = join(server.dataDir, `accounts/example.org/${owner}/Maildir/new`);
    await mkdir(dir, { recursive: true });
    for (const [i, m] of stored[owner].entries()) await writeFile(join(dir, `${1700000000 + i}.M${i}P1.test`), m);
  }
}, 60_000);
afterAll(async () => {
  expect(await server.stop()).toBe(0);
});

async function signIn(owner: string, tls: boolean): Promise<RawPop> {
  const c = tls ? await RawPop.connectTls(server.portOf('pop3s')) : await RawPop.connect(server.port);
  expect(await c.line()).toMatch(/^\+OK/);
  expect(await c.command(`USER ${owner}`)).toMatch(/^\+OK/);
  expect(await c.command(`PASS ${owner} secret`)).toMatch(/^\+OK/);
  return c;
}

/** Pipelines LIST and RETR of every message (in the order given) and checks every octet. */
async function retrieveAll(owner: string, tls: boolean, order: number[]): Promise<void> {
  const c = await signIn(owner, tls);
  const messages = stored[owner];
  c.send(`LIST\r\n${order.map((n) => `RETR ${n + 1}\r\n`).join('')}`);
  expect(await c.line()).toMatch(/^\+OK/);
  const sizes = (await c.lines()).map((l) => Number(l.split(' ')[1]));
  for (const n of order) {
    const expected = retrBody(messages[n]);
    const status = await c.line(20_000);
    expect(status, `${owner} RETR ${n + 1}`).toBe(`+OK ${sizes[n]} octets`);
    const body = await c.body(20_000);
    expect(body.length, `${owner} RETR ${n + 1} length`).toBe(expected.length);
    expect(body.equals(expected), `${owner} RETR ${n + 1} (${tls ? 'TLS' : 'clear'}) has exactly its own bytes`).toBe(true);
  }
  expect(await c.command('QUIT')).toMatch(/^\+OK/);
  c.close();
}

describe('concurrent retrieval', () => {
  it('six sessions at once, clear and TLS, each RETR answered with exactly its message', async () => {
    const forward = stored.alice.map((_, i) => i);
    const backward = [...forward].reverse();
    await Promise.all([
      retrieveAll('alice', false, forward),
      retrieveAll('bob', false, backward),
      retrieveAll('alice', true, backward),
      retrieveAll('bob', true, forward),
      retrieveAll('alice', false, backward),
      retrieveAll('bob', false, forward),
    ]);
  }, 60_000);

  it('a client that reads slowly still gets exact bytes while other sessions go on', async () => {
    const slow = await signIn('alice', false);
    // Four times the mailbox (about 9 MB): more than the kernel buffers, so the server is left holding
    // a write it could not finish while the other sessions retrieve.
    const order = [0, 1, 2, 3].flatMap(() => stored.alice.map((_, i) => i));
    slow.socket.pause();
    slow.send(order.map((n) => `RETR ${n + 1}\r\n`).join(''));
    await new Promise((r) => setTimeout(r, 300));
    await Promise.all([
      retrieveAll(
        'bob',
        false,
        stored.bob.map((_, i) => i),
      ),
      retrieveAll('bob', true, stored.bob.map((_, i) => i).reverse()),
    ]);
    slow.socket.resume();
    for (const n of order) {
      expect(await slow.line(20_000)).toMatch(/^\+OK \d+ octets$/);
      expect((await slow.body(20_000)).equals(retrBody(stored.alice[n])), `slow RETR ${n + 1}`).toBe(true);
    }
    slow.close();
  }, 60_000);
});
