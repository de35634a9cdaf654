// A SEARCH key tree (search-key.ts) as a question to the mailbox's SEARCH index (store/contract.ts
// SearchIndexQuery), and the index's answer for a search. The index narrows only: AND is the intersection
// of what its keys narrow to, OR the union when both sides narrow, and NOT, the keys the index does not
// hold (flags, dates, sizes, UIDs, HEADER x ""), and needles too short for a trigram narrow nothing. The
// messages it leaves (and every message it does not hold yet) are checked by the evaluator as without an
// index: nowhere does the index decide that a message matches, so it never changes an answer.
import type { MailboxView, SearchIndexAnswer, SearchIndexField, SearchIndexQuery } from '../../../store/contract.js';
import { fold } from '../../../mime/mime-text.js';
import type { SearchKey } from './search-key.js';

const ADDRESS_FIELDS = new Set<string>(['from', 'to', 'cc', 'bcc']);

/** The index's question for `key`, or null when it cannot narrow it. */
export function indexQuery(key: SearchKey): SearchIndexQuery | null {
  switch (key.kind) {
    case 'and': {
      const queries = key.keys.map(indexQuery).filter((q): q is SearchIndexQuery => q !== null);
      return queries.length === 0 ? null : queries.length === 1 ? queries[0] : { kind: 'and', queries };
    }
    case 'or': {
      const a = indexQuery(key.a);
      const b = indexQuery(key.b);
      return a === null || b === null ? null : { kind: 'or', queries: [a, b] };
    }
    case 'header': {
      const text = fold(key.value);
      if (text.length < 3) return null; // HEADER x "" (the field exists) and needles without a trigram
      const name = key.field.toLowerCase();
      // the address keys read the fields as addresses (a text of their own), SUBJECT the subject with its white
      // space compressed; HEADER From, HEADER Subject and the others read the field as written (the whole header)
      const field: SearchIndexField =
        key.address && ADDRESS_FIELDS.has(name)
          ? (name as SearchIndexField)
          : key.subject === true && name === 'subject'
            ? 'subject'
            : 'header';
      return { kind: 'contains', fields: [field], text };
    }
    case 'text': {
      const text = fold(key.value);
      if (text.length < 3) return null;
      // RFC 9051 section 6.4.4: TEXT is the header and the body (with the MIME part headers)
      return { kind: 'contains', fields: key.where === 'body' ? ['body'] : ['header', 'body', 'parts'], text };
    }
    default:
      return null;
  }
}

/** The index's answer for `key` in `view`, or null when there is no index, nothing to ask it, or it cannot answer. */
export async function narrowByIndex(view: MailboxView, key: SearchKey): Promise<SearchIndexAnswer | null> {
  if (!view.searchIndex) return null;
  const query = indexQuery(key);
  return query === null ? null : view.searchIndex.narrow(query);
}
