// Comparators (RFC 4790: i;octet, i;ascii-casemap, i;ascii-numeric) and match types (RFC 5228 section 2.7.1
// :is :contains :matches, Pigeonhole's :regex, RFC 5231 :count :value), with the match variables RFC 5229
// section 3.2 asks of :matches (and :regex) kept for the caller.
import { posixToJs } from './regex.js';

export type Comparator = 'i;octet' | 'i;ascii-casemap' | 'i;ascii-numeric';
export type MatchType = 'is' | 'contains' | 'matches' | 'regex' | 'count' | 'value';

export interface MatchSpec {
  readonly comparator: Comparator;
  readonly match: MatchType;
  readonly relation: string | null;
}

const folded = new Map<string, string>();

/** ASCII-only lower case (i;ascii-casemap folds A-Z and nothing else); remembered, as keys and values repeat. */
export function asciiLower(s: string): string {
  if (s.length > 256) return lowerAscii(s);
  let v = folded.get(s);
  if (v === undefined) {
    v = lowerAscii(s);
    if (folded.size > 10_000) folded.clear();
    folded.set(s, v);
  }
  return v;
}

function lowerAscii(s: string): string {
  if (!/[A-Z]/.test(s)) return s;
  if (!/[^\x00-\x7f]/.test(s)) return s.toLowerCase();
  return s.replace(/[A-Z]+/g, (m) => m.toLowerCase());
}

/** RFC 4790 section 9.1: the number at the start of a string; none (Infinity) when it starts with no digit. */
function numeric(s: string): bigint | null {
  const m = /^[0-9]+/.exec(s);
  return m ? BigInt(m[0]) : null;
}

/** The ordering of two values under a comparator (-1, 0, 1). */
export function compareValues(comparator: Comparator, a: string, b: string): number {
  if (comparator === 'i;ascii-numeric') {
    const x = numeric(a);
    const y = numeric(b);
    if (x === null) return y === null ? 0 : 1;
    if (y === null) return -1;
    return x < y ? -1 : x > y ? 1 : 0;
  }
  if (comparator === 'i;ascii-casemap') {
    a = asciiLower(a);
    b = asciiLower(b);
  }
  // i;octet orders by octets: UTF-8 order is code point order
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

function relationHolds(rel: string, order: number): boolean {
  switch (rel) {
    case 'gt':
      return order > 0;
    case 'ge':
      return order >= 0;
    case 'lt':
      return order < 0;
    case 'le':
      return order <= 0;
    case 'eq':
      return order === 0;
    default:
      return order !== 0;
  }
}

const globCache = new Map<string, RegExp>();
const regexCache = new Map<string, RegExp | null>();
const CACHE_MAX = 2000;

/** RFC 5228 section 2.7.1 :matches: "*" any run, "?" one character, "\" quotes; each wildcard is a group. */
function globRegex(pattern: string): RegExp {
  let re = globCache.get(pattern);
  if (re) return re;
  let out = '^';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '*') out += '([\\s\\S]*?)';
    else if (c === '?') out += '([\\s\\S])';
    else if (c === '\\' && i + 1 < pattern.length) out += escapeRegex(pattern[++i]!);
    else out += escapeRegex(c);
  }
  re = new RegExp(`${out}$`, 'du');
  if (globCache.size > CACHE_MAX) globCache.clear();
  globCache.set(pattern, re);
  return re;
}

const escapeRegex = (c: string) => c.replace(/[\\^$.*+?()[\]{}|/]/g, '\\$&');

/** A regex key compiled (null: it does not compile, the test is false for it). */
export function compiledRegex(key: string, caseInsensitive: boolean): RegExp | null {
  const k = `${caseInsensitive ? 'i' : 'o'}${key}`;
  let re = regexCache.get(k);
  if (re !== undefined) return re;
  re = posixToJs(key, caseInsensitive).regex;
  if (regexCache.size > CACHE_MAX) regexCache.clear();
  regexCache.set(k, re);
  return re;
}

/**
 * Whether any value matches any key (RFC 5228 section 2.7.1). `captures` receives the match variables of
 * the first matching pair for :matches and :regex (${0} the whole value).
 */
export function matchAny(spec: MatchSpec, values: readonly string[], keys: readonly string[], captures?: string[][]): boolean {
  const { comparator, match } = spec;
  if (match === 'count') {
    const count = String(values.length);
    return keys.some((k) => relationHolds(spec.relation!, compareValues(comparator, count, k)));
  }
  if (match === 'value') {
    return values.some((v) => keys.some((k) => relationHolds(spec.relation!, compareValues(comparator, v, k))));
  }
  const fold = comparator === 'i;ascii-casemap';
  for (const raw of values) {
    const v = fold ? asciiLower(raw) : raw;
    for (const rawKey of keys) {
      switch (match) {
        case 'is':
          if (comparator === 'i;ascii-numeric' ? compareValues(comparator, raw, rawKey) === 0 : v === (fold ? asciiLower(rawKey) : rawKey))
            return true;
          break;
        case 'contains':
          if (v.includes(fold ? asciiLower(rawKey) : rawKey)) return true;
          break;
        case 'matches': {
          const m = globRegex(fold ? asciiLower(rawKey) : rawKey).exec(v);
          if (m) {
            // the variables take the value's own case (RFC 5229 section 3.2)
            if (captures) captures.push(fold ? capturesIn(raw, m) : [...m].map((x) => x ?? ''));
            return true;
          }
          break;
        }
        case 'regex': {
          const re = compiledRegex(rawKey, fold);
          const m = re?.exec(raw);
          if (m) {
            if (captures) captures.push([...m].map((x) => x ?? ''));
            return true;
          }
          break;
        }
      }
    }
  }
  return false;
}

/** The groups of a match on the folded value, read back from the original (ASCII folding keeps positions). */
function capturesIn(raw: string, m: RegExpExecArray): string[] {
  const ind = m.indices!;
  return ind.map((r) => (r ? raw.slice(r[0], r[1]) : ''));
}
