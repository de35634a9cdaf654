// Binary content (RFC 3516, RFC 9051 sections 4.3 and 6.4.5) over a raw socket, byte by byte, with a
// real Dovecot on the same tree: a literal8 APPEND (~{n}) with NULs in a "binary" part is stored so that
// BINARY[part] gives back exactly the octets sent and BINARY.SIZE their count, while BODY[...] never
// carries a NUL or a literal8 (the part is kept base64-encoded, as Dovecot keeps it); NULs stored in a
// message otherwise go out as 0x80 in BODY[...] (as in Dovecot); a literal8 anywhere but APPEND's
// message is BAD.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Dovecot, shareWithDovecot, startDovecot } from '../helpers/dovecot.js';
import { RawImap } from '../helpers/imap-client.js';
import { startServer, type TestServer } from '../helpers/server.js';

const LISTENERS = [{ name: 'imap', module: 'imap', address: '127.0.0.1', port: 0 }];
let server: TestServer;
let dovecot: Dovecot;
beforeAll(async () => {
  server = await startServer({ config: { listeners: LISTENERS } });
  await server.addAccount('alice', 'pw');
  await shareWithDovecot(server.dir, join(server.dataDir, 'accounts/example.org/alice'));
  dovecot = await startDovecot([{ name: 'alice', password: 'pw' }], join(server.dataDir, 'accounts/example.org'));
}, 60_000);
afterAll(async () => {
  await dovecot?.stop();
  await server?.stop();
});

/** Octets with NULs, a bare LF, a CR LF and 8-bit ones. */
const PAYLOAD = Buffer.from([0x00, 0x01, 0x02, 0x0d, 0x0a, 0xff, 0x00, 0x41, 0x42, 0x0a, 0x00]);

function multipart(cte: string | null, payload = PAYLOAD, subject = 'binary'): Buffer {
  return Buffer.concat([
    Buffer.from(
      `From: a@example.net\r\nSubject: ${subject}\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="b"\r\n\r\n` +
        '--b\r\nContent-Type: text/plain\r\n\r\nhello\r\n' +
        `--b\r\nContent-Type: application/octet-stream\r\n${cte ? `Content-Transfer-Encoding: ${cte}\r\n` : ''}\r\n`,
    ),
    payload,
    Buffer.from('\r\n--b--\r\n'),
  ]);
}

const latin1 = (b: Buffer) => b.toString('latin1');

async function append(c: RawImap, message: Buffer, literal = '~'): Promise<number> {
  const answer = await c.command(Buffer.concat([Buffer.from(`APPEND INBOX ${literal}{${message.length}+}\r\n`), message]));
  expect(answer.status).toBe('OK');
  return Number(/APPENDUID \d+ (\d+)/.exec(answer.tagged)![1]);
}

/** `FETCH n (item)` on one side: the response line from the item on, without the closing ")". */
async function item(c: RawImap, seq: number, what: string): Promise<string> {
  const answer = await c.command(`FETCH ${seq} (${what})`);
  expect(answer.status).toBe('OK');
  const line = answer.untagged.find((l) => l.startsWith(`* ${seq} FETCH (`))!;
  return line.slice(`* ${seq} FETCH (`.length, -1);
}

async function sessions(): Promise<{ p: RawImap; d: RawImap }> {
  const p = await RawImap.signIn(server.portOf('imap'), 'alice', 'pw');
  const d = await RawImap.signIn(dovecot.imapPort, 'alice', 'pw');
  return { p, d };
}

describe('binary APPEND and FETCH', () => {
  it(
    'a literal8 APPEND with NULs in a binary part: BINARY[2] gives the octets sent, BODY[2] is base64 without NUL, as Dovecot answers ' +
      'on the same file',
    async () => {
      const { p, d } = await sessions();
      const sent = multipart('binary');
      const uid = await append(p, sent);
      expect((await p.command('SELECT INBOX')).status).toBe('OK');
      const seq = Number(
        /\* (\d+) EXISTS/.exec((await p.command('NOOP')).untagged.join('\n'))?.[1] ??
          (await p.command(`UID SEARCH UID ${uid}`)).untagged[0].split(' ')[2],
      );
      expect((await d.command('SELECT INBOX')).status).toBe('OK');
      const binary = await item(p, seq, 'BINARY.PEEK[2]');
      expect(binary).toBe(`BINARY[2] ~{${PAYLOAD.length}}\r\n${latin1(PAYLOAD)}`);
      expect(await item(p, seq, 'BINARY.SIZE[2]')).toBe(`BINARY.SIZE[2] ${PAYLOAD.length}`);
      expect(await item(p, seq, 'BODY.PEEK[2]')).toBe(`BODY[2] {16}\r\n${PAYLOAD.toString('base64')}`);
      expect(await item(p, seq, 'BODY.PEEK[2.MIME]')).toBe(
        'BODY[2.MIME] {77}\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n',
      );
      // the whole message: BINARY[] is what was sent, BODY[] has no NUL and is no literal8
      expect(await item(p, seq, 'BINARY.PEEK[]')).toBe(`BINARY[] ~{${sent.length}}\r\n${latin1(sent)}`);
      const body = await item(p, seq, 'BODY.PEEK[]');
      expect(body).toMatch(/^BODY\[\] \{\d+\}\r\n/);
      expect(body).not.toContain('\0');
      const size = await item(p, seq, 'RFC822.SIZE');
      expect(body.startsWith(`BODY[] {${size.split(' ')[1]}}`)).toBe(true);
      // Dovecot, reading the file Postern wrote, answers the same
      for (const what of [
        'BINARY.PEEK[2]',
        'BINARY.SIZE[2]',
        'BODY.PEEK[2]',
        'BODY.PEEK[2.MIME]',
        'BINARY.PEEK[]',
        'BODY.PEEK[]',
        'RFC822.SIZE',
        'BODYSTRUCTURE',
      ]) {
        expect(await item(d, seq, what)).toBe(await item(p, seq, what));
      }
      p.close();
      d.close();
    },
  );

  it('the message Postern stores for a binary APPEND is the one Dovecot stores for it', async () => {
    const { p, d } = await sessions();
    for (const [i, message] of [multipart('binary', PAYLOAD, 'p'), multipart('BINARY', Buffer.alloc(300, 0), 'q')].entries()) {
      await append(p, message);
      await append(d, message);
      await p.command('SELECT INBOX');
      const exists = Number(/\* (\d+) EXISTS/.exec((await p.command('SELECT INBOX')).untagged.join('\n'))![1]);
      const ours = await item(p, exists - 1, 'BODY.PEEK[]');
      const theirs = await item(p, exists, 'BODY.PEEK[]');
      expect(ours, `message ${i}`).toBe(theirs);
      expect(ours).not.toContain('\0');
      expect(await item(p, exists - 1, 'BINARY.PEEK[2]')).toBe(await item(p, exists, 'BINARY.PEEK[2]'));
    }
    p.close();
    d.close();
  });

  it(
    'NULs stored in a message otherwise (a plain literal, no binary encoding) go out as 0x80 in BODY[], streamed or not, as in Dovecot;' +
      ' BINARY[] keeps them',
    async () => {
      const { p, d } = await sessions();
      const small = multipart(null, PAYLOAD, 'plain');
      const big = multipart(null, Buffer.concat([Buffer.alloc(400 * 1024, 'abcdefgh\r\n'), PAYLOAD]), 'big');
      await append(p, small, '');
      await append(p, big, '');
      const exists = Number(/\* (\d+) EXISTS/.exec((await p.command('SELECT INBOX')).untagged.join('\n'))![1]);
      await d.command('SELECT INBOX');
      for (const [seq, sent] of [
        [exists - 1, small],
        [exists, big],
      ] as const) {
        const body = await item(p, seq, 'BODY.PEEK[]');
        // (every line ending CRLF on the wire: the bare LF in the payload gets its CR)
        const expected = Buffer.from(latin1(sent).replace(/\r?\n/g, '\r\n'), 'latin1');
        for (let i = 0; i < expected.length; i++) if (expected[i] === 0) expected[i] = 0x80;
        expect(body === `BODY[] {${expected.length}}\r\n${latin1(expected)}`).toBe(true);
        expect((await item(d, seq, 'BODY.PEEK[]')) === body).toBe(true);
        expect(await item(p, seq, 'BINARY.PEEK[2]')).toMatch(/^BINARY\[2\] ~\{\d+\}\r\n/);
      }
      p.close();
      d.close();
    },
  );

  it('the message of an APPEND whose mailbox name came as a literal may be a literal8 too', async () => {
    const { p, d } = await sessions();
    const sent = multipart('binary', PAYLOAD, 'after a literal name');
    const answer = await p.command(Buffer.concat([Buffer.from(`APPEND {5+}\r\nINBOX ~{${sent.length}+}\r\n`), sent]));
    expect(answer.tagged).toMatch(/OK \[APPENDUID/);
    const exists = Number(/\* (\d+) EXISTS/.exec((await p.command('SELECT INBOX')).untagged.join('\n'))![1]);
    expect(await item(p, exists, 'BINARY.PEEK[]')).toBe(`BINARY[] ~{${sent.length}}\r\n${latin1(sent)}`);
    expect(await item(p, exists, 'BODY.PEEK[2]')).toBe(`BODY[2] {16}\r\n${PAYLOAD.toString('base64')}`);
    p.close();
    d.close();
  });

  it('a literal8 anywhere else is BAD, as in Dovecot, and the session goes on', async () => {
    const p = await RawImap.signIn(server.portOf('imap'), 'alice', 'pw');
    for (const command of ['SELECT ~{5+}\r\nINBOX', 'STATUS ~{5+}\r\nINBOX (MESSAGES)', 'CREATE ~{3+}\r\na\0b']) {
      const answer = await p.command(Buffer.from(command, 'latin1'));
      expect(answer.status).toBe('BAD');
      expect(answer.tagged).toContain('literal8');
      expect(answer.tagged).not.toContain('\0');
    }
    expect((await p.command('NOOP')).status).toBe('OK');
    p.close();
  });
});
