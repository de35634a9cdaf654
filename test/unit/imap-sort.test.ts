// The pieces of SORT and THREAD (modules/imap/sort/): base-subject extraction (RFC 5256 section 2.1) on
// the RFC's own cases and hostile ones, the Date and Message-ID readers as Dovecot reads them, the sort
// text form, and the two threading algorithms on small hand-made mailboxes.
import { describe, expect, it } from 'vitest';
import { baseSubject } from '../../modules/imap/sort/base-subject.js';
import { parseMessageDate } from '../../modules/imap/sort/message-date.js';
import { messageIds } from '../../modules/imap/sort/message-id.js';
import { type SortKeys, sortKeysOf, withArrival } from '../../modules/imap/sort/sort-keys.js';
import { compareText, sortText } from '../../modules/imap/sort/sort-text.js';
import { orderedSubjectThreads } from '../../modules/imap/sort/thread-ordered-subject.js';
import { referencesThreads } from '../../modules/imap/sort/thread-references.js';

const base = (s: string) => baseSubject(Buffer.from(s, 'utf8'));

describe('base subject (RFC 5256 section 2.1)', () => {
  it.each([
    ['Re: hello', 'HELLO', true],
    ['RE: Re: re: hello', 'HELLO', true],
    ['Fwd: hello', 'HELLO', true],
    ['FW: hello', 'HELLO', true],
    ['hello (fwd)', 'HELLO', true],
    ['hello (fwd) (FWD)  ', 'HELLO', true],
    ['[fwd: hello]', 'HELLO', true],
    ['[Fwd: Re: [fwd: hello (fwd)]]', 'HELLO', true],
    ['[list] hello', 'HELLO', false],
    ['[list] Re: hello', 'HELLO', true],
    ['Re: [list] hello', 'HELLO', true],
    ['[a][b] Re: hello', 'HELLO', true],
    ['[a] [b] [c] hello', 'HELLO', false],
    ['Re[2]: hello', 'HELLO', true],
    ['Re [2]: hello', 'HELLO', true],
    ['re : hello', 'HELLO', true],
    ['Re: Fwd: [x] Re: hello', 'HELLO', true],
    ['[blob only]', '[BLOB ONLY]', false],
    ['Re: [blob only]', '[BLOB ONLY]', true],
    ['[nested [blob]] hello', '[NESTED [BLOB]] HELLO', false],
    ['[unclosed Re: hello', '[UNCLOSED RE: HELLO', false],
    ['Re:', '', true],
    ['', '', false],
    ['   spaced    out\t\ttext  ', 'SPACED OUT TEXT', false],
    ['Reply to this', 'REPLY TO THIS', false],
    ['Fwdx: not a leader', 'FWDX: NOT A LEADER', false],
    ['=?utf-8?q?Re=3A_=C3=A9t=C3=A9?=', 'E\u0301TE\u0301', true],
    ['Re: =?iso-8859-1?q?caf=E9?= =?iso-8859-1?q?_cr=E8me?=', 'CAFE\u0301 CRE\u0300ME', true],
    ['=?utf-8?b?W2Z3ZDogaGVsbG9d?=', 'HELLO', true],
  ])('%j -> %j', (subject, expected, replyOrForward) => {
    expect(base(subject)).toEqual({ subject: expected, replyOrForward });
  });

  it('ends on every input without exhausting the stack (a long run of leaders, blobs and wrappers)', () => {
    expect(base(`${'Re: [x] '.repeat(20_000)}deep`).subject).toBe('DEEP');
    expect(base(`${'[fwd: '.repeat(5_000)}deep${']'.repeat(5_000)}`).subject).toBe('DEEP');
    expect(base('['.repeat(50_000)).subject).toBe('['.repeat(50_000));
  });
});

describe('sort text', () => {
  it('upper-cases, keeps a full-case-only mapping as it is, decomposes, and orders as UTF-8 bytes', () => {
    expect(sortText('abc')).toBe('ABC');
    expect(sortText('straße')).toBe('STRAßE');
    expect(sortText('é')).toBe('E\u0301');
    expect(compareText('\u{1F600}', '\uFFFD')).toBeGreaterThan(0); // astral after every BMP character, as in UTF-8
    expect(compareText('A', 'B')).toBeLessThan(0);
  });
});

describe('Date field (as Dovecot parses it)', () => {
  const at = (s: string) => parseMessageDate(Buffer.from(s));
  it.each([
    ['Mon, 4 Mar 2024 10:00:00 +0000', Date.UTC(2024, 2, 4, 10) / 1000],
    ['4 Mar 2024 10:00 +0130', Date.UTC(2024, 2, 4, 8, 30) / 1000],
    ['Mon, 4 Mar 2024 10:00:00 EST', Date.UTC(2024, 2, 4, 15) / 1000],
    ['Mon, 4 Mar 2024 10:00:00 PDT', Date.UTC(2024, 2, 4, 17) / 1000],
    ['Mon, 4 Mar 2024 10.00.00 GMT', Date.UTC(2024, 2, 4, 10) / 1000],
    ['Mon, 4 Mar 2024 10:00:00', Date.UTC(2024, 2, 4, 10) / 1000],
    ['Mon, 4 Mar 2024 10:00:00 XYZ', Date.UTC(2024, 2, 4, 10) / 1000],
    ['Mon (comment), 4 Mar 2024 10:00:00 +0000 (UTC)', Date.UTC(2024, 2, 4, 10) / 1000],
    ['1 Jan 99 00:00:00 +0000', Date.UTC(1999, 0, 1) / 1000],
    ['1 Jan 69 00:00:00 +0000', Date.UTC(2069, 0, 1) / 1000],
    ['4 March 2024 1:02:03 +0000', Date.UTC(2024, 2, 4, 1, 2, 3) / 1000],
  ])('%j', (text, seconds) => expect(at(text)).toBe(seconds));
  it.each([
    'yesterday',
    '',
    '31 Feb 2024 10:00:00 +0000',
    '4 Mar 2024 25:00:00 +0000',
    '4 Mar 1850 10:00 +0000',
    'Monday, 4 Mar 2024 10:00',
  ])('%j is no date', (text) => expect(at(text)).toBeNull());
});

describe('message ids (as Dovecot reads them)', () => {
  const ids = (s: string) => messageIds(Buffer.from(s, 'latin1'));
  it('finds each "<left@right>", white space removed; skips ids without "@" and garbage', () => {
    expect(ids('<a@x> <b@x>\r\n\t<c@x>')).toEqual(['a@x', 'b@x', 'c@x']);
    expect(ids('<a @ x>')).toEqual(['a@x']);
    expect(ids('your mail <nope> of <"odd id"@x> <c@x>')).toEqual(['odd id@x', 'c@x']);
    // a domain literal passes Dovecot's quick scan ("[" is above "A"), so it is an id as written
    expect(ids('<q@[1.2.3.4]>')).toEqual(['q@[1.2.3.4]']);
    expect(ids('<(comment) a.b @ x.y>')).toEqual(['a.b@x.y']);
    expect(ids('no id here')).toEqual([]);
    expect(ids('<unterminated@x')).toEqual([]);
  });
});

function keys(spec: { id?: string; refs?: string; subject?: string; date?: string }): SortKeys {
  const header = [
    spec.id ? `Message-ID: ${spec.id}` : '',
    spec.refs ? `References: ${spec.refs}` : '',
    spec.subject !== undefined ? `Subject: ${spec.subject}` : '',
    `Date: ${spec.date ?? 'Mon, 1 Apr 2024 10:00:00 +0000'}`,
  ]
    .filter(Boolean)
    .join('\r\n');
  const k = sortKeysOf(Buffer.from(`${header}\r\n\r\n`), 100);
  withArrival(k, new Date(Date.UTC(2024, 0, 1)));
  return k;
}

const mailbox = (specs: Parameters<typeof keys>[0][]) => specs.map((s, i) => ({ seq: i + 1, id: i + 1, keys: keys(s) }));

describe('THREAD REFERENCES', () => {
  it('links replies, hangs orphans under a dummy, breaks loops, keeps the first of duplicate ids', () => {
    const m = mailbox([
      { id: '<a@x>', subject: 'one', date: 'Mon, 1 Apr 2024 10:00:00 +0000' },
      { id: '<b@x>', refs: '<a@x>', subject: 'Re: one', date: 'Mon, 1 Apr 2024 11:00:00 +0000' },
      { id: '<c@x>', refs: '<gone@x>', subject: 'two', date: 'Tue, 2 Apr 2024 10:00:00 +0000' },
      { id: '<d@x>', refs: '<gone@x>', subject: 'three', date: 'Tue, 2 Apr 2024 09:00:00 +0000' },
      { id: '<e@x>', refs: '<f@x>', subject: 'four', date: 'Wed, 3 Apr 2024 10:00:00 +0000' },
      { id: '<f@x>', refs: '<e@x>', subject: 'five', date: 'Wed, 3 Apr 2024 11:00:00 +0000' },
      { id: '<a@x>', subject: 'six', date: 'Thu, 4 Apr 2024 10:00:00 +0000' },
    ]);
    // 5 refers to 6 and 6 to 5: the first link stands (6 is 5's parent), the second would close a loop
    // and is not made; the duplicate <a@x> (7) has a container of its own
    expect(referencesThreads(m)).toBe('(1 2)((4)(3))(6 5)(7)');
  });

  it('gathers roots with one base subject: a reply goes under the original, equals under a dummy', () => {
    const m = mailbox([
      { id: '<a@x>', subject: 'Re: lunch', date: 'Mon, 1 Apr 2024 08:00:00 +0000' },
      { id: '<b@x>', subject: 'lunch', date: 'Mon, 1 Apr 2024 09:00:00 +0000' },
      { id: '<c@x>', subject: 'budget', date: 'Mon, 1 Apr 2024 10:00:00 +0000' },
      { id: '<d@x>', subject: 'budget', date: 'Mon, 1 Apr 2024 11:00:00 +0000' },
    ]);
    expect(referencesThreads(m)).toBe('(2 1)((3)(4))');
  });

  it('links and writes a 50,000-deep thread quickly and without recursion', () => {
    const specs = Array.from({ length: 50_000 }, (_, i) => ({ id: `<m${i}@x>`, refs: i > 0 ? `<m${i - 1}@x>` : undefined, subject: 's' }));
    const items = mailbox(specs);
    const started = performance.now();
    const answer = referencesThreads(items);
    expect(performance.now() - started).toBeLessThan(5000);
    expect(answer.startsWith('(1 2 3 ')).toBe(true);
    expect(answer.endsWith(' 50000)')).toBe(true);
  });
});

describe('THREAD ORDEREDSUBJECT', () => {
  it('groups by base subject, orders threads by their first date: (a), (a b), (a (b)(c))', () => {
    const m = mailbox([
      { subject: 'Re: x', date: 'Mon, 1 Apr 2024 12:00:00 +0000' },
      { subject: 'x', date: 'Mon, 1 Apr 2024 11:00:00 +0000' },
      { subject: 'y', date: 'Mon, 1 Apr 2024 10:00:00 +0000' },
      { subject: 'Fwd: x', date: 'Mon, 1 Apr 2024 13:00:00 +0000' },
      { subject: 'z', date: 'Mon, 1 Apr 2024 09:00:00 +0000' },
      { subject: 'Re: z', date: 'Mon, 1 Apr 2024 09:30:00 +0000' },
    ]);
    expect(orderedSubjectThreads(m)).toBe('(5 6)(3)(2 (1)(4))');
  });
});
