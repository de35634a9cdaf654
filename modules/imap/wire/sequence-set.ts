// Sequence sets (RFC 9051 section 9: sequence-set, seq-range, "*"): message numbers or UIDs, parsed
// once and resolved against the mailbox as the client knows it.
import { bad } from '../imap-error.js';
import { quoteClient } from '../../../sessions/client-text.js';
import { lowerBound } from '../../../lib/by-uid.js';

/** Ranges as written; STAR stands for "*" (the largest number in use). */
export type SequenceSet = readonly (readonly [number, number])[];
export const STAR = -1;

const RANGE = /^(\d+|\*)(?::(\d+|\*))?$/;

export function parseSequenceSet(text: string): SequenceSet {
  const ranges: [number, number][] = [];
  for (const item of text.split(',')) {
    const m = RANGE.exec(item);
    if (!m) throw bad(`${quoteClient(text, 40)} is not a sequence set (numbers, ranges like 1:5, "*", separated by commas)`);
    const a = m[1] === '*' ? STAR : Number(m[1]);
    const b = m[2] === undefined ? a : m[2] === '*' ? STAR : Number(m[2]);
    if (a === 0 || b === 0 || a > 0xffffffff || b > 0xffffffff)
      throw bad(`${quoteClient(item, 40)}: numbers in a sequence set are 1 to 4294967295`);
    ranges.push([a, b]);
  }
  return ranges;
}

/**
 * Ranges [lo, hi] sorted and merged (overlapping or adjacent ones joined): a set of 16,000 copies of
 * "1:*" is one range, so what it names is walked once (time linear in the set's size plus the answer).
 */
export function mergeRanges(ranges: [number, number][]): [number, number][] {
  ranges.sort((x, y) => x[0] - y[0]);
  const out: [number, number][] = [];
  for (const r of ranges) {
    const last = out.length > 0 ? out[out.length - 1] : null;
    if (last !== null && r[0] <= last[1] + 1) last[1] = Math.max(last[1], r[1]);
    else out.push([r[0], r[1]]);
  }
  return out;
}

/**
 * The members of `set` among `sorted` (ascending numbers in use), with "*" as the largest of them, each
 * once and ascending. RFC 9051: a range's ends may come in either order; "*" in an empty mailbox matches
 * nothing; numbers not in use name nothing (the UID forms).
 */
export function resolveSet(set: SequenceSet, sorted: readonly number[]): number[] {
  if (sorted.length === 0) return [];
  const max = sorted[sorted.length - 1];
  // each range as positions [from, to] in `sorted`, then merged: "1:*" of 100,000 UIDs is one slice
  const spans: [number, number][] = [];
  for (const [a0, b0] of set) {
    const a = a0 === STAR ? max : a0;
    const b = b0 === STAR ? max : b0;
    const from = lowerBound(sorted, Math.min(a, b));
    const to = lowerBound(sorted, Math.max(a, b) + 1);
    if (from < to) spans.push([from, to - 1]);
  }
  const out: number[] = [];
  for (const [from, to] of mergeRanges(spans)) for (let i = from; i <= to; i++) out.push(sorted[i]);
  return out;
}

/**
 * Message numbers of FETCH, STORE, COPY and MOVE (RFC 9051 section 9: seq-number), each once and
 * ascending, for a mailbox of `count` messages; null when the set names one past the end ("*" of an
 * empty mailbox too), which Dovecot 2.3 answers BAD ("Invalid messageset").
 */
export function resolveNumbers(set: SequenceSet, count: number): number[] | null {
  const ranges: [number, number][] = [];
  for (const [a0, b0] of set) {
    const a = a0 === STAR ? count : a0;
    const b = b0 === STAR ? count : b0;
    const lo = Math.min(a, b);
    const hi = Math.max(a, b);
    if (lo < 1 || hi > count) return null;
    ranges.push([lo, hi]);
  }
  return expand(mergeRanges(ranges));
}

/**
 * Message numbers as a SEARCH key, answered as Dovecot 2.3 answers them: numbers past the end name
 * nothing; "*" alone is the last message; in a range "*" stands for the largest number there could be,
 * so "2:*" and "*:2" both name 2 to the last, and "5:*" or "*:5" of 3 messages name none.
 */
export function resolveSearchNumbers(set: SequenceSet, count: number): number[] {
  const ranges: [number, number][] = [];
  for (const [a0, b0] of set) {
    let lo: number;
    let hi: number;
    if (a0 === STAR && b0 === STAR) lo = hi = count;
    else {
      const a = a0 === STAR ? Infinity : a0;
      const b = b0 === STAR ? Infinity : b0;
      lo = Math.min(a, b);
      hi = Math.min(Math.max(a, b), count);
    }
    if (lo >= 1 && lo <= hi) ranges.push([lo, hi]);
  }
  return expand(mergeRanges(ranges));
}

function expand(ranges: [number, number][]): number[] {
  const out: number[] = [];
  for (const [lo, hi] of ranges) for (let n = lo; n <= hi; n++) out.push(n);
  return out;
}

/** A set of numbers written compactly: "1:3,7,9:10" (COPYUID, APPENDUID, ESEARCH). */
export function formatSet(numbers: readonly number[]): string {
  const sorted = [...numbers].sort((a, b) => a - b);
  const out: string[] = [];
  for (let i = 0; i < sorted.length; ) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === sorted[j] + 1) j++;
    out.push(i === j ? `${sorted[i]}` : `${sorted[i]}:${sorted[j]}`);
    i = j + 1;
  }
  return out.join(',');
}

/** Numbers in the order given, compacted where they run on (COPYUID's source and target lists must pair up). */
export function formatOrdered(numbers: readonly number[]): string {
  const out: string[] = [];
  for (let i = 0; i < numbers.length; ) {
    let j = i;
    while (j + 1 < numbers.length && numbers[j + 1] === numbers[j] + 1) j++;
    out.push(i === j ? `${numbers[i]}` : `${numbers[i]}:${numbers[j]}`);
    i = j + 1;
  }
  return out.join(',');
}
