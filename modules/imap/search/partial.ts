// The PARTIAL range (RFC 9394 section 3, after RFC 5267 section 4.4) that SEARCH's and SORT's RETURN
// option and FETCH's modifier share: "m:n" counts positions in the result from its first item (1:100),
// "-m:-n" from its last (-1:-100 are the last hundred, still in the result's order). Either end may come
// first; the range is written back with the smaller count first, as Dovecot echoes ESORT's.
import { bad } from '../imap-error.js';
import type { Cursor } from '../wire/cursor.js';

export interface PartialRange {
  /** The smaller count, 1-based. */
  readonly low: number;
  /** The larger count. */
  readonly high: number;
  /** Counted from the last item (a partial-range-last). */
  readonly fromEnd: boolean;
}

const RANGE = /^(-?)([1-9]\d{0,9}):(-?)([1-9]\d{0,9})$/;

/** partial-range-first / partial-range-last (RFC 9394 section 4): both ends positive or both negative, never 0. */
export function partialRangeArg(a: Cursor): PartialRange {
  const text = a.atom('a PARTIAL range such as 1:100 or -1:-100');
  const m = RANGE.exec(text);
  if (!m || m[1] !== m[3]) throw bad('PARTIAL needs a range of positions such as 1:100, or -1:-100 counted from the last');
  const x = Number(m[2]);
  const y = Number(m[4]);
  if (x > 2 ** 32 - 1 || y > 2 ** 32 - 1) throw bad('PARTIAL positions are 32-bit numbers');
  return { low: Math.min(x, y), high: Math.max(x, y), fromEnd: m[1] === '-' };
}

/** The range as the answer repeats it ("1:100", "-1:-100"). */
export function partialText(r: PartialRange): string {
  return r.fromEnd ? `-${r.low}:-${r.high}` : `${r.low}:${r.high}`;
}

/** Where the range's items are in a result of `count` items: [start, end) as slice() takes them. */
export function partialBounds(count: number, r: PartialRange): [number, number] {
  if (!r.fromEnd) return [Math.min(count, r.low - 1), Math.min(count, r.high)];
  return [Math.max(0, count - r.high), Math.max(0, count - r.low + 1)];
}

/** The items of `all` (a result in its order) the range names, in that order. */
export function partialOf<T>(all: readonly T[], r: PartialRange): T[] {
  return all.slice(...partialBounds(all.length, r));
}
