// Editing the header of a submitted message on its raw bytes, so the body stays byte-exact:
// fields are removed (Bcc), added at the top (Received) or at the end (Date, Message-ID, From).

export class RawMessage {
  private fields: string[];
  private readonly eol: string;

  /** `header` is the header section (latin1), `body` everything after the blank line. */
  private constructor(
    header: string,
    private readonly separatorAndBody: Buffer,
  ) {
    this.eol = header.includes('\r\n') || separatorAndBody.subarray(0, 2).toString('latin1') === '\r\n' ? '\r\n' : '\n';
    // One entry per field, folded continuation lines kept with their field.
    this.fields = [];
    for (const line of header.split(/\r?\n/)) {
      if (line === '') continue;
      if (/^[ \t]/.test(line) && this.fields.length > 0) this.fields[this.fields.length - 1] += `${this.eol}${line}`;
      else this.fields.push(line);
    }
  }

  static parse(message: Buffer): RawMessage {
    const crlf = message.indexOf('\r\n\r\n');
    const lf = message.indexOf('\n\n');
    let end: number;
    if (crlf >= 0 && (lf < 0 || crlf < lf)) end = crlf;
    else if (lf >= 0) end = lf;
    else end = message.length; // only a header
    return new RawMessage(message.subarray(0, end).toString('latin1'), message.subarray(end));
  }

  /** The header section alone, for a parser. */
  get headerBytes(): Buffer {
    return Buffer.from(`${this.fields.join(this.eol)}${this.eol}${this.eol}`, 'latin1');
  }

  /** Matches fields called `name`, with or without blanks before the colon ("Bcc :" counts too). */
  private named(name: string): (field: string) => boolean {
    const pattern = new RegExp(`^${name.replace(/[-]/g, '\\-')}[ \t]*:`, 'i');
    return (field) => pattern.test(field);
  }

  /** How many fields are called `name`. */
  count(name: string): number {
    return this.fields.filter(this.named(name)).length;
  }

  has(name: string): boolean {
    return this.fields.some(this.named(name));
  }

  remove(name: string): void {
    const match = this.named(name);
    this.fields = this.fields.filter((f) => !match(f));
  }

  /** Replaces the first field called `name` where it stands (removing any others), or appends it. */
  set(name: string, value: string): void {
    const match = this.named(name);
    const at = this.fields.findIndex(match);
    if (at < 0) {
      this.append(name, value);
      return;
    }
    this.fields = this.fields.filter((f, i) => i === at || !match(f));
    this.fields[at] = `${name}: ${value}`;
  }

  prepend(name: string, value: string): void {
    this.fields.unshift(`${name}: ${value}`);
  }

  append(name: string, value: string): void {
    this.fields.push(`${name}: ${value}`);
  }

  toBuffer(): Buffer {
    const head = Buffer.from(this.fields.join(this.eol), 'latin1');
    const rest = this.separatorAndBody.length > 0 ? this.separatorAndBody : Buffer.from(this.eol);
    return Buffer.concat([head, rest]);
  }
}

/** An RFC 5322 date-time in UTC: "Sun, 22 Nov 2026 00:30:00 +0000". */
export function rfc5322Date(d = new Date()): string {
  return d.toUTCString().replace(/GMT$/, '+0000');
}
