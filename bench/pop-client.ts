// A minimal POP3 client over raw sockets for the load generator: one command at a time, no parsing
// beyond what the benchmark needs. Multi-line answers are counted, never kept, so RETR of 10 MB
// messages costs the generator little more than the socket reads.
import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect, TLSSocket } from 'node:tls';
import type { Target } from './protocol.js';

const CRLF = Buffer.from('\r\n');

interface Pending {
  multiLine: boolean;
  resolve: (answer: Answer) => void;
  reject: (err: Error) => void;
}

export interface Answer {
  /** The status line, without CRLF. */
  status: string;
  ok: boolean;
  /** Octets of the whole answer, status line included. */
  octets: number;
}

export class PopError extends Error {}

export class PopClient {
  private pending: Pending | null = null;
  /** Bytes of the status line read so far (status lines are short). */
  private head: Buffer = Buffer.alloc(0);
  private statusLine: string | null = null;
  private octets = 0;
  /** The last up to 5 octets of the answer, to find "\r\n.\r\n" across chunk boundaries. */
  private tail = '';
  private closedError: Error | null = null;

  private constructor(private readonly socket: Socket) {
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (err) => this.fail(err));
    socket.on('close', () => this.fail(new PopError('connection closed by the server')));
    socket.on('timeout', () => {
      this.fail(new PopError('timeout waiting for the server'));
      socket.destroy();
    });
  }

  /** Connects and reads the greeting. */
  static async connect(target: Target, timeoutMs: number, localAddress?: string): Promise<PopClient> {
    const raw = netConnect({ host: target.host, port: target.port, localAddress });
    const socket = target.tls ? tlsConnect({ socket: raw, rejectUnauthorized: false }) : raw;
    socket.setTimeout(timeoutMs);
    const client = new PopClient(socket);
    const greeting = await client.expect(false);
    if (!greeting.ok) {
      socket.destroy();
      throw new PopError(`greeting: ${greeting.status}`);
    }
    return client;
  }

  /** Sends a command and resolves with its one-line answer. */
  command(line: string): Promise<Answer> {
    this.socket.write(`${line}\r\n`);
    return this.expect(false);
  }

  /** Sends a command whose +OK answer is multi-line (RETR, LIST...); the body is counted, not kept. */
  multiLine(line: string): Promise<Answer> {
    this.socket.write(`${line}\r\n`);
    return this.expect(true);
  }

  /** Like command() but rejects unless the answer is +OK. */
  async ok(line: string): Promise<Answer> {
    const answer = await this.command(line);
    if (!answer.ok) throw new PopError(`${line.startsWith('PASS') ? 'PASS ...' : line}: ${answer.status}`);
    return answer;
  }

  async signIn(user: string, password: string): Promise<void> {
    await this.ok(`USER ${user}`);
    await this.ok(`PASS ${password}`);
  }

  /** QUIT, then close our side without waiting for the server's close. */
  async quit(): Promise<void> {
    await this.ok('QUIT');
    this.close();
  }

  close(): void {
    this.closedError = new PopError('closed');
    this.socket.end();
    this.socket.destroySoon();
  }

  destroy(): void {
    this.closedError = new PopError('closed');
    this.socket.destroy();
  }

  /** "TLSv1.3 TLS_AES_256_GCM_SHA384" on a TLS connection, null on a clear one. */
  tlsInfo(): string | null {
    if (!(this.socket instanceof TLSSocket)) return null;
    return `${this.socket.getProtocol() ?? '?'} ${this.socket.getCipher()?.standardName ?? '?'}`;
  }

  setTimeout(ms: number): void {
    this.socket.setTimeout(ms);
  }

  private expect(multiLine: boolean): Promise<Answer> {
    if (this.closedError) return Promise.reject(this.closedError);
    if (this.pending) return Promise.reject(new PopError('a command is already waiting for its answer'));
    this.head = Buffer.alloc(0);
    this.statusLine = null;
    this.octets = 0;
    this.tail = '';
    return new Promise((resolve, reject) => (this.pending = { multiLine, resolve, reject }));
  }

  private onData(chunk: Buffer): void {
    const p = this.pending;
    if (!p) return; // nothing asked: the server's close after QUIT, for example
    this.octets += chunk.length;
    if (this.statusLine === null) {
      this.head = this.head.length === 0 ? chunk : Buffer.concat([this.head, chunk]);
      const end = this.head.indexOf(CRLF);
      if (end < 0) return;
      this.statusLine = this.head.toString('latin1', 0, end);
      const ok = this.statusLine.startsWith('+OK');
      if (!p.multiLine || !ok) {
        this.finish();
        return;
      }
      // The rest of the answer may already be here; the terminator can include the status CRLF.
      this.tail = this.head.toString('latin1', Math.max(0, this.head.length - 5));
      this.head = Buffer.alloc(0);
    } else {
      this.tail = (this.tail + chunk.toString('latin1', Math.max(0, chunk.length - 5))).slice(-5);
    }
    // One command at a time and dot-stuffing make "\r\n.\r\n" at the end of the data the end of the answer.
    if (this.tail === '\r\n.\r\n') this.finish();
  }

  private finish(): void {
    const p = this.pending!;
    this.pending = null;
    const status = this.statusLine ?? '';
    p.resolve({ status, ok: status.startsWith('+OK'), octets: this.octets });
  }

  private fail(err: Error): void {
    this.closedError ??= err;
    const p = this.pending;
    this.pending = null;
    p?.reject(err);
  }
}
