// SORT's sort criteria and order (RFC 5256 section 3, RFC 5957 for DISPLAYFROM/DISPLAYTO): the keys in
// the order given, each possibly REVERSEd, then the message number (always ascending) when all are
// equal. As in Dovecot: a key named twice counts once (its first place), REVERSE REVERSE cancels out.
import { bad } from '../imap-error.js';
import type { Cursor } from '../wire/cursor.js';
import { quoteClient } from '../../../sessions/client-text.js';
import type { SortKeys } from './sort-keys.js';
import { compareText } from './sort-text.js';

export type SortKeyName = 'ARRIVAL' | 'CC' | 'DATE' | 'FROM' | 'SIZE' | 'SUBJECT' | 'TO' | 'DISPLAYFROM' | 'DISPLAYTO';
export interface SortCriterion {
  readonly key: SortKeyName;
  readonly reverse: boolean;
}

const KEYS: readonly SortKeyName[] = ['ARRIVAL', 'CC', 'DATE', 'FROM', 'SIZE', 'SUBJECT', 'TO', 'DISPLAYFROM', 'DISPLAYTO'];

/** "(" sort-criterion *(SP sort-criterion) ")" */
export function parseSortCriteria(a: Cursor): SortCriterion[] {
  const out: SortCriterion[] = [];
  let reverse = false;
  let lastReverse = false;
  a.list(() => {
    const word = a.atom('a sort key').toUpperCase();
    lastReverse = word === 'REVERSE';
    if (lastReverse) {
      reverse = !reverse;
      return;
    }
    if (!KEYS.includes(word as SortKeyName)) throw bad(`Unknown sort key ${quoteClient(word, 30)}`);
    if (!out.some((c) => c.key === word)) out.push({ key: word as SortKeyName, reverse });
    reverse = false;
  }, 'the sort criteria');
  if (lastReverse) throw bad('The sort criteria end with REVERSE');
  if (out.length === 0) throw bad('Empty sort criteria');
  return out;
}

function compareKey(key: SortKeyName, a: SortKeys, b: SortKeys): number {
  switch (key) {
    case 'ARRIVAL':
      return a.arrival - b.arrival;
    case 'DATE':
      return a.date - b.date;
    case 'SIZE':
      return a.size - b.size;
    case 'SUBJECT':
      return compareText(a.subject, b.subject);
    case 'FROM':
      return compareText(a.from, b.from);
    case 'TO':
      return compareText(a.to, b.to);
    case 'CC':
      return compareText(a.cc, b.cc);
    case 'DISPLAYFROM':
      return compareText(a.displayFrom, b.displayFrom);
    case 'DISPLAYTO':
      return compareText(a.displayTo, b.displayTo);
  }
}

export interface Sortable {
  /** The message number (ties are broken by it). */
  readonly seq: number;
  readonly keys: SortKeys;
}

/** The items in the order the criteria give (a new array). */
export function sortMessages<T extends Sortable>(items: readonly T[], criteria: readonly SortCriterion[]): T[] {
  return [...items].sort((x, y) => {
    for (const c of criteria) {
      const d = compareKey(c.key, x.keys, y.keys);
      if (d !== 0) return c.reverse ? -d : d;
    }
    return x.seq - y.seq;
  });
}
