// The SEARCH evaluator (modules/imap/search/evaluate.ts): every key kind against hand-made messages
// (encoded words, folding, MIME bodies in several encodings and charsets, malformed input), nesting,
// property tests of the boolean structure against a plain reference, and the synchronous fast path.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compileSearch, matches, searchNeeds, type SearchMessage } from '../../modules/imap/search/evaluate.js';
import type { SearchKey } from '../../modules/imap/search/search-key.js';

interface MsgOptions {
  uid?: number;
  flags?: string[];
  internal?: Date;
  size?: number;
}

interface CountingMessage extends SearchMessage {
  readonly reads: { header: number; raw: number; date: number };
}

/** A message from text (LF or CRLF; LF becomes CRLF) or bytes (as they are). */
function msg(content: string | Buffer, o: MsgOptions = {}): CountingMessage {
  const raw = typeof content === 'string' ? Buffer.from(content.replace(/\r?\n/g, '\r\n'), 'utf8') : content;
  const reads = { header: 0, raw: 0, date: 0 };
  const blank = raw.indexOf('\r\n\r\n');
  return {
    uid: o.uid ?? 1,
    size: o.size ?? raw.length,
    flags: new Set(o.flags ?? []),
    reads,
    internalDate: async () => {
      reads.date++;
      return o.internal ?? new Date('2024-03-11T12:00:00Z');
    },
    header: async () => {
      reads.header++;
      return blank < 0 ? raw : raw.subarray(0, blank + 4);
    },
    raw: async () => {
      reads.raw++;
      return raw;
    },
  };
}

const all: SearchKey = { kind: 'all' };
const and = (...keys: SearchKey[]): SearchKey => ({ kind: 'and', keys });
const or = (a: SearchKey, b: SearchKey): SearchKey => ({ kind: 'or', a, b });
const not = (key: SearchKey): SearchKey => ({ kind: 'not', key });
const flag = (f: string, set = true): SearchKey => ({ kind: 'flag', flag: f, set });
const hdr = (field: string, value: string): SearchKey => ({ kind: 'header', field, value });
const body = (value: string): SearchKey => ({ kind: 'text', where: 'body', value });
const text = (value: string): SearchKey => ({ kind: 'text', where: 'text', value });
const day = (year: number, month: number, d: number) => ({ year, month, day: d });
const date = (field: 'internal' | 'sent', op: 'before' | 'on' | 'since', y: number, m: number, d: number): SearchKey => ({
  kind: 'date',
  field,
  op,
  day: day(y, m, d),
});

const simple = `From: Alice Example <alice@example.com>
To: bob@example.org, "Carol C." <carol@example.net>
Cc: dave@example.com
Bcc: eve@example.com
Subject: Quarterly report
Date: Sun, 10 Mar 2024 23:30:00 -0500
X-Tag: first
X-Tag: second
X-Empty:

Hello Bob,
the numbers are in.
`;

describe('flag, uid, size, recent and all keys', () => {
  const m = msg(simple, { uid: 7, flags: ['\\Seen', '$Label1', 'Junk'], size: 1000 });

  it('system flags, set and unset, any spelling of the key', async () => {
    expect(await matches(flag('\\Seen'), m)).toBe(true);
    expect(await matches(flag('\\SEEN'), m)).toBe(true);
    expect(await matches(flag('\\Seen', false), m)).toBe(false);
    expect(await matches(flag('\\Deleted'), m)).toBe(false);
    expect(await matches(flag('\\Deleted', false), m)).toBe(true);
    // A stored flag in another spelling is not the system flag.
    expect(await matches(flag('\\Seen'), msg(simple, { flags: ['\\seen'] }))).toBe(false);
  });

  it('keywords compare case-insensitively', async () => {
    expect(await matches(flag('$Label1'), m)).toBe(true);
    expect(await matches(flag('$label1'), m)).toBe(true);
    expect(await matches(flag('JUNK'), m)).toBe(true);
    expect(await matches(flag('$label1', false), m)).toBe(false);
    expect(await matches(flag('$Label2'), m)).toBe(false);
    expect(await matches(flag('$Label2', false), m)).toBe(true);
  });

  it('\\Recent and RECENT hold for the messages the caller gave \\Recent; OLD for the others; NEW is RECENT UNSEEN', async () => {
    expect(await matches(flag('\\Recent'), m)).toBe(false);
    expect(await matches(flag('\\Recent', false), m)).toBe(true);
    expect(await matches({ kind: 'recent', recent: true }, m)).toBe(false);
    expect(await matches({ kind: 'recent', recent: false }, m)).toBe(true);
    const unseen = msg(simple);
    expect(await matches(and({ kind: 'recent', recent: true }, flag('\\Seen', false)), unseen)).toBe(false);
    const recent = msg(simple, { flags: ['\\Recent'] });
    expect(await matches(flag('\\Recent'), recent)).toBe(true);
    expect(await matches({ kind: 'recent', recent: true }, recent)).toBe(true);
    expect(await matches({ kind: 'recent', recent: false }, recent)).toBe(false);
    expect(await matches(and({ kind: 'recent', recent: true }, flag('\\Seen', false)), recent)).toBe(true);
    const recentSeen = msg(simple, { flags: ['\\Recent', '\\Seen'] });
    expect(await matches(and({ kind: 'recent', recent: true }, flag('\\Seen', false)), recentSeen)).toBe(false);
  });

  it('uids, sizes, ALL', async () => {
    expect(await matches({ kind: 'uids', uids: new Set([1, 7, 9]) }, m)).toBe(true);
    expect(await matches({ kind: 'uids', uids: new Set([1, 9]) }, m)).toBe(false);
    expect(await matches({ kind: 'size', op: 'larger', octets: 999 }, m)).toBe(true);
    expect(await matches({ kind: 'size', op: 'larger', octets: 1000 }, m)).toBe(false);
    expect(await matches({ kind: 'size', op: 'smaller', octets: 1000 }, m)).toBe(false);
    expect(await matches({ kind: 'size', op: 'smaller', octets: 1001 }, m)).toBe(true);
    expect(await matches(all, m)).toBe(true);
    expect(await matches(not(all), m)).toBe(false);
  });
});

describe('header keys', () => {
  const m = msg(simple);

  it('FROM, TO, CC, BCC, SUBJECT: case-insensitive substrings of the field, names and addresses', async () => {
    expect(await matches(hdr('from', 'alice example'), m)).toBe(true);
    expect(await matches(hdr('FROM', 'ALICE@EXAMPLE.COM'), m)).toBe(true);
    expect(await matches(hdr('from', 'bob'), m)).toBe(false);
    expect(await matches(hdr('to', 'carol c.'), m)).toBe(true);
    expect(await matches(hdr('to', 'bob@example.org'), m)).toBe(true);
    expect(await matches(hdr('cc', 'dave@'), m)).toBe(true);
    expect(await matches(hdr('bcc', 'eve'), m)).toBe(true);
    expect(await matches(hdr('subject', 'QUARTERLY rep'), m)).toBe(true);
    expect(await matches(hdr('subject', 'annual'), m)).toBe(false);
    // The field's value only: not its name, not other fields.
    expect(await matches(hdr('subject', 'subject'), m)).toBe(false);
    expect(await matches(hdr('subject', 'hello'), m)).toBe(false);
  });

  it('HEADER: any occurrence; "" tests existence; names are case-insensitive', async () => {
    expect(await matches(hdr('X-Tag', 'second'), m)).toBe(true);
    expect(await matches(hdr('x-tag', 'FIRST'), m)).toBe(true);
    expect(await matches(hdr('x-tag', 'third'), m)).toBe(false);
    expect(await matches(hdr('X-TAG', ''), m)).toBe(true);
    expect(await matches(hdr('x-empty', ''), m)).toBe(true);
    expect(await matches(hdr('x-missing', ''), m)).toBe(false);
    expect(await matches(not(hdr('x-missing', '')), m)).toBe(true);
    expect(await matches(hdr('x-missing', 'x'), m)).toBe(false);
  });

  it('folded fields are unfolded (space and tab continuations)', async () => {
    const f = msg('Subject: a long\n subject that\n\tcontinues here\nTo: x@example.com,\n  y@example.com\n\nbody\n');
    expect(await matches(hdr('subject', 'a long subject that continues here'), f)).toBe(true);
    expect(await matches(hdr('to', 'y@example'), f)).toBe(true);
  });

  it('RFC 2047: Q and B, UTF-8, ISO-8859-1, KOI8-R, windows-1252', async () => {
    const koi8 = Buffer.from([0xf0, 0xd2, 0xc9, 0xd7, 0xc5, 0xd4]).toString('base64'); // "Привет"
    const m2 = msg(
      [
        'Subject: =?UTF-8?Q?Caf=C3=A9_cr=C3=A8me?= and more',
        `X-B: =?utf-8?B?${Buffer.from('Grüße aus Köln').toString('base64')}?=`,
        'From: =?ISO-8859-1?Q?J=F6rg_M=FCller?= <joerg@example.de>',
        `X-Koi: =?koi8-r?b?${koi8}?=`,
        'X-Win: =?windows-1252?Q?=80100_=93quoted=94?=',
        'X-Split: =?UTF-8?Q?caf=C3?= =?UTF-8?Q?=A9?=',
        'X-Adjacent: =?utf-8?q?foo?=   =?utf-8?q?bar?= baz =?utf-8?q?qux?=',
        'X-Lang: =?utf-8*en?q?hello_world?=',
        'X-Quoted: "=?utf-8?q?Z=C3=BCrich?=" <z@example.ch>',
        '',
        'body',
      ].join('\n'),
    );
    expect(await matches(hdr('subject', 'café crème and'), m2)).toBe(true);
    expect(await matches(hdr('subject', 'CAFÉ'), m2)).toBe(true);
    expect(await matches(hdr('subject', '=C3'), m2)).toBe(false);
    expect(await matches(hdr('x-b', 'grüße aus köln'), m2)).toBe(true);
    expect(await matches(hdr('from', 'jörg müller'), m2)).toBe(true);
    expect(await matches(hdr('from', 'JÖRG'), m2)).toBe(true);
    expect(await matches(hdr('from', 'joerg@example.de'), m2)).toBe(true);
    expect(await matches(hdr('x-koi', 'привет'), m2)).toBe(true);
    expect(await matches(hdr('x-koi', 'ПРИВ'), m2)).toBe(true);
    expect(await matches(hdr('x-win', '€100 “quoted”'), m2)).toBe(true);
    expect(await matches(hdr('x-split', 'café'), m2)).toBe(true);
    expect(await matches(hdr('x-adjacent', 'foobar baz qux'), m2)).toBe(true);
    expect(await matches(hdr('x-lang', 'hello world'), m2)).toBe(true);
    expect(await matches(hdr('x-quoted', 'zürich'), m2)).toBe(true);
  });

  it('raw 8-bit header text: UTF-8, an invalid octet (a run of them) as one U+FFFD, as Dovecot reads it', async () => {
    const bytes = Buffer.concat([
      Buffer.from('Subject: Gr\xfc\xdfe\r\nX-Utf: ', 'latin1'),
      Buffer.from('naïve', 'utf8'),
      Buffer.from('\r\n\r\nbody\r\n'),
    ]);
    const m2 = msg(bytes);
    expect(await matches(hdr('subject', 'gr\ufffde'), m2)).toBe(true);
    expect(await matches(hdr('subject', 'grüße'), m2)).toBe(false);
    expect(await matches(hdr('x-utf', 'NAÏVE'), m2)).toBe(true);
  });

  it('compares by i;unicode-casemap: decomposed text matches a composed needle', async () => {
    const m2 = msg('Subject: Cafe\u0301\n\nx\n');
    expect(await matches(hdr('subject', 'café'), m2)).toBe(true);
    expect(await matches(hdr('subject', 'CAFE\u0301'), m2)).toBe(true);
  });
});

describe('dates', () => {
  // 23:30 on 10 March in -0500 is 04:30 UTC on 11 March.
  const m = msg(simple, { internal: new Date('2024-03-10T23:30:00-05:00') });

  it('BEFORE/ON/SINCE: the internal date by its UTC day', async () => {
    expect(await matches(date('internal', 'on', 2024, 3, 11), m)).toBe(true);
    expect(await matches(date('internal', 'on', 2024, 3, 10), m)).toBe(false);
    expect(await matches(date('internal', 'since', 2024, 3, 11), m)).toBe(true);
    expect(await matches(date('internal', 'since', 2024, 3, 12), m)).toBe(false);
    expect(await matches(date('internal', 'before', 2024, 3, 11), m)).toBe(false);
    expect(await matches(date('internal', 'before', 2024, 3, 12), m)).toBe(true);
    expect(await matches(date('internal', 'before', 2025, 1, 1), m)).toBe(true);
    expect(await matches(date('internal', 'since', 2023, 12, 31), m)).toBe(true);
  });

  it('SENTBEFORE/SENTON/SENTSINCE: the Date: field day as written, in its own zone', async () => {
    expect(await matches(date('sent', 'on', 2024, 3, 10), m)).toBe(true);
    expect(await matches(date('sent', 'on', 2024, 3, 11), m)).toBe(false);
    expect(await matches(date('sent', 'before', 2024, 3, 11), m)).toBe(true);
    expect(await matches(date('sent', 'before', 2024, 3, 10), m)).toBe(false);
    expect(await matches(date('sent', 'since', 2024, 3, 10), m)).toBe(true);
    expect(await matches(date('sent', 'since', 2024, 3, 11), m)).toBe(false);
  });

  it('lenient Date: forms', async () => {
    const cases: [string, [number, number, number]][] = [
      ['5 Jan 99 10:00 EST', [1999, 1, 5]],
      ['Tue, 5 Jan 2049 10:00:00 +0000', [2049, 1, 5]],
      ['Mon, 07 Feb 05 1:02:03 +0100 (CET)', [2005, 2, 7]],
      ['Thursday, 1 February 2018 09:00 GMT', [2018, 2, 1]],
      ['1-Mar-2020 08:00:00 +0000', [2020, 3, 1]],
      ['Wed, 31 Dec 101 23:59:59 -1200', [2001, 12, 31]],
      ['2021-07-04T12:00:00Z', [2021, 7, 4]],
      ['(comment) Fri,\r\n 13 Sep 2013 00:00 +0000', [2013, 9, 13]],
    ];
    for (const [value, [y, mo, d]] of cases) {
      const m2 = msg(`Date: ${value}\nSubject: x\n\nbody\n`, { internal: new Date('1990-01-01T00:00:00Z') });
      expect(await matches(date('sent', 'on', y, mo, d), m2), value).toBe(true);
    }
  });

  it('no Date:, or one that does not parse: the internal date', async () => {
    const internal = new Date('2022-06-15T10:00:00Z');
    for (const m2 of [msg('Subject: x\n\nbody\n', { internal }), msg('Date: yesterday, at noon\n\nbody\n', { internal })]) {
      expect(await matches(date('sent', 'on', 2022, 6, 15), m2)).toBe(true);
      expect(await matches(date('sent', 'before', 2022, 6, 15), m2)).toBe(false);
    }
  });
});

const multipart = `From: a@example.com
Subject: mixed
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="outer"

This is the preamble: preamblesecret.
--outer
Content-Type: multipart/alternative; boundary=inner

--inner
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: quoted-printable

Gr=C3=BC=C3=9Fe, this line is soft-=
broken, and =E2=82=AC5 is the price.
--inner
Content-Type: text/html; charset="utf-8"
Content-Transfer-Encoding: base64

${Buffer.from('<p>Base64 HTML with <b>Ünïcödé</b></p>').toString('base64')}
--inner--
--outer
Content-Type: application/octet-stream; name=blob.bin
Content-Transfer-Encoding: base64

${Buffer.from('attachmentsecret').toString('base64')}
--outer
Content-Type: text/plain; charset=iso-8859-1
Content-Transfer-Encoding: 8bit

@@LATIN@@
--outer
Content-Type: message/rfc822

From: inner@example.com
Subject: =?utf-8?q?Weitergeleitet_=C3=BCber?=
Content-Type: text/plain; charset=koi8-r
Content-Transfer-Encoding: base64

${Buffer.from([0xf0, 0xd2, 0xc9, 0xd7, 0xc5, 0xd4]).toString('base64')}
--outer--
epiloguesecret
`;

function multipartMessage(): CountingMessage {
  const [before, after] = multipart.replace(/\r?\n/g, '\r\n').split('@@LATIN@@');
  return msg(Buffer.concat([Buffer.from(before, 'utf8'), Buffer.from('Fran\xe7ais d\xe9j\xe0 vu', 'latin1'), Buffer.from(after, 'utf8')]));
}

describe('BODY and TEXT', () => {
  it('plain bodies; BODY does not see the header, TEXT sees both', async () => {
    const m = msg(simple);
    expect(await matches(body('numbers are in'), m)).toBe(true);
    expect(await matches(body('HELLO BOB'), m)).toBe(true);
    expect(await matches(body('quarterly'), m)).toBe(false);
    expect(await matches(text('quarterly'), m)).toBe(true);
    expect(await matches(text('numbers'), m)).toBe(true);
    expect(await matches(text('alice@example.com'), m)).toBe(true);
    expect(await matches(text('nowhere'), m)).toBe(false);
    expect(await matches(body(''), m)).toBe(true);
  });

  it('multipart: quoted-printable and base64 parts, an 8-bit ISO-8859-1 part, message/rfc822', async () => {
    const m = multipartMessage();
    expect(await matches(body('grüße, this line is soft-broken'), m)).toBe(true);
    expect(await matches(body('€5 is the price'), m)).toBe(true);
    expect(await matches(body('<b>ÜNÏCÖDÉ</b>'), m)).toBe(true);
    expect(await matches(body('français déjà vu'), m)).toBe(true);
    expect(await matches(body('привет'), m)).toBe(true); // KOI8-R, base64, inside message/rfc822
    // the embedded message's header: TEXT's, not BODY's
    expect(await matches(body('weitergeleitet über'), m)).toBe(false);
    expect(await matches(text('weitergeleitet über'), m)).toBe(true);
    expect(await matches(body('inner@example.com'), m)).toBe(false);
    expect(await matches(text('inner@example.com'), m)).toBe(true);
    // Skipped by BODY: non-text parts, preamble, epilogue, MIME part headers, the top header; TEXT reads headers.
    expect(await matches(body('attachmentsecret'), m)).toBe(false);
    expect(await matches(text('attachmentsecret'), m)).toBe(false);
    expect(await matches(text('preamblesecret'), m)).toBe(false);
    expect(await matches(text('octet-stream'), m)).toBe(true);
    expect(await matches(body('preamblesecret'), m)).toBe(false);
    expect(await matches(body('epiloguesecret'), m)).toBe(false);
    expect(await matches(body('octet-stream'), m)).toBe(false);
    expect(await matches(body('mixed'), m)).toBe(false);
    expect(await matches(text('mixed'), m)).toBe(true);
    expect(await matches(text('привет'), m)).toBe(true);
  });

  it('a single-part base64 or quoted-printable body in a declared charset', async () => {
    const b64 = msg(
      `Content-Type: text/plain; charset=windows-1252\nContent-Transfer-Encoding: ` +
        `base64\n\n${Buffer.from('price \x80 10 \x93ok\x94', 'latin1').toString('base64')}\n`,
    );
    expect(await matches(body('price € 10 “ok”'), b64)).toBe(true);
    const qp = msg(
      'Content-Type: text/plain; charset="ISO-8859-1"\nContent-Transfer-Encoding: Quoted-Printable\n\nK=F6ln =\nist sch=F6n\n',
    );
    expect(await matches(body('köln ist schön'), qp)).toBe(true);
  });

  it('RFC 2231 charset parameter and multipart/digest parts', async () => {
    const m = msg(
      ['Content-Type: multipart/digest; boundary=d', '', '--d', '', 'Subject: digest item', '', 'digest body text', '--d--'].join('\n'),
    );
    expect(await matches(body('digest body text'), m)).toBe(true);
    expect(await matches(body('digest item'), m)).toBe(false); // an attached message's header
    expect(await matches(text('digest item'), m)).toBe(true);
    const p2231 = msg(Buffer.from("Content-Type: text/plain; charset*=us-ascii'en'koi8%2Dr\r\n\r\n\xf0\xd2\xc9\xd7\xc5\xd4\r\n", 'latin1'));
    expect(await matches(body('привет'), p2231)).toBe(true);
  });
});

describe('malformed messages never throw', () => {
  const cases: [string, string | Buffer, SearchKey, boolean][] = [
    ['no blank line: all header', 'Subject: only a header\nX-A: b', hdr('subject', 'only'), true],
    ['no blank line: no body', 'Subject: only a header\nX-A: b', body('only'), false],
    ['empty message', '', body('x'), false],
    ['empty message, header key', '', hdr('subject', ''), false],
    ['garbage lines in the header', 'From nobody Mon Jan 1\nnot a field\n: no name\nSubject: ok\n\nbody\n', hdr('subject', 'ok'), true],
    ['multipart without boundary: its text is not searched', 'Content-Type: multipart/mixed\n\nplain words\n', body('plain words'), false],
    ['boundary never occurs: not searched', 'Content-Type: multipart/mixed; boundary=zzz\n\nplain words\n', body('plain words'), false],
    [
      'unclosed multipart: the last part runs to the end',
      'Content-Type: multipart/mixed; boundary=b\n\n--b\n\nlast part\n',
      body('last part'),
      true,
    ],
    ['broken base64: what decoded before the break', 'Content-Transfer-Encoding: base64\n\naGVs\nbG8g***d29ybGQ=\n', body('hello'), true],
    ['broken base64: nothing after the break', 'Content-Transfer-Encoding: base64\n\naGVs\nbG8g***d29ybGQ=\n', body('world'), false],
    ['unknown transfer encoding: not searched', 'Content-Transfer-Encoding: x-uuencode\n\nraw text\n', body('raw text'), false],
    ['unknown charset: UTF-8', 'Content-Type: text/plain; charset=x-bogus\n\nnaïve\n', body('NAÏVE'), true],
    ['bad encoded word stays as it is', 'Subject: =?utf-8?x?abc?= =?nope\n\nb\n', hdr('subject', '=?utf-8?x?abc?='), true],
    ['unterminated quoted parameter', 'Content-Type: text/plain; charset="utf-8\n\ntext here\n', body('text here'), true],
    ['a Content-Type that does not parse: not searched', 'Content-Type: garbage\n\nsome text\n', body('some text'), false],
    ['LF-only line ends', Buffer.from('Subject: lf\n\nContent here\n'), body('content here'), true],
    ['a stray = in quoted-printable', 'Content-Transfer-Encoding: quoted-printable\n\na = b =zz c=\n', body('a = b =zz c'), true],
  ];
  for (const [name, content, key, expected] of cases) {
    it(name, async () => {
      expect(await matches(key, msg(content))).toBe(expected);
    });
  }

  it('deep nesting stops without blowing the stack', async () => {
    let s = 'Subject: deep\n';
    for (let i = 0; i < 200; i++) s += `Content-Type: message/rfc822\n\n`;
    s += 'Content-Type: text/plain\n\nat the bottom\n';
    expect(typeof (await matches(body('bottom'), msg(s)))).toBe('boolean');
  });

  it('random bytes: every text key gives a boolean', async () => {
    const keys = [body('a'), text('ab'), hdr('subject', 'x'), hdr('content-type', ''), date('sent', 'on', 2020, 1, 1)];
    const piece = fc.oneof(
      fc.uint8Array({ maxLength: 40 }).map((a) => Buffer.from(a)),
      fc
        .constantFrom(
          '\r\n',
          '\r\n\r\n',
          '\n',
          'Content-Type: multipart/mixed; boundary=b\r\n',
          'Content-Type: message/rfc822\r\n',
          'Content-Transfer-Encoding: base64\r\n',
          'Content-Transfer-Encoding: quoted-printable\r\n',
          '--b\r\n',
          '--b--\r\n',
          '=?utf-8?q?a=C3?=',
          '=?x?b?====?=',
          'Date: 99 Foo 1\r\n',
          '=',
        )
        .map((s) => Buffer.from(s, 'latin1')),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(piece, { maxLength: 30 }), async (pieces) => {
        const m = msg(Buffer.concat(pieces));
        for (const k of keys) expect(typeof (await matches(k, m))).toBe('boolean');
      }),
      { numRuns: 300 },
    );
  });
});

describe('AND, OR, NOT', () => {
  const m = msg(simple, { flags: ['\\Seen'], uid: 3 });

  it('nest', async () => {
    expect(await matches(and(flag('\\Seen'), hdr('subject', 'report'), body('numbers')), m)).toBe(true);
    expect(await matches(and(flag('\\Seen'), hdr('subject', 'report'), body('missing')), m)).toBe(false);
    expect(await matches(or(flag('\\Deleted'), hdr('subject', 'report')), m)).toBe(true);
    expect(await matches(or(flag('\\Deleted'), hdr('subject', 'nope')), m)).toBe(false);
    expect(await matches(not(or(flag('\\Deleted'), hdr('subject', 'nope'))), m)).toBe(true);
    expect(await matches(and(not(flag('\\Seen', false)), or(not(body('numbers')), { kind: 'uids', uids: new Set([3]) })), m)).toBe(true);
    expect(
      await matches(or(and(hdr('from', 'alice'), not(hdr('to', 'bob'))), and(text('carol'), date('sent', 'on', 2024, 3, 10))), m),
    ).toBe(true);
    expect(await matches(and(), m)).toBe(true);
    expect(await matches(not(not(body('hello'))), m)).toBe(true);
  });

  it('the cheap keys decide first: nothing is read when flags settle it', async () => {
    const m2 = msg(simple, { flags: [] });
    expect(await matches(and(body('numbers'), flag('\\Seen')), m2)).toBe(false);
    expect(m2.reads).toEqual({ header: 0, raw: 0, date: 0 });
    expect(await matches(or(hdr('subject', 'x'), flag('\\Seen', false)), m2)).toBe(true);
    expect(m2.reads).toEqual({ header: 0, raw: 0, date: 0 });
  });

  it('each thing is read once per test; with a body key the header comes from raw()', async () => {
    const m2 = msg(simple);
    const c = compileSearch(
      and(
        hdr('subject', 'report'),
        hdr('from', 'alice'),
        hdr('to', 'carol'),
        date('internal', 'on', 2024, 3, 11),
        date('sent', 'on', 2024, 3, 10),
      ),
    );
    expect(await c.test(m2)).toBe(true);
    expect(m2.reads).toEqual({ header: 1, raw: 0, date: 1 });
    const m3 = msg(simple);
    expect(await compileSearch(and(hdr('subject', 'report'), body('numbers'), text('hello'), body('bob'))).test(m3)).toBe(true);
    expect(m3.reads).toEqual({ header: 0, raw: 1, date: 0 });
  });
});

describe('searchNeeds', () => {
  it('says what a tree reads', () => {
    expect(searchNeeds(and(flag('\\Seen'), { kind: 'size', op: 'larger', octets: 1 }, { kind: 'uids', uids: new Set() }))).toEqual({
      internalDate: false,
      header: false,
      body: false,
    });
    expect(searchNeeds(not(date('internal', 'before', 2020, 1, 1)))).toEqual({ internalDate: true, header: false, body: false });
    expect(searchNeeds(or(flag('x'), hdr('subject', 'a')))).toEqual({ internalDate: false, header: true, body: false });
    expect(searchNeeds(date('sent', 'on', 2020, 1, 1))).toEqual({ internalDate: true, header: true, body: false });
    expect(searchNeeds(and(body('a')))).toEqual({ internalDate: false, header: false, body: true });
    expect(searchNeeds(not(text('a')))).toEqual({ internalDate: false, header: true, body: true });
  });
});

// ---- properties of the boolean structure ----

interface Plain {
  uid: number;
  size: number;
  flags: string[];
}

const FLAGS = ['\\Seen', '\\Answered', '\\Flagged', '\\Deleted', '\\Draft', '$Label1', 'Work'];

const flagKey = fc.record({
  kind: fc.constant('flag' as const),
  flag: fc.constantFrom(...FLAGS, '\\Recent', '$label1', 'WORK'),
  set: fc.boolean(),
});
const leaf: fc.Arbitrary<SearchKey> = fc.oneof(
  flagKey,
  fc.record({
    kind: fc.constant('size' as const),
    op: fc.constantFrom('larger' as const, 'smaller' as const),
    octets: fc.integer({ min: 0, max: 200 }),
  }),
  fc.record({
    kind: fc.constant('uids' as const),
    uids: fc.uniqueArray(fc.integer({ min: 1, max: 20 }), { maxLength: 6 }).map((a) => new Set(a)),
  }),
  fc.record({ kind: fc.constant('recent' as const), recent: fc.boolean() }),
  fc.constant<SearchKey>({ kind: 'all' }),
);
// Text leaves, whose truth the reference knows from the message below.
const textLeaf: fc.Arbitrary<SearchKey> = fc.oneof(
  fc.constantFrom(hdr('subject', 'report'), hdr('subject', 'nope'), body('numbers'), body('absent'), text('alice'), text('zzz')),
  fc.constantFrom(
    date('internal', 'on', 2024, 3, 11),
    date('internal', 'before', 2024, 3, 11),
    date('sent', 'since', 2024, 3, 10),
    date('sent', 'since', 2024, 3, 11),
  ),
);

function treeOf(leaves: fc.Arbitrary<SearchKey>): fc.Arbitrary<SearchKey> {
  return fc.letrec<{ key: SearchKey }>((tie) => ({
    key: fc.oneof(
      { depthSize: 'small', withCrossShrink: true },
      leaves,
      fc.array(tie('key'), { maxLength: 4 }).map((keys): SearchKey => ({ kind: 'and', keys })),
      fc.tuple(tie('key'), tie('key')).map(([a, b]): SearchKey => ({ kind: 'or', a, b })),
      tie('key').map((key): SearchKey => ({ kind: 'not', key })),
    ),
  })).key;
}

const TEXT_TRUTH = new Map<SearchKey, boolean>([
  ...[
    hdr('subject', 'report'),
    body('numbers'),
    text('alice'),
    date('internal', 'on', 2024, 3, 11),
    date('sent', 'since', 2024, 3, 10),
  ].map((k) => [k, true] as const),
  ...[hdr('subject', 'nope'), body('absent'), text('zzz'), date('internal', 'before', 2024, 3, 11), date('sent', 'since', 2024, 3, 11)].map(
    (k) => [k, false] as const,
  ),
]);

/** A plain reference: no compiling, no short cuts. */
function reference(k: SearchKey, m: Plain): boolean {
  switch (k.kind) {
    case 'all':
      return true;
    case 'and':
      return k.keys.every((c) => reference(c, m));
    case 'or':
      return reference(k.a, m) || reference(k.b, m);
    case 'not':
      return !reference(k.key, m);
    case 'uids':
      return k.uids.has(m.uid);
    case 'flag': {
      if (k.flag.toLowerCase() === '\\recent') return m.flags.includes('\\Recent') === k.set;
      const has = k.flag.startsWith('\\') ? m.flags.includes(k.flag) : m.flags.some((f) => f.toLowerCase() === k.flag.toLowerCase());
      return has === k.set;
    }
    case 'recent':
      return m.flags.includes('\\Recent') === k.recent;
    case 'size':
      return k.op === 'larger' ? m.size > k.octets : m.size < k.octets;
    default: {
      const t = [...TEXT_TRUTH].find(([key]) => JSON.stringify(key) === JSON.stringify(k));
      if (!t) throw new Error(`no reference for ${JSON.stringify(k)}`);
      return t[1];
    }
  }
}

const plainMessage = fc.record({
  uid: fc.integer({ min: 1, max: 20 }),
  size: fc.integer({ min: 0, max: 200 }),
  flags: fc.subarray(FLAGS),
});

function syncTest(k: SearchKey, m: Plain): boolean {
  const c = compileSearch(k);
  if (!c.sync) throw new Error('expected a synchronous search');
  return c.test({ uid: m.uid, size: m.size, flags: new Set(m.flags) });
}

describe('properties', () => {
  it('flag/size/uid trees: synchronous, equal to the reference; NOT k == !k; OR a b == a || b', () => {
    fc.assert(
      fc.property(treeOf(leaf), treeOf(leaf), plainMessage, (a, b, m) => {
        const ra = syncTest(a, m);
        expect(ra).toBe(reference(a, m));
        expect(syncTest({ kind: 'not', key: a }, m)).toBe(!ra);
        expect(syncTest({ kind: 'or', a, b }, m)).toBe(ra || syncTest(b, m));
        expect(syncTest({ kind: 'and', keys: [a, b] }, m)).toBe(ra && syncTest(b, m));
      }),
      { numRuns: 1000 },
    );
  });

  it('trees mixing flag and text keys: equal to the reference, sync or not', async () => {
    await fc.assert(
      fc.asyncProperty(treeOf(fc.oneof(leaf, textLeaf)), treeOf(fc.oneof(leaf, textLeaf)), plainMessage, async (a, b, p) => {
        const m = msg(simple, { uid: p.uid, size: p.size, flags: p.flags, internal: new Date('2024-03-11T01:00:00Z') });
        const ra = await matches(a, m);
        expect(ra).toBe(reference(a, p));
        expect(await matches({ kind: 'not', key: a }, m)).toBe(!ra);
        expect(await matches({ kind: 'or', a, b }, m)).toBe(ra || (await matches(b, m)));
      }),
      { numRuns: 300 },
    );
  });
});

describe('the fast path', () => {
  it('UNSEEN over 100,000 in-memory messages is synchronous', () => {
    const messages = Array.from({ length: 100_000 }, (_, i) => ({
      uid: i + 1,
      size: 1000 + (i % 5000),
      flags: new Set(i % 3 === 0 ? ['\\Seen'] : i % 3 === 1 ? ['\\Seen', '$Label1'] : []),
    }));
    const c = compileSearch(and(flag('\\Seen', false), not(flag('\\Deleted')), { kind: 'size', op: 'larger', octets: 1500 }));
    expect(c.sync).toBe(true);
    if (!c.sync) return;
    const first = c.test(messages[2]);
    expect(typeof first).toBe('boolean');
    let hits = 0;
    for (const m of messages) if (c.test(m) === true) hits++;
    expect(hits).toBe(messages.filter((m, i) => i % 3 === 2 && m.size > 1500).length);

    const kw = compileSearch(flag('$label1'));
    expect(kw.sync).toBe(true);
    if (kw.sync) expect(messages.filter((m) => kw.test(m)).length).toBe(Math.floor((100_000 + 1) / 3));
  });

  it('a tree with a text key is not synchronous, but may answer at once', () => {
    const c = compileSearch(and(flag('\\Seen'), body('x')));
    expect(c.sync).toBe(false);
    const r = c.test(msg(simple));
    expect(r).toBe(false); // \Seen is unset: decided without reading
  });
});
