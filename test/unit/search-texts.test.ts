// What SEARCH searches in a message (mime/mime-text.ts searchTexts, mime/address-text.ts addressSearchTexts)
// and the evaluator's answers on it: the five cases of issue 25, each as Dovecot 2.3 answers it.
import { describe, expect, it } from 'vitest';
import { addressSearchTexts } from '../../mime/address-text.js';
import { searchTexts } from '../../mime/mime-text.js';
import { matches, type SearchMessage } from '../../modules/imap/search/evaluate.js';
import type { SearchKey } from '../../modules/imap/search/search-key.js';

const crlf = (s: string) => Buffer.from(s.replace(/\r?\n/g, '\r\n'), 'utf8');

function message(raw: Buffer): SearchMessage {
  const blank = raw.indexOf('\r\n\r\n');
  return {
    uid: 1,
    size: raw.length,
    flags: new Set(),
    internalDate: async () => new Date('2024-03-11T12:00:00Z'),
    header: async () => (blank < 0 ? raw : raw.subarray(0, blank + 4)),
    raw: async () => raw,
  };
}

const body = (value: string): SearchKey => ({ kind: 'text', where: 'body', value });
const text = (value: string): SearchKey => ({ kind: 'text', where: 'text', value });
const from = (value: string): SearchKey => ({ kind: 'header', field: 'from', value, address: true });

const withAttachments = crlf(`From: a@example.com
Subject: report
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="b1"

preamble words
--b1
Content-Type: text/plain; charset=utf-8

see the attached file
--b1
Content-Type: application/pdf; name="report2024.pdf"
Content-Disposition: attachment; filename="report2024.pdf"
Content-Description: Quarterly figures
Content-Transfer-Encoding: base64

${Buffer.from('%PDF binary secretword').toString('base64')}
--b1
Content-Type: message/rfc822

From: Forwarder <fw@example.net>
Subject: forwarded subject
Content-Type: text/plain

forwarded body
--b1--
epilogue words
`);

describe('1. TEXT searches the header of every MIME part (RFC 9051 section 6.4.4)', () => {
  it('finds words of part headers with TEXT, never with BODY', async () => {
    const m = message(withAttachments);
    for (const needle of ['report2024.pdf', 'attachment', 'quarterly figures', 'content-disposition: attachment', 'application/pdf']) {
      expect(await matches(text(needle), m), needle).toBe(true);
      expect(await matches(body(needle), m), needle).toBe(false);
    }
    expect(await matches(text('secretword'), m)).toBe(false); // a non-text part's body is not searched
  });

  it('a part header reads as "Name: value" lines, values decoded', () => {
    const t = searchTexts(
      crlf('Content-Type: multipart/mixed; boundary=x\n\n--x\nContent-Description: =?utf-8?q?caf=C3=A9?=\n\nbody\n--x--\n'),
    );
    expect(t.partHeadersText).toBe('CONTENT-DESCRIPTION: CAFE\u0301\n');
    expect(t.headerText).toBe('CONTENT-TYPE: MULTIPART/MIXED; BOUNDARY=X\n');
    expect(t.bodyText).toBe('BODY');
  });
});

describe('2. an attached message: its header is searched by TEXT, not by BODY', () => {
  it('BODY finds its body, TEXT its header and body', async () => {
    const m = message(withAttachments);
    expect(await matches(body('forwarded body'), m)).toBe(true);
    expect(await matches(body('forwarded subject'), m)).toBe(false);
    expect(await matches(body('fw@example.net'), m)).toBe(false);
    expect(await matches(text('forwarded subject'), m)).toBe(true);
    expect(await matches(text('subject: forwarded'), m)).toBe(true);
    expect(await matches(text('fw@example.net'), m)).toBe(true);
  });

  it('preamble and epilogue are never searched', async () => {
    const m = message(withAttachments);
    expect(await matches(text('preamble words'), m)).toBe(false);
    expect(await matches(text('epilogue words'), m)).toBe(false);
  });
});

describe('3. a multipart without a boundary (or whose boundary never comes): its body is no part, never searched', () => {
  for (const type of ['multipart/mixed', 'multipart/alternative; boundary="never"', 'multipart/mixed; boundary=""']) {
    it(type, async () => {
      const m = message(crlf(`Subject: s\nMIME-Version: 1.0\nContent-Type: ${type}\n\nlonely text\n`));
      expect(await matches(body('lonely'), m)).toBe(false);
      expect(await matches(text('lonely'), m)).toBe(false);
      expect(await matches(text('multipart'), m)).toBe(true);
    });
  }

  it('types that are not text or message, unknown transfer encodings, Content-Types that do not parse: not searched', async () => {
    const cases: [string, boolean][] = [
      ['Content-Type: text/plain', true],
      ['Content-Type: TEXT/HTML; charset=utf-8', true],
      ['Content-Type: message/delivery-status', true],
      ['Content-Type: (comment) text/plain (more)', true],
      ['', true],
      ['Content-Type: application/json', false],
      ['Content-Type: text', false],
      ['Content-Type: text/plain garbage', false],
      ['Content-Type:', false],
      ['Content-Type: text/plain\nContent-Transfer-Encoding: x-uuencode', false],
      ['Content-Type: text/plain\nContent-Transfer-Encoding: 8BIT', true],
      ['Content-Transfer-Encoding: binary', true],
    ];
    for (const [header, searched] of cases) {
      const m = message(crlf(`Subject: s\n${header ? `${header}\n` : ''}\nthe words\n`));
      expect(await matches(body('the words'), m), header).toBe(searched);
    }
  });
});

describe('4. i;unicode-casemap', () => {
  it('"bu" finds "Bücher" and "abc" finds "ＡＢＣ", in bodies and headers', async () => {
    const m = message(crlf('Subject: Bücher\nContent-Type: text/plain; charset=utf-8\n\nＡＢＣ and BU\u0308CHER\n'));
    expect(await matches(body('bu'), m)).toBe(true);
    expect(await matches(body('bücher'), m)).toBe(true);
    expect(await matches(body('abc'), m)).toBe(true);
    expect(await matches({ kind: 'header', field: 'subject', value: 'BÜ' }, m)).toBe(true);
    expect(await matches(text('subject: bu'), m)).toBe(true);
  });

  it('bodies without a charset, US-ASCII or an unknown one read as UTF-8, an invalid octet as U+FFFD', async () => {
    const latin = Buffer.from('Subject: s\r\nContent-Type: text/plain; charset=x-unknown\r\n\r\nFran\xe7ais\r\n', 'latin1');
    expect(await matches(body('fran\ufffdais'), message(latin))).toBe(true);
    expect(await matches(body('français'), message(latin))).toBe(false);
  });
});

describe('5. FROM/TO/CC/BCC: each address on its own, as the ENVELOPE parses it', () => {
  it('the texts of an address field', () => {
    expect(addressSearchTexts(Buffer.from('"Doe, John" <john@example.com>, alice@example.org (Alice)'))).toEqual([
      '"DOE, JOHN" <JOHN@EXAMPLE.COM>',
      'ALICE <ALICE@EXAMPLE.ORG>', // a comment stands for a missing display name, as in ENVELOPE
    ]);
    expect(addressSearchTexts(Buffer.from('team: a@x.org, b@y.org;, undisclosed-recipients:;'))).toEqual([
      'TEAM:',
      '<A@X.ORG>',
      '<B@Y.ORG>',
      'UNDISCLOSED-RECIPIENTS:;',
    ]);
    expect(addressSearchTexts(Buffer.from('=?utf-8?q?J=C3=BCrgen?= <j@example.de>'))).toEqual(['JU\u0308RGEN <J@EXAMPLE.DE>']);
  });

  it('a needle never spans two addresses; a comment is searched only where it stands for the name', async () => {
    const m = message(crlf('From: a@x.org (the comment), "Bob B" <b@y.org> (other)\n\nbody\n'));
    expect(await matches(from('a@x.org'), m)).toBe(true);
    expect(await matches(from('bob b'), m)).toBe(true);
    expect(await matches(from('x.org>, "bob'), m)).toBe(false);
    expect(await matches(from('org, bob'), m)).toBe(false);
    expect(await matches(from('"the comment" <a@x.org>'), m)).toBe(true);
    expect(await matches(from('other'), m)).toBe(false);
    expect(await matches({ kind: 'header', field: 'from', value: 'other' }, m)).toBe(true); // HEADER From: the raw text
  });
});

describe('SUBJECT and HEADER Subject', () => {
  it('SUBJECT reads each run of white space in the field as one space; HEADER Subject reads the field as written', async () => {
    const m = message(crlf('Subject:   Hello \t world\n =?utf-8?q?two__spaces?=\n\nbody\n'));
    const subject = (value: string): SearchKey => ({ kind: 'header', field: 'subject', value, subject: true });
    const header = (value: string): SearchKey => ({ kind: 'header', field: 'subject', value });
    expect(await matches(subject('hello world two  spaces'), m)).toBe(true); // an encoded word's spaces stay
    expect(await matches(subject('hello  world'), m)).toBe(false);
    expect(await matches(header('hello \t world two  spaces'), m)).toBe(true);
    expect(await matches(header('hello world'), m)).toBe(false);
    expect(await matches(header('  hello'), m)).toBe(true); // one white space after the colon is the separator's
    expect(await matches(header('   hello'), m)).toBe(false);
  });
});
