// A scripted LMTP client for tests that check the exact replies: sends lines (pipelined when the test
// writes several at once, as Postfix does), reads replies, multi-line ones whole.
import { connect, type Socket } from 'node:net';
import type { Endpoint } from './pop-client.js';

/** A scripted LMTP client: sends lines (pipelined when asked), reads replies (multi-line ones whole). */
export class RawLmtp {
  private buffer = '';
  private waiting: (() => void) | null = null;
  private ended = false;

  private constructor(readonly socket: Socket) {
    socket.setEncoding('latin1');
    socket.on('data', (d: string) => {
      this.buffer += d;
      this.waiting?.();
    });
    socket.on('close', () => {
      this.ended = true;
      this.waiting?.();
    });
  }

  static async open(where: { port: Endpoint; host?: string } | { path: string }): Promise<RawLmtp> {
    if ('port' in where && typeof where.port !== 'number') return new RawLmtp(await where.port.dial());
    const options = 'path' in where ? { path: where.path } : { host: where.host ?? '127.0.0.1', port: where.port as number };
    return new Promise((resolve, reject) => {
      const s = connect(options);
      s.once('connect', () => resolve(new RawLmtp(s)));
      s.once('error', reject);
    });
  }

  /** One reply: its lines ("250-..." up to "250 ..."). */
  async reply(timeoutMs = 5000): Promise<string[]> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const lines = this.buffer.split('\r\n');
      for (let i = 0; i < lines.length - 1; i++) {
        if (/^\d{3} /.test(lines[i]) || /^\d{3}$/.test(lines[i])) {
          this.buffer = lines.slice(i + 1).join('\r\n');
          return lines.slice(0, i + 1);
        }
      }
      if (this.ended) throw new Error(`connection closed; unread: ${JSON.stringify(this.buffer)}`);
      if (Date.now() > deadline) throw new Error(`no reply in time; unread: ${JSON.stringify(this.buffer)}`);
      await new Promise<void>((r) => {
        this.waiting = r;
        setTimeout(r, 50);
      });
      this.waiting = null;
    }
  }

  async replies(n: number): Promise<string[]> {
    const out: string[] = [];
    for (let i = 0; i < n; i++) out.push((await this.reply()).join('\n'));
    return out;
  }

  send(text: string): void {
    this.socket.write(text, 'latin1'); // one octet per character: 8-bit text goes as it is
  }

  close(): void {
    this.socket.destroy();
  }
}

/** Greeting, LHLO, MAIL and one RCPT on a fresh session: the RCPT's reply (the session is left open for DATA). */
export async function lmtpRcpt(lmtp: RawLmtp, to: string): Promise<string> {
  await lmtp.reply();
  lmtp.send('LHLO test\r\n');
  await lmtp.reply();
  lmtp.send('MAIL FROM:<sender@example.net>\r\n');
  await lmtp.reply();
  lmtp.send(`RCPT TO:<${to}>\r\n`);
  return (await lmtp.reply()).join('\n');
}
