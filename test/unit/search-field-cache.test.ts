import { describe, expect, it } from 'vitest';
import { SearchFieldCache } from '../../modules/imap/search/field-cache.js';

const view = (storage: string, uidValidity = 1) => ({ storage, uidValidity });

describe("the cache of SEARCH's header values", () => {
  it('keys on the mailbox storage, its UIDVALIDITY, the message key and the field', () => {
    const c = new SearchFieldCache(1 << 20);
    c.set(c.scope(view('/a')), 'k1', '@from', ['pat quixley <pat@example.org>']);
    expect(c.get(c.scope(view('/a')), 'k1', '@from')).toEqual(['pat quixley <pat@example.org>']);
    expect(c.get(c.scope(view('/a')), 'k1', 'from')).toBeUndefined();
    expect(c.get(c.scope(view('/a')), 'k2', '@from')).toBeUndefined();
    expect(c.get(c.scope(view('/b')), 'k1', '@from')).toBeUndefined();
    expect(c.get(c.scope(view('/a', 2)), 'k1', '@from')).toBeUndefined();
  });

  it('keeps a field without values (the message has no such field)', () => {
    const c = new SearchFieldCache(1 << 20);
    c.set(c.scope(view('/a')), 'k1', 'cc', []);
    expect(c.get(c.scope(view('/a')), 'k1', 'cc')).toEqual([]);
  });

  it('holds no more than its limit, dropping the messages kept first', () => {
    const c = new SearchFieldCache(100_000);
    const s = c.scope(view('/a'));
    for (let i = 0; i < 1000; i++) {
      c.set(s, `k${i}`, '@from', ['x'.repeat(100)]);
      c.set(s, `k${i}`, 'subject', ['y'.repeat(50)]);
      expect(c.held).toBeLessThanOrEqual(100_000);
    }
    expect(c.get(s, 'k0', '@from')).toBeUndefined();
    expect(c.get(s, 'k999', '@from')).toBeDefined();
    expect(c.get(s, 'k999', 'subject')).toBeDefined();
    // a message dropped and kept again is counted once
    c.set(s, 'k0', '@from', ['x'.repeat(100)]);
    expect(c.get(s, 'k0', '@from')).toBeDefined();
    expect(c.held).toBeLessThanOrEqual(100_000);
    // values larger than the whole cache are not kept
    c.set(s, 'big', 'subject', ['z'.repeat(60_000)]);
    expect(c.get(s, 'big', 'subject')).toBeUndefined();
  });
});
