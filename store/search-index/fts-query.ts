// A SearchIndexQuery (store/contract.ts) as questions to the index's two trigram tables (index-file.ts):
// `fields` (subject, from, to, cc, bcc; detail=column: which field holds a trigram) and `texts` (the whole
// header, the part headers and the body; detail=none: which message holds it). FTS5 refuses phrases in such
// tables (a needle of more than three characters is a phrase of trigrams: "phrase queries are not supported
// (detail!=full)"), so a needle becomes the AND of its trigrams, each a one-token string: every message
// whose field holds the needle holds each of its trigrams there, so the answer is a superset of the messages
// that match, which the evaluator then checks (the index narrows, it never decides). AND and OR of the
// answers are taken here, as sets of UIDs.
import type { SearchIndexField, SearchIndexQuery } from '../contract.js';

/** The `fields` table's column of each field it holds (index-file.ts); the others are in `texts`, without columns. */
const FIELD_COLUMN: Readonly<Partial<Record<SearchIndexField, string>>> = {
  subject: 'subject',
  from: 'from_',
  to: 'to_',
  cc: 'cc',
  bcc: 'bcc',
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

/** The MATCH expression of the `fields` table for a needle's trigrams in some of its columns. */
export function fieldsMatch(fields: readonly SearchIndexField[], trigrams: readonly string[]): string {
  const columns = [...new Set(fields.map((f) => FIELD_COLUMN[f]).filter((c) => c !== undefined))];
  return `{${columns.join(' ')}} : (${trigrams.map(ftsString).join(' AND ')})`;
}

/** The MATCH expression of the `texts` table for a needle's trigrams. */
export function textsMatch(trigrams: readonly string[]): string {
  return trigrams.map(ftsString).join(' AND ');
}

/** The two tables' answers to one MATCH expression: the UIDs whose text may hold the needle. */
export interface TableSearch {
  fields(match: string): number[];
  texts(match: string): number[];
}

function intersect(a: Set<number>, b: ReadonlySet<number>): Set<number> {
  const out = new Set<number>();
  for (const uid of a) if (b.has(uid)) out.add(uid);
  return out;
}

/**
 * The UIDs that may match `q`, or null when the index cannot narrow it (a needle without a trigram: a
 * short one; an OR with such a side). An AND keeps the sides it can narrow by.
 */
export function candidatesOf(q: SearchIndexQuery, tables: TableSearch): Set<number> | null {
  switch (q.kind) {
    case 'contains': {
      const trigrams = trigramsOf(q.text);
      if (trigrams.length === 0 || q.fields.length === 0) return null;
      const found = new Set<number>();
      if (q.fields.some((f) => FIELD_COLUMN[f] !== undefined))
        for (const uid of tables.fields(fieldsMatch(q.fields, trigrams))) found.add(uid);
      if (q.fields.some((f) => FIELD_COLUMN[f] === undefined)) for (const uid of tables.texts(textsMatch(trigrams))) found.add(uid);
      return found;
    }
    case 'and': {
      let all: Set<number> | null = null;
      for (const sub of q.queries) {
        const some = candidatesOf(sub, tables);
        if (some !== null) all = all === null ? some : intersect(all.size <= some.size ? all : some, all.size <= some.size ? some : all);
      }
      return all;
    }
    case 'or': {
      const any = new Set<number>();
      for (const sub of q.queries) {
        const some = candidatesOf(sub, tables);
        if (some === null) return null;
        for (const uid of some) any.add(uid);
      }
      return q.queries.length === 0 ? null : any;
    }
  }
}
