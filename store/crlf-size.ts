// Counting a message's CRLF size while it streams past: every bare LF counts as CRLF, nothing is added
// (Dovecot's "virtual size", its W= in file names): what IMAP's BODY[] sends and RFC822.SIZE says, and
// what POP's LIST says (RETR also ends an unterminated last line, as Dovecot's does, outside the count).

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

  /** The count so far. */
  get size(): number {
    return this.total;
  }

  /** True when the bytes so far end in the middle of a line. */
  get unterminated(): boolean {
    return this.lastByte !== -1 && this.lastByte !== 10;
  }
}

/** The CRLF size of a whole message held in memory. */
export function crlfSize(bytes: Buffer): number {
  const c = new CrlfSizeCounter();
  c.add(bytes);
  return c.size;
}
