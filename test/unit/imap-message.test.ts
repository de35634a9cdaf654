// modules/imap/message on the corpus (test/imap-corpus) and on edge cases: what FETCH ENVELOPE,
// BODYSTRUCTURE, BODY[...] and BINARY[...] answers are made of. The differential test against Dovecot
// is test/interop/imap-message-dovecot.test.ts; these run without it.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { binaryBytes } from '../../modules/imap/message/binary.js';
import { bodyStructure } from '../../modules/imap/message/body-structure.js';
import { envelope } from '../../modules/imap/message/envelope.js';
import { MAX_DEPTH, type MimePart, parseMime } from '../../mime/mime-tree.js';
import { type SectionSpec, sectionBytes } from '../../modules/imap/message/sections.js';
import { decodeBase64, decodeQuotedPrintable } from '../../mime/transfer-decode.js';
import { CORPUS, load, toCrlf } from '../imap-corpus/index.js';

const crlf = (s: string) => toCrlf(Buffer.from(s, 'utf8'));
const text = (b: Buffer | null | string) => (b === null || typeof b === 'string' ? b : b.toString('utf8'));

function allParts(root: MimePart): MimePart[] {
  const out: MimePart[] = [];
  const visit = (p: MimePart) => {
    out.push(p);
    p.children.forEach(visit);
    if (p.message) visit(p.message);
  };
  visit(root);
  return out;
}

function section(raw: Buffer, spec: SectionSpec): string | null {
  return text(sectionBytes(raw, parseMime(raw), spec));
}

describe('the corpus', () => {
  it('has at least 15 messages', () => expect(CORPUS.length).toBeGreaterThanOrEqual(15));

  for (const name of CORPUS) {
    it(`${name}: every part's offsets are in order and inside the message`, () => {
      const raw = load(name);
      const root = parseMime(raw);
      for (const p of allParts(root)) {
        expect(p.headerStart).toBeLessThanOrEqual(p.headerEnd);
        expect(p.headerEnd).toBeLessThanOrEqual(p.bodyStart);
        expect(p.bodyStart).toBeLessThanOrEqual(p.bodyEnd);
        expect(p.bodyEnd).toBeLessThanOrEqual(raw.length);
        for (const c of p.children) expect(c.headerStart >= p.bodyStart && c.bodyEnd <= p.bodyEnd).toBe(true);
      }
      expect(bodyStructure(raw, root, true)[0]).toBe(0x28);
      expect(envelope(raw, root)[0]).toBe(0x28);
    });
  }
});

describe('ENVELOPE', () => {
  it('gives every field of a plain message, quoted', () => {
    const raw = load('01-plain-ascii.eml');
    expect(text(envelope(raw, parseMime(raw)))).toBe(
      '("Mon, 4 Nov 2024 10:15:30 +0100" "Plain ASCII message" (("Alice Example" NIL "alice" "example.org")) ' +
        '(("Secretary" NIL "secretary" "example.org")) (("Alice Replies" NIL "replies" "example.org")) ' +
        '(("Bob" NIL "bob" "example.net")(NIL NIL "carol" "example.com")) (("Dave, Jr." NIL "dave" "example.com")) ' +
        '((NIL NIL "eve" "example.org")) "<earlier.0@example.net>" "<plain.1@example.org>")',
    );
  });

  it('sends 8-bit header text as literals, unchanged', () => {
    const raw = load('02-utf8-8bit.eml');
    const env = text(envelope(raw, parseMime(raw)))!;
    expect(env).toContain('{30}\r\nGrüße aus Köln – ein Test');
    expect(env).toContain('(({15}\r\nJürgen Müller NIL "juergen" "example.de"))');
  });

  it('leaves encoded words as they are', () => {
    const raw = load('03-encoded-words.eml');
    const env = text(envelope(raw, parseMime(raw)))!;
    expect(env).toContain('"=?UTF-8?B?R3LDvMOfZSBhdXMgS8O2bG4=?= and =?UTF-8?Q?caf=C3=A9?="');
    expect(env).toContain('(("=?ISO-8859-1?Q?Andr=E9_Pirard?=" NIL "pirard" "example.be"))');
  });

  it('marks groups with (NIL NIL "name" NIL) ... (NIL NIL NIL NIL) and fills in what broken addresses lack', () => {
    const raw = load('09-address-groups.eml');
    const env = text(envelope(raw, parseMime(raw)))!;
    expect(env).toContain(
      '((NIL NIL "Friends" NIL)(NIL NIL "alice" "example.org")("Bob" NIL "bob" "example.net")(NIL NIL NIL NIL)' +
        '(NIL NIL "undisclosed-recipients" NIL)(NIL NIL NIL NIL))',
    );
    expect(env).toContain('((NIL NIL "Team" NIL)(NIL NIL NIL NIL))'); // Reply-To: Team: ;
    expect(env).toContain('(NIL NIL "localonly" "MISSING_DOMAIN")');
    expect(env).toContain('(NIL NIL "quoted local" "example.com")');
    expect(env).toContain('(NIL "@route1.example,@route2.example" "joe" "example.com")');
    expect(env).toContain('("Empty Display" NIL "MISSING_MAILBOX" "MISSING_DOMAIN")');
    expect(env).toContain('(("John Smith" NIL "john.smith" "example.com"))'); // a comment names the sender
    expect(env).toContain('("Mary" NIL "mary" "[192.0.2.1]")');
  });

  it('is NIL for missing fields; Sender and Reply-To default to From', () => {
    const raw = load('10-missing-fields.eml');
    expect(text(envelope(raw, parseMime(raw)))).toBe('(NIL NIL NIL NIL NIL ((NIL NIL "nobody" "example.org")) NIL NIL NIL NIL)');
    const empty = Buffer.alloc(0);
    expect(text(envelope(empty, parseMime(empty)))).toBe('(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL)');
  });

  it('unfolds: the subject for humans, other strings by dropping the CRLFs', () => {
    const raw = load('15-folding-long.eml');
    const env = text(envelope(raw, parseMime(raw)))!;
    expect(env).toMatch(/^\("Sun, 17 Nov 2024 10:00:00 \+0000" "This subject is folded over three lines" \(\("Folded Name" NIL "folded"/);
    expect(env).toMatch(/" <folded\.15@example\.org>"\)$/);
  });

  it('takes the last of repeated strings and joins repeated address fields (as Dovecot)', () => {
    const raw = load('11-duplicate-headers.eml');
    const env = text(envelope(raw, parseMime(raw)))!;
    expect(env).toMatch(
      /^\("Thu, 14 Nov 2024 10:00:00 \+0000" "second subject" \(\(NIL NIL "first" "example.org"\)\(NIL NIL "second" "example.org"\)\)/,
    );
  });
});

describe('BODYSTRUCTURE and BODY', () => {
  const bs = (name: string, extended = true) => {
    const raw = load(name);
    return text(bodyStructure(raw, parseMime(raw), extended));
  };

  it('text parts count lines and get charset us-ascii by default', () => {
    expect(bs('01-plain-ascii.eml')).toBe('("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 111 4 NIL NIL NIL NIL)');
    expect(bs('01-plain-ascii.eml', false)).toBe('("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 111 4)');
    expect(bs('18-no-mime-version.eml')).toBe('("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 33 1 NIL NIL NIL NIL)');
  });

  it('multiparts carry their parameters, disposition, language and location', () => {
    expect(bs('08-related.eml')).toBe(
      '(("text" "html" ("charset" "utf-8") "<html.8@example.com>" NIL "7bit" 59 0 NIL NIL ("en") "index.html")' +
        '("image" "gif" NIL "<img.8@example.com>" "A tiny GIF" "base64" 20 "Q2hlY2sgSW50ZWdyaXR5IQ==" ' +
        '("inline" ("filename" "tiny.gif" "creation-date" "Mon, 11 Nov 2024 11:11:11 +0000")) ("x-klingon") "images/tiny.gif") ' +
        '"related" ("boundary" "rel8" "type" "text/html" "start" "<html.8@example.com>") ("inline" NIL) ("en-GB" "de") ' +
        '"http://example.com/newsletter/")',
    );
    expect(bs('04-alternative.eml', false)).toBe(
      '(("text" "plain" ("charset" "utf-8") NIL NIL "quoted-printable" 56 1)("text" "html" ("charset" "utf-8") NIL NIL ' +
        '"quoted-printable" 78 1) "alternative")',
    );
  });

  it('message/rfc822 has the envelope, the structure and the lines of the embedded message', () => {
    expect(bs('22-root-rfc822.eml')).toBe(
      '("message" "rfc822" NIL NIL NIL "7bit" 166 ("Wed, 20 Nov 2024 10:00:00 +0000" "wrapped message" ' +
        '((NIL NIL "wrapped" "example.org")) ((NIL NIL "wrapped" "example.org")) ((NIL NIL "wrapped" "example.org")) ' +
        '((NIL NIL "reader" "example.org")) NIL NIL NIL NIL) ("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 48 2 NIL NIL NIL ' +
        'NIL) 7 NIL NIL NIL NIL)',
    );
  });

  it('parts of a multipart/digest default to message/rfc822', () => {
    const raw = load('07-digest.eml');
    const root = parseMime(raw);
    expect(root.children.map((c) => `${c.type}/${c.subtype}`)).toEqual(['message/rfc822', 'message/rfc822', 'text/plain']);
  });

  it('keeps RFC 2231 parameters raw, continuations merged', () => {
    expect(bs('05-mixed-attachments.eml')).toContain(
      '("application" "octet-stream" ("name*" "UTF-8\'\'%E6%97%A5%E6%9C%AC.bin") NIL NIL "base64" 28 NIL ("attachment" ("filename*" ' +
        '"UTF-8\'\'Gr%C3%BC%C3%9Fe%20aus%20K%C3%B6ln.bin")) NIL NIL)',
    );
  });

  it('copes with malformed Content-Type fields and a multipart without boundary', () => {
    expect(bs('12-malformed-content-type.eml')).toBe(
      '(("text" "" ("charset" "us-ascii") NIL NIL "7bit" 23 0 NIL NIL NIL NIL)("" "" NIL NIL NIL "7bit" 11 NIL NIL NIL NIL)' +
        '("application" "x-thing" NIL NIL NIL "7bit" 30 NIL NIL NIL NIL)' +
        '("text" "plain" ("charset" "utf-8" "format" "flowed" "" "novalue") NIL NIL "7bit" 21 0 NIL NIL NIL NIL)' +
        '(("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 0 0 NIL NIL NIL NIL) "mixed" NIL NIL NIL NIL)' +
        '("text" "plain" ("charset" "us-ascii" "name" "x.txt") NIL NIL "7bit" 34 0 NIL NIL NIL NIL) "mixed" ("boundary" "mal12") NIL ' +
        'NIL NIL)',
    );
  });

  it('a missing close delimiter ends the last part at the end of the message', () => {
    const raw = load('13-missing-final-boundary.eml');
    const root = parseMime(raw);
    expect(root.children).toHaveLength(2);
    expect(text(sectionBytes(raw, root, { part: [2] }))).toBe('Second part, the message ends without the close delimiter.\r\n');
  });

  it('an outer boundary closes an inner multipart, even when it is a prefix of the inner one', () => {
    const raw = load('23-boundary-prefix.eml');
    const root = parseMime(raw);
    expect(root.children.map((c) => c.children.length)).toEqual([2, 0]);
    expect(section(raw, { part: [1, 2] })).toBe('inner two');
  });

  it('an empty message is one empty text part', () => {
    const raw = Buffer.alloc(0);
    expect(text(bodyStructure(raw, parseMime(raw), true))).toBe(
      '("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 0 0 NIL NIL NIL NIL)',
    );
    expect(section(raw, { part: [] })).toBe('');
    expect(section(raw, { part: [], text: 'HEADER' })).toBe('');
    expect(section(raw, { part: [1] })).toBe('');
  });

  it('nesting is bounded: parts that deep become application/octet-stream, nothing overflows', () => {
    let s = 'Content-Type: multipart/mixed; boundary="=_0_="\n\n';
    for (let i = 1; i < 1000; i++) s += `--=_${i - 1}_=\nContent-Type: multipart/mixed; boundary="=_${i}_="\n\n`;
    const raw = crlf(s);
    const root = parseMime(raw);
    let p = root;
    while (p.children.length > 0) p = p.children[0];
    expect(p.depth).toBe(MAX_DEPTH);
    expect(`${p.type}/${p.subtype}`).toBe('application/octet-stream');
    expect(text(bodyStructure(raw, root, true))).toContain('("application" "octet-stream" ("boundary" "=_99_=") NIL NIL "7bit" ');
    const nested = crlf(`${'Content-Type: message/rfc822\n\n'.repeat(500)}Subject: bottom\n\nbody\n`);
    const deep = allParts(parseMime(nested));
    expect(deep.length).toBe(MAX_DEPTH + 1);
    expect(deep[deep.length - 1].kind).toBe('basic');
  });

  it('message/global is a message too (RFC 9051 section 7.5.2; Dovecot 2.3 treats it as opaque)', () => {
    const raw = crlf('MIME-Version: 1.0\nContent-Type: message/global\n\nSubject: inner\n\nbody\n');
    const root = parseMime(raw);
    expect(root.message?.fields.map((f) => f.name)).toEqual(['subject']);
    expect(text(bodyStructure(raw, root, false))).toBe(
      '("message" "global" NIL NIL NIL "7bit" 24 (NIL "inner" NIL NIL NIL NIL NIL NIL NIL NIL) ("text" "plain" ("charset" "us-ascii") ' +
        'NIL NIL "7bit" 6 1) 3)',
    );
    expect(section(raw, { part: [1], text: 'HEADER' })).toBe('Subject: inner\r\n\r\n');
  });

  it('never throws on random input', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.constantFrom(
            '--b',
            '--b--',
            'Content-Type: multipart/mixed; boundary=b',
            'Content-Type: message/rfc822',
            'To: a@b, g: ;',
            '',
            'x',
            ' y',
            '=?',
            '"',
            '(',
            '<',
          ),
          { maxLength: 40 },
        ),
        (lines) => {
          const raw = crlf(lines.join('\n'));
          const root = parseMime(raw);
          bodyStructure(raw, root, true);
          envelope(raw, root);
          for (const p of allParts(root)) expect(p.bodyEnd).toBeLessThanOrEqual(raw.length);
          sectionBytes(raw, root, { part: [1, 1], text: 'MIME' });
          binaryBytes(raw, root, []);
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('sections', () => {
  it('part 1 of a message that is not multipart is its body; its MIME header is the message header', () => {
    const raw = load('01-plain-ascii.eml');
    expect(section(raw, { part: [1] })).toMatch(/^Hello Bob,\r\n/);
    expect(section(raw, { part: [1], text: 'MIME' })).toMatch(/^Return-Path: .*Content-Type: text\/plain; charset=us-ascii\r\n\r\n$/s);
    expect(section(raw, { part: [1, 1] })).toBeNull();
    expect(section(raw, { part: [2] })).toBeNull();
    expect(section(raw, { part: [1], text: 'HEADER' })).toBeNull(); // HEADER needs a message/rfc822 part
  });

  it('HEADER and TEXT of a message/rfc822 part are the embedded message; MIME is the part header', () => {
    const raw = load('06-nested-rfc822.eml');
    expect(section(raw, { part: [2], text: 'MIME' })).toBe(
      'Content-Type: message/rfc822\r\nContent-Description: forwarded message\r\nContent-Disposition: inline\r\n\r\n',
    );
    expect(section(raw, { part: [2], text: 'HEADER' })).toMatch(/^Date: Fri, 1 Nov 2024.*boundary="inner6"\r\n\r\n$/s);
    expect(section(raw, { part: [2], text: 'TEXT' })).toMatch(/^This is a preamble of the inner message\.\r\n.*Inner epilogue\.\r\n$/s);
    expect(section(raw, { part: [2, 1] })).toBe('Original text.');
    expect(section(raw, { part: [2, 2], text: 'MIME' })).toBe('Content-Type: text/html; charset=us-ascii\r\n\r\n');
    expect(section(raw, { part: [2, 3] })).toBeNull();
  });

  it('HEADER.FIELDS matches names case-insensitively, keeps folding and order, ends with the blank line', () => {
    const raw = load('15-folding-long.eml');
    expect(section(raw, { part: [], text: 'HEADER.FIELDS', fields: ['x-UNKNOWN', 'subject'] })).toBe(
      'Subject: This subject is folded\r\n over  three\r\n\tlines\r\nX-Unknown: folded value\r\n  continues here\r\n\r\n',
    );
    const dup = load('11-duplicate-headers.eml');
    expect(
      section(dup, { part: [], text: 'HEADER.FIELDS.NOT', fields: ['X-Unknown', 'Subject', 'Date', 'From', 'To', 'Content-Type'] }),
    ).toBe(
      'Message-ID: <dup.11a@example.org>\r\nMessage-ID: <dup.11b@example.org>\r\nMIME-Version: 1.0\r\nContent-Transfer-Encoding: ' +
        '7bit\r\nContent-Transfer-Encoding: base64\r\n\r\n',
    );
    expect(section(raw, { part: [], text: 'HEADER.FIELDS', fields: ['Nothing'] })).toBe('\r\n');
  });

  it('a header without the blank line: all of it is header, the body is empty, no blank line is added', () => {
    const raw = load('16-no-body-separator.eml');
    const root = parseMime(raw);
    expect(root.headerEnd).toBe(raw.length);
    expect(section(raw, { part: [], text: 'HEADER' })).toBe(raw.toString('utf8'));
    expect(section(raw, { part: [], text: 'TEXT' })).toBe('');
    expect(section(raw, { part: [], text: 'HEADER.FIELDS', fields: ['X-Unknown'] })).toBe('X-Unknown: last header line\r\n');
  });

  it('a boundary inside a part header ends that header', () => {
    const raw = load('24-boundary-in-header.eml');
    expect(section(raw, { part: [1], text: 'MIME' })).toBe('Content-Type: text/plain');
    expect(section(raw, { part: [1] })).toBe('');
    expect(section(raw, { part: [2] })).toBe('after a part whose header was cut by a boundary');
  });
});

describe('BINARY', () => {
  const bin = (name: string, part: number[]) => {
    const raw = load(name);
    return binaryBytes(raw, parseMime(raw), part);
  };

  it('decodes base64 and quoted-printable, leaves 7bit/8bit/binary as they are', () => {
    expect(bin('05-mixed-attachments.eml', [4])).toEqual(Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAE=', 'base64'));
    expect((bin('03-encoded-words.eml', [1]) as Buffer).toString('latin1')).toBe('Caf\xe9 cr\xe8me, tr\xe8s bon. Soft break above.\r\n');
    expect(text(bin('20-binary-encodings.eml', [5]) as Buffer)).toBe('8bit body: naïve café');
    expect(text(bin('25-qp-lowercase.eml', [1]) as Buffer)).toBe('lower é trailing\r\nsoftbreak \r\n');
  });

  it('decodes bad data leniently (RFC 2045 sections 6.7 and 6.8)', () => {
    expect(bin('20-binary-encodings.eml', [3])).toEqual(Buffer.from('notbase64atall', 'base64'));
    expect(bin('20-binary-encodings.eml', [7])).toEqual(Buffer.from([0, 1, 2]));
    expect(text(bin('20-binary-encodings.eml', [1]) as Buffer)).toBe(
      'Grüße  trailing spaces\r\nsoftbreak and = equals, lower é and bad =ZZ escape',
    );
    expect(decodeBase64(Buffer.from('QU\r\nJD\x00REU=trailing'))).toEqual(Buffer.from('ABCDE'));
    expect(decodeQuotedPrintable(Buffer.from('a=\r\nb=4\r\n=4x='))).toEqual(Buffer.from('ab=4\r\n=4x'));
  });

  it('an unknown transfer encoding is unknown-cte, a missing part null', () => {
    expect(bin('20-binary-encodings.eml', [4])).toBe('unknown-cte');
    expect(bin('20-binary-encodings.eml', [])).toBe('unknown-cte');
    expect(bin('20-binary-encodings.eml', [9])).toBeNull();
  });

  it('the whole message and composite parts get their parts decoded, their headers saying binary', () => {
    const out = text(bin('21-uppercase-types.eml', []) as Buffer)!;
    expect(out).toContain(
      'Content-Type: TEXT/HTML; CHARSET="UTF-8"\r\nContent-Disposition: INLINE\r\nContent-Transfer-Encoding: binary\r\n\r\n' +
        '<P>Caps</P>\r\n--Caps21',
    );
    expect(out).toContain('Content-Transfer-Encoding: binary\r\n\r\n%PDF\r\n--Caps21--\r\n');
    const raw = load('06-nested-rfc822.eml');
    expect(binaryBytes(raw, parseMime(raw), [2])).toEqual(sectionBytes(raw, parseMime(raw), { part: [2] }));
  });

  it('a message without MIME-Version or Content-Type is not decoded (RFC 2045 section 4)', () => {
    expect(text(bin('18-no-mime-version.eml', [1]) as Buffer)).toBe('This body is not base64 at all.\r\n');
  });
});
