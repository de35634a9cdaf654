// Reads a dot-stuffed message up to its terminating "." line (XTND XMIT, like SMTP DATA): a "." at
// the start of a line is removed, a line holding only "." ends the message. What follows the end is
// handed back (pipelined commands). At most `max` octets are kept; past that the rest is only counted,
// so an oversized message is read to its end in bounded memory and can be refused cleanly. A framing
// layer on the line input: readDotMessage() reads one from it.
import type { LineInput } from './line-input.js';

export class DotReader {
  private chunks: Buffer[] = [];
  /** Octets of the unstuffed message so far (including any not kept). */
  size = 0;
  /** True once the message passed `max` octets; then nothing is kept. */
  overflow = false;
  private atLineStart = true;
  private state: 'text' | 'dot' | 'dot-cr' = 'text';

  constructor(private readonly max: number) {}

  private emit(data: Buffer): void {
    if (data.length === 0) return;
    this.size += data.length;
    if (this.overflow) return;
    if (this.size > this.max) {
      this.overflow = true;
      this.chunks = [];
      return;
    }
    this.chunks.push(data);
  }

  /** Feeds bytes; returns null while the message goes on, or the bytes after the end line. */
  push(chunk: Buffer): Buffer | null {
    let i = 0;
    let segment = 0;
    while (i < chunk.length) {
      if (this.state === 'dot') {
        if (chunk[i] === 10) return chunk.subarray(i + 1); // ".\n"
        if (chunk[i] === 13) {
          this.state = 'dot-cr';
          i += 1;
          segment = i;
          continue;
        }
        this.state = 'text'; // a stuffed dot: it was dropped, the line goes on
        this.atLineStart = false;
        continue;
      }
      if (this.state === 'dot-cr') {
        if (chunk[i] === 10) return chunk.subarray(i + 1); // ".\r\n"
        this.emit(Buffer.from('\r'));
        this.state = 'text';
        this.atLineStart = false;
        continue;
      }
      if (this.atLineStart) {
        if (chunk[i] === 46) {
          this.emit(chunk.subarray(segment, i));
          this.state = 'dot';
          i += 1;
          segment = i;
          continue;
        }
        this.atLineStart = false;
      }
      const nl = chunk.indexOf(10, i);
      if (nl < 0) {
        i = chunk.length;
        break;
      }
      i = nl + 1;
      this.atLineStart = true;
    }
    this.emit(chunk.subarray(segment, i));
    return null;
  }

  /** The message read (empty after an overflow). */
  get data(): Buffer {
    return Buffer.concat(this.chunks);
  }
}

/** Reads a dot-stuffed message from `input`, keeping at most `max` octets of it (see DotReader). */
export async function readDotMessage(input: LineInput, max: number): Promise<DotReader> {
  const dot = new DotReader(max);
  await input.until((chunk) => dot.push(chunk));
  return dot;
}
