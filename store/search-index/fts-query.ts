// A SearchIndexQuery (store/contract.ts) as an FTS5 MATCH expression over the index's trigram table
// (index-file.ts). The table is contentless with detail=column, where FTS5 refuses phrases (a needle of
// more than three characters is a phrase of trigrams: "phrase queries are not supported (detail!=full)"),
// so a needle becomes the AND of its trigrams, each a one-token string: every message whose field holds
// the needle holds each of its trigrams there, so the answer is a superset of the messages that match,
// which the evaluator then checks (the index narrows, it never decides).
import type { SearchIndexField, SearchIndexQuery } from '../contract.js';

/** The table's column of each field (index-file.ts). */
export const COLUMN_OF: Readonly<Record<SearchIndexField, string>> = {
  subject: 'subject',
  from: 'from_',
  to: 'to_',
  cc: 'cc',
  bcc: 'bcc',
  header: 'header',
  body: 'body',
  parts: 'parts',
};

/** Trigrams asked for at most per needle: a long needle is narrowed as well by a spread of them, and faster. */
const MAX_TRIGRAMS = 12;

/**
 * The distinct trigrams (three code points) of `needle` that the index holds exactly as SQLite's trigram
 * tokenizer cuts the stored text: none that spans a surrogate code unit (a lone one reaches SQLite as
 * U+FFFD, so its neighbours differ) or a NUL (the tokenizer skips it).
 */
export function trigramsOf(needle: string): string[] {
  const found = new Set<string>();
  let run: string[] = [];
  const flush = (): void => {
    for (let i = 0; i + 3 <= run.length; i++) found.add(run[i] + run[i + 1] + run[i + 2]);
    run = [];
  };
  for (let i = 0; i < needle.length; i++) {
    const c = needle.charCodeAt(i);
    if (c === 0 || (c >= 0xd800 && c <= 0xdfff)) {
      // a surrogate pair is one code point: kept whole; a lone surrogate or a NUL ends the run
      const next = needle.charCodeAt(i + 1);
      if (c >= 0xd800 && c <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) {
        run.push(needle.slice(i, i + 2));
        i++;
        continue;
      }
      flush();
      continue;
    }
    run.push(needle[i]);
  }
  flush();
  const all = [...found];
  if (all.length <= MAX_TRIGRAMS) return all;
  const step = (all.length - 1) / (MAX_TRIGRAMS - 1);
  return Array.from({ length: MAX_TRIGRAMS }, (_, k) => all[Math.round(k * step)]);
}

/** An FTS5 string (RFC-less: SQLite's FTS5 query syntax, "strings"): in double quotes, a quote doubled. */
function ftsString(s: string): string {
  return `"${s.replaceAll('"', '""')}"`;
}

/**
 * The MATCH expression, or null when the index cannot narrow the query (a needle without a trigram: a
 * short one; an OR with such a side). An AND keeps the sides it can narrow by.
 */
export function matchExpression(q: SearchIndexQuery): string | null {
  switch (q.kind) {
    case 'contains': {
      const trigrams = trigramsOf(q.text);
      if (trigrams.length === 0 || q.fields.length === 0) return null;
      const columns = [...new Set(q.fields.map((f) => COLUMN_OF[f]))].join(' ');
      return `{${columns}} : (${trigrams.map(ftsString).join(' AND ')})`;
    }
    case 'and': {
      const sides = q.queries.map(matchExpression).filter((e): e is string => e !== null);
      return sides.length === 0 ? null : sides.map((e) => `(${e})`).join(' AND ');
    }
    case 'or': {
      const sides = q.queries.map(matchExpression);
      if (sides.length === 0 || sides.some((e) => e === null)) return null;
      return sides.map((e) => `(${e})`).join(' OR ');
    }
  }
}
