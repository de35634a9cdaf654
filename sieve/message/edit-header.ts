// editheader (RFC 5293): a field added at the top of the header (or after its last field with :last) and
// fields deleted, each giving a new message Buffer (the run keeps the latest in SieveOutcome.edited). Field
// names are checked (RFC 5322 section 3.6.8 ftext), values folded and RFC 2047-encoded when not ASCII (RFC 5293
// section 4: UTF-8 values are encoded). Some fields may not be deleted (RFC 5293 section 6: Received, and as
// Pigeonhole Auto-Submitted, whose loop protection a script must not remove).
import { decodeEncodedWords } from '../../mime/charset.js';
import { fieldName, fieldValue, forEachField } from '../../mime/header.js';
import { unfold } from './sieve-message.js';

/** Fields a script may not delete (RFC 5293 section 6; Pigeonhole: the trace and its loop protection). */
export const UNDELETABLE_HEADERS: readonly string[] = ['received', 'auto-submitted', 'x-sieve-redirected-from'];
/** Fields a script may not add (Pigeonhole: the redirect loop marker). */
export const UNADDABLE_HEADERS: readonly string[] = ['x-sieve-redirected-from'];

/** A field name per RFC 5322 section 3.6.8: one or more printable US-ASCII characters but ":". */
export function isValidHeaderName(name: string): boolean {
  return /^[\x21-\x39\x3b-\x7e]+$/.test(name);
}

/** A value addheader may add (RFC 5293 section 4, RFC 5322 section 3.2.5 unstructured): no NUL, no lone CR. */
export function isValidHeaderValue(value: string): boolean {
  return !/\0|\r(?!\n)/.test(value);
}

/**
 * Whether a script may add (`add`) or delete fields of this name: not Received or Auto-Submitted (RFC 5293
 * section 6, Pigeonhole: "deleting specified header field ... is forbidden"), not X-Sieve-Redirected-From; a
 * denied edit is a warning, the run goes on. Subject may always be changed.
 */
export function isEditAllowed(name: string, edit: 'add' | 'delete'): boolean {
  const n = name.toLowerCase();
  return !(edit === 'add' ? UNADDABLE_HEADERS : UNDELETABLE_HEADERS).includes(n);
}

/** The fields deleteheader may not delete (the first API's name, kept: UNDELETABLE_HEADERS). */
export const PROTECTED_HEADERS: readonly string[] = UNDELETABLE_HEADERS;

/** Whether deleteheader may not delete fields of this name (isEditAllowed(name, 'delete') negated). */
export function isProtectedHeader(name: string, protectedHeaders: readonly string[] = PROTECTED_HEADERS): boolean {
  const n = name.toLowerCase();
  return protectedHeaders.some((p) => p.toLowerCase() === n);
}

/** The name as Pigeonhole writes an added field: each "-"-separated word capitalised ("x-new" -> "X-New"). */
export function canonicalHeaderName(name: string): string {
  return name
    .split('-')
    .map((w) => (w === '' ? w : w[0].toUpperCase() + w.slice(1).toLowerCase()))
    .join('-');
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

const needsEncoding = (c: string) => c > '\x7e' || (c < ' ' && c !== '\t');

/**
 * One line of a value with its non-ASCII words encoded as Dovecot encodes them (RFC 2047): from the start of the
 * first word that needs it to the end of the last, as one run in UTF-8, Q when not much longer than B.
 */
function encodeLine(line: string): string {
  const chars = [...line];
  let first = chars.findIndex(needsEncoding);
  if (first < 0) return line;
  while (first > 0 && !/[ \t]/.test(chars[first - 1])) first--;
  let last = chars.length - 1;
  while (last >= 0 && !needsEncoding(chars[last])) last--;
  last++;
  while (last < chars.length && !/[ \t]/.test(chars[last])) last++;
  const run = Buffer.from(chars.slice(first, last).join(''));
  const encoded = run.filter((b) => b >= 0x80 || b < 0x20).length;
  const useQ = Math.floor(((run.length + encoded * 3) * 2) / 3) <= Math.ceil(run.length / 3) * 4;
  const qChar = (b: number) =>
    b === 0x20
      ? '_'
      : b < 0x20 || b >= 0x80 || b === 0x3d || b === 0x3f || b === 0x5f
        ? `=${b.toString(16).toUpperCase().padStart(2, '0')}`
        : String.fromCharCode(b);
  const word = useQ ? `=?utf-8?q?${[...run].map(qChar).join('')}?=` : `=?utf-8?b?${run.toString('base64')}?=`;
  return chars.slice(0, first).join('') + word + chars.slice(last).join('');
}

/** A value as addheader writes it: each of its lines encoded, a line break becoming a fold (CRLF TAB). */
function encodeValue(value: string): string[] {
  return value
    .replace(/\r?\n$/, '')
    .split(/\r?\n[ \t]?/)
    .map(encodeLine);
}

/** "Name: value" with each line folded at white space to stay within 76 octets where it can (RFC 5322 section 2.1.1). */
function foldField(name: string, lines: string[], eol: string): string {
  const out: string[] = [];
  let first = true;
  for (const line of lines) {
    let rest = first ? `${name}: ${line}` : `\t${line}`;
    first = false;
    while (rest.length > 76) {
      const cut = rest.lastIndexOf(' ', 76);
      if (cut <= name.length + 2) break;
      out.push(rest.slice(0, cut));
      rest = `\t${rest.slice(cut + 1)}`;
    }
    out.push(rest);
  }
  return out.join(eol) + eol;
}

/**
 * The message with "name: value" added (RFC 5293 section 4): first in the header, or after its last field
 * with `last` (:last). The name is written capitalised (canonicalHeaderName), the value encoded and folded;
 * the caller checks isValidHeaderName, isValidHeaderValue and isEditAllowed first.
 */
export function withHeaderAdded(message: Buffer, name: string, value: string, last = false): Buffer {
  const { fieldsEnd, eol } = headerEnd(message);
  const field = Buffer.from(foldField(canonicalHeaderName(name), encodeValue(value), eol));
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
