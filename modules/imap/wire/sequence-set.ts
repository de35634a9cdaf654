// Sequence sets (RFC 9051 section 9: sequence-set, seq-range, "*"): message numbers or UIDs, parsed
// once and resolved against the mailbox as the client knows it.
import { bad } from '../imap-error.js';
import { quoteClient } from './client-text.js';

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
    if (a === 0 || b === 0 || a > 0xffffffff || b > 0xffffffff) throw bad(`${quoteClient(item, 40)}: numbers in a sequence set are 1 to 4294967295`);
    ranges.push([a, b]);
  }
  return ranges;
}

/**
 * The members of `set` among `sorted` (ascending numbers in use), with "*" as the largest of them.
 * RFC 9051: a range's ends may come in either order; "*" in an empty mailbox matches nothing.
 */
export function resolveSet(set: SequenceSet, sorted: readonly number[]): number[] {
  if (sorted.length === 0) return [];
  const max = sorted[sorted.length - 1];
  // each range as positions [from, to) in `sorted`, then merged: "1:*" of 100,000 UIDs is one slice
  const spans: [number, number][] = [];
  for (const [a0, b0] of set) {
    const a = a0 === STAR ? max : a0;
    const b = b0 === STAR ? max : b0;
    const from = lowerBound(sorted, Math.min(a, b));
    const to = lowerBound(sorted, Math.max(a, b) + 1);
    if (from < to) spans.push([from, to]);
  }
  if (spans.length === 1) return sorted.slice(spans[0][0], spans[0][1]);
  spans.sort((x, y) => x[0] - y[0]);
  const out: number[] = [];
  let end = 0;
  for (const [from, to] of spans) {
    for (let i = Math.max(from, end); i < to; i++) out.push(sorted[i]);
    end = Math.max(end, to);
  }
  return out;
}

export function lowerBound(sorted: readonly number[], value: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid] < value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
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
