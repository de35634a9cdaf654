// Header fields of one header section (RFC 5322 section 2.2): name, unfolded-by-the-reader value and
// the raw lines. The value is what Dovecot calls the full value: the bytes after the colon with the first
// line's leading white space skipped, the folding CRLFs kept (readers treat them as white space), the
// final CRLF left out.
//
// Bounded work whatever the header holds (a message can carry a million fields or 48 MB of header):
// the fields are walked once (forEachField) without keeping them; the MIME tree keeps only the fields
// ENVELOPE and BODYSTRUCTURE read (KEPT_FIELDS), at most MAX_KEPT_FIELDS of them per header, and
// structured values are parsed from their first MAX_PARSED_VALUE octets. HEADER.FIELDS sections walk
// the raw header again (sections.ts), so they see every field.

export interface HeaderField {
  /** lower-case field name (trailing white space before the colon dropped) */
  name: string;
  value: Buffer;
  /** the field's raw lines, [start, end) in the message, the last CRLF included when there is one */
  start: number;
  end: number;
}

/** Most fields of one header the MIME tree keeps for ENVELOPE and BODYSTRUCTURE (README: IMAP limits). */
export const MAX_KEPT_FIELDS = 1000;
/** Octets of a kept field's value that ENVELOPE and BODYSTRUCTURE read (README: IMAP limits). */
export const MAX_PARSED_VALUE = 64 * 1024;

/** The fields ENVELOPE (RFC 9051 section 7.5.2) and BODYSTRUCTURE (RFC 2045, 2183, 3282, 2557) read. */
const KEPT_FIELDS = new Set([
  'date',
  'subject',
  'from',
  'sender',
  'reply-to',
  'to',
  'cc',
  'bcc',
  'in-reply-to',
  'message-id',
  'mime-version',
  'content-type',
  'content-transfer-encoding',
  'content-id',
  'content-description',
  'content-md5',
  'content-disposition',
  'content-language',
  'content-location',
]);
const LONGEST_KEPT = Math.max(...[...KEPT_FIELDS].map((n) => n.length));
/** Length and lower-case first letter of each kept name: most other fields are told apart without a string. */
const KEPT_SHAPES = new Set([...KEPT_FIELDS].map((n) => n.length * 256 + n.charCodeAt(0)));

/** One field as forEachField reports it: positions only, nothing copied. */
export interface FieldSpan {
  nameStart: number;
  nameEnd: number;
  /** where the value starts (after the colon; the first line's white space not yet skipped) */
  valueStart: number;
  start: number;
  end: number;
}

/**
 * Calls `visit` for each field of raw[start, end) in order, once the field's continuation lines are
 * known; stops at the blank line that ends the header. One pass, no allocation per field.
 */
export function forEachField(raw: Buffer, start: number, end: number, visit: (f: FieldSpan) => void): void {
  let open: FieldSpan | null = null;
  let pos = start;
  while (pos < end) {
    let lf = raw.indexOf(0x0a, pos);
    if (lf < 0 || lf >= end) lf = end;
    const next = lf < end ? lf + 1 : end;
    const lineEnd = lf > pos && raw[lf - 1] === 0x0d ? lf - 1 : lf;
    if (lineEnd === pos && lf < end) break; // the blank line that ends the header
    const c = raw[pos];
    if ((c === 0x20 || c === 0x09) && open !== null) {
      open.end = next; // a continuation line (RFC 5322 section 2.2.3)
      pos = next;
      continue;
    }
    if (open !== null) visit(open);
    let colon = pos; // a loop, not indexOf: names are short, and a native call costs more than the scan
    while (colon < lineEnd && raw[colon] !== 0x3a) colon++;
    let nameEnd = colon;
    const valueStart = nameEnd < lineEnd ? nameEnd + 1 : lineEnd;
    while (nameEnd > pos && (raw[nameEnd - 1] === 0x20 || raw[nameEnd - 1] === 0x09)) nameEnd--;
    open = { nameStart: pos, nameEnd, valueStart, start: pos, end: next };
    pos = next;
  }
  if (open !== null) visit(open);
}

/** The lower-case name of a field. */
export function fieldName(raw: Buffer, f: FieldSpan): string {
  return raw.toString('latin1', f.nameStart, f.nameEnd).toLowerCase();
}

/** The field's value: first-line white space skipped, the final line end left out. */
export function fieldValue(raw: Buffer, f: Pick<FieldSpan, 'valueStart' | 'end'>): Buffer {
  let v = f.valueStart;
  let e = f.end;
  if (e > v && raw[e - 1] === 0x0a) e--;
  if (e > v && raw[e - 1] === 0x0d) e--;
  while (v < e && (raw[v] === 0x20 || raw[v] === 0x09)) v++;
  return raw.subarray(v, e);
}

function toField(raw: Buffer, f: FieldSpan, name: string, maxValue = Infinity): HeaderField {
  const value = fieldValue(raw, f);
  return { name, value: value.length > maxValue ? value.subarray(0, maxValue) : value, start: f.start, end: f.end };
}

/** Every field of raw[start, end) (a header section, its blank line excluded or not). */
export function headerFields(raw: Buffer, start: number, end: number): HeaderField[] {
  const fields: HeaderField[] = [];
  forEachField(raw, start, end, (f) => fields.push(toField(raw, f, fieldName(raw, f))));
  return fields;
}

/**
 * The fields ENVELOPE and BODYSTRUCTURE read (at most MAX_KEPT_FIELDS), and where the last field of
 * the header ends (BINARY rewrites the header up to there).
 */
export function keptHeaderFields(raw: Buffer, start: number, end: number): { fields: HeaderField[]; fieldsEnd: number } {
  const fields: HeaderField[] = [];
  let fieldsEnd = start;
  forEachField(raw, start, end, (f) => {
    fieldsEnd = f.end;
    const length = f.nameEnd - f.nameStart;
    if (fields.length >= MAX_KEPT_FIELDS || length > LONGEST_KEPT || !KEPT_SHAPES.has(length * 256 + (raw[f.nameStart] | 0x20))) return;
    const name = fieldName(raw, f);
    if (KEPT_FIELDS.has(name)) fields.push(toField(raw, f, name, MAX_PARSED_VALUE));
  });
  return { fields, fieldsEnd };
}
