// What the SEARCH index keeps of a message: the text SEARCH's keys read, decoded and folded exactly as the
// evaluator (modules/imap/search/evaluate.ts) reads it, per field (store/contract.ts SearchIndexField).
// A needle the evaluator finds in a field is then a substring of that field's text here, so each of its
// trigrams is in the index (fts-query.ts). Several values of one field are joined by a line end: a needle
// that spans two of them matches nothing in the evaluator, and at most widens the index's answer.
import { addressFieldText } from '../../mime/address-text.js';
import { bodyTexts, fieldText, fold, headerText, parseHeader } from '../../mime/mime-text.js';
import type { SearchIndexField } from '../contract.js';

/** The header the evaluator reads: its first 10 MiB (SEARCH_HEADER_MAX in modules/imap/search/evaluate.ts). */
const HEADER_MAX = 10 * 1024 * 1024;

const ADDRESS_FIELDS = ['from', 'to', 'cc', 'bcc'] as const;

export type IndexedText = Record<SearchIndexField, string>;

/** The index's text of a message, from its octets with CRLF line ends (as SEARCH reads them: crlf.ts). */
export function indexedText(raw: Buffer): IndexedText {
  const fields = parseHeader(raw, 0, Math.min(raw.length, HEADER_MAX));
  const values = (name: string, text: (v: Buffer) => string): string =>
    fields
      .filter((f) => f.name === name)
      .map((f) => fold(text(f.value)))
      .join('\n');
  const text: IndexedText = {
    subject: values('subject', fieldText),
    from: '',
    to: '',
    cc: '',
    bcc: '',
    header: fold(headerText(fields)),
    body: fold(bodyTexts(raw).join('\n')),
    parts: '',
  };
  for (const name of ADDRESS_FIELDS) text[name] = values(name, (v) => fieldText(addressFieldText(v)));
  return text;
}
