// What the SEARCH index keeps of a message: the text SEARCH's keys read, decoded and folded by the very
// functions the evaluator (modules/imap/search/evaluate.ts) reads it with (mime/mime-text.ts searchTexts,
// subjectSearchText; mime/address-text.ts addressSearchTexts), per field (store/contract.ts
// SearchIndexField). A needle the evaluator finds in a field is then a substring of that field's text here,
// so each of its trigrams is in the index (fts-query.ts). Several values of one field are joined by a line
// end: a needle that spans two of them matches nothing in the evaluator, and at most widens the index's answer.
import { addressSearchTexts } from '../../mime/address-text.js';
import { searchTexts, subjectSearchText } from '../../mime/mime-text.js';
import type { SearchIndexField } from '../contract.js';

const ADDRESS_FIELDS = ['from', 'to', 'cc', 'bcc'] as const;

export type IndexedText = Record<SearchIndexField, string>;

/** The index's text of a message, from its octets with CRLF line ends (as SEARCH reads them: crlf.ts). */
export function indexedText(raw: Buffer): IndexedText {
  const t = searchTexts(raw);
  const named = (name: string) => t.fields.filter((f) => f.name === name);
  const text: IndexedText = {
    subject: named('subject')
      .map((f) => subjectSearchText(f.value))
      .join('\n'),
    from: '',
    to: '',
    cc: '',
    bcc: '',
    header: t.headerText,
    body: t.bodyText,
    parts: t.partHeadersText,
  };
  for (const name of ADDRESS_FIELDS)
    text[name] = named(name)
      .flatMap((f) => addressSearchTexts(f.value))
      .join('\n');
  return text;
}
