// A minimal IMAP client over raw sockets for the IMAP load generator (imap-load.ts): one tagged command
// at a time, and no parsing beyond what the benchmark needs. Literals in answers ({N} then N octets,
// as in FETCH BODY[]) are counted and skipped, never kept, so FETCH of 10 MB messages costs the
// generator little more than the socket reads. Untagged lines are counted; kept only when asked.
import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect, TLSSocket } from 'node:tls';
import { constants, createDeflateRaw, createInflateRaw, type DeflateRaw } from 'node:zlib';
import type { Target } from './protocol.js';

const LF = 0x0a;

export interface ImapAnswer {
  /** The tagged status line without tag and CRLF: "OK [READ-WRITE] Select completed". */
  status: string;
  ok: boolean;
  /** Octets of the whole answer (untagged lines, literals and the tagged line). */
  octets: number;
  /** Untagged responses received (a response with literals counts once). */
  untagged: number;
  /** The first segment of each untagged response, when the command asked to keep them. */
  lines: string[];
}

interface Pending {
  tag: string;
  keep: boolean;
  /** IDLE: resolve at the "+" continuation request instead of the tagged line. */
  untilContinuation: boolean;
  resolve: (a: ImapAnswer) => void;
  reject: (err: Error) => void;
}

export class ImapError extends Error {}

export class ImapClient {
  private pending: Pending | null = null;
  private partial: Buffer[] = [];
  private partialLength = 0;
  private literalLeft = 0;
  /** The next segment starts a response (false right after a literal: the response goes on). */
  private atResponseStart = true;
  private octets = 0;
  private untagged = 0;
  private lines: string[] = [];
  private tagCounter = 0;
  /** Octets kept of each untagged line a command keeps (the search part raises it: a "* SEARCH" of 334 numbers is longer). */
  keptLineOctets = 500;
  private closedError: Error | null = null;
  /** The greeting is answered like a command with no tag. */
  private greeting: ((line: string) => void) | null = null;

  /** After COMPRESS: what the client sends goes through this (and a sync flush after each command). */
  private deflater: DeflateRaw | null = null;
  private readonly onSocketData = (chunk: Buffer) => this.onData(chunk);

  private constructor(private readonly socket: Socket) {
    socket.setNoDelay(true);
    socket.on('data', this.onSocketData);
    socket.on('error', (err) => this.fail(err));
    socket.on('close', () => this.fail(new ImapError('connection closed by the server')));
    socket.on('timeout', () => {
      this.fail(new ImapError('timeout waiting for the server'));
      socket.destroy();
    });
  }

  /** Connects and reads the "* OK" greeting. */
  static async connect(target: Target, timeoutMs: number, localAddress?: string): Promise<ImapClient> {
    const raw = netConnect({ host: target.host, port: target.port, localAddress });
    const socket = target.tls ? tlsConnect({ socket: raw, rejectUnauthorized: false }) : raw;
    socket.setTimeout(timeoutMs);
    const client = new ImapClient(socket);
    const line = await new Promise<string>((resolve, reject) => {
      client.greeting = resolve;
      client.pending = { tag: '', keep: false, untilContinuation: false, resolve: () => {}, reject };
    });
    client.pending = null;
    if (!line.startsWith('* OK')) {
      socket.destroy();
      throw new ImapError(`greeting: ${line}`);
    }
    return client;
  }

  /** Sends a tagged command and resolves with its answer (whatever its status). */
  command(line: string, keep = false): Promise<ImapAnswer> {
    const tag = `b${++this.tagCounter}`;
    const answer = this.expect(tag, keep, false);
    this.send(`${tag} ${line}\r\n`);
    return answer;
  }

  /** Like command() but rejects unless the answer is OK. */
  async ok(line: string, keep = false): Promise<ImapAnswer> {
    const a = await this.command(line, keep);
    if (!a.ok) throw new ImapError(`${line.startsWith('LOGIN') ? 'LOGIN ...' : line}: ${a.status}`);
    return a;
  }

  async login(user: string, password: string): Promise<void> {
    await this.ok(`LOGIN ${quoted(user)} ${quoted(password)}`);
  }

  /** LOGOUT, then close our side without waiting for the server's close. */
  async logout(): Promise<void> {
    await this.ok('LOGOUT');
    this.close();
  }

  /** Sends IDLE and resolves at the server's "+" continuation; the tag is kept for done(). */
  async idle(): Promise<void> {
    const tag = `b${++this.tagCounter}`;
    const cont = this.expect(tag, false, true);
    this.send(`${tag} IDLE\r\n`);
    const a = await cont;
    if (!a.ok) throw new ImapError(`IDLE: ${a.status}`);
    this.idleTag = tag;
  }

  private idleTag: string | null = null;

  /** Called with each untagged response no command waits for (what a server tells an IDLE session). */
  onUnasked: ((line: string) => void) | null = null;

  /** Ends IDLE (DONE) and waits for its tagged OK. */
  async done(): Promise<void> {
    const tag = this.idleTag;
    if (!tag) throw new ImapError('not idling');
    this.idleTag = null;
    const answer = this.expect(tag, false, false);
    this.send('DONE\r\n');
    const a = await answer;
    if (!a.ok) throw new ImapError(`IDLE ... DONE: ${a.status}`);
  }

  /**
   * COMPRESS DEFLATE (RFC 4978): from the tagged OK on, both directions are deflated. The client's own
   * deflater is small (this process holds thousands of sessions); its inflater takes any window.
   */
  async compress(): Promise<void> {
    await this.ok('COMPRESS DEFLATE');
    const inflater = createInflateRaw();
    const deflater = createDeflateRaw({ windowBits: 10, memLevel: 1, chunkSize: 1024 });
    inflater.on('data', (d: Buffer) => this.onData(d));
    inflater.on('error', (err) => {
      this.fail(err);
      this.socket.destroy();
    });
    deflater.on('data', (d: Buffer) => this.socket.write(d));
    this.socket.off('data', this.onSocketData);
    this.socket.on('data', (chunk: Buffer) => inflater.write(chunk));
    this.socket.once('close', () => {
      inflater.destroy();
      deflater.destroy();
    });
    this.deflater = deflater;
  }

  private send(text: string): void {
    if (!this.deflater) {
      this.socket.write(text);
      return;
    }
    this.deflater.write(text);
    this.deflater.flush(constants.Z_SYNC_FLUSH);
  }

  close(): void {
    this.closedError = new ImapError('closed');
    this.socket.end();
    this.socket.destroySoon();
  }

  destroy(): void {
    this.closedError = new ImapError('closed');
    this.socket.destroy();
  }

  tlsInfo(): string | null {
    if (!(this.socket instanceof TLSSocket)) return null;
    return `${this.socket.getProtocol() ?? '?'} ${this.socket.getCipher()?.standardName ?? '?'}`;
  }

  setTimeout(ms: number): void {
    this.socket.setTimeout(ms);
  }

  private expect(tag: string, keep: boolean, untilContinuation: boolean): Promise<ImapAnswer> {
    if (this.closedError) return Promise.reject(this.closedError);
    if (this.pending) return Promise.reject(new ImapError('a command is already waiting for its answer'));
    this.octets = 0;
    this.untagged = 0;
    this.lines = [];
    return new Promise((resolve, reject) => (this.pending = { tag, keep, untilContinuation, resolve, reject }));
  }

  private onData(chunk: Buffer): void {
    this.octets += chunk.length;
    let pos = 0;
    while (pos < chunk.length) {
      if (this.literalLeft > 0) {
        const take = Math.min(this.literalLeft, chunk.length - pos);
        this.literalLeft -= take;
        pos += take;
        continue;
      }
      const lf = chunk.indexOf(LF, pos);
      if (lf < 0) {
        this.partial.push(chunk.subarray(pos));
        this.partialLength += chunk.length - pos;
        if (this.partialLength > 1_000_000) this.fail(new ImapError('a response line over 1 MB'));
        return;
      }
      let segment: Buffer;
      if (this.partialLength > 0) {
        this.partial.push(chunk.subarray(pos, lf + 1));
        segment = Buffer.concat(this.partial);
        this.partial = [];
        this.partialLength = 0;
      } else segment = chunk.subarray(pos, lf + 1);
      pos = lf + 1;
      this.onSegment(segment);
    }
  }

  /** One line of the stream up to its LF: a response, or the rest of one after a literal. */
  private onSegment(seg: Buffer): void {
    const start = this.atResponseStart;
    const n = seg.length;
    // "... {123}\r\n" or "{123+}": a literal of 123 octets follows, then the response goes on.
    let literal = -1;
    if (n >= 4 && seg[n - 2] === 0x0d && seg[n - 3] === 0x7d /* } */) {
      const open = seg.lastIndexOf(0x7b /* { */, n - 3);
      if (open >= 0) {
        const digits = seg.toString('latin1', open + 1, n - 3).replace(/\+$/, '');
        if (/^\d+$/.test(digits)) literal = Number(digits);
      }
    }
    if (literal >= 0) {
      this.literalLeft = literal;
      this.atResponseStart = false;
    } else this.atResponseStart = true;
    if (!start) return;

    const first = seg[0];
    if (this.greeting) {
      const g = this.greeting;
      this.greeting = null;
      g(seg.toString('latin1').trimEnd());
      return;
    }
    const p = this.pending;
    if (first === 0x2a /* * */) {
      if (p) {
        this.untagged++;
        if (p.keep) this.lines.push(seg.toString('latin1', 0, Math.min(n, this.keptLineOctets)).trimEnd());
      } else this.onUnasked?.(seg.toString('latin1', 0, Math.min(n, 500)).trimEnd());
      return;
    }
    if (!p) return; // nothing asked (a keepalive during IDLE, the close after LOGOUT)
    if (first === 0x2b /* + */) {
      if (p.untilContinuation) this.finish(true, seg.toString('latin1').trimEnd());
      return;
    }
    const line = seg.toString('latin1', 0, Math.min(n, 500)).trimEnd();
    if (line.startsWith(`${p.tag} `)) {
      const status = line.slice(p.tag.length + 1);
      this.finish(status.startsWith('OK'), status);
    }
  }

  private finish(ok: boolean, status: string): void {
    const p = this.pending!;
    this.pending = null;
    p.resolve({ status, ok, octets: this.octets, untagged: this.untagged, lines: this.lines });
  }

  private fail(err: Error): void {
    this.closedError ??= err;
    const p = this.pending;
    this.pending = null;
    this.greeting = null;
    p?.reject(err);
  }
}

function quoted(s: string): string {
  return `"${s.replace(/["\\]/g, (c) => `\\${c}`)}"`;
}

/** Waits until `target` answers with an IMAP greeting (then LOGOUTs), or fails after `ms`. */
export async function waitForImapGreeting(target: Target, ms: number, alive: () => string | null): Promise<void> {
  const deadline = Date.now() + ms;
  let last = '';
  for (;;) {
    const ended = alive();
    if (ended) throw new Error(`the server exited: ${ended}`);
    try {
      const c = await ImapClient.connect(target, 2000);
      await c.logout();
      return;
    } catch (err) {
      last = (err as Error).message;
    }
    if (Date.now() > deadline)
      throw new Error(`no IMAP greeting on ${target.host}:${target.port}${target.tls ? ' (TLS)' : ''} within ${ms} ms: ${last}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
