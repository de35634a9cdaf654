// The FETCH data items a client may ask for (RFC 9051 section 6.4.5, RFC 3501's RFC822 forms, BINARY
// from RFC 3516), parsed into what fetch.ts answers.
import { bad } from '../imap-error.js';
import type { SectionSpec } from '../message/sections.js';
import type { Cursor } from '../wire/cursor.js';
import { quoteClient } from '../../../sessions/client-text.js';
import { type ExtraItem, parseExtraItem } from './extra-items.js';

export type FetchItem =
  | {
      kind:
        | 'UID'
        | 'FLAGS'
        | 'INTERNALDATE'
        | 'RFC822.SIZE'
        | 'ENVELOPE'
        | 'BODYSTRUCTURE'
        | 'BODY'
        | 'RFC822'
        | 'RFC822.HEADER'
        | 'RFC822.TEXT'
        /** RFC 7162 section 3.1.4 */
        | 'MODSEQ';
    }
  /** BODY[...] / BODY.PEEK[...] / BINARY[...] / BINARY.PEEK[...]; `section` null is the whole message. */
  | {
      kind: 'section';
      binary: boolean;
      peek: boolean;
      section: SectionSpec | null;
      label: string;
      partial: { start: number; length: number } | null;
    }
  | { kind: 'BINARY.SIZE'; part: number[]; label: string }
  | ExtraItem;

const SIMPLE = new Set([
  'UID',
  'FLAGS',
  'INTERNALDATE',
  'RFC822.SIZE',
  'ENVELOPE',
  'BODYSTRUCTURE',
  'BODY',
  'RFC822',
  'RFC822.HEADER',
  'RFC822.TEXT',
  'MODSEQ',
]);
const MACROS: Record<string, string[]> = {
  ALL: ['FLAGS', 'INTERNALDATE', 'RFC822.SIZE', 'ENVELOPE'],
  FAST: ['FLAGS', 'INTERNALDATE', 'RFC822.SIZE'],
  FULL: ['FLAGS', 'INTERNALDATE', 'RFC822.SIZE', 'ENVELOPE', 'BODY'],
};

/** True when an item sets \Seen (RFC 9051: BODY[...] without PEEK, RFC822, RFC822.TEXT, BINARY[...]). */
export function setsSeen(item: FetchItem): boolean {
  return (item.kind === 'section' && !item.peek) || item.kind === 'RFC822' || item.kind === 'RFC822.TEXT';
}

/** A header field name (RFC 5322 section 3.6.8: printable ASCII but ":"); it is echoed in the answer's section label. */
function fieldName(name: string): string {
  if (!/^[\x21-\x39\x3b-\x7e]+$/.test(name)) throw bad(`${quoteClient(name, 30)} is not a header field name`);
  return name.toUpperCase();
}

function parseSection(a: Cursor, binary: boolean): { spec: SectionSpec | null; label: string } {
  a.expect(0x5b, '"["');
  const text = a.until('] (').toUpperCase();
  const parts = text === '' ? [] : text.split('.');
  const part: number[] = [];
  while (parts.length > 0 && /^[1-9]\d{0,8}$/.test(parts[0])) part.push(Number(parts.shift()));
  const rest = parts.join('.');
  let spec: SectionSpec;
  let label = text;
  if (binary) {
    if (rest !== '') throw bad(`BINARY takes a part number only, not ${quoteClient(rest, 30)}`);
    spec = { part };
  } else if (rest === '') spec = { part };
  else if (rest === 'HEADER' || rest === 'TEXT' || (rest === 'MIME' && part.length > 0)) spec = { part, text: rest };
  else if (rest === 'HEADER.FIELDS' || rest === 'HEADER.FIELDS.NOT') {
    a.sp();
    const fields: string[] = [];
    a.list(() => fields.push(fieldName(a.astring('a header field name'))), 'the header field names');
    if (fields.length === 0) throw bad('HEADER.FIELDS needs at least one field name');
    spec = { part, text: rest, fields };
    label = `${text} (${fields.join(' ')})`;
  } else throw bad(`Unknown section ${quoteClient(text, 40)}`);
  a.expect(0x5d, '"]" closing the section');
  if (text === '') return { spec: null, label: '' };
  return { spec, label };
}

function parsePartial(a: Cursor): { start: number; length: number } | null {
  if (!a.accept(0x3c)) return null; // "<"
  const start = a.number('the first octet of a partial fetch');
  a.expect(0x2e, '"." in <start.length>');
  const length = a.number('the length of a partial fetch');
  if (length === 0) throw bad('A partial fetch needs a length of at least 1');
  a.expect(0x3e, '">" closing <start.length>');
  return { start, length };
}

function parseItem(a: Cursor): FetchItem[] {
  const name = a.until('[ ()').toUpperCase();
  if (name === '') a.fail('a FETCH item');
  if (MACROS[name]) return MACROS[name].map((kind) => ({ kind }) as FetchItem);
  if ((name === 'BODY' || name === 'BODY.PEEK' || name === 'BINARY' || name === 'BINARY.PEEK') && a.peek() === 0x5b) {
    const binary = name.startsWith('BINARY');
    const { spec, label } = parseSection(a, binary);
    return [{ kind: 'section', binary, peek: name.endsWith('.PEEK'), section: spec, label, partial: parsePartial(a) }];
  }
  if (name === 'BINARY.SIZE' && a.peek() === 0x5b) {
    const { spec, label } = parseSection(a, true);
    return [{ kind: 'BINARY.SIZE', part: spec?.part ?? [], label }];
  }
  if (SIMPLE.has(name)) return [{ kind: name } as FetchItem];
  const extra = parseExtraItem(name, a);
  if (extra) return [extra];
  throw bad(`Unknown FETCH item ${quoteClient(name, 30)}`);
}

/** fetch-att, a macro, or a parenthesised list of fetch-atts. */
export function parseFetchItems(a: Cursor): FetchItem[] {
  const items: FetchItem[] = [];
  if (a.peek() === 0x28) a.list(() => items.push(...parseItem(a)), 'the FETCH items');
  else items.push(...parseItem(a));
  if (items.length === 0) throw bad('FETCH needs at least one item');
  return items;
}
