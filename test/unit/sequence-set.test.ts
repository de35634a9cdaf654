// Sequence sets resolved (modules/imap/wire/sequence-set.ts): each message once, ascending, in time
// linear in the set's size, with Dovecot 2.3's answers for numbers past the end and for "*"
// (checked against a real Dovecot in test/interop/imap-bounds.test.ts).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { mergeRanges, parseSequenceSet, resolveNumbers, resolveSearchNumbers, resolveSet } from '../../modules/imap/wire/sequence-set.js';

describe('sequence sets', () => {
  it('merges ranges: overlapping and adjacent ones join, the result is sorted', () => {
    expect(
      mergeRanges([
        [5, 9],
        [1, 2],
        [3, 3],
        [8, 12],
        [20, 20],
      ]),
    ).toEqual([
      [1, 3],
      [5, 12],
      [20, 20],
    ]);
    expect(mergeRanges([])).toEqual([]);
  });

  it('message numbers for FETCH/STORE/COPY: each once; past the end or "*" of an empty mailbox is invalid', () => {
    expect(resolveNumbers(parseSequenceSet('3:1,2,2:*'), 3)).toEqual([1, 2, 3]);
    expect(resolveNumbers(parseSequenceSet('1:100'), 3)).toBeNull();
    expect(resolveNumbers(parseSequenceSet('*:4'), 3)).toBeNull();
    expect(resolveNumbers(parseSequenceSet('*'), 0)).toBeNull();
    expect(resolveNumbers(parseSequenceSet('*'), 3)).toEqual([3]);
  });

  it('message numbers for SEARCH: past the end name nothing; "*" in a range is the largest number there could be', () => {
    const search = (text: string, count: number) => resolveSearchNumbers(parseSequenceSet(text), count);
    expect(search('1:100', 3)).toEqual([1, 2, 3]);
    expect(search('5', 3)).toEqual([]);
    expect(search('5:*', 3)).toEqual([]);
    expect(search('*:5', 3)).toEqual([]);
    expect(search('*:2', 3)).toEqual([2, 3]);
    expect(search('4,*', 3)).toEqual([3]);
    expect(search('*', 0)).toEqual([]);
    expect(search('1:*', 0)).toEqual([]);
  });

  it('UIDs: the members among those in use, "*" the largest, each once', () => {
    const uids = [2, 4, 6, 8, 10];
    expect(resolveSet(parseSequenceSet('100:*'), uids)).toEqual([10]);
    expect(resolveSet(parseSequenceSet('3:5,1:4,9'), uids)).toEqual([2, 4]);
    expect(resolveSet(parseSequenceSet('1:*,1:*'), uids)).toEqual(uids);
  });

  it('agrees with naive expansion on random sets', () => {
    const item = fc.tuple(
      fc.oneof(fc.integer({ min: 1, max: 30 }), fc.constant(-1)),
      fc.oneof(fc.integer({ min: 1, max: 30 }), fc.constant(-1)),
    );
    fc.assert(
      fc.property(
        fc.array(item, { minLength: 1, maxLength: 8 }),
        fc.integer({ min: 0, max: 25 }),
        fc.uniqueArray(fc.integer({ min: 1, max: 40 }), { maxLength: 20 }),
        (ranges, count, uidList) => {
          const text = ranges.map(([a, b]) => `${a === -1 ? '*' : a}:${b === -1 ? '*' : b}`).join(',');
          const set = parseSequenceSet(text);
          // naive: every number of every range
          const naive = new Set<number>();
          let invalid = false;
          for (const [a0, b0] of set) {
            const a = a0 === -1 ? count : a0;
            const b = b0 === -1 ? count : b0;
            if (Math.max(a, b) > count || Math.min(a, b) < 1) invalid = true;
            for (let n = Math.min(a, b); n <= Math.max(a, b); n++) naive.add(n);
          }
          expect(resolveNumbers(set, count)).toEqual(invalid ? null : [...naive].sort((x, y) => x - y));
          const sorted = [...uidList].sort((x, y) => x - y);
          const max = sorted[sorted.length - 1];
          const byUid = sorted.filter((u) =>
            set.some(([a0, b0]) => {
              const a = a0 === -1 ? max : a0;
              const b = b0 === -1 ? max : b0;
              return u >= Math.min(a, b) && u <= Math.max(a, b);
            }),
          );
          expect(resolveSet(set, sorted)).toEqual(byUid);
        },
      ),
      { numRuns: 5000 },
    );
  });

  it('resolves 16,000 copies of "1:*" over 20,000 messages at once', () => {
    const text = Array(16000).fill('1:*').join(',');
    const uids = Array.from({ length: 20000 }, (_, i) => i * 2 + 1);
    const started = Date.now();
    expect(resolveNumbers(parseSequenceSet(text), 20000)).toHaveLength(20000);
    expect(resolveSearchNumbers(parseSequenceSet(text), 20000)).toHaveLength(20000);
    expect(resolveSet(parseSequenceSet(text), uids)).toEqual(uids);
    expect(Date.now() - started).toBeLessThan(2000); // 320 million steps when each range is expanded
  });
});
