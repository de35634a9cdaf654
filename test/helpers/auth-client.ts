// A scripted client of Dovecot's authentication protocol (the side Postfix and Exim speak): connects to
// an auth socket (Postern's module: auth, or Dovecot's own), reads the server's handshake, sends lines
// and reads the answers one line at a time, so a test checks them exactly.
import { connect, type Socket } from 'node:net';
import type { Endpoint } from './pop-client.js';

export class RawAuth {
  private buffer = '';
  private waiting: (() => void) | null = null;
  private ended = false;

  private constructor(readonly socket: Socket) {
    socket.setEncoding('utf8');
    socket.on('data', (d: string) => {
      this.buffer += d;
      this.waiting?.();
    });
    socket.on('error', () => {});
    socket.on('close', () => {
      this.ended = true;
      this.waiting?.();
    });
  }

  static async open(where: Endpoint | { path: string } | { host: string; port: number }): Promise<RawAuth> {
    if (typeof where === 'object' && 'dial' in where) return new RawAuth(await where.dial());
    const options = typeof where === 'number' ? { host: '127.0.0.1', port: where } : where;
    return new Promise((resolve, reject) => {
      const s = connect(options);
      s.once('connect', () => resolve(new RawAuth(s)));
      s.once('error', reject);
    });
  }

  /** Opens, reads the server's handshake up to DONE (its lines) and sends the client's (VERSION, CPID) as Postfix does. */
  static async ready(where: Endpoint | { path: string }): Promise<{ client: RawAuth; handshake: string[] }> {
    const client = await RawAuth.open(where);
    const handshake: string[] = [];
    for (;;) {
      const line = await client.line();
      if (line === null) throw new Error(`the server closed during its handshake: ${handshake.join(' | ')}`);
      handshake.push(line);
      if (line === 'DONE') break;
    }
    client.send('VERSION\t1\t0', `CPID\t${process.pid}`);
    return { client, handshake };
  }

  /** Sends lines (each ended by LF), in one write. */
  send(...lines: string[]): void {
    this.socket.write(lines.map((l) => `${l}\n`).join(''));
  }

  /** The next line; null once the server has closed the connection. */
  async line(timeoutMs = 15_000): Promise<string | null> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const nl = this.buffer.indexOf('\n');
      if (nl >= 0) {
        const line = this.buffer.slice(0, nl);
        this.buffer = this.buffer.slice(nl + 1);
        return line;
      }
      if (this.ended) return null;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no line within ${timeoutMs} ms (buffered: ${JSON.stringify(this.buffer)})`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiting = () => {
          clearTimeout(timer);
          this.waiting = null;
          resolve();
        };
      });
    }
  }

  /** Resolves true when the server closes within `ms` without another line, false if it sends one or stays open. */
  async closesWithin(ms: number): Promise<boolean> {
    try {
      return (await this.line(ms)) === null;
    } catch {
      return false;
    }
  }

  close(): void {
    this.socket.destroy();
  }
}

/** base64 of a SASL PLAIN message: authzid NUL authcid NUL password. */
export function plain(user: string, password: string, authzid = ''): string {
  return Buffer.from(`${authzid}\0${user}\0${password}`).toString('base64');
}

export function b64(text: string): string {
  return Buffer.from(text).toString('base64');
}
