// Counting a message's POP octet count while it streams past: every bare LF becomes CRLF, and a last
// line without a line ending gets one. modules/pop/message-encoder.ts sends exactly this many octets.

export class CrlfSizeCounter {
  private total = 0;
  private lastByte = -1;

  add(chunk: Buffer): void {
    let bareLf = 0;
    let i = chunk.indexOf(10);
    while (i !== -1) {
      const before = i > 0 ? chunk[i - 1] : this.lastByte;
      if (before !== 13) bareLf++;
      i = chunk.indexOf(10, i + 1);
    }
    this.total += chunk.length + bareLf;
    if (chunk.length > 0) this.lastByte = chunk[chunk.length - 1];
  }

  /** The count so far, including the CRLF that completes an unterminated last line. */
  get size(): number {
    return this.lastByte === -1 || this.lastByte === 10 ? this.total : this.total + 2;
  }
}
