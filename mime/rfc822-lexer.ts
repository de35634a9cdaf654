// RFC 5322 / RFC 2045 lexical scanning over header bytes: CFWS, atoms, dot-atoms, MIME tokens, quoted
// strings, phrases and domains. The edge cases (what a broken field yields) follow Dovecot 2.3's
// lib-mail rfc822-parser so our BODYSTRUCTURE and ENVELOPE agree with it on malformed input.
// Hand-written for that reason (a library would not agree byte for byte).
// Return convention (as there): -1 broken, 0 at the end of the data, 1 more data follows.

/** atext (RFC 5322 section 3.2.3), 8-bit bytes included; MIME tspecials (RFC 2045 section 5.1) flagged apart. */
const ATEXT = new Uint8Array(256);
for (let c = 0; c < 256; c++) {
  if (c >= 0x80 || /[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~]/.test(String.fromCharCode(c))) ATEXT[c] = 1;
}
const TSPECIAL_IN_ATEXT = new Set([0x2f, 0x3d, 0x3f]); // '/', '=', '?'
/** MIME token octets (RFC 2045 section 5.1): atext but the tspecials in it, and '.'; a table, looked up per octet. */
const MIME_TOKEN = new Uint8Array(256);
for (let c = 0; c < 256; c++) if ((ATEXT[c] === 1 && !TSPECIAL_IN_ATEXT.has(c)) || c === 0x2e) MIME_TOKEN[c] = 1;

export function isAtext(c: number | undefined): boolean {
  return c !== undefined && ATEXT[c] === 1;
}

export class Lexer {
  pos: number;
  /** The text of the last comment skipped (RFC 5322 section 3.2.2), when the caller wants it. */
  lastComment: Buffer | null = null;
  wantComments = false;

  constructor(
    readonly data: Buffer,
    start = 0,
    readonly end = data.length,
  ) {
    this.pos = start;
  }

  /** the last comment's text, if comments are wanted */
  comment(): Buffer | null {
    return this.lastComment;
  }

  get atEnd(): boolean {
    return this.pos >= this.end;
  }

  c(): number | undefined {
    return this.pos < this.end ? this.data[this.pos] : undefined;
  }

  /** A comment, nested parentheses and quoted-pairs allowed. */
  skipComment(): number {
    let level = 1;
    const parts: Buffer[] = [];
    let start = ++this.pos;
    for (; this.pos < this.end; this.pos++) {
      const c = this.data[this.pos];
      if (c === 0x28) level++;
      else if (c === 0x29) {
        if (--level === 0) {
          parts.push(this.data.subarray(start, this.pos));
          if (this.wantComments) this.lastComment = Buffer.concat(parts);
          this.pos++;
          return this.pos < this.end ? 1 : 0;
        }
      } else if (c === 0x5c) {
        parts.push(this.data.subarray(start, this.pos));
        start = this.pos + 1;
        this.pos++;
        if (this.pos >= this.end) return -1;
      }
    }
    return -1; // missing ')'
  }

  /** CFWS: spaces, tabs, CR, LF and comments. */
  skipLwsp(): number {
    while (this.pos < this.end) {
      const c = this.data[this.pos];
      if (c === 0x20 || c === 0x09 || c === 0x0d || c === 0x0a) {
        this.pos++;
        continue;
      }
      if (c !== 0x28) break;
      if (this.skipComment() < 0) return -1;
    }
    return this.pos < this.end ? 1 : 0;
  }

  atom(out: number[]): number {
    if (!isAtext(this.c())) return -1;
    const start = this.pos++;
    while (this.pos < this.end && isAtext(this.data[this.pos])) this.pos++;
    pushRange(out, this.data, start, this.pos);
    return this.pos < this.end ? this.skipLwsp() : 0;
  }

  /** dot-atom, LWSP allowed around the dots (RFC 822 compatibility). */
  dotAtom(out: number[]): number {
    if (!isAtext(this.c())) return -1;
    let start = this.pos++;
    for (;;) {
      while (this.pos < this.end && isAtext(this.data[this.pos])) this.pos++;
      if (this.pos >= this.end) break;
      pushRange(out, this.data, start, this.pos);
      const r = this.skipLwsp();
      if (r <= 0) return r;
      if (this.data[this.pos] !== 0x2e) return 1;
      this.pos++;
      out.push(0x2e);
      const r2 = this.skipLwsp();
      if (r2 <= 0) return r2;
      start = this.pos;
    }
    pushRange(out, this.data, start, this.pos);
    return 0;
  }

  /** A MIME token (RFC 2045 section 5.1); may be empty. */
  mimeToken(out: number[]): number {
    const start = this.pos;
    while (this.pos < this.end) {
      const c = this.data[this.pos];
      if (MIME_TOKEN[c] === 1) this.pos++;
      else {
        pushRange(out, this.data, start, this.pos);
        return this.skipLwsp();
      }
    }
    pushRange(out, this.data, start, this.pos);
    return 0;
  }

  /** A quoted string (RFC 5322 section 3.2.4): quoted-pairs unescaped, folding CRLFs removed. */
  quotedString(out: number[]): number {
    this.pos++;
    let start = this.pos;
    for (; this.pos < this.end; this.pos++) {
      const c = this.data[this.pos];
      if (c === 0x22) {
        pushRange(out, this.data, start, this.pos);
        this.pos++;
        return this.skipLwsp();
      }
      if (c === 0x0a) {
        let len = this.pos - start;
        if (len > 0 && this.data[start + len - 1] === 0x0d) len--;
        pushRange(out, this.data, start, start + len);
        start = this.pos + 1;
      } else if (c === 0x5c) {
        this.pos++;
        if (this.pos >= this.end) return -1;
        pushRange(out, this.data, start, this.pos - 1);
        start = this.pos;
      }
    }
    return -1; // missing '"'
  }

  private atomOrDot(out: number[]): number {
    const start = this.pos;
    while (this.pos < this.end && (isAtext(this.data[this.pos]) || this.data[this.pos] === 0x2e)) this.pos++;
    pushRange(out, this.data, start, this.pos);
    return this.pos < this.end ? this.skipLwsp() : 0;
  }

  /** phrase / obs-phrase (RFC 5322 sections 3.2.5, 4.1): words joined by one space. */
  phrase(out: number[]): number {
    if (this.pos >= this.end) return 0;
    if (this.data[this.pos] === 0x2e) return -1;
    for (;;) {
      const r = this.data[this.pos] === 0x22 ? this.quotedString(out) : this.atomOrDot(out);
      if (r <= 0) return r;
      const c = this.data[this.pos];
      if (!isAtext(c) && c !== 0x22 && c !== 0x2e) break;
      out.push(0x20);
    }
    return this.skipLwsp();
  }

  private domainLiteral(out: number[]): number {
    const start = this.pos;
    for (; this.pos < this.end; this.pos++) {
      const c = this.data[this.pos];
      if (c === 0x5c) {
        this.pos++;
        if (this.pos >= this.end) break;
      } else if (c === 0x5d) {
        this.pos++;
        pushRange(out, this.data, start, this.pos);
        return this.skipLwsp();
      }
    }
    return -1; // missing ']'
  }

  /** "@" domain (dot-atom or domain-literal). */
  domain(out: number[]): number {
    this.pos++;
    if (this.skipLwsp() <= 0) return -1;
    return this.data[this.pos] === 0x5b ? this.domainLiteral(out) : this.dotAtom(out);
  }

  /** type "/" subtype (RFC 2045 section 5.1) into `out`; -1 when broken (what was read stays in `out`). */
  contentType(out: number[]): number {
    if (this.skipLwsp() <= 0) return -1;
    if (this.mimeToken(out) <= 0) return -1;
    if (this.data[this.pos] !== 0x2f) return -1;
    this.pos++;
    if (this.skipLwsp() <= 0) return -1;
    out.push(0x2f);
    return this.mimeToken(out);
  }

  /** ";" attribute "=" value; 0 at the end, -1 broken (key/value may still be set). */
  contentParam(): { ret: number; key: Buffer | null; value: Buffer | null } {
    if (this.pos >= this.end) return { ret: 0, key: null, value: null };
    if (this.data[this.pos] !== 0x3b) return { ret: -1, key: null, value: null };
    this.pos++;
    if (this.skipLwsp() <= 0) return { ret: -1, key: null, value: null };
    const key = this.mimeTokenView();
    if (this.ret <= 0) return { ret: -1, key: null, value: null };
    if (this.data[this.pos] !== 0x3d) return { ret: -1, key: null, value: null };
    this.pos++;
    let ret = this.skipLwsp();
    if (ret <= 0) return { ret: ret < 0 ? -1 : 1, key, value: Buffer.alloc(0) }; // broken / no value
    if (this.data[this.pos] !== 0x22 && this.data[this.pos] !== 0x3d) {
      const value = this.mimeTokenView();
      return { ret: this.ret < 0 ? -1 : 1, key, value };
    }
    const value: number[] = [];
    if (this.data[this.pos] === 0x22) {
      ret = this.quotedString(value);
    } else {
      // name==?utf-8?b?...?= (broken, but common)
      while (this.pos < this.end && ![0x3b, 0x20, 0x09, 0x0d, 0x0a].includes(this.data[this.pos])) value.push(this.data[this.pos++]);
    }
    return { ret: ret < 0 ? -1 : 1, key, value: Buffer.from(value) };
  }

  /** What mimeTokenView's CFWS skip returned (as mimeToken's result). */
  private ret = 0;

  /** mimeToken, the token a view of the data rather than a copy (parameters are many: no array per octet). */
  private mimeTokenView(): Buffer {
    const start = this.pos;
    while (this.pos < this.end && MIME_TOKEN[this.data[this.pos]] === 1) this.pos++;
    const token = this.data.subarray(start, this.pos);
    this.ret = this.pos < this.end ? this.skipLwsp() : 0;
    return token;
  }
}

export function pushRange(out: number[], data: Buffer, start: number, end: number): void {
  for (let i = start; i < end; i++) out.push(data[i]);
}
