// The searchable text of a message for SEARCH (evaluate.ts): header fields unfolded with RFC 2047 encoded
// words decoded, and the decoded text of the body's text parts. It reads the message the way FETCH does:
// the fields as message/header.ts finds them (as FETCH BODY[HEADER.FIELDS] does), the parts as the MIME
// tree of message/mime-tree.ts cuts them (Dovecot's rule, as FETCH BODY[n] and BODYSTRUCTURE), the
// transfer encodings undone by message/transfer-decode.ts (as FETCH BINARY[n]), the charsets and encoded
// words read by message/charset.ts. So SEARCH BODY finds a word in a part exactly when FETCH shows it
// there. Nothing here throws on malformed input, whatever the bytes.
import { decodeCharset, decodeEncodedWords, decodeUnknown } from './charset.js';
import { type FieldSpan, fieldValue, forEachField } from './header.js';
import { type MimePart, parseMime } from './mime-tree.js';
import { parsePartData } from './part-data.js';
import { decodeBase64, decodeQuotedPrintable } from './transfer-decode.js';

/** i;unicode-casemap, approximately: NFC, then lower case. Both needle and haystack go through this. */
export function fold(s: string): string {
  return (NOT_ASCII.test(s) ? s.normalize('NFC') : s).toLowerCase(); // ASCII is in NFC already
}

const NOT_ASCII = /[^\x00-\x7f]/;

// ---- header section ----

export interface HeaderField {
  /** Lower case. */
  readonly name: string;
  /** The value's bytes, leading white space dropped, folding line breaks still in it. */
  readonly value: Buffer;
}

/**
 * One field: its value is cut out of the header only when asked for, and names repeat as one string
 * each, so a header of a million fields keeps a million small records (SEARCH stays bounded in time and
 * memory).
 */
class LazyField implements HeaderField {
  readonly valueStart: number;
  readonly end: number;
  constructor(
    readonly name: string,
    private readonly b: Buffer,
    span: FieldSpan,
  ) {
    // two numbers, not the span: a million fields keep a million records, not two million
    this.valueStart = span.valueStart;
    this.end = span.end;
  }

  get value(): Buffer {
    return fieldValue(this.b, this);
  }
}

/** Whether `name` (lower case) is b[start, end) case-insensitively. */
function sameName(name: string, b: Buffer, start: number, end: number): boolean {
  if (name.length !== end - start) return false;
  for (let i = 0; i < name.length; i++) {
    const c = b[start + i];
    if (name.charCodeAt(i) !== (c >= 0x41 && c <= 0x5a ? c + 32 : c)) return false;
  }
  return true;
}

/** The fields of the header section that starts `b` (up to its blank line; no blank line: all of `b`), in order. */
export function parseHeader(b: Buffer, start = 0, end = b.length): HeaderField[] {
  const fields: HeaderField[] = [];
  const names = new Map<number, string>();
  forEachField(b, start, end, (f) => {
    let hash = f.nameEnd - f.nameStart;
    for (let i = f.nameStart; i < f.nameEnd; i++) {
      const c = b[i];
      hash = (hash * 31 + (c >= 0x41 && c <= 0x5a ? c + 32 : c)) | 0;
    }
    let name = names.get(hash);
    if (name === undefined || !sameName(name, b, f.nameStart, f.nameEnd)) {
      name = b.toString('latin1', f.nameStart, f.nameEnd).toLowerCase();
      if (names.size < 1000) names.set(hash, name);
    }
    fields.push(new LazyField(name, b, f));
  });
  return fields;
}

/** A field's value as text: unfolded, raw 8-bit as UTF-8 or windows-1252, encoded words decoded, tabs as spaces. */
export function fieldText(value: Buffer): string {
  let s = decodeUnknown(value);
  if (s.indexOf('\n') >= 0) s = s.replace(/\r?\n/g, ''); // unfolding: the line break goes, the white space stays
  return decodeEncodedWords(s)
    .replace(/[\t\r\n]/g, ' ')
    .trim();
}

/** The decoded header of a message as searchable text: one "name: value" line per field. */
export function headerText(fields: readonly HeaderField[]): string {
  let s = '';
  for (const f of fields) s += `${f.name}: ${fieldText(f.value)}\n`;
  return s;
}

// ---- body ----

/** The charset parameter, an RFC 2231 charset*= one read from its charset'language'%XX form. */
function charsetOf(part: MimePart): string | undefined {
  for (const [k, v] of part.params) {
    const key = k.toString('latin1').toLowerCase();
    if (key === 'charset') return v.toString('latin1');
    if (key === 'charset*') {
      const s = v.toString('latin1');
      const q = s.indexOf("'");
      const q2 = q < 0 ? -1 : s.indexOf("'", q + 1);
      return (q2 < 0 ? s : s.slice(q2 + 1)).replace(/%([0-9A-Fa-f]{2})/g, (_m, h: string) => String.fromCharCode(parseInt(h, 16)));
    }
  }
  return undefined;
}

/**
 * The part's Content-Transfer-Encoding, lower case. Without MIME-Version and Content-Type the tree
 * ignores Content-* fields (RFC 2045 section 4); a Content-Transfer-Encoding there still counts for
 * SEARCH, as in Dovecot's search (lib-mail message-decoder reads it from any header).
 */
function encodingOf(part: MimePart): string | null {
  const e = part.data.encoding ?? (part.data.contentType === null ? parsePartData(part.fields, true).encoding : null);
  return e === null ? null : e.toString('latin1').toLowerCase();
}

/** The body of a part decoded: transfer encoding (unknown ones left as they are), then charset. */
function partText(raw: Buffer, part: MimePart): string {
  let body = raw.subarray(part.bodyStart, part.bodyEnd);
  const enc = encodingOf(part);
  if (enc === 'base64') body = decodeBase64(body);
  else if (enc === 'quoted-printable') body = decodeQuotedPrintable(body);
  return decodeCharset(body, charsetOf(part));
}

/**
 * The texts BODY searches in a whole message, walking the MIME tree FETCH uses: every text/* part decoded
 * (transfer encoding, then charset), and for message/rfc822 (and message/global) parts the embedded
 * message's header text and, recursively, its body. Other types (images, application/*, parts too deep
 * for the tree, which it makes application/octet-stream) are skipped. A multipart without parts (no
 * boundary, or one that never occurs) and a part whose Content-Type is no type/subtype are read as text.
 * Preambles, epilogues and MIME part headers are not searched.
 */
export function bodyTexts(raw: Buffer): string[] {
  const out: string[] = [];
  const visit = (part: MimePart): void => {
    switch (part.kind) {
      case 'multipart':
        if (part.children.length === 0) out.push(partText(raw, part));
        for (const child of part.children) visit(child);
        break;
      case 'message':
        if (part.message !== undefined) {
          out.push(headerText(parseHeader(raw, part.message.headerStart, part.message.headerEnd)));
          visit(part.message);
        }
        break;
      case 'text':
        out.push(partText(raw, part));
        break;
      case 'basic':
        if (part.data.contentSubtype.length === 0) out.push(partText(raw, part)); // RFC 2045 section 5.2: text/plain
        break;
    }
  };
  visit(parseMime(raw, { lines: false }));
  return out;
}

/**
 * The text PREVIEW starts from (RFC 8970; fetch/preview.ts): the first text/plain part of the message's
 * own body (multiparts walked in order, attached messages skipped), else the first text/html one, decoded
 * as BODY searches it. Null when the body has no text part.
 */
export function firstText(raw: Buffer, tree: MimePart): { text: string; html: boolean } | null {
  let html: MimePart | null = null;
  const find = (part: MimePart): MimePart | null => {
    if (part.kind === 'multipart') {
      if (part.children.length === 0) return part;
      for (const child of part.children) {
        const found = find(child);
        if (found) return found;
      }
      return null;
    }
    if (part.kind !== 'text') return null;
    if (part.subtype === 'html') {
      html ??= part;
      return null;
    }
    return part.subtype === 'plain' || part.subtype === '' ? part : null;
  };
  const plain = find(tree);
  const chosen = plain ?? (html as MimePart | null);
  if (chosen === null) return null;
  return { text: partText(raw, chosen), html: plain === null };
}
