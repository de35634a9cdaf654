// The client's bytes as a session pulls them, one read at a time: a line (bounded), exact octet counts
// (IMAP's literals), or octets up to an end a framing layer finds (POP's dot-stuffed message). The
// framings themselves are layers on this: IMAP's literal-aware command reader (modules/imap/wire/
// command-reader.ts) and the dot reader (dot-reader.ts). Memory stays bounded: the socket is paused
// while more than HIGH_WATER octets wait unread, and a line longer than its limit is dropped as it
// arrives, never held whole.
import { ConnectionClosed } from './connection-closed.js';

/**
 * A line read: its octets without CRLF; too-long when it passed the limit (it was dropped to its end,
 * or, `endless`, more than the caller's bound of it was dropped and its end has not come yet).
 */
export type LineRead = { kind: 'line'; bytes: Buffer } | { kind: 'too-long'; head: Buffer; endless: boolean } | { kind: 'closed' };

const HIGH_WATER = 256 * 1024;
const EMPTY = Buffer.alloc(0);

export interface Pausable {
  pause(): unknown;
  resume(): unknown;
}

export class LineInput {
  private chunks: Buffer[] = [];
  private buffered = 0;
  private closed = false;
  private wake: (() => void) | null = null;
  /** Bumped by reset(): a read in progress when the input was reset (STARTTLS) ends as closed. */
  private generation = 0;
  /** True when the octets received so far end inside a line (after its first octet, before its LF). */
  private open = false;
  /** Reads of octets that are not lines (a literal, a dot-stuffed message) in progress. */
  private rawReads = 0;

  constructor(private source: Pausable) {}

  /** The socket to pause and resume (a new one after STARTTLS). */
  setSource(source: Pausable): void {
    this.source = source;
  }

  /** True while octets the client sent wait unread (a command pipelined behind the current one). */
  get pending(): boolean {
    return this.buffered > 0;
  }

  /** True when a whole line waits unread (the next line() answers without waiting for the client). */
  get hasLine(): boolean {
    return this.chunks.some((c) => c.includes(10));
  }

  push(chunk: Buffer): void {
    if (this.closed) return;
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    if (chunk.length > 0) this.open = chunk.lastIndexOf(10) !== chunk.length - 1;
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
    this.open = false;
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

  /**
   * True once a line has begun arriving and has not ended (for the command-line timer); octets read
   * as a literal or a message are not a line.
   */
  get midLine(): boolean {
    return this.open && this.rawReads === 0;
  }

  /**
   * The next line, up to `max` octets before its CRLF. A longer line is discarded up to its LF as it
   * arrives and reported as too-long (bounded memory whatever the client sends); once more than
   * `endlessAfter` octets of it were discarded it is reported at once, as endless.
   */
  async line(max: number, endlessAfter = Infinity): Promise<LineRead> {
    const generation = this.generation;
    const parts: Buffer[] = [];
    let length = 0;
    let discarded = 0;
    let tooLong = false;
    let head = EMPTY; // the start of a line too long to keep (for its tag)
    for (;;) {
      while (this.chunks.length > 0) {
        const chunk = this.chunks[0];
        const nl = chunk.indexOf(10);
        const piece = nl < 0 ? chunk : chunk.subarray(0, nl);
        if (tooLong) {
          discarded += piece.length;
        } else if (length + piece.length > max + 1) {
          tooLong = true;
          discarded = length + piece.length;
          head = Buffer.concat([...parts, piece.subarray(0, 64)]).subarray(0, 64);
          parts.length = 0;
        } else {
          parts.push(piece);
          length += piece.length;
        }
        this.consume(nl < 0 ? chunk.length : nl + 1);
        if (nl >= 0) {
          if (tooLong) return { kind: 'too-long', head, endless: false };
          let bytes = parts.length === 1 ? parts[0] : Buffer.concat(parts, length);
          if (bytes.length > 0 && bytes[bytes.length - 1] === 13) bytes = bytes.subarray(0, bytes.length - 1);
          if (bytes.length > max) return { kind: 'too-long', head: Buffer.from(bytes.subarray(0, 64)), endless: false };
          return { kind: 'line', bytes: Buffer.from(bytes) };
        }
        if (tooLong && discarded > endlessAfter) return { kind: 'too-long', head, endless: true };
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
    this.rawReads += 1;
    try {
      while (left > 0) {
        if (this.chunks.length === 0) {
          if (!(await this.more(generation))) throw new ConnectionClosed();
          continue;
        }
        const chunk = this.chunks[0];
        const piece = chunk.length <= left ? chunk : chunk.subarray(0, left);
        this.consume(piece.length);
        left -= piece.length;
        const wait = sink(piece);
        if (wait !== undefined) await wait;
      }
    } finally {
      this.rawReads -= 1;
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

  /**
   * Octets handed to `sink` chunk by chunk until it finds their end (a framing such as the dot reader):
   * it returns null while it wants more, or the octets after the end, which are read again from here.
   */
  async until(sink: (chunk: Buffer) => Buffer | null): Promise<void> {
    const generation = this.generation;
    this.rawReads += 1;
    try {
      for (;;) {
        if (this.chunks.length === 0) {
          if (!(await this.more(generation))) throw new ConnectionClosed();
          continue;
        }
        const chunk = this.chunks[0];
        this.consume(chunk.length);
        const rest = sink(chunk);
        if (rest === null) continue;
        if (rest.length > 0) {
          this.chunks.unshift(rest);
          this.buffered += rest.length;
        }
        return;
      }
    } finally {
      this.rawReads -= 1;
    }
  }
}
