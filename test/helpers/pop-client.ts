// A raw-socket POP3 client for tests that must see the exact bytes on the wire.
import { connect, type Socket } from 'node:net';

export class RawPop {
  private buffer = Buffer.alloc(0);
  private waiting: (() => void) | null = null;
  private ended = false;

  private constructor(readonly socket: Socket) {
    socket.on('data', (d: Buffer) => {
      this.buffer = Buffer.concat([this.buffer, d]);
      this.wake();
    });
    socket.on('close', () => {
      this.ended = true;
      this.wake();
    });
    socket.on('error', () => {});
  }

  static async connect(port: number, host = '127.0.0.1'): Promise<RawPop> {
    const socket = connect(port, host);
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    return new RawPop(socket);
  }

  private wake(): void {
    const w = this.waiting;
    this.waiting = null;
    w?.();
  }

  private async more(timeoutMs: number): Promise<void> {
    if (this.ended) throw new Error(`connection closed; unread: ${JSON.stringify(this.buffer.toString('latin1'))}`);
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no answer in ${timeoutMs} ms; have ${JSON.stringify(this.buffer.toString('latin1').slice(0, 200))}`)), timeoutMs);
      this.waiting = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }

  /** One line, without its CRLF. */
  async line(timeoutMs = 5000): Promise<string> {
    for (;;) {
      const i = this.buffer.indexOf('\r\n');
      if (i >= 0) {
        const line = this.buffer.subarray(0, i).toString('latin1');
        this.buffer = this.buffer.subarray(i + 2);
        return line;
      }
      await this.more(timeoutMs);
    }
  }

  /** The raw bytes of a multi-line body up to and including the terminating ".\r\n". */
  async body(timeoutMs = 5000): Promise<Buffer> {
    for (;;) {
      const at = this.buffer.length >= 3 && this.buffer.subarray(0, 3).equals(Buffer.from('.\r\n')) ? 0 : this.buffer.indexOf('\r\n.\r\n');
      if (at >= 0) {
        const end = at === 0 ? 3 : at + 5;
        const body = this.buffer.subarray(0, end);
        this.buffer = this.buffer.subarray(end);
        return body;
      }
      await this.more(timeoutMs);
    }
  }

  /** The lines of a multi-line body, without the final ".". */
  async lines(): Promise<string[]> {
    const body = (await this.body()).toString('latin1');
    return body === '.\r\n' ? [] : body.slice(0, -5).split('\r\n');
  }

  send(text: string | Buffer): void {
    this.socket.write(text);
  }

  /** Sends a command and returns the first response line. */
  async command(line: string): Promise<string> {
    this.send(`${line}\r\n`);
    return this.line();
  }

  /** Resolves once the server has closed the connection. */
  async closed(timeoutMs = 5000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!this.ended) {
      if (Date.now() > deadline) throw new Error('connection still open');
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  get isClosed(): boolean {
    return this.ended;
  }

  /** Reads the greeting and signs in with USER/PASS; returns the PASS answer. */
  static async signIn(port: number, user: string, password: string): Promise<RawPop> {
    const c = await RawPop.connect(port);
    const greeting = await c.line();
    if (!greeting.startsWith('+OK')) throw new Error(greeting);
    await c.command(`USER ${user}`);
    const answer = await c.command(`PASS ${password}`);
    if (!answer.startsWith('+OK')) throw new Error(answer);
    return c;
  }

  close(): void {
    this.socket.destroy();
  }
}
