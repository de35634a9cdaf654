// The client's bytes as IMAP reads them: lines (bounded), and exact octet counts (literals), pulled by
// the session one at a time. Memory stays bounded: the socket is paused while more than HIGH_WATER
// octets wait unread, and a line longer than its limit is dropped as it arrives, never held whole.

/** A line read: its octets without CRLF; too-long when it passed the limit (it was dropped to its end). */
export type LineRead = { kind: 'line'; bytes: Buffer } | { kind: 'too-long'; head: Buffer } | { kind: 'closed' };

const HIGH_WATER = 256 * 1024;

export interface Pausable {
  pause(): unknown;
  resume(): unknown;
}

export class InputClosed extends Error {
  constructor() {
    super('the connection closed');
  }
}

export class ImapInput {
  private chunks: Buffer[] = [];
  private buffered = 0;
  private closed = false;
  private wake: (() => void) | null = null;
  /** Bumped by reset(): a read in progress when the input was reset (STARTTLS) ends as closed. */
  private generation = 0;

  constructor(private source: Pausable) {}

  /** The socket to pause and resume (a new one after STARTTLS). */
  setSource(source: Pausable): void {
    this.source = source;
  }

  /** True while octets the client sent wait unread (a command pipelined behind the current one). */
  get pending(): boolean {
    return this.buffered > 0;
  }

  push(chunk: Buffer): void {
    if (this.closed) return;
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    if (this.buffered > HIGH_WATER) this.source.pause();
    this.notify();
  }

  end(): void {
    this.closed = true;
    this.notify();
  }

  /** Forgets everything unread (STARTTLS, RFC 9051 section 6.2.1: what was pipelined is never run). */
  reset(): void {
    this.chunks = [];
    this.buffered = 0;
    this.generation += 1;
    this.notify();
  }

  private notify(): void {
    const wake = this.wake;
    this.wake = null;
    wake?.();
  }

  /** True while a read (a line, a literal) waits for octets the client has not sent yet. */
  get starved(): boolean {
    return this.waiting;
  }
  private waiting = false;

  /** Waits for more input; false when the connection closed (or the input was reset) meanwhile. */
  private async more(generation: number): Promise<boolean> {
    if (this.closed || generation !== this.generation) return false;
    this.source.resume();
    this.waiting = true;
    await new Promise<void>((resolve) => (this.wake = resolve));
    this.waiting = false;
    return !this.closed && generation === this.generation;
  }

  private consume(n: number): void {
    let left = n;
    while (left > 0) {
      const first = this.chunks[0];
      if (first.length <= left) {
        this.chunks.shift();
        left -= first.length;
      } else {
        this.chunks[0] = first.subarray(left);
        left = 0;
      }
    }
    this.buffered -= n;
    if (this.buffered <= HIGH_WATER) this.source.resume();
  }

  /** True once a line has begun arriving and has not ended (for the command-line timer). */
  get midLine(): boolean {
    return this.buffered > 0 && !this.chunks.some((c) => c.includes(10));
  }

  /**
   * The next line, up to `max` octets before its CRLF. A longer line is discarded up to its LF as it
   * arrives and reported as too-long (bounded memory whatever the client sends).
   */
  async line(max: number): Promise<LineRead> {
    const generation = this.generation;
    const parts: Buffer[] = [];
    let length = 0;
    let tooLong = false;
    let head = Buffer.alloc(0); // the start of a line too long to keep (for its tag)
    for (;;) {
      while (this.chunks.length > 0) {
        const chunk = this.chunks[0];
        const nl = chunk.indexOf(10);
        const piece = nl < 0 ? chunk : chunk.subarray(0, nl);
        if (!tooLong) {
          if (length + piece.length > max + 1) {
            tooLong = true;
            head = Buffer.concat([...parts, piece.subarray(0, 64)]).subarray(0, 64);
            parts.length = 0;
          } else {
            parts.push(piece);
            length += piece.length;
          }
        }
        this.consume(nl < 0 ? chunk.length : nl + 1);
        if (nl >= 0) {
          if (tooLong) return { kind: 'too-long', head };
          let bytes = parts.length === 1 ? parts[0] : Buffer.concat(parts, length);
          if (bytes.length > 0 && bytes[bytes.length - 1] === 13) bytes = bytes.subarray(0, bytes.length - 1);
          if (bytes.length > max) return { kind: 'too-long', head: Buffer.from(bytes.subarray(0, 64)) };
          return { kind: 'line', bytes: Buffer.from(bytes) };
        }
      }
      if (!(await this.more(generation))) return { kind: 'closed' };
    }
  }

  /**
   * Exactly `n` octets, handed to `sink` chunk by chunk as they arrive (a literal). `sink` may return a
   * promise: nothing more is read until it settles (the store writes at its own pace).
   */
  async bytes(n: number, sink: (chunk: Buffer) => Promise<void> | void): Promise<void> {
    const generation = this.generation;
    let left = n;
    while (left > 0) {
      if (this.chunks.length === 0) {
        if (!(await this.more(generation))) throw new InputClosed();
        continue;
      }
      const chunk = this.chunks[0];
      const piece = chunk.length <= left ? chunk : chunk.subarray(0, left);
      this.consume(piece.length);
      left -= piece.length;
      const wait = sink(piece);
      if (wait) await wait;
    }
  }

  /** `n` octets as one buffer (a literal within a command, bounded by the caller). */
  async take(n: number): Promise<Buffer> {
    const parts: Buffer[] = [];
    await this.bytes(n, (chunk) => {
      parts.push(Buffer.from(chunk));
    });
    return Buffer.concat(parts, n);
  }
}
