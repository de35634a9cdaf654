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
      return (a.arrival ?? 0) - (b.arrival ?? 0);
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

const NUMERIC: Partial<Record<SortKeyName, (k: SortKeys) => number>> = {
  ARRIVAL: (k) => k.arrival ?? 0,
  DATE: (k) => k.date,
  SIZE: (k) => k.size,
};
/** Message numbers below this fit beside a key in one float64 (2^21: two million messages). */
const SEQ_ROOM = 2 ** 21;

/**
 * One numeric key (SORT (DATE), the webmail's usual order): each item's key and number packed into one
 * float64, sorted natively without a comparator; null when a value would not fit exactly.
 */
function sortByNumber<T extends Sortable>(items: readonly T[], value: (k: SortKeys) => number, reverse: boolean): T[] | null {
  const packed = new Float64Array(items.length);
  const limit = Number.MAX_SAFE_INTEGER / SEQ_ROOM - 1;
  for (let i = 0; i < items.length; i++) {
    const v = value(items[i].keys);
    if (!Number.isInteger(v) || Math.abs(v) > limit || items[i].seq >= SEQ_ROOM || items.length >= SEQ_ROOM) return null;
    packed[i] = (reverse ? -v : v) * SEQ_ROOM + i;
  }
  packed.sort();
  const out: T[] = new Array(items.length);
  for (let i = 0; i < packed.length; i++) {
    const r = packed[i] % SEQ_ROOM;
    out[i] = items[r < 0 ? r + SEQ_ROOM : r];
  }
  return out;
}

/** The items in the order the criteria give (a new array). */
export function sortMessages<T extends Sortable>(items: readonly T[], criteria: readonly SortCriterion[]): T[] {
  const numeric = criteria.length === 1 ? NUMERIC[criteria[0].key] : undefined;
  const ascending = items.every((x, i) => i === 0 || items[i - 1].seq < x.seq);
  if (numeric && ascending) {
    const fast = sortByNumber(items, numeric, criteria[0].reverse);
    if (fast) return fast;
  }
  return [...items].sort((x, y) => {
    for (const c of criteria) {
      const d = compareKey(c.key, x.keys, y.keys);
      if (d !== 0) return c.reverse ? -d : d;
    }
    return x.seq - y.seq;
  });
}
