// How values go out in IMAP responses (RFC 9051 section 4): atoms, quoted strings, literals, NIL.
// Message-derived text (header fields, MIME parameters) stays in bytes (a header may be 8-bit and not
// UTF-8), so these encoders take and give Buffers; names and codes we make ourselves are strings.

const NIL = Buffer.from('NIL');

/** True when `b` can go out as a quoted string: 7-bit, no CR, LF or NUL, not too long. */
function quotable(b: Buffer): boolean {
  if (b.length > 1024) return false;
  for (let i = 0; i < b.length; i++) {
    const c = b[i];
    if (c === 0 || c === 0x0d || c === 0x0a || c >= 0x80) return false;
  }
  return true;
}

/** An IMAP string: quoted when it can be, else a synchronising literal ({n} CRLF octets). */
export function imapString(value: Buffer | string): Buffer {
  const b = typeof value === 'string' ? Buffer.from(value, 'utf8') : value;
  if (quotable(b)) {
    let needsEscape = false;
    for (let i = 0; i < b.length; i++) if (b[i] === 0x22 || b[i] === 0x5c) needsEscape = true;
    if (!needsEscape) return Buffer.concat([Buffer.from('"'), b, Buffer.from('"')]);
    return Buffer.from(`"${b.toString('latin1').replace(/["\\]/g, (c) => `\\${c}`)}"`, 'latin1');
  }
  return Buffer.concat([Buffer.from(`{${b.length}}\r\n`), b]);
}

/** nstring: NIL for null. */
export function nstring(value: Buffer | string | null | undefined): Buffer {
  return value === null || value === undefined ? NIL : imapString(value);
}

// ATOM-CHAR: anything but atom-specials: ( ) { SP CTL % * " \ ] (RFC 9051 section 9).
const ATOM = /^[^(){ \x00-\x1f\x7f%*"\\\]]+$/;

/** An astring as a string (mailbox names, list items): an atom when it can be, else quoted or a literal. */
export function astring(value: string): string {
  if (ATOM.test(value) && value.toUpperCase() !== 'NIL' && !/[^\x00-\x7f]/.test(value)) return value;
  return quotedString(value);
}

/** A string we make ourselves (mailbox names, ID values): quoted, or a literal when it must be. */
export function quotedString(value: string): string {
  if (/^[^\r\n\x00]*$/.test(value) && Buffer.byteLength(value) <= 1024) return `"${value.replace(/["\\]/g, (c) => `\\${c}`)}"`;
  return `{${Buffer.byteLength(value)}}\r\n${value}`;
}

/** A parenthesised list of already-encoded items, or NIL when there are none (and `nilWhenEmpty`). */
export function list(items: readonly Buffer[], nilWhenEmpty = false): Buffer {
  if (items.length === 0) return nilWhenEmpty ? NIL : Buffer.from('()');
  const parts: Buffer[] = [Buffer.from('(')];
  items.forEach((item, i) => {
    if (i > 0) parts.push(Buffer.from(' '));
    parts.push(item);
  });
  parts.push(Buffer.from(')'));
  return Buffer.concat(parts);
}

export { NIL };
