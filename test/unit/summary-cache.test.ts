import { describe, expect, it } from 'vitest';
import type { MailboxView, MessageInfo } from '../../store/contract.js';
import { SummaryCache } from '../../modules/imap/fetch/summary-cache.js';

const view = (storage: string, uidValidity = 1) => ({ storage, uidValidity }) as unknown as MailboxView;
const info = (key: string) => ({ uid: 1, key, size: 10, flags: new Set(), modseq: 1 }) as MessageInfo;

describe('the ENVELOPE/BODYSTRUCTURE cache', () => {
  it('keys on the mailbox storage, its UIDVALIDITY and the message key', () => {
    const c = new SummaryCache(1 << 20);
    c.set(c.scope(view('/a')), info('k1'), 'ENVELOPE', Buffer.from('(env a)'));
    expect(c.get(c.scope(view('/a')), info('k1'), 'ENVELOPE')?.toString()).toBe('(env a)');
    expect(c.get(c.scope(view('/a')), info('k1'), 'BODY')).toBeUndefined();
    expect(c.get(c.scope(view('/b')), info('k1'), 'ENVELOPE')).toBeUndefined();
    expect(c.get(c.scope(view('/a', 2)), info('k1'), 'ENVELOPE')).toBeUndefined();
  });

  it('holds no more octets than its limit, dropping the oldest messages first', () => {
    const c = new SummaryCache(100_000);
    const s = c.scope(view('/a'));
    for (let i = 0; i < 1000; i++) {
      c.set(s, info(`k${i}`), 'ENVELOPE', Buffer.alloc(400));
      c.set(s, info(`k${i}`), 'BODYSTRUCTURE', Buffer.alloc(300));
      expect(c.held).toBeLessThanOrEqual(100_000);
    }
    expect(c.get(s, info('k0'), 'ENVELOPE')).toBeUndefined();
    expect(c.get(s, info('k999'), 'ENVELOPE')).toBeDefined();
    expect(c.get(s, info('k999'), 'BODYSTRUCTURE')).toBeDefined();
    // a message dropped and asked again is kept again, and counted once
    c.set(s, info('k0'), 'ENVELOPE', Buffer.alloc(400));
    expect(c.get(s, info('k0'), 'ENVELOPE')).toBeDefined();
    expect(c.held).toBeLessThanOrEqual(100_000);
  });

  it('gives back the octets it was given: ASCII ones as text, 8-bit ones (raw UTF-8 or latin1 header text) as they were', () => {
    const c = new SummaryCache(1 << 20);
    const s = c.scope(view('/a'));
    c.set(s, info('ascii'), 'ENVELOPE', Buffer.from('("Mon, 7 Dec 2026" "=?utf-8?q?caf=C3=A9?=")'));
    const utf8 = Buffer.from('("Mon, 7 Dec 2026" "café")', 'utf8');
    const latin1 = Buffer.from([0x28, 0x22, 0xe9, 0x22, 0x29]); // ("é") in latin1: not valid UTF-8
    c.set(s, info('utf8'), 'ENVELOPE', utf8);
    c.set(s, info('latin1'), 'ENVELOPE', latin1);
    expect(c.get(s, info('ascii'), 'ENVELOPE')).toBe('("Mon, 7 Dec 2026" "=?utf-8?q?caf=C3=A9?=")');
    expect(Buffer.compare(c.get(s, info('utf8'), 'ENVELOPE') as Buffer, utf8)).toBe(0);
    expect(Buffer.compare(c.get(s, info('latin1'), 'ENVELOPE') as Buffer, latin1)).toBe(0);
  });
});
