// A raw-socket POP3 client for tests that must see the exact bytes on the wire.
import { connect, type Socket } from 'node:net';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';

/** Where to connect: a TCP port, or a listener served in the test's own process (test/helpers/in-process.ts). */
export type Endpoint = number | { dial(): Promise<Socket> };

export class RawPop {
  private buffer = Buffer.alloc(0);
  private waiting: (() => void) | null = null;
  private ended = false;
  /** The current socket: the TLS one after upgrade(). */
  socket!: Socket;

  private constructor(socket: Socket) {
    this.bind(socket);
  }

  private readonly onData = (d: Buffer) => {
    this.buffer = Buffer.concat([this.buffer, d]);
    this.wake();
  };
  private readonly onClose = () => {
    this.ended = true;
    this.wake();
  };

  private bind(socket: Socket): void {
    this.socket = socket;
    socket.on('data', this.onData);
    socket.on('close', this.onClose);
    socket.on('error', () => {});
  }

  static async connect(port: Endpoint, host = '127.0.0.1'): Promise<RawPop> {
    if (typeof port !== 'number') return new RawPop(await port.dial());
    const socket = connect(port, host);
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    return new RawPop(socket);
  }

  /** Connects to an implicit-TLS listener, accepting any certificate. */
  static async connectTls(port: Endpoint, host = '127.0.0.1'): Promise<RawPop> {
    if (typeof port !== 'number') return new RawPop(await port.dial()); // an implicit-TLS listener's dial() does the handshake
    const socket = tlsConnect({ host, port, rejectUnauthorized: false });
    await new Promise<void>((resolve, reject) => {
      socket.once('secureConnect', resolve);
      socket.once('error', reject);
    });
    return new RawPop(socket);
  }

  /** Runs the client side of a TLS handshake on the current plain socket, as after STLS. */
  async upgrade(): Promise<TLSSocket> {
    if (this.buffer.length > 0) throw new Error(`clear-text bytes arrived after STLS: ${JSON.stringify(this.pending)}`);
    const plain = this.socket;
    plain.off('data', this.onData);
    plain.off('close', this.onClose);
    const secure = tlsConnect({ socket: plain, rejectUnauthorized: false });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('TLS handshake after STLS: no result in 5000 ms')), 5000);
      secure.once('secureConnect', () => {
        clearTimeout(timer);
        resolve();
      });
      secure.once('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
    });
    this.bind(secure);
    return secure;
  }

  get tlsSocket(): TLSSocket {
    return this.socket as TLSSocket;
  }

  /** Bytes received and not read yet. */
  get pending(): string {
    return this.buffer.toString('latin1');
  }

  private wake(): void {
    const w = this.waiting;
    this.waiting = null;
    w?.();
  }

  private async more(timeoutMs: number): Promise<void> {
    if (this.ended) throw new Error(`connection closed; unread: ${JSON.stringify(this.buffer.toString('latin1'))}`);
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`no answer in ${timeoutMs} ms; have ${JSON.stringify(this.buffer.toString('latin1').slice(0, 200))}`)),
        timeoutMs,
      );
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

  /** Exactly `n` octets (an IMAP literal). */
  async bytes(n: number, timeoutMs = 5000): Promise<Buffer> {
    while (this.buffer.length < n) await this.more(timeoutMs);
    const out = this.buffer.subarray(0, n);
    this.buffer = this.buffer.subarray(n);
    return out;
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
  static async signIn(port: Endpoint, user: string, password: string, host = '127.0.0.1'): Promise<RawPop> {
    const c = await RawPop.connect(port, host);
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
