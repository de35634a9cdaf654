// The searchable text of a message for SEARCH (evaluate.ts): header fields unfolded with RFC 2047 encoded
// words decoded, the Date: field's calendar day, and the decoded text of the body's text parts. A small
// MIME reader of our own, lenient by design: nothing here throws on malformed input, whatever the bytes.
// Charsets go through the WHATWG TextDecoder (Node's ICU: UTF-8/16, ISO-8859-x, windows-125x, KOI8-R/U,
// GB18030, Big5, Shift_JIS, EUC-JP/KR, ISO-2022-JP ...), plus UTF-7 here; an unknown charset is read as
// UTF-8 when the bytes are valid UTF-8, else as windows-1252 — as is 8-bit text with no charset at all.
import { isUtf8 } from 'node:buffer';

/** i;unicode-casemap, approximately: NFC, then lower case. Both needle and haystack go through this. */
export function fold(s: string): string {
  return s.normalize('NFC').toLowerCase();
}

// ---- charsets ----

const decoders = new Map<string, TextDecoder | null>();

function decoderFor(charset: string): TextDecoder | null {
  let d = decoders.get(charset);
  if (d === undefined) {
    try {
      d = new TextDecoder(charset, { fatal: false });
    } catch {
      d = null; // not a WHATWG label
    }
    if (decoders.size < 256) decoders.set(charset, d);
  }
  return d;
}

// windows-1252's 0x80-0x9F (undefined ones as the C1 control of that code). Node 20's TextDecoder
// decodes the windows-1252 labels (latin1, iso-8859-1, us-ascii ...) as plain ISO-8859-1, so this is ours.
const CP1252_HIGH = [
  0x20ac, 0x81, 0x201a, 0x192, 0x201e, 0x2026, 0x2020, 0x2021, 0x2c6, 0x2030, 0x160, 0x2039, 0x152, 0x8d, 0x17d, 0x8f,
  0x90, 0x2018, 0x2019, 0x201c, 0x201d, 0x2022, 0x2013, 0x2014, 0x2dc, 0x2122, 0x161, 0x203a, 0x153, 0x9d, 0x17e, 0x178,
];

function decodeWindows1252(b: Uint8Array): string {
  const s = Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('latin1');
  return /[\x80-\x9f]/.test(s) ? s.replace(/[\x80-\x9f]/g, (c) => String.fromCharCode(CP1252_HIGH[c.charCodeAt(0) - 0x80])) : s;
}

/** Bytes with no (usable) charset: UTF-8 when they are valid UTF-8 (ASCII is), else windows-1252. */
export function decodeUnknown(b: Uint8Array): string {
  if (isUtf8(b)) return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('utf8');
  return decodeWindows1252(b);
}

/** UTF-7 (RFC 2152), which TextDecoder does not know: "+" modified-base64 UTF-16 "-". */
function decodeUtf7(b: Uint8Array): string {
  const s = Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('latin1');
  return s.replace(/\+([A-Za-z0-9+/]*)-?/g, (_m, b64: string) => {
    if (b64 === '') return '+';
    const bytes = Buffer.from(b64, 'base64');
    let out = '';
    for (let i = 0; i + 1 < bytes.length; i += 2) out += String.fromCharCode((bytes[i] << 8) | bytes[i + 1]);
    return out;
  });
}

/** Bytes in a declared charset (a MIME parameter or an encoded word's), to a string. */
export function decodeCharset(b: Uint8Array, charset: string | undefined): string {
  if (charset === undefined) return decodeUnknown(b);
  let cs = charset.trim().toLowerCase();
  const star = cs.indexOf('*'); // RFC 2231 language: utf-8*en
  if (star >= 0) cs = cs.slice(0, star);
  if (cs === '' || cs === 'us-ascii' || cs === 'ascii' || cs === 'utf-8' || cs === 'utf8') return decodeUnknown(b);
  if (cs === 'utf-7' || cs === 'utf7' || cs === 'unicode-1-1-utf-7') return decodeUtf7(b);
  const d = decoderFor(cs);
  if (d === null) return decodeUnknown(b);
  if (d.encoding === 'windows-1252') return decodeWindows1252(b);
  try {
    return d.decode(b);
  } catch {
    return decodeUnknown(b);
  }
}

// ---- RFC 2047 encoded words ----

const ENCODED_WORD = /=\?([^?\s]+)\?([QqBb])\?([^?\s]*)\?=/g;

function qBytes(text: string): Buffer {
  const out = Buffer.alloc(text.length);
  let n = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x5f) out[n++] = 0x20; // "_"
    else if (c === 0x3d && i + 2 < text.length && /^[0-9A-Fa-f]{2}$/.test(text.slice(i + 1, i + 3))) {
      out[n++] = parseInt(text.slice(i + 1, i + 3), 16);
      i += 2;
    } else out[n++] = c & 0xff;
  }
  return out.subarray(0, n);
}

/**
 * Decodes the encoded words in a header value (already a string). White space between two adjacent
 * encoded words goes (RFC 2047 section 6.2); adjacent words in one charset are joined as bytes before
 * decoding, so a character split across two words survives. Words also decode inside quoted strings and
 * words, as real mailers need. A word that is not well-formed stays as it is.
 */
export function decodeEncodedWords(value: string): string {
  if (value.indexOf('=?') < 0) return value;
  let out = '';
  let last = 0;
  let pendingCharset: string | undefined;
  let pending: Buffer[] = [];
  const flush = (): void => {
    if (pending.length > 0) out += decodeCharset(Buffer.concat(pending), pendingCharset);
    pending = [];
    pendingCharset = undefined;
  };
  ENCODED_WORD.lastIndex = 0;
  for (let m = ENCODED_WORD.exec(value); m !== null; m = ENCODED_WORD.exec(value)) {
    const between = value.slice(last, m.index);
    const charset = m[1].toLowerCase();
    const bytes = m[2] === 'B' || m[2] === 'b' ? Buffer.from(m[3], 'base64') : qBytes(m[3]);
    const adjacent = pending.length > 0 && /^[ \t\r\n]*$/.test(between);
    if (adjacent && charset === pendingCharset) pending.push(bytes);
    else {
      flush();
      if (!adjacent) out += between;
      pendingCharset = charset;
      pending = [bytes];
    }
    last = m.index + m[0].length;
  }
  flush();
  return out + value.slice(last);
}

// ---- header section ----

export interface HeaderField {
  /** Lower case. */
  readonly name: string;
  /** The unfolded value's bytes, leading white space dropped. */
  readonly value: Buffer;
}

/** Where the header section of `b` ends: [end of header, start of body]. No blank line: all header. */
export function splitHeader(b: Buffer): [number, number] {
  let pos = 0;
  while (pos < b.length) {
    const nl = b.indexOf(0x0a, pos);
    const lineEnd = nl < 0 ? b.length : nl;
    const contentEnd = lineEnd > pos && b[lineEnd - 1] === 0x0d ? lineEnd - 1 : lineEnd;
    if (contentEnd === pos && nl >= 0) return [pos, nl + 1];
    if (nl < 0) break;
    pos = nl + 1;
  }
  return [b.length, b.length];
}

/**
 * One field: its value's bytes are cut out of the header only when asked for, so a header of a million
 * fields keeps a million small records, not a million buffers (SEARCH stays bounded in time and memory).
 */
class LazyField implements HeaderField {
  /** continuation lines after the first, as [start, end) pairs; null for a one-line field */
  more: number[] | null = null;
  constructor(
    readonly name: string,
    private readonly b: Buffer,
    private readonly start: number,
    private readonly end: number,
  ) {}

  get value(): Buffer {
    const first = this.b.subarray(this.start, this.end);
    if (this.more === null) return first;
    const parts = [first];
    for (let i = 0; i < this.more.length; i += 2) parts.push(this.b.subarray(this.more[i], this.more[i + 1]));
    return Buffer.concat(parts);
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

/** The fields of a header section, in order. Lines that are no field (no colon, a stray "From ") are skipped. */
export function parseHeader(b: Buffer): HeaderField[] {
  const fields: HeaderField[] = [];
  const names = new Map<number, string>();
  const end = splitHeader(b)[0];
  let open: LazyField | null = null;
  let pos = 0;
  while (pos < end) {
    let nl = b.indexOf(0x0a, pos);
    if (nl < 0 || nl > end) nl = end;
    let lineEnd = nl;
    if (lineEnd > pos && b[lineEnd - 1] === 0x0d) lineEnd--;
    const lineStart = pos;
    pos = nl + 1;
    if (lineEnd === lineStart) continue;
    if (b[lineStart] === 0x20 || b[lineStart] === 0x09) {
      // unfolding: the line break goes, the white space stays
      if (open !== null) (open.more ??= []).push(lineStart, lineEnd);
      continue;
    }
    open = null;
    const colon = b.indexOf(0x3a, lineStart);
    if (colon < 0 || colon >= lineEnd || colon === lineStart) continue;
    let nameEnd = colon;
    while (nameEnd > lineStart && (b[nameEnd - 1] === 0x20 || b[nameEnd - 1] === 0x09)) nameEnd--; // obs: "Subject :"
    let bad = nameEnd === lineStart;
    let hash = nameEnd - lineStart;
    for (let i = lineStart; i < nameEnd && !bad; i++) {
      const c = b[i];
      if (c <= 0x20 || c === 0x7f || c === 0xa0) bad = true;
      hash = (hash * 31 + (c >= 0x41 && c <= 0x5a ? c + 32 : c)) | 0;
    }
    if (bad) continue;
    let v = colon + 1;
    while (v < lineEnd && (b[v] === 0x20 || b[v] === 0x09)) v++;
    // names repeat: one string per distinct name, not one per field
    let name = names.get(hash);
    if (name === undefined || !sameName(name, b, lineStart, nameEnd)) {
      name = b.toString('latin1', lineStart, nameEnd).toLowerCase();
      if (names.size < 1000) names.set(hash, name);
    }
    open = new LazyField(name, b, v, lineEnd);
    fields.push(open);
  }
  return fields;
}

/** A field's value as text: raw 8-bit as UTF-8 or windows-1252, encoded words decoded, tabs as spaces. */
export function fieldText(value: Buffer): string {
  return decodeEncodedWords(decodeUnknown(value)).replace(/[\t\r\n]/g, ' ').trim();
}

// ---- Date: ----

const MONTHS: Record<string, number> = {
  jan: 1, feb: 2, mar: 3, apr: 4, may: 5, jun: 6, jul: 7, aug: 8, sep: 9, oct: 10, nov: 11, dec: 12,
};

export interface Day {
  readonly year: number;
  readonly month: number;
  readonly day: number;
}

function validDay(year: number, month: number, day: number): Day | null {
  if (!(month >= 1 && month <= 12 && day >= 1 && day <= 31 && year >= 0 && year <= 9999)) return null;
  return { year, month, day };
}

/**
 * The calendar day of an RFC 5322 date-time as written (its own zone; the time and zone are ignored),
 * leniently: day-of-week optional, obsolete 2- and 3-digit years (RFC 5322 section 4.3), full month names,
 * comments, stray punctuation; failing that an ISO 8601 "yyyy-mm-dd". Null when there is no date in it.
 */
export function parseDateDay(text: string): Day | null {
  const s = text.replace(/\([^()]*\)/g, ' ');
  const m = /(?:^|[^0-9])(\d{1,2})[\s\-.]*([a-z]{3})[a-z]*\.?[\s\-.,]*(\d{2,4})(?![0-9])/i.exec(s);
  if (m) {
    const month = MONTHS[m[2].toLowerCase()];
    if (month !== undefined) {
      let year = Number(m[3]);
      if (m[3].length === 2) year += year < 50 ? 2000 : 1900;
      else if (m[3].length === 3) year += 1900;
      const d = validDay(year, month, Number(m[1]));
      if (d) return d;
    }
  }
  const iso = /(\d{4})-(\d{1,2})-(\d{1,2})/.exec(s);
  if (iso) return validDay(Number(iso[1]), Number(iso[2]), Number(iso[3]));
  return null;
}

// ---- MIME body text ----

interface ContentType {
  readonly type: string; // "text/plain", lower case
  readonly params: Map<string, string>;
}

/** Content-Type parameters (quoted strings, RFC 2231 name*= and name*0*= continuations), leniently. */
function parseParams(s: string): Map<string, string> {
  const raw = new Map<string, string>();
  const re = /;\s*([^\s=;]+)\s*=\s*("(?:[^"\\]|\\.)*"?|[^;]*)/g;
  for (let m = re.exec(s); m !== null; m = re.exec(s)) {
    let v = m[2].trim();
    if (v.startsWith('"')) v = v.slice(1, v.endsWith('"') && v.length > 1 ? -1 : undefined).replace(/\\(.)/g, '$1');
    const k = m[1].toLowerCase();
    if (!raw.has(k)) raw.set(k, v);
  }
  const params = new Map<string, string>();
  const continued = new Map<string, { n: number; v: string; ext: boolean }[]>();
  for (const [k, v] of raw) {
    const c = /^([^*]+)\*(\d+)?(\*)?$/.exec(k);
    if (!c) {
      params.set(k, v);
      continue;
    }
    const list = continued.get(c[1]) ?? [];
    list.push({ n: c[2] === undefined ? 0 : Number(c[2]), v, ext: c[3] !== undefined || c[2] === undefined });
    continued.set(c[1], list);
  }
  for (const [k, list] of continued) {
    if (params.has(k)) continue;
    list.sort((a, b) => a.n - b.n);
    let charset: string | undefined;
    const bytes: Buffer[] = [];
    for (const [i, p] of list.entries()) {
      let v = p.v;
      if (p.ext) {
        if (i === 0) {
          const q = /^([^']*)'[^']*'(.*)$/.exec(v);
          if (q) {
            charset = q[1] || undefined;
            v = q[2];
          }
        }
        bytes.push(Buffer.from(v.replace(/%([0-9A-Fa-f]{2})/g, (_m, h: string) => String.fromCharCode(parseInt(h, 16))), 'latin1'));
      } else bytes.push(Buffer.from(v, 'latin1'));
    }
    params.set(k, decodeCharset(Buffer.concat(bytes), charset));
  }
  return params;
}

function parseContentType(value: string | undefined, fallback: string): ContentType {
  if (value === undefined) return { type: fallback, params: new Map() };
  const semi = value.indexOf(';');
  const t = (semi < 0 ? value : value.slice(0, semi)).replace(/\([^()]*\)/g, '').trim().toLowerCase();
  const params = semi < 0 ? new Map<string, string>() : parseParams(value.slice(semi));
  // A type that is no type/subtype (RFC 2045 section 5.2): text/plain, as if the field were absent.
  return { type: /^[^\s/]+\/[^\s/]+$/.test(t) ? t : 'text/plain', params };
}

function decodeQuotedPrintable(b: Buffer): Buffer {
  const out = Buffer.alloc(b.length);
  let n = 0;
  const hex = (c: number): number =>
    c >= 0x30 && c <= 0x39 ? c - 0x30 : c >= 0x41 && c <= 0x46 ? c - 0x37 : c >= 0x61 && c <= 0x66 ? c - 0x57 : -1;
  for (let i = 0; i < b.length; i++) {
    const c = b[i];
    if (c !== 0x3d) {
      out[n++] = c;
      continue;
    }
    const h = i + 1 < b.length ? hex(b[i + 1]) : -1;
    const l = i + 2 < b.length ? hex(b[i + 2]) : -1;
    if (h >= 0 && l >= 0) {
      out[n++] = (h << 4) | l;
      i += 2;
      continue;
    }
    // A soft line break: "=" then optional trailing white space then CRLF or LF.
    let j = i + 1;
    while (j < b.length && (b[j] === 0x20 || b[j] === 0x09)) j++;
    if (j < b.length && b[j] === 0x0d) j++;
    if (j < b.length && b[j] === 0x0a) {
      i = j;
      continue;
    }
    if (j >= b.length) break;
    out[n++] = c; // a stray "=": kept
  }
  return out.subarray(0, n);
}

function decodeTransfer(b: Buffer, cte: string | undefined): Buffer {
  const e = (cte ?? '').replace(/\([^()]*\)/g, '').trim().toLowerCase();
  if (e === 'base64') return Buffer.from(b.toString('latin1').replace(/[^A-Za-z0-9+/]/g, ''), 'base64');
  if (e === 'quoted-printable') return decodeQuotedPrintable(b);
  return b; // 7bit, 8bit, binary, and anything unknown: as it is
}

/** The offsets of the boundary delimiter lines of `boundary` in `body`: [line start, after the line, is close]. */
function delimiters(body: Buffer, boundary: string): [number, number, boolean][] {
  const dashes = Buffer.from(`--${boundary}`, 'latin1');
  const out: [number, number, boolean][] = [];
  let pos = 0;
  while (pos <= body.length) {
    const i = body.indexOf(dashes, pos);
    if (i < 0) break;
    pos = i + 1;
    if (i > 0 && body[i - 1] !== 0x0a) continue;
    let j = i + dashes.length;
    let close = false;
    if (body[j] === 0x2d && body[j + 1] === 0x2d) {
      close = true;
      j += 2;
    }
    while (j < body.length && (body[j] === 0x20 || body[j] === 0x09)) j++;
    if (j < body.length && body[j] === 0x0d) j++;
    if (j < body.length && body[j] !== 0x0a) continue; // "--boundaryX": some other line
    const after = j < body.length ? j + 1 : j;
    out.push([i, after, close]);
    if (close) break;
    pos = after;
  }
  return out;
}

/** Where a part's content ends before a delimiter line: the line break before it belongs to the delimiter. */
function contentEnd(body: Buffer, start: number, delimiterStart: number): number {
  let e = delimiterStart;
  if (e > start && body[e - 1] === 0x0a) e--;
  if (e > start && body[e - 1] === 0x0d) e--;
  return e;
}

const MAX_DEPTH = 30;
const MAX_PARTS = 2000;

/** The decoded header of a message as searchable text: one "name: value" line per field. */
export function headerText(fields: readonly HeaderField[]): string {
  let s = '';
  for (const f of fields) s += `${f.name}: ${fieldText(f.value)}\n`;
  return s;
}

/**
 * The texts BODY searches in a whole message: every text/* part decoded (transfer encoding, then charset),
 * and for message/rfc822 (and message/global) parts the embedded message's header text and, recursively,
 * its body. Other types (images, application/*, ...) are skipped. A multipart without a boundary, or whose
 * boundary never occurs, is read as text/plain. Preambles and epilogues are skipped. Never throws.
 */
export function bodyTexts(raw: Buffer): string[] {
  const out: string[] = [];
  let parts = 0;
  const entity = (b: Buffer, fallbackType: string, depth: number, isMessage: boolean): void => {
    if (++parts > MAX_PARTS) return;
    const [headerEnd, bodyStart] = splitHeader(b);
    const fields = parseHeader(b.subarray(0, headerEnd));
    if (isMessage && depth > 0) out.push(headerText(fields));
    let ct: string | undefined;
    let cte: string | undefined;
    for (const f of fields) {
      if (ct === undefined && f.name === 'content-type') ct = decodeUnknown(f.value);
      else if (cte === undefined && f.name === 'content-transfer-encoding') cte = decodeUnknown(f.value);
    }
    const type = parseContentType(ct, fallbackType);
    const body = b.subarray(bodyStart);
    if (type.type.startsWith('multipart/') && depth < MAX_DEPTH) {
      const boundary = type.params.get('boundary');
      const delims = boundary ? delimiters(body, boundary) : [];
      if (delims.length === 0) {
        out.push(decodeCharset(decodeTransfer(body, cte), type.params.get('charset')));
        return;
      }
      const childType = type.type === 'multipart/digest' ? 'message/rfc822' : 'text/plain';
      for (let i = 0; i < delims.length; i++) {
        const [, start, close] = delims[i];
        if (close) break;
        const end = i + 1 < delims.length ? contentEnd(body, start, delims[i + 1][0]) : body.length; // unclosed: to the end
        entity(body.subarray(start, end), childType, depth + 1, false);
      }
      return;
    }
    if ((type.type === 'message/rfc822' || type.type === 'message/global') && depth < MAX_DEPTH) {
      entity(decodeTransfer(body, cte), 'text/plain', depth + 1, true);
      return;
    }
    if (type.type.startsWith('text/') || type.type.startsWith('multipart/')) {
      out.push(decodeCharset(decodeTransfer(body, cte), type.params.get('charset')));
    }
  };
  try {
    entity(raw, 'text/plain', 0, true);
  } catch {
    // Should not happen; if it does, search the raw bytes rather than nothing.
    return [decodeUnknown(raw)];
  }
  return out;
}
