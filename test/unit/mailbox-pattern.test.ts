// LIST/LSUB pattern matching (modules/imap/mailbox-pattern.ts): the same answers as a regular
// expression built from the pattern (the reference, on short inputs where its backtracking costs
// nothing), and no blow-up on the patterns that made a backtracking matcher take seconds.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { mailboxPattern } from '../../modules/imap/mailbox-pattern.js';

function reference(pattern: string, name: string): boolean {
  const body = [...pattern].map((ch) => (ch === '*' ? '.*' : ch === '%' ? '[^/]*' : ch.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))).join('');
  return new RegExp(`^${body}$`, 's').test(name);
}

describe('mailbox patterns', () => {
  it('matches "*" across the hierarchy and "%" within one level (RFC 9051 section 6.3.9)', () => {
    expect(mailboxPattern('*').test('a/b/c')).toBe(true);
    expect(mailboxPattern('%').test('a/b')).toBe(false);
    expect(mailboxPattern('%').test('abc')).toBe(true);
    expect(mailboxPattern('a/%').test('a/b')).toBe(true);
    expect(mailboxPattern('a/%').test('a/b/c')).toBe(false);
    expect(mailboxPattern('a/%/c').test('a/b/c')).toBe(true);
    expect(mailboxPattern('%/%').test('a/')).toBe(true);
    expect(mailboxPattern('a*').test('a')).toBe(true);
    expect(mailboxPattern('*%*').test('')).toBe(true);
    expect(mailboxPattern('Sent').test('Sent')).toBe(true);
    expect(mailboxPattern('Sent').test('sent')).toBe(false);
    expect(mailboxPattern('').test('')).toBe(true);
    expect(mailboxPattern('').test('a')).toBe(false);
    expect(mailboxPattern('a.b').test('axb')).toBe(false);
  });

  it('answers as the reference expression on random patterns and names', () => {
    const patternChar = fc.constantFrom('a', 'b', '/', '*', '%', '.');
    const nameChar = fc.constantFrom('a', 'b', '/', '.', '*', '%');
    fc.assert(
      fc.property(fc.array(patternChar, { maxLength: 10 }), fc.array(nameChar, { maxLength: 12 }), (p, n) => {
        const pattern = p.join('');
        const name = n.join('');
        expect(mailboxPattern(pattern).test(name)).toBe(reference(pattern, name));
      }),
      { numRuns: 20000 },
    );
  });

  it('answers as the reference for names built to almost match the pattern', () => {
    // names made of the pattern's own literals, so that most cases go deep before failing
    fc.assert(
      fc.property(
        fc.array(fc.constantFrom('a', 'b', '*', '%', '/'), { minLength: 1, maxLength: 8 }),
        fc.array(fc.constantFrom('a', 'a', 'a', 'b', '/'), { maxLength: 16 }),
        (p, n) => {
          const pattern = p.join('');
          const matcher = mailboxPattern(pattern);
          const name = n.join('');
          expect(matcher.test(name)).toBe(reference(pattern, name));
          expect(matcher.test(name)).toBe(reference(pattern, name)); // a compiled pattern is reusable
        },
      ),
      { numRuns: 20000 },
    );
  });

  it('costs no backtracking: 30 wildcards against 63-character names at once', () => {
    const pattern = `${'*a'.repeat(15)}${'%a'.repeat(15)}*b`;
    const matcher = mailboxPattern(pattern);
    const started = Date.now();
    for (let i = 0; i < 2000; i++) expect(matcher.test('a'.repeat(62) + (i % 2 === 0 ? 'c' : '/'))).toBe(false);
    expect(matcher.test(`${'a'.repeat(62)}b`)).toBe(true);
    // a backtracking matcher needs years for one of these names; this is a generous bound
    expect(Date.now() - started).toBeLessThan(2000);
    // a 64 KiB pattern of alternating wildcards and literals
    expect(mailboxPattern('a*'.repeat(32768)).test('a'.repeat(300))).toBe(false);
    expect(mailboxPattern('*a'.repeat(100)).test('a'.repeat(300))).toBe(true);
    expect(mailboxPattern(`${'*a'.repeat(100)}%c`).test(`${'a'.repeat(299)}/c`)).toBe(false);
    expect(Date.now() - started).toBeLessThan(4000);
  });
});
