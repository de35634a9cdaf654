// Splits the client's byte stream into command lines with bounded memory. A line longer than the
// limit is discarded up to its end and reported as too long; a flood that never ends a line is
// reported once the discarded bytes pass a cap, so the session can close the connection.

/** A line: its text without the line ending, and its bytes as received (for XTND XMIT data). */
export type LineEvent = { kind: 'line'; text: string; raw: Buffer } | { kind: 'too-long' } | { kind: 'flood' };

export class LineReader {
  private pending: Buffer | null = null;
  private discarding = 0;
  /** Bumped by reset(): a push() in progress stops emitting lines from its chunk. */
  private generation = 0;
  /**
   * While set, bytes go here instead of being split into lines (a message after XTND XMIT). It returns
   * null while it wants more, or the bytes after its end, which are read as lines again.
   */
  private rawSink: ((chunk: Buffer) => Buffer | null) | null = null;

  constructor(
    private readonly maxLength: number,
    private readonly emit: (event: LineEvent) => void,
    private readonly floodLimit = Math.max(64 * 1024, maxLength * 16),
  ) {}

  /** True while part of a line has arrived and its end has not (message data after XTND XMIT aside). */
  get midLine(): boolean {
    return this.rawSink === null && (this.pending !== null || this.discarding > 0);
  }

  push(chunk: Buffer): void {
    const generation = this.generation;
    let start = 0;
    // An emitted line may reset the reader (STLS): then the rest of this chunk must never be read.
    while (start < chunk.length && generation === this.generation) {
      if (this.rawSink) {
        const rest = this.rawSink(chunk.subarray(start));
        if (rest === null) return;
        this.rawSink = null;
        chunk = rest;
        start = 0;
        continue;
      }
      const nl = chunk.indexOf(10, start);
      if (nl < 0) {
        this.keep(chunk.subarray(start));
        return;
      }
      const piece = chunk.subarray(start, nl + 1); // with its LF
      start = nl + 1;
      if (this.discarding > 0) {
        this.discarding = 0;
        this.emit({ kind: 'too-long' });
        continue;
      }
      const raw = this.pending ? Buffer.concat([this.pending, piece]) : piece;
      const line = raw.subarray(0, raw.length - 1);
      this.pending = null;
      const end = line.length > 0 && line[line.length - 1] === 13 ? line.length - 1 : line.length;
      if (end > this.maxLength) this.emit({ kind: 'too-long' });
      else this.emit({ kind: 'line', text: line.toString('utf8', 0, end), raw });
    }
  }

  private keep(rest: Buffer): void {
    if (this.discarding > 0) {
      this.discarding += rest.length;
    } else {
      const total = (this.pending?.length ?? 0) + rest.length;
      if (total <= this.maxLength + 1) {
        this.pending = this.pending ? Buffer.concat([this.pending, rest]) : Buffer.from(rest);
        return;
      }
      this.pending = null;
      this.discarding = total;
    }
    if (this.discarding > this.floodLimit) {
      this.discarding = 1;
      this.emit({ kind: 'flood' });
    }
  }

  /**
   * Hands the following bytes to `sink` until it reports its end (see rawSink). A partial line already
   * read is given to it first.
   */
  readRaw(sink: (chunk: Buffer) => Buffer | null): void {
    const pending = this.pending;
    this.pending = null;
    this.discarding = 0;
    this.rawSink = sink;
    if (pending) this.push(pending);
  }

  /** Forgets any partial line (after STLS, RFC 2595 section 4: nothing sent before the handshake counts). */
  reset(): void {
    this.pending = null;
    this.discarding = 0;
    this.generation += 1;
  }
}
