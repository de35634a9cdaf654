// BODY[<section>] contents (RFC 9051 section 6.4.5, RFC 3501 section 6.4.5). HEADER, HEADER.FIELDS,
// HEADER.FIELDS.NOT and TEXT of a numbered part need a message/rfc822 (or message/global) part and
// then mean the embedded message; MIME is the part's own header. HEADER.FIELDS keeps the original
// lines (folding included), in header order, matched case-insensitively, and ends with the blank line
// (when the header has one). Hand-written: the octets must match Dovecot's byte for byte.
import type { MimePart } from '../../../mime/mime-tree.js';
import { fieldName, forEachField } from '../../../mime/header.js';
import { resolvePart } from './part-path.js';

export interface SectionSpec {
  part: number[];
  text?: 'HEADER' | 'HEADER.FIELDS' | 'HEADER.FIELDS.NOT' | 'TEXT' | 'MIME';
  fields?: string[];
}

const CRLF = Buffer.from('\r\n');

function hasBlankLine(raw: Buffer, m: MimePart): boolean {
  const e = m.headerEnd;
  if (e - m.headerStart === 2) return raw[e - 2] === 0x0d && raw[e - 1] === 0x0a;
  return e - m.headerStart >= 4 && raw.toString('latin1', e - 4, e) === '\r\n\r\n';
}

function headerFieldsSection(raw: Buffer, m: MimePart, names: string[], not: boolean): Buffer {
  const wanted = new Set(names.map((n) => n.toLowerCase()));
  const out: Buffer[] = [];
  // every field of the header, walked again (the tree keeps only those ENVELOPE and BODYSTRUCTURE read)
  const longest = Math.max(0, ...[...wanted].map((n) => n.length));
  forEachField(raw, m.headerStart, m.headerEnd, (f) => {
    const named = f.nameEnd - f.nameStart <= longest && wanted.has(fieldName(raw, f));
    if (named === not) return;
    out.push(raw.subarray(f.start, f.end));
    if (raw[f.end - 1] !== 0x0a) out.push(CRLF); // the header's last line had no CRLF
  });
  // "the blank line is included in all header fetches, except in the case of a message which has no
  // body and no blank line" (RFC 3501 section 6.4.5)
  if (hasBlankLine(raw, m)) out.push(CRLF);
  return Buffer.concat(out);
}

/**
 * The bytes of a section; null when the section does not exist (no such part, or HEADER/TEXT of a part
 * that is no message). The server then sends an empty string, as Dovecot does: RFC 9051 section 6.4.5
 * makes such a request not an error and body-section's nstring would allow NIL, but clients expect a
 * string there.
 */
export function sectionBytes(raw: Buffer, root: MimePart, spec: SectionSpec): Buffer | null {
  const part = spec.part.length === 0 ? root : resolvePart(root, spec.part);
  if (part === null) return null;
  if (spec.text === undefined) return spec.part.length === 0 ? raw : raw.subarray(part.bodyStart, part.bodyEnd);
  if (spec.text === 'MIME') return spec.part.length === 0 ? null : raw.subarray(part.headerStart, part.headerEnd);
  const m = spec.part.length === 0 ? root : part.kind === 'message' ? (part.message ?? null) : null;
  if (m === null) return null;
  switch (spec.text) {
    case 'HEADER':
      return raw.subarray(m.headerStart, m.headerEnd);
    case 'TEXT':
      return raw.subarray(m.bodyStart, m.bodyEnd);
    case 'HEADER.FIELDS':
      return headerFieldsSection(raw, m, spec.fields ?? [], false);
    case 'HEADER.FIELDS.NOT':
      return headerFieldsSection(raw, m, spec.fields ?? [], true);
  }
  return null;
}
