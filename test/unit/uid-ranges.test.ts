// \Recent kept as UID ranges (lib/uid-ranges.ts): the same answers as a Set for any mix of additions and
// removals, and a session that SELECTs a large mailbox keeps one range for it, not an entry per message.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { UidRanges } from '../../lib/uid-ranges.js';
import { SelectedMailbox } from '../../modules/imap/selected.js';
import { MemoryStore } from '../../store/memory/memory-store.js';

describe('UidRanges', () => {
  it('answers as a Set does (has, size, add, delete) for any sequence of changes', () => {
    const op = fc.tuple(fc.boolean(), fc.integer({ min: 1, max: 60 }));
    fc.assert(
      fc.property(fc.array(op, { maxLength: 300 }), (ops) => {
        const ranges = new UidRanges();
        const set = new Set<number>();
        for (const [add, uid] of ops) {
          if (add) {
            ranges.add(uid);
            set.add(uid);
          } else expect(ranges.delete(uid)).toBe(set.delete(uid));
          expect(ranges.size).toBe(set.size);
        }
        for (let uid = 0; uid <= 61; uid++) expect(ranges.has(uid), String(uid)).toBe(set.has(uid));
      }),
      { numRuns: 500 },
    );
  });

  it('keeps a run added in order as one range; a removal in the middle splits it', () => {
    const r = new UidRanges();
    for (let uid = 1; uid <= 100_000; uid++) r.add(uid);
    expect([r.size, r.rangeCount]).toEqual([100_000, 1]);
    r.delete(50_000);
    expect([r.size, r.rangeCount, r.has(50_000), r.has(50_001)]).toEqual([99_999, 2, false, true]);
  });
});

describe('a session selecting a mailbox of 2,000 new messages', () => {
  it('keeps their \\Recent as one range, and counts and shows them all', async () => {
    const store = new MemoryStore();
    const alice = { name: 'alice', domain: 'example.org' };
    const body = Buffer.from('Subject: x\r\n\r\nx\r\n');
    for (let i = 0; i < 2000; i++)
      await store.deliver(
        alice,
        'INBOX',
        (async function* () {
          yield body;
        })(),
      );
    const view = await store.open(alice, 'INBOX');
    const target = { owner: alice, mailbox: 'INBOX', own: true, display: 'INBOX' };
    const selected = new SelectedMailbox(view, target, 'INBOX', false, 'lrswipkxtecda', () => {});
    expect(await selected.claimRecent()).toBe(2000);
    const recent = (selected as unknown as { recent: { rangeCount?: number } }).recent;
    expect(recent.rangeCount).toBe(1);
    expect(selected.recentCount).toBe(2000);
  });
});
