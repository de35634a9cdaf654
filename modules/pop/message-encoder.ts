// Turns a stored message into what RETR and TOP send (RFC 1939 section 3): every line ending CRLF,
// a "." doubled at the start of a line, a line ending added to an unterminated last line, and the
// terminating ".\r\n". For TOP, only the header, the blank line and the first N body lines.
// It works chunk by chunk with a little state, so a message of any size streams in bounded memory;
// runs that need no change are passed on as slices of the input, without copying.

const CRLF = Buffer.from('\r\n');
const DOT = Buffer.from('.');
const END = Buffer.from('.\r\n');
const CRLF_END = Buffer.from('\r\n.\r\n');

export class MessageEncoder {
  private atLineStart = true;
  private lastWasCr = false;
  private lineLength = 0; // bytes in the current line so far, line ending excluded
  private inHeader = true;
  private bodyLinesSent = 0;
  /** True once TOP has sent all it should; the rest of the input can be dropped. */
  done = false;

  /** @param bodyLines for TOP: body lines to send after the header; undefined sends everything. */
  constructor(private readonly bodyLines?: number) {}

  encode(chunk: Buffer): Buffer {
    if (this.done) return Buffer.alloc(0);
    const out: Buffer[] = [];
    let segment = 0; // start of the run not yet copied to out
    let i = 0;
    while (i < chunk.length) {
      if (this.atLineStart) {
        this.atLineStart = false;
        if (chunk[i] === 46) {
          out.push(chunk.subarray(segment, i), DOT);
          segment = i;
        }
      }
      const nl = chunk.indexOf(10, i);
      if (nl < 0) {
        this.lineLength += chunk.length - i;
        this.lastWasCr = chunk[chunk.length - 1] === 13;
        i = chunk.length;
        break;
      }
      const crBefore = nl > i ? chunk[nl - 1] === 13 : this.lastWasCr;
      const length = this.lineLength + (nl - i) - (crBefore ? 1 : 0);
      if (!crBefore) {
        out.push(chunk.subarray(segment, nl), CRLF);
        segment = nl + 1;
      }
      i = nl + 1;
      this.lineLength = 0;
      this.lastWasCr = false;
      this.atLineStart = true;
      if (this.endOfLine(length)) {
        out.push(chunk.subarray(segment, i));
        this.done = true;
        return Buffer.concat(out);
      }
    }
    if (out.length === 0) return chunk;
    out.push(chunk.subarray(segment, i));
    return Buffer.concat(out);
  }

  /** Counts a finished line for TOP; true when nothing more should be sent. */
  private endOfLine(length: number): boolean {
    if (this.bodyLines === undefined) return false;
    if (this.inHeader) {
      if (length !== 0) return false;
      this.inHeader = false;
      return this.bodyLines === 0;
    }
    this.bodyLinesSent += 1;
    return this.bodyLinesSent >= this.bodyLines;
  }

  /** The end of the response: a CRLF for an unterminated last line, then ".\r\n". */
  finish(): Buffer {
    return this.atLineStart ? END : CRLF_END;
  }
}
