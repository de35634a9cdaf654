// The searchable text of a message for SEARCH (modules/imap/search/evaluate.ts) and for the index that narrows
// it: header fields with RFC 2047 encoded words decoded, the decoded text of the body's text parts, and the
// header sections of MIME parts and attached messages, all folded by i;unicode-casemap (casemap.ts). It
// reads the message the way FETCH does: the fields as mime/header.ts finds them, the parts as the MIME tree
// of mime/mime-tree.ts cuts them (Dovecot's rule, as FETCH BODY[n] and BODYSTRUCTURE), the transfer
// encodings undone by mime/transfer-decode.ts, the charsets read by mime/charset.ts. Nothing here throws on
// malformed input, whatever the bytes.
//
// What SEARCH searches, as Dovecot 2.3 searches it (its lib-mail message-search and message-decoder; RFC 9051
// section 6.4.4 leaves the details to the server). Hand-written to give Dovecot's answers:
// - BODY: the decoded body of every part whose Content-Type is text/* or message/* (or absent), transfer
//   encoding undone (an unknown Content-Transfer-Encoding: the part is skipped), then its charset (none,
//   US-ASCII and unknown ones read as UTF-8, an invalid octet as U+FFFD); text/html as its source. An
//   attached message/rfc822 adds its parts the same way, never its header; a message/global is read as text,
//   header and all (Dovecot's search does not parse it). A
//   multipart's own body (preamble, epilogue, or all of it when it has no boundary) is never searched; a
//   Content-Type that does not parse as type/subtype (nothing after the subtype but parameters) makes the
//   part's body unsearched.
// - TEXT: the message's header ("Name: value" lines, the value decoded), BODY's text, and the header
//   sections of every MIME part and attached message (RFC 9051 section 6.4.4: "header or body of the
//   message", a part's header being in the message's body).
// - Header values are read as Dovecot's header parser reads them for SEARCH: unfolded (line breaks gone, a
//   TAB that starts a continuation line a space), octets as UTF-8 (an invalid one as U+FFFD), encoded words
//   decoded (encoded-words.ts).
// The pieces are joined by line feeds: a needle with a line break in it may find text across two pieces
// (Dovecot looks part by part); a needle from a quoted string never has one.
import { casemap } from './casemap.js';
import { decodeCharset, decodeEncodedWords, decodeUnknown } from './charset.js';
import { utf8AsDovecot } from './encoded-words.js';
import { type FieldSpan, forEachField } from './header.js';
import { type MimePart, parseMime } from './mime-tree.js';
import { parsePartData } from './part-data.js';
import { decodeBase64, decodeQuotedPrintable } from './transfer-decode.js';
import libmimeCharset from 'libmime/lib/charset.js';

/** i;unicode-casemap (casemap.ts): both the needle and the text go through it. */
export const fold = casemap;

// ---- header section ----

export interface HeaderField {
  /** Lower case. */
  readonly name: string;
  /**
   * The value's bytes: one white space after the colon dropped (as Dovecot's header parser drops it for its
   * search), the folding line breaks still in it, the final one left out.
   */
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
    const [start, end] = valueBounds(this.b, this.valueStart, this.end);
    return this.b.subarray(start, end);
  }
}

/**
 * Where a field's value is, as Dovecot's header parser gives it to its search: one white space after the colon
 * skipped, the line end left out.
 */
function valueBounds(b: Buffer, valueStart: number, fieldEnd: number): [number, number] {
  let end = fieldEnd;
  if (end > valueStart && b[end - 1] === 0x0a) end--;
  if (end > valueStart && b[end - 1] === 0x0d) end--;
  const c = b[valueStart];
  return [valueStart < end && (c === 0x20 || c === 0x09) ? valueStart + 1 : valueStart, end];
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

/**
 * A field's value as SEARCH reads it (not yet folded), as Dovecot's header parser gives it to its search:
 * the line breaks of folding removed, a TAB that starts a continuation line read as a space (other TABs
 * stay), octets as UTF-8 (an invalid one as U+FFFD), RFC 2047 encoded words decoded. Not trimmed.
 */
export function searchFieldText(value: Buffer): string {
  let s = utf8AsDovecot(value);
  if (s.indexOf('\n') >= 0) s = s.replace(/\r?\n(\t?)/g, (_m, tab: string) => (tab === '' ? '' : ' '));
  return decodeEncodedWords(s);
}

/** A field's value as HEADER searches it: searchFieldText, folded. */
export function fieldSearchText(value: Buffer): string {
  return casemap(searchFieldText(value));
}

/**
 * A Subject field's value as SUBJECT searches it (HEADER Subject reads fieldSearchText): as searchFieldText,
 * but white space (SP, TAB) at the start of the value as written goes and each run of it elsewhere is one
 * space, before encoded words are decoded (Dovecot's SEARCH_HEADER_COMPRESS_LWSP). Folded.
 */
export function subjectSearchText(value: Buffer): string {
  let s = utf8AsDovecot(value);
  if (s.indexOf('\n') >= 0) s = s.replace(/\r?\n/g, '');
  return casemap(decodeEncodedWords(s.replace(/^[ \t]+/, '').replace(/[ \t]+/g, ' ')));
}

/**
 * One field as TEXT searches it: the name (as UTF-8), what stands between the name and the value (white space
 * before the colon, the colon, one white space after it), the value as searchFieldText reads it. A line
 * without a colon is all name.
 */
function fieldLine(b: Buffer, f: FieldSpan): string {
  const [valueStart, end] = valueBounds(b, f.valueStart, f.end);
  const name = utf8AsDovecot(b.subarray(f.nameStart, f.nameEnd));
  return `${name}${b.toString('latin1', f.nameEnd, valueStart)}${valueStart < end ? searchFieldText(b.subarray(valueStart, end)) : ''}\n`;
}

/** A header section b[start, end) as TEXT searches it: one line per field (fieldLine), folded. */
export function headerSearchText(b: Buffer, start = 0, end = b.length): string {
  let s = '';
  forEachField(b, start, end, (f) => {
    s += fieldLine(b, f);
  });
  return casemap(s);
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

/** The body of a part decoded for PREVIEW: transfer encoding (unknown ones left as they are), then charset. */
function partText(raw: Buffer, part: MimePart): string {
  let body = raw.subarray(part.bodyStart, part.bodyEnd);
  const enc = encodingOf(part);
  if (enc === 'base64') body = decodeBase64(body);
  else if (enc === 'quoted-printable') body = decodeQuotedPrintable(body);
  return decodeCharset(body, charsetOf(part));
}

/** The last field named `name` of a part's header (the tree keeps the Content-* fields), or null. */
function lastField(part: MimePart, name: string): Buffer | null {
  let v: Buffer | null = null;
  for (const f of part.fields) if (f.name === name) v = f.value;
  return v;
}

const TOKEN_STOP = new Set([...'()<>@,;:\\"/[]?= \t\r\n'].map((c) => c.charCodeAt(0)));

/** Skips white space and (nested) comments from `at`; the position after them. */
function skipCfws(v: Buffer, at: number): number {
  let i = at;
  for (;;) {
    while (i < v.length && (v[i] === 0x20 || v[i] === 0x09 || v[i] === 0x0d || v[i] === 0x0a)) i++;
    if (v[i] !== 0x28) return i;
    let depth = 0;
    for (; i < v.length; i++) {
      if (v[i] === 0x5c) i++;
      else if (v[i] === 0x28) depth++;
      else if (v[i] === 0x29 && --depth === 0) break;
    }
    i++;
  }
}

function tokenEnd(v: Buffer, at: number): number {
  let i = at;
  while (i < v.length && v[i] > 0x20 && v[i] !== 0x7f && !TOKEN_STOP.has(v[i])) i++; // 8-bit octets count, as atext
  return i;
}

/**
 * Whether SEARCH reads a part's body, by its last Content-Type field as Dovecot reads it: no such field
 * (RFC 2045 section 5.2: text/plain), or a type/subtype that parses, followed by nothing but parameters,
 * whose type is text or message.
 */
function searchedType(part: MimePart): boolean {
  const v = lastField(part, 'content-type');
  if (v === null) return true;
  const typeStart = skipCfws(v, 0);
  const typeEnd = tokenEnd(v, typeStart);
  if (typeEnd === typeStart) return false;
  let i = skipCfws(v, typeEnd);
  if (v[i] !== 0x2f) return false;
  const subStart = skipCfws(v, i + 1);
  const subEnd = tokenEnd(v, subStart);
  if (subEnd === subStart) return false;
  i = skipCfws(v, subEnd);
  if (i < v.length && v[i] !== 0x3b) return false;
  const type = v.toString('latin1', typeStart, typeEnd).toLowerCase();
  return type === 'text' || type === 'message';
}

/** The octets a base64 body may hold: its alphabet, the "=" padding, white space and line breaks. */
const BASE64_OCTETS = new Uint8Array(256);
for (const c of 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/= \t\r\n') BASE64_OCTETS[c.charCodeAt(0)] = 1;

/**
 * A base64 body as SEARCH reads it (Dovecot's search stops a part's base64 at its first broken character): the
 * octets decoded before the first character that has no place in base64, the rest of the part dropped. FETCH
 * BINARY skips such characters instead (transfer-decode.ts decodeBase64, which both use).
 */
function base64UntilBroken(data: Buffer): Buffer {
  let end = 0;
  while (end < data.length && BASE64_OCTETS[data[end]] === 1) end++;
  return decodeBase64(end === data.length ? data : data.subarray(0, end));
}

const KNOWN_ENCODINGS = new Set(['7bit', '8bit', 'binary', 'base64', 'quoted-printable']);

/** The part's body as SEARCH reads it, not yet folded; null when it is not read (an unknown transfer encoding). */
function searchPartText(raw: Buffer, part: MimePart): string | null {
  let body = raw.subarray(part.bodyStart, part.bodyEnd);
  const cte = lastField(part, 'content-transfer-encoding');
  if (cte !== null) {
    const at = skipCfws(cte, 0);
    const enc = cte.toString('latin1', at, tokenEnd(cte, at)).toLowerCase();
    if (!KNOWN_ENCODINGS.has(enc)) return null;
    if (enc === 'base64') body = base64UntilBroken(body);
    else if (enc === 'quoted-printable') body = decodeQuotedPrintable(body);
  }
  return searchCharset(body, charsetOf(part));
}

const UTF8_NAMES = new Set(['', 'utf-8', 'utf8', 'us-ascii', 'ascii']);

/** Octets in a declared charset as SEARCH reads them: UTF-8 (an invalid octet as U+FFFD) when none, ASCII or unknown. */
function searchCharset(b: Buffer, charset: string | undefined): string {
  if (charset === undefined) return utf8AsDovecot(b);
  let cs = charset.trim().toLowerCase();
  const star = cs.indexOf('*'); // RFC 2231 section 5 language: utf-8*en
  if (star >= 0) cs = cs.slice(0, star);
  if (UTF8_NAMES.has(cs)) return utf8AsDovecot(b);
  try {
    return libmimeCharset.decode(b, cs);
  } catch {
    return utf8AsDovecot(b);
  }
}

/** What BODY and TEXT search beyond the message's own header, folded (see the top of this file). */
export interface BodySearchTexts {
  /** BODY: the searched parts' decoded text, one part after another. */
  readonly bodyText: string;
  /** TEXT also: the header sections of MIME parts and attached messages (headerSearchText's lines). */
  readonly partHeadersText: string;
}

/** BODY's text and the part headers TEXT searches, walking the MIME tree FETCH uses (see the top of this file). */
export function bodySearchTexts(raw: Buffer): BodySearchTexts {
  const body: string[] = [];
  let headers = '';
  const visit = (part: MimePart, top: boolean): void => {
    if (!top) headers += headerSearchText(raw, part.headerStart, part.headerEnd);
    switch (part.kind) {
      case 'multipart':
        for (const child of part.children) visit(child, false);
        break;
      case 'message':
        // message/global: Dovecot 2.3's search reads it as text, its header and parts included (a message/rfc822
        // is parsed: its header is TEXT's only, its parts read one by one)
        if (part.subtype === 'global') addBody(part);
        else if (part.message !== undefined) visit(part.message, false);
        break;
      default:
        addBody(part);
    }
  };
  const addBody = (part: MimePart): void => {
    if (!searchedType(part)) return;
    const text = searchPartText(raw, part);
    if (text !== null) body.push(text);
  };
  visit(parseMime(raw, { lines: false }), true);
  return { bodyText: casemap(body.join('\n')), partHeadersText: headers };
}

/** Everything SEARCH searches in a message (for the index: the evaluator reads the same pieces lazily). */
export interface SearchTexts extends BodySearchTexts {
  /** The message's own header fields: HEADER, SUBJECT, FROM/TO/CC/BCC (address-text.ts) and SENT* read them. */
  readonly fields: readonly HeaderField[];
  /** TEXT: the message's own header (headerSearchText). */
  readonly headerText: string;
}

/**
 * How much of a header SEARCH's header keys read: all of it up to 10 MiB, Dovecot's bound for a header
 * block (message_parse_header's default); a larger header is searched in its first 10 MiB (README: IMAP limits).
 */
export const SEARCH_HEADER_MAX = 10 * 1024 * 1024;

/**
 * Everything SEARCH searches in `raw` (the whole message, CRLF line ends), folded where it is text. What each
 * key reads, so an index holds exactly that: BODY `bodyText`; TEXT `headerText`, `bodyText` and
 * `partHeadersText`; SUBJECT subjectSearchText(f.value) of each Subject field; HEADER name fieldSearchText(f.value)
 * of each field of that name; FROM/TO/CC/BCC address-text.ts addressSearchTexts(f.value) of each such field (each
 * address on its own). A key's needle goes through fold() (casemap.ts), and a message matches when a folded text
 * contains the folded needle.
 */
export function searchTexts(raw: Buffer): SearchTexts {
  const headerEnd = Math.min(raw.length, SEARCH_HEADER_MAX);
  return { fields: parseHeader(raw, 0, headerEnd), headerText: headerSearchText(raw, 0, headerEnd), ...bodySearchTexts(raw) };
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
