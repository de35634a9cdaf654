// The stress test's own IMAP client (test/stress/): exact responses, parsed, with several commands in
// flight at once (pipelining). Every untagged response is handed to the session's checker together with
// the commands in flight when it arrived, so the checker can tell "EXPUNGE during FETCH" from an
// EXPUNGE that was allowed. Literals in responses ({n} then n octets) are read by their counts and kept
// as Buffers, so BODY[] can be compared byte for byte.
import { connect, type Socket } from 'node:net';

/** A quoted string is kept apart from an atom so that NIL and "NIL" differ. */
export class Quoted {
  constructor(readonly text: string) {}
}

/** A parsed IMAP value: an atom or number (string), a quoted string, a literal, a list, or NIL. */
export type Item = string | Quoted | Buffer | Item[] | null;

export interface Response {
  /** The whole response as text (literals inline, latin1), cut to 300 characters: for reports. */
  text: string;
  /** The raw octets of the response, literals included. */
  raw: Buffer;
}

export interface Tagged {
  tag: string;
  /** OK, NO or BAD. */
  status: string;
  /** The text after the status, e.g. "[APPENDUID 1 5] Append completed". */
  rest: string;
  line: string;
}

export interface InFlight {
  tag: string;
  /** The command line as sent (no literal data): for reports. */
  line: string;
  /** The command name, upper case, with UID when it is a UID command: "UID FETCH", "FETCH", "NOOP". */
  name: string;
  sentAt: number;
  resolve: (t: Tagged) => void;
  reject: (e: Error) => void;
}

export class WireError extends Error {}

export class Wire {
  private buffered: Buffer = Buffer.alloc(0);
  private tagCounter = 0;
  readonly inFlight: InFlight[] = [];
  private closed: Error | null = null;
  private greetingWaiter: ((r: Response) => void) | null = null;
  /** Called for every untagged response (and continuation) with the commands in flight at its arrival. */
  onUntagged: (r: Response, inFlight: readonly InFlight[]) => void = () => {};
  onClose: (err: Error) => void = () => {};

  private constructor(
    private readonly socket: Socket,
    private readonly prefix: string,
  ) {
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (err) => this.fail(err));
    socket.on('close', () => this.fail(new WireError('connection closed by the server')));
    socket.on('timeout', () => {
      this.fail(new WireError('no answer from the server within the timeout'));
      socket.destroy();
    });
  }

  static async connect(port: number, prefix: string, timeoutMs = 30_000): Promise<{ wire: Wire; greeting: Response }> {
    const socket = connect({ host: '127.0.0.1', port });
    socket.setTimeout(timeoutMs);
    const wire = new Wire(socket, prefix);
    const greeting = await new Promise<Response>((resolve, reject) => {
      wire.greetingWaiter = resolve;
      socket.once('error', reject);
      socket.once('close', () => reject(new WireError('closed before the greeting')));
    });
    return { wire, greeting };
  }

  /**
   * Sends one command (with `literal` as a LITERAL+ literal at its end) and resolves at its tagged answer.
   * `onTagged` runs as the tagged line is read, before any later response is: the model is then exactly
   * as this command left it, even when more commands are in flight.
   */
  send(line: string, literal?: Buffer, onTagged?: (t: Tagged) => void): Promise<Tagged> {
    if (this.closed) return Promise.reject(this.closed);
    const tag = `${this.prefix}${++this.tagCounter}`;
    const words = line.split(' ');
    const name = (words[0].toUpperCase() === 'UID' ? `UID ${words[1]}` : words[0]).toUpperCase();
    const promise = new Promise<Tagged>((resolve, reject) =>
      this.inFlight.push({
        tag,
        line,
        name,
        sentAt: performance.now(),
        resolve: (t) => {
          onTagged?.(t);
          resolve(t);
        },
        reject,
      }),
    );
    if (literal) this.socket.write(Buffer.concat([Buffer.from(`${tag} ${line} {${literal.length}+}\r\n`), literal, Buffer.from('\r\n')]));
    else this.socket.write(`${tag} ${line}\r\n`);
    return promise;
  }

  close(): void {
    this.closed ??= new WireError('closed');
    this.socket.destroy();
  }

  get isClosed(): boolean {
    return this.closed !== null;
  }

  private onData(chunk: Buffer): void {
    this.buffered = this.buffered.length ? Buffer.concat([this.buffered, chunk]) : chunk;
    for (;;) {
      const end = responseEnd(this.buffered);
      if (end < 0) return;
      const raw = this.buffered.subarray(0, end);
      this.buffered = this.buffered.subarray(end);
      this.onResponse(raw);
    }
  }

  private onResponse(raw: Buffer): void {
    const text = raw.toString('latin1', 0, Math.min(raw.length, 300)).replace(/\r\n$/, '');
    const response = { text, raw };
    if (this.greetingWaiter) {
      const w = this.greetingWaiter;
      this.greetingWaiter = null;
      w(response);
      return;
    }
    if (raw[0] === 0x2a /* * */ || raw[0] === 0x2b /* + */) {
      this.onUntagged(response, [...this.inFlight]);
      return;
    }
    const line = raw.toString('latin1').replace(/\r\n$/, '');
    const space = line.indexOf(' ');
    const tag = line.slice(0, space);
    const index = this.inFlight.findIndex((c) => c.tag === tag);
    if (index < 0) {
      this.onUntagged({ text: `(unknown tag) ${text}`, raw }, [...this.inFlight]);
      return;
    }
    const [command] = this.inFlight.splice(index, 1);
    const afterTag = line.slice(space + 1);
    const status = afterTag.split(' ')[0].toUpperCase();
    command.resolve({ tag, status, rest: afterTag.slice(status.length + 1), line });
  }

  private fail(err: Error): void {
    if (!this.closed) this.onClose(err);
    this.closed ??= err;
    for (const c of this.inFlight.splice(0)) c.reject(err);
  }
}

/** Where the first complete response in `buf` ends (after its final CRLF), or -1. */
function responseEnd(buf: Buffer): number {
  let pos = 0;
  for (;;) {
    const lf = buf.indexOf(0x0a, pos);
    if (lf < 0) return -1;
    // "... {123}\r\n" (or {123+}): 123 octets follow, then the response goes on.
    const line = buf.toString('latin1', Math.max(pos, lf - 20), lf + 1);
    const m = /\{(\d+)\+?\}\r\n$/.exec(line);
    if (!m) return lf + 1;
    pos = lf + 1 + Number(m[1]);
    if (pos > buf.length) return -1;
  }
}

/** Parses the items of a response from `start`: atoms, numbers, quoted strings, literals, lists, NIL. */
export class Parser {
  pos: number;
  constructor(
    readonly buf: Buffer,
    start = 0,
  ) {
    this.pos = start;
  }

  atEnd(): boolean {
    return this.pos >= this.buf.length || this.buf[this.pos] === 0x0d;
  }

  skipSpaces(): void {
    while (this.buf[this.pos] === 0x20) this.pos++;
  }

  item(): Item {
    this.skipSpaces();
    const c = this.buf[this.pos];
    if (c === 0x28 /* ( */) {
      this.pos++;
      const list: Item[] = [];
      for (;;) {
        this.skipSpaces();
        if (this.buf[this.pos] === 0x29 /* ) */) {
          this.pos++;
          return list;
        }
        if (this.atEnd()) throw new WireError('unterminated list');
        list.push(this.item());
      }
    }
    if (c === 0x22 /* " */) {
      let out = '';
      this.pos++;
      for (;;) {
        const ch = this.buf[this.pos++];
        if (ch === undefined || ch === 0x0d) throw new WireError('unterminated quoted string');
        if (ch === 0x22) return new Quoted(out);
        if (ch === 0x5c /* \ */) out += String.fromCharCode(this.buf[this.pos++]);
        else out += String.fromCharCode(ch);
      }
    }
    if (c === 0x7b /* { */ || (c === 0x7e /* ~ */ && this.buf[this.pos + 1] === 0x7b)) {
      const close = this.buf.indexOf(0x7d, this.pos);
      const n = Number(this.buf.toString('latin1', this.buf.indexOf(0x7b, this.pos) + 1, close).replace(/\+$/, ''));
      const start = close + 3; // "}\r\n"
      this.pos = start + n;
      return this.buf.subarray(start, start + n);
    }
    // An atom; "BODY[HEADER.FIELDS (A B)]<0>" keeps its bracketed part whole.
    const start = this.pos;
    let depth = 0;
    while (this.pos < this.buf.length) {
      const ch = this.buf[this.pos];
      if (ch === 0x5b /* [ */) depth++;
      else if (ch === 0x5d /* ] */) depth--;
      else if (depth === 0 && (ch === 0x20 || ch === 0x28 || ch === 0x29 || ch === 0x0d)) break;
      this.pos++;
    }
    if (this.pos === start) throw new WireError(`unexpected octet ${String.fromCharCode(c ?? 0)} at ${this.pos}`);
    const atom = this.buf.toString('latin1', start, this.pos);
    return atom.toUpperCase() === 'NIL' ? null : atom;
  }
}

/** A value as canonical text, for comparing ENVELOPEs and other structures between fetches. */
export function canonical(v: Item): string {
  if (v === null) return 'NIL';
  if (typeof v === 'string') return v;
  if (v instanceof Quoted) return JSON.stringify(v.text);
  if (Buffer.isBuffer(v)) return JSON.stringify(v.toString('latin1'));
  return `(${v.map(canonical).join(' ')})`;
}

export function text(v: Item): string {
  if (v === null) return '';
  if (typeof v === 'string') return v;
  if (v instanceof Quoted) return v.text;
  if (Buffer.isBuffer(v)) return v.toString('latin1');
  return canonical(v);
}
