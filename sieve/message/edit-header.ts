// editheader (RFC 5293): a field added at the top of the header (or after its last field with :last) and
// fields deleted, each giving a new message Buffer (the run keeps the latest in SieveOutcome.edited). Field
// names are checked (RFC 5322 section 3.6.8 ftext), values folded and RFC 2047-encoded when not ASCII (RFC 5293
// section 5: UTF-8 values are encoded). Some fields may not be changed (RFC 5293 section 6: Received, and
// Pigeonhole adds Auto-Submitted: its loop protection must not be disabled by a script).
import { decodeEncodedWords } from '../../mime/charset.js';
import { fieldName, fieldValue, forEachField } from '../../mime/header.js';
import { unfold } from './sieve-message.js';

/** Fields a script may neither add nor delete (RFC 5293 section 6; Pigeonhole's defaults). */
export const PROTECTED_HEADERS: readonly string[] = ['received', 'auto-submitted'];

/** A field name per RFC 5322 section 3.6.8: one or more printable US-ASCII characters but ":". */
export function isValidHeaderName(name: string): boolean {
  return /^[\x21-\x39\x3b-\x7e]+$/.test(name);
}

/** A value addheader may add (RFC 5293 section 4): no NUL, no bare CR or LF (folding is the server's job). */
export function isValidHeaderValue(value: string): boolean {
  return !/[\0\r\n]/.test(value);
}

/** Whether a script may add or delete fields of this name (RFC 5293 section 6). */
export function isProtectedHeader(name: string, protectedHeaders: readonly string[] = PROTECTED_HEADERS): boolean {
  const n = name.toLowerCase();
  return protectedHeaders.some((p) => p.toLowerCase() === n);
}

/** Where the header's fields end (before its blank line), and the line end the message uses. */
function headerEnd(message: Buffer): { fieldsEnd: number; eol: string } {
  let fieldsEnd = 0;
  forEachField(message, 0, message.length, (f) => {
    fieldsEnd = f.end;
  });
  const lf = message.indexOf(0x0a);
  const eol = lf > 0 && message[lf - 1] === 0x0d ? '\r\n' : lf < 0 ? '\r\n' : '\n';
  return { fieldsEnd, eol };
}

/** "=?UTF-8?B?...?=" words for a non-ASCII value (RFC 2047), each word short enough for a 78-octet line. */
function encodeValue(value: string): string {
  if (!/[^\x20-\x7e\t]/.test(value)) return value;
  const words: string[] = [];
  let chunk = '';
  for (const ch of value) {
    if (Buffer.byteLength(chunk + ch) > 45) {
      words.push(chunk);
      chunk = '';
    }
    chunk += ch;
  }
  if (chunk !== '') words.push(chunk);
  return words.map((w) => `=?UTF-8?B?${Buffer.from(w).toString('base64')}?=`).join(' ');
}

/** "Name: value" folded at white space so that lines stay within 78 octets where they can (RFC 5322 section 2.1.1). */
function foldField(name: string, value: string, eol: string): string {
  const words = value.split(/(?<=[ \t])(?=\S)/);
  let out = `${name}: `;
  let line = out.length;
  for (const w of words) {
    if (line + w.length > 78 && line > name.length + 2) {
      out = `${out.replace(/[ \t]$/, '')}${eol}\t`;
      line = 1;
    }
    out += w;
    line += w.length;
  }
  return out + eol;
}

/**
 * The message with "name: value" added (RFC 5293 section 4): first in the header, or after its last field
 * with `last` (:last). The name is kept as the script wrote it; the value is encoded and folded.
 */
export function withHeaderAdded(message: Buffer, name: string, value: string, last = false): Buffer {
  const { fieldsEnd, eol } = headerEnd(message);
  const field = Buffer.from(foldField(name, encodeValue(value), eol));
  const at = last ? fieldsEnd : 0;
  return Buffer.concat([message.subarray(0, at), field, message.subarray(at)]);
}

/** One field as deleteheader's predicate sees it. */
export interface DeletableField {
  /** The name as written. */
  readonly name: string;
  /** The value unfolded with its encoded words decoded, as the header test compares it. */
  readonly value: string;
  /** 1-based position among the fields of that name (counted from the end with :last). */
  readonly index: number;
}

/**
 * The message without the fields named `name` that `matches` accepts (RFC 5293 section 5): the caller applies
 * the match type, comparator and value patterns; `at` keeps only the :index'th field (from the end with :last).
 * Returns the new message and how many fields went (0: the same Buffer back).
 */
export function withHeaderDeleted(
  message: Buffer,
  name: string,
  matches: (field: DeletableField) => boolean = () => true,
  at?: { readonly index: number; readonly last?: boolean },
): { message: Buffer; deleted: number } {
  const n = name.toLowerCase();
  const spans: { start: number; end: number; name: string; value: string }[] = [];
  forEachField(message, 0, message.length, (f) => {
    if (fieldName(message, f) !== n) return;
    const raw = fieldValue(message, f).toString('utf8');
    spans.push({ start: f.start, end: f.end, name: message.toString('latin1', f.nameStart, f.nameEnd), value: unfold(raw) });
  });
  const cut: { start: number; end: number }[] = [];
  spans.forEach((s, i) => {
    const index = at?.last ? spans.length - i : i + 1;
    if (at !== undefined && index !== at.index) return;
    if (matches({ name: s.name, value: decodeEncodedWords(s.value), index })) cut.push(s);
  });
  if (cut.length === 0) return { message, deleted: 0 };
  const pieces: Buffer[] = [];
  let pos = 0;
  for (const c of cut) {
    pieces.push(message.subarray(pos, c.start));
    pos = c.end;
  }
  pieces.push(message.subarray(pos));
  return { message: Buffer.concat(pieces), deleted: cut.length };
}
