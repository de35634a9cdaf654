// The message side of Sieve (sieve/message/) against what Pigeonhole's sieve-test 0.5.19 shows for the same
// messages: header values (RFC 5228 section 2.7.2), body parts (RFC 5173), editheader (RFC 5293), vacation's
// checks and reply (RFC 5230), spamtest/virustest (RFC 5235). Each expectation was read from a sieve-test run
// (`fileinto "${1}"` after `:matches "*"`, `:contains` probes, `-e` for the stored bytes and the sent reply).
import { describe, expect, it } from 'vitest';
import type { SieveSettings } from '../../sieve/config.js';
import { isEditAllowed, isValidHeaderName, withHeaderAdded, withHeaderDeleted } from '../../sieve/message/edit-header.js';
import { htmlToText } from '../../sieve/message/html-text.js';
import { SieveMessage } from '../../sieve/message/sieve-message.js';
import { spamtestValue, virustestValue } from '../../sieve/message/spamtest.js';
import { type VacationContext, vacationReply, vacationPeriod } from '../../sieve/message/vacation-reply.js';

const crlf = (s: string) => Buffer.from(s.replace(/\r?\n/g, '\r\n'));

describe('header values (RFC 5228 section 2.7.2)', () => {
  const m = new SieveMessage(
    Buffer.concat([
      Buffer.from(
        'From: x@y.z\r\nX-A: a\r\n\tb\r\nX-B: a \r\n\t b\r\nX-C: a\tb\r\nX-D:   lead\r\nX-E: a\r\n b\r\n' +
          'X-F: =?utf-8?q?a?=\r\n =?utf-8?q?b?=\r\nX-H: =?bogus?q?x?=\r\nX-I: ',
      ),
      Buffer.from([0x63, 0x61, 0x66, 0xc3, 0xa9, 0x20, 0xe9, 0x74, 0xe9]),
      Buffer.from(
        '\r\nX-J: "=?utf-8?q?q?="\r\nX-K:\r\nX-L: =?utf-8?q?a_b?=c\r\n' +
          'Subject: =?UTF-8?B?w6nDqMOg?= and\r\n\t=?ISO-8859-1?Q?caf=E9?= done  \r\n\r\nbody\r\n',
      ),
    ]),
  );
  it.each([
    ['x-a', 'a b'], // the fold's CRLF and its first white space become one space
    ['x-b', 'a   b'],
    ['x-c', 'a\tb'],
    ['x-d', 'lead'],
    ['x-e', 'a b'],
    ['x-f', 'ab'], // white space between encoded words goes
    ['x-h', 'x'], // an unknown charset: the word's text
    ['x-i', 'café \ufffdt\ufffd'], // octets that are not UTF-8: U+FFFD each
    ['x-j', '"q"'],
    ['x-k', ''],
    ['x-l', 'a bc'],
    ['subject', 'éèà and café done'], // two charsets, folded, trailing space trimmed
  ])('%s', (name, want) => {
    expect(m.headerValues(name)).toEqual([want]);
  });

  it('keeps the encoded words with decoded: false, and answers :index/:last (RFC 5260 section 6)', () => {
    expect(m.headerValues('X-F', { decoded: false })).toEqual(['=?utf-8?q?a?= =?utf-8?q?b?=']);
    const many = new SieveMessage(crlf('X-A: first\nX-A: second\nX-A: third\n\nb\n'));
    expect(many.headerValues('x-a')).toEqual(['first', 'second', 'third']);
    expect(many.headerValues('x-a', { at: { index: 2 } })).toEqual(['second']);
    expect(many.headerValues('x-a', { at: { index: 1, last: true } })).toEqual(['third']);
    expect(many.headerValues('x-a', { at: { index: 4 } })).toEqual([]);
    expect(many.hasHeader('X-A')).toBe(true);
    expect(many.hasHeader('x-b')).toBe(false);
  });

  it('reads the header of a 10 MB message without walking its body', () => {
    const body = Buffer.alloc(10 * 1024 * 1024, '--b\r\nx\r\n');
    const big = new SieveMessage(Buffer.concat([Buffer.from('Subject: big\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n'), body]));
    const t = Date.now();
    expect(big.headerValues('subject')).toEqual(['big']);
    expect(Date.now() - t).toBeLessThan(250); // walking the body took 660 ms here
  });

  it('reads a header of 20000 fields in bounded time', () => {
    const big = new SieveMessage(Buffer.from(`${'X-Many: v\r\n'.repeat(20000)}Subject: last\r\n\r\nb\r\n`));
    const t = Date.now();
    expect(big.headerValues('subject')).toEqual(['last']);
    expect(big.headerValues('x-many')).toHaveLength(20000);
    expect(Date.now() - t).toBeLessThan(2000);
  });
});

const NESTED = crlf(`From: a@b.c
To: d@e.f
Subject: body
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="OUT"

prologue text here
--OUT
Content-Type: text/plain; charset=iso-8859-1
Content-Transfer-Encoding: quoted-printable

caf=E9 plain part
--OUT
Content-Type: text/html; charset=utf-8

<html><body><p>Hello <b>HTMLWORD</b> &amp; more</p><script>x</script></body></html>
--OUT
Content-Type: message/rfc822

From: inner@x.y
Subject: =?utf-8?q?inner_subj?=
Content-Type: multipart/alternative; boundary="IN"

inner prologue
--IN
Content-Type: text/plain

inner plain
--IN
Content-Type: application/octet-stream
Content-Transfer-Encoding: base64

QklOQVJZV09SRA==
--IN--
inner epilogue
--OUT
Content-Type: image/png
Content-Transfer-Encoding: base64

aW1hZ2VieXRlcw==
--OUT--
epilogue text
`);

describe('body parts (RFC 5173) of a multipart with a nested message/rfc822', () => {
  const m = new SieveMessage(NESTED);
  const has = (t: Parameters<SieveMessage['bodyParts']>[0], key: string) =>
    m.bodyParts(t).some((p) => p.toLowerCase().includes(key.toLowerCase()));
  // [transform, key, what sieve-test answered for `body <transform> :contains key`]
  it.each([
    ['raw', 'caf=E9', true],
    ['raw', 'Content-Type: image/png', true],
    ['raw', 'prologue text', true],
    ['text', 'café plain', true],
    ['text', 'HTMLWORD', true],
    ['text', '<b>', false],
    ['text', '& more', true],
    ['text', 'inner plain', true],
    ['text', 'prologue', false],
    ['text', 'epilogue', false],
    ['text', 'inner_subj', false],
    ['text', 'BINARYWORD', false],
    ['text', 'Content-Type', false],
    [{ content: ['multipart'] }, 'prologue text', true],
    [{ content: ['multipart'] }, 'epilogue text', true],
    [{ content: ['multipart'] }, 'inner prologue', true],
    [{ content: ['multipart'] }, 'caf', false],
    [{ content: ['message/rfc822'] }, 'inner@x.y', true],
    [{ content: ['message/rfc822'] }, 'inner subj', false],
    [{ content: ['message/rfc822'] }, 'inner plain', false],
    [{ content: ['application'] }, 'BINARYWORD', true],
    [{ content: ['image/png'] }, 'imagebytes', true],
    [{ content: ['text/html'] }, '<b>', true],
    [{ content: ['text'] }, 'café', true],
    [{ content: [''] }, 'imagebytes', true],
    [{ content: ['text/plain'] }, 'Content-Type', false],
    [{ content: ['TEXT/PLAIN'] }, 'inner plain', true],
    [{ content: ['text/'] }, 'inner plain', false],
    [{ content: ['text/*'] }, 'inner plain', false],
  ] as const)('%j :contains %s', (transform, key, want) => {
    expect(has(transform, key)).toBe(want);
  });

  it('reads other text/* parts and untyped parts of a multipart as text, not application/*', () => {
    const mixed = new SieveMessage(
      crlf(
        'From: a@b.c\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=B\n\n' +
          '--B\nContent-Type: text/calendar\n\nCALWORD\n--B\nContent-Type: text/enriched\n\n<bold>ENR</bold>\n' +
          '--B\nContent-Type: application/pdf\n\nPDFWORD\n--B\n\nDEFAULTPLAIN\n--B--\n',
      ),
    );
    expect(mixed.bodyParts('text')).toEqual(['CALWORD', '<bold>ENR</bold>', 'DEFAULTPLAIN']);
    expect(mixed.bodyParts({ content: ['text/plain'] })).toEqual(['DEFAULTPLAIN']);
    expect(new SieveMessage(crlf('Subject: x\n\nplain body\n')).bodyParts('text')).toEqual(['plain body\r\n']);
  });

  it("decodes charsets as Pigeonhole: a bad octet is U+FFFD, a character cut off by the part's end goes", () => {
    const part = (ct: string, cte: string, body: string) =>
      `--Z\r\nContent-Type: ${ct}\r\nContent-Transfer-Encoding: ${cte}\r\n\r\n${body}\r\n`;
    const raw = Buffer.from(
      'From: a@b.c\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=Z\r\n\r\n' +
        part('text/plain; charset=koi8-r', 'base64', '8NLJ18XUIM3J0g==') +
        part('text/plain; charset=utf-16', 'base64', '//53AGkAZABlACAAdABlAHgAdAA=') +
        part('text/plain; charset=x-unknown', '8bit', 'caf\xe9 unknown') +
        part('text/plain; charset=iso-2022-jp', '7bit', '\x1b$B$3$s$K$A$O\x1b(B jp') +
        part('text/plain; charset=windows-1252', 'quoted-printable', 'euro =80 sign') +
        part('text/plain', '8bit', 'no charset caf\xe9') +
        part('text/plain; charset=us-ascii', '8bit', 'mid \xff x \xe9\r\nend') +
        '--Z--\r\n',
      'latin1',
    );
    expect(new SieveMessage(raw).bodyParts('text')).toEqual([
      'Привет мир',
      'wide text',
      'caf\ufffd unknown',
      'こんにちは jp',
      'euro € sign',
      'no charset caf',
      'mid \ufffd x \ufffd\r\nend',
    ]);
  });

  it('turns HTML into the text Pigeonhole reads (extracttext showed the same string)', () => {
    const html =
      '<html><head><style>p{x}</style><title>T</title></head><body><p>Hello <b>W</b> &amp; more&nbsp;x &#233;</p>' +
      '<script>s</script>\r\n<br>line2<!-- c --> <div>d</div>  end</body></html>\r\n';
    expect(htmlToText(html)).toBe('T Hello W  & more\u00a0x é \r\nline2 d   end \r\n');
    expect(htmlToText('a &bogus; b & c &#x41; <a title=">">x</a>')).toBe('a  b  c A x ');
  });
});

describe('editheader (RFC 5293)', () => {
  const original = crlf('From: a@b.c\nReceived: from x\nSubject: hello\nX-Del: one\nX-Del: two\n\tfolded\nX-Del: three\n\nbody\n');

  it('writes the fields as Pigeonhole stored them (sieve-test -e)', () => {
    let m = withHeaderAdded(original, 'x-new-field', 'plain value');
    m = withHeaderAdded(
      m,
      'X-Last',
      'café ünïcode value that is long enough to need folding across several lines of the header section yes',
      true,
    );
    m = withHeaderAdded(m, 'X-Multi', 'line one\nline two');
    m = withHeaderDeleted(m, 'X-Del', () => true, { index: 2 }).message;
    m = withHeaderAdded(m, 'Received', 'from sieve');
    expect(m.toString()).toBe(
      crlf(
        'Received: from sieve\nX-Multi: line one\n\tline two\nX-New-Field: plain value\nFrom: a@b.c\nReceived: from x\n' +
          'Subject: hello\nX-Del: one\nX-Del: three\n' +
          'X-Last: =?utf-8?b?Y2Fmw6kgw7xuw69jb2Rl?= value that is long enough to need\n' +
          '\tfolding across several lines of the header section yes\n\nbody\n',
      ).toString(),
    );
    expect(new SieveMessage(m).headerValues('x-last')[0]).toMatch(/^café ünïcode value/);
  });

  it('deletes what the predicate accepts, counting :index from the end with :last', () => {
    const values: string[] = [];
    const r = withHeaderDeleted(original, 'x-del', (f) => {
      values.push(`${f.index}:${f.value}`);
      return f.value.includes('two');
    });
    expect(values).toEqual(['1:one', '2:two folded', '3:three']);
    expect(new SieveMessage(r.message).headerValues('x-del')).toEqual(['one', 'three']);
    expect(r.deleted).toBe(1);
    const last = withHeaderDeleted(original, 'X-DEL', () => true, { index: 1, last: true });
    expect(new SieveMessage(last.message).headerValues('x-del')).toEqual(['one', 'two folded']);
    const none = withHeaderDeleted(original, 'x-none');
    expect(none).toEqual({ message: original, deleted: 0 });
  });

  it('refuses what Pigeonhole refuses', () => {
    expect(isEditAllowed('Received', 'delete')).toBe(false);
    expect(isEditAllowed('auto-submitted', 'delete')).toBe(false);
    expect(isEditAllowed('Received', 'add')).toBe(true);
    expect(isEditAllowed('X-Sieve-Redirected-From', 'add')).toBe(false);
    expect(isEditAllowed('Subject', 'delete')).toBe(true);
    expect(isValidHeaderName('X-Ok_1')).toBe(true);
    expect(isValidHeaderName('bad name')).toBe(false);
    expect(isValidHeaderName('bad:name')).toBe(false);
    expect(isValidHeaderName('')).toBe(false);
  });
});

describe('vacation (RFC 5230 section 5) decides as Pigeonhole', () => {
  const periods = { min: 86_400, default: 7 * 86_400, max: 0 };
  const ctx = (from: string, to = 'me@here.org'): VacationContext => ({
    envelope: { from, to },
    ownAddresses: [],
    now: new Date(Date.UTC(2026, 11, 6, 16, 29, 40)),
    periods,
    hostname: 'mx.here.org',
  });
  const decide = (header: string, from = 's@x.y', to = 'me@here.org', addresses: string[] = []) =>
    vacationReply(new SieveMessage(crlf(`From: s@x.y\n${header}\nSubject: hi\n\nb\n`)), { reason: 'I am away', addresses }, ctx(from, to));

  // [header, envelope sender, envelope recipient, sieve-test's log line or "sent"]
  it.each([
    ['To: me@here.org', 's@x.y', 'me@here.org', 'sent'],
    ['To: other@here.org', 's@x.y', 'me@here.org', 'discarding vacation response for implicitly delivered message'],
    ['To: other@here.org\nCc: Me <ME@HERE.ORG>', 's@x.y', 'me@here.org', 'sent'],
    ['To: Me@here.org', 's@x.y', 'me@here.org', 'sent'],
    ['To: me@here.org', 'ME@here.org', 'me@here.org', 'discarded vacation reply to own address <ME@here.org>'],
    ['To: me@here.org', 'mailer-daemon@x.y', 'me@here.org', 'not sending vacation response to system address <mailer-daemon@x.y>'],
    ['To: me@here.org', 'list-REQUEST@x.y', 'me@here.org', 'sent'],
    ['To: me@here.org', 'Owner-list@x.y', 'me@here.org', 'sent'],
    ['To: me@here.org\nPrecedence: BULK', 's@x.y', 'me@here.org', 'discarding vacation response to precedence=BULK message from <s@x.y>'],
    ['To: me@here.org\nPrecedence: first-class', 's@x.y', 'me@here.org', 'sent'],
    ['To: me@here.org\nAuto-Submitted: No', 's@x.y', 'me@here.org', 'sent'],
    [
      'To: me@here.org\nAuto-Submitted: no (x)',
      's@x.y',
      'me@here.org',
      'discarding vacation response to auto-submitted message from <s@x.y>',
    ],
    ['To: me@here.org\nList-Post: <mailto:l@x>', 's@x.y', 'me@here.org', 'discarding vacation response to mailinglist recipient <s@x.y>'],
    ['To: me@here.org\nList-Id: <l.x>', 's@x.y', 'me@here.org', 'discarding vacation response to mailinglist recipient <s@x.y>'],
    ['To: me@here.org\nX-Spam-Flag: YES', 's@x.y', 'me@here.org', 'sent'],
    ['To: x@y.z\nResent-To: me@here.org', 's@x.y', 'me@here.org', 'sent'],
    ['To: me@here.org', 's@x.y', 'me+box@here.org', 'discarding vacation response for implicitly delivered message'],
    ['To: me@here.org', '', 'me@here.org', 'discarded vacation reply to <>'],
  ])('%j from <%s> to <%s>', (header, from, to, want) => {
    const d = decide(header, from, to);
    if (want === 'sent') expect(d.send).toBe(true);
    else expect(d.send ? 'sent' : d.reason).toMatch(new RegExp(`^${want.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
  });

  it('answers a user named by :addresses, and never one of them', () => {
    expect(decide('To: alias@here.org', 's@x.y', 'me@here.org', ['alias@here.org']).send).toBe(true);
    const own = decide('To: me@here.org', 'alias@here.org', 'me@here.org', ['alias@here.org']);
    expect(own.send ? '' : own.reason).toBe(
      'discarded vacation reply to own address <alias@here.org> (as specified using :addresses argument)',
    );
  });

  it('writes the reply Pigeonhole sends, to the envelope sender from the null sender', () => {
    const m = new SieveMessage(crlf('From: s@x.y\nTo: me@here.org\nMessage-ID: <m1@x>\nReferences: <r0@x>\n\nb\n'));
    const d = vacationReply(m, { reason: 'Back on Monday.\nMe', periodSeconds: 3 * 86_400 }, ctx('s@x.y'));
    if (!d.send) throw new Error(d.reason);
    expect(d.action.to).toBe('s@x.y');
    expect(d.action.from).toBe('');
    expect(d.action.periodSeconds).toBe(3 * 86_400);
    const text = d.action.reply.toString();
    expect(text).toMatch(/^X-Sieve: Postern Sieve\r\nMessage-ID: <[0-9a-f]+\.\d+@mx\.here\.org>\r\n/);
    expect(text).toContain(
      '\r\nDate: Sun, 06 Dec 2026 16:29:40 +0000\r\nFrom: <me@here.org>\r\nTo: <s@x.y>\r\nSubject: Automated reply\r\n' +
        'In-Reply-To: <m1@x>\r\nReferences: <r0@x> <m1@x>\r\nAuto-Submitted: auto-replied (vacation)\r\nPrecedence: bulk\r\n' +
        'X-Auto-Response-Suppress: All\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n' +
        'Content-Transfer-Encoding: 8bit\r\n\r\nBack on Monday.\r\nMe\r\n',
    );
    const withSubject = vacationReply(
      new SieveMessage(crlf('To: me@here.org\nSubject: =?utf-8?q?R=C3=A9union?=\n\nb\n')),
      { reason: 'x', from: 'Me <me@here.org>' },
      ctx('s@x.y'),
    );
    if (!withSubject.send) throw new Error(withSubject.reason);
    const r = new SieveMessage(withSubject.action.reply);
    expect(r.headerValues('subject')).toEqual(['Auto: Réunion']);
    expect(r.headerValues('from')).toEqual(['Me <me@here.org>']);
  });

  it('keys the memory on the sender and the handle, and bounds the period', () => {
    const m = new SieveMessage(crlf('To: me@here.org\n\nb\n'));
    const key = (from: string, handle?: string) => {
      const d = vacationReply(m, { reason: 'r', handle }, ctx(from));
      return d.send ? d.action.key : d.reason;
    };
    expect(key('S@X.Y')).toBe(key('s@x.y'));
    expect(key('s@x.y')).not.toBe(key('t@x.y'));
    expect(key('s@x.y', 'a')).not.toBe(key('s@x.y', 'b'));
    expect(vacationPeriod(null, periods)).toBe(7 * 86_400);
    expect(vacationPeriod(60, periods)).toBe(86_400);
    expect(vacationPeriod(0, periods)).toBe(86_400); // sieve-test: ":seconds 0" => seconds : 86400
    expect(vacationPeriod(400 * 86_400, { ...periods, max: 30 * 86_400 })).toBe(30 * 86_400);
  });
});

describe('spamtest and virustest (RFC 5235) as Pigeonhole scales them', () => {
  type Settings = NonNullable<SieveSettings['spamtest']>;
  const spam: Settings = {
    statusHeader: 'X-Spam-Score: (-?[0-9]+(\\.[0-9]+)?)',
    statusType: 'score',
    maxValue: 5,
    maxHeader: null,
    textValues: {},
  };
  const virus: Settings = {
    statusHeader: 'X-Virus-Scan: ([a-zA-Z]+)',
    statusType: 'text',
    maxValue: null,
    maxHeader: null,
    textValues: { 1: 'clean', 5: 'infected' },
  };
  // [header, spamtest, spamtest :percent, virustest] as sieve-test showed them
  it.each([
    ['X-Spam-Score: 3.2', '6', '64', '0'],
    ['X-Spam-Score: -1', '1', '0', '0'],
    ['X-Spam-Score: 5', '10', '100', '0'],
    ['X-Spam-Score: 50', '10', '100', '0'],
    ['X-Spam-Score: 0', '1', '0', '0'],
    ['X-Spam-Score: 2,5', '4', '40', '0'],
    ['X-Spam-Score: abc', '0', '0', '0'],
    ['X-Other: 1', '0', '0', '0'],
    ['X-Spam-Score:  4.99 (x)', '9', '99', '0'],
    ['X-Spam-Score: 1234567', '0', '0', '0'],
    ['X-Virus-Scan: clean', '0', '0', '1'],
    ['X-Virus-Scan: infected', '0', '0', '5'],
    ['X-Virus-Scan: Clean', '0', '0', '0'],
    ['X-Spam-Score: 0.5\nX-Spam-Score: 4', '1', '10', '0'],
    ['X-Spam-Score: 2.777', '5', '55', '0'],
  ])('%j', (header, value, percent, virusValue) => {
    const m = new SieveMessage(crlf(`From: a@b.c\n${header}\nSubject: s\n\nb\n`));
    expect([spamtestValue(m, spam), spamtestValue(m, spam, true), virustestValue(m, virus)]).toEqual([value, percent, virusValue]);
  });

  it('reads a strlen status and a maximum from another header; untested without settings', () => {
    const stars: Settings = { statusHeader: 'X-Spam-Level', statusType: 'strlen', maxValue: null, maxHeader: 'X-Spam-Max', textValues: {} };
    const m = (h: string) => new SieveMessage(crlf(`${h}\n\nb\n`));
    expect(spamtestValue(m('X-Spam-Level: *****\nX-Spam-Max: 10'), stars)).toBe('5');
    expect(spamtestValue(m('X-Spam-Level: **+**\nX-Spam-Max: 10'), stars)).toBe('0');
    expect(spamtestValue(m('X-Spam-Level: ***'), stars)).toBe('0');
    expect(spamtestValue(m('X-Spam-Score: 3'), null)).toBe('0');
    expect(virustestValue(m('X-Virus-Scan: clean'), null)).toBe('0');
  });
});
