// FETCH of a message large enough to be streamed from its file (over 256 KiB): the literal holds the
// message's octets and nothing else, and what the FETCH adds after it (the FLAGS of the \Seen it set, a
// MODSEQ with CONDSTORE on) follows the literal (RFC 9051 section 7.5.2: FLAGS is sent when \Seen changes).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RawImap } from '../helpers/imap-client.js';
import { type InProcessServer, startInProcess } from '../helpers/in-process.js';

const LISTENERS = [{ name: 'imap', module: 'imap', address: '127.0.0.1', port: 0 }];
const LINE = `${'x'.repeat(76)}\r\n`;
const BODY = `${LINE.repeat(5000)}last line of the body\r\n`;

/** The literal of a FETCH response, and what follows it on the response's last line. */
function split(response: string): { head: string; literal: string; rest: string } {
  const m = /^(.*\{(\d+)\})\r\n/.exec(response);
  if (!m) throw new Error(`no literal in ${response.slice(0, 200)}`);
  const start = m[0].length;
  const size = Number(m[2]);
  return { head: m[1], literal: response.slice(start, start + size), rest: response.slice(start + size) };
}

describe('FETCH of a streamed message', () => {
  let server: InProcessServer;
  let c: RawImap;
  beforeAll(async () => {
    server = await startInProcess({ config: { listeners: LISTENERS } });
    await server.addAccount('big', 'secret');
    for (let i = 0; i < 2; i++) await server.deliver('big', `Subject: big ${i}\r\nFrom: a@x.example\r\n\r\n${BODY}`);
    c = await RawImap.signIn(server.portOf('imap'), 'big', 'secret');
  });
  afterAll(async () => {
    c?.close();
    await server.stop();
  });

  it('sends the \\Seen FLAGS after the literal, not inside it', async () => {
    expect((await c.command('SELECT INBOX')).status).toBe('OK');
    const a = await c.command('FETCH 1 BODY[]');
    expect(a.status).toBe('OK');
    const { head, literal, rest } = split(a.untagged[0]);
    expect(head).toMatch(/^\* 1 FETCH \(BODY\[\] \{\d+\}$/);
    expect(literal.endsWith(`${LINE}last line of the body\r\n`)).toBe(true);
    expect(literal).not.toContain('FLAGS');
    expect(rest).toMatch(/^ FLAGS \(\\Seen( \\Recent)?\)\)$/);
  });

  it('with CONDSTORE on, the MODSEQ follows the FLAGS after the literal', async () => {
    expect((await c.command('ENABLE CONDSTORE')).status).toBe('OK');
    const a = await c.command('FETCH 2 (UID BODY[])');
    expect(a.status).toBe('OK');
    const { head, literal, rest } = split(a.untagged[0]);
    expect(head).toMatch(/^\* 2 FETCH \(UID 2 BODY\[\] \{\d+\}$/);
    expect(literal.endsWith('last line of the body\r\n')).toBe(true);
    expect(rest).toMatch(/^ FLAGS \(\\Seen( \\Recent)?\) MODSEQ \(\d+\)\)$/);
  });
});
