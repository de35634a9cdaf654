// A seeded mailbox made to exercise IMAP SEARCH (RFC 9051 section 6.4.4), and seeded SEARCH commands over it.
// The messages mix what SEARCH must read alike to Dovecot: text in UTF-8, ISO-8859-1/15, windows-1252,
// KOI8-R, ISO-2022-JP and GB2312, 7bit, 8bit, quoted-printable and base64; RFC 2047 encoded words (Q and B,
// split in several words, broken ones); multipart/mixed and /alternative, binary and text attachments with
// their own headers, attached messages (message/rfc822) with their own header and parts, a multipart without
// a boundary and one whose boundary never comes, a message/delivery-status part, an unknown transfer
// encoding, Content-Types that do not parse; accented letters in both Unicode forms, full-width letters,
// ligatures, Greek, Cyrillic and CJK; addresses with comments, quoting, encoded names and group syntax.
// The same seed gives the same mailbox and the same commands. Used by the comparison with Dovecot
// (test/interop/imap-search-dovecot.test.ts) and by the index's property test.
import iconv from 'iconv-lite';

export interface SearchCorpusMessage {
  /** The message, CRLF line ends or (a third of them) LF (octets: some parts are in 8-bit charsets). */
  raw: Buffer;
  /** Its internal date (the file's mtime), whole seconds. */
  arrival: Date;
  /** Maildir flags of its file name (after ":2,"). */
  flags: string;
}

/** A small seeded generator (xorshift32): the same seed, the same sequence. */
export class Seeded {
  private state: number;
  constructor(seed: number) {
    this.state = seed >>> 0 || 1;
  }
  /** An integer in [0, n). */
  int(n: number): number {
    this.state ^= this.state << 13;
    this.state ^= this.state >>> 17;
    this.state ^= this.state << 5;
    return (this.state >>> 0) % n;
  }
  pick<T>(list: readonly T[]): T {
    return list[this.int(list.length)];
  }
  chance(percent: number): boolean {
    return this.int(100) < percent;
  }
  some<T>(list: readonly T[], min: number, max: number): T[] {
    return Array.from({ length: min + this.int(max - min + 1) }, () => this.pick(list));
  }
}

// ---- vocabulary: the words messages are made of, and the needles looked for ----

/** Plain ASCII words, common and rare; "zqxneedle" is in few messages. */
const ASCII_WORDS = [
  'meeting',
  'report',
  'budget',
  'Quarterly',
  'invoice',
  'holiday',
  'Server',
  'deploy',
  'attachment',
  'lunch',
  'Hello',
  'world',
  'postern',
  'ALPHA',
  'beta',
  'gamma',
  'release',
  'ticket',
  'Monday',
  'agenda',
];
const RARE_WORDS = ['zqxneedle', 'Xylophone', 'quokka'];
/** Latin-1 letters (ISO-8859-1, -15 and windows-1252 all hold them). */
const LATIN1_WORDS = ['Bücher', 'café', 'naïve', 'Straße', 'ÆRØ', 'Ångström', 'élève', 'Größe', 'FRANÇAIS', 'señor'];
/** Only in ISO-8859-15 and windows-1252. */
const EURO_WORDS = ['€uro', 'œuvre', 'Œuf'];
const CYRILLIC_WORDS = ['Привет', 'мир', 'МОСКВА', 'письмо', 'Ёлка'];
const JAPANESE_WORDS = ['日本語', 'こんにちは', 'テスト', '東京'];
const CHINESE_WORDS = ['中文', '你好', '邮件', '北京'];
/** Only in UTF-8: full-width letters, ligatures, Greek, decomposed accents, titlecase digraphs, Hangul. */
const UNICODE_WORDS = [
  'ＡＢＣ',
  'ｔｅｓｔ',
  'ﬁle',
  'ΣΟΦΙΑ',
  'σοφία',
  'Αθήνα',
  'Bu\u0308cher',
  'cafe\u0301',
  'ǅemal',
  '한국어',
  'Kelvin\u212a',
];

const NON_ASCII_WORDS = [
  ...RARE_WORDS,
  ...LATIN1_WORDS,
  ...CYRILLIC_WORDS,
  ...JAPANESE_WORDS,
  ...CHINESE_WORDS,
  ...UNICODE_WORDS,
  ...EURO_WORDS,
];

/** The needles the commands look for: words of the vocabulary in other cases and forms, pieces of them, words no message has. */
const NEEDLES = [
  ...ASCII_WORDS,
  'MEETING',
  'hello',
  'hello world',
  'o w',
  'zqxneedle',
  'ZQXNEEDLE',
  'xylophone',
  'quokka',
  'bu',
  'bücher',
  'BÜCHER',
  'bu\u0308cher',
  'cafe',
  'café',
  'CAFÉ',
  'strasse',
  'straße',
  'STRASSE',
  'ærø',
  'ångström',
  'angstrom',
  'eleve',
  'français',
  'euro',
  '€',
  'œuvre',
  'привет',
  'москва',
  'ёлка',
  'елка',
  '日本',
  'テスト',
  '你好',
  'abc',
  'ABC',
  'test',
  'file',
  'ﬁle',
  'σοφια',
  'ΣΟΦΊΑ',
  'αθηνα',
  'dzemal',
  'ǆemal',
  'Ǆemal',
  '한국',
  'kelvink',
  'quarterly',
  'report2024',
  'filename',
  'inline',
  'multipart',
  'boundary',
  'delivery-status',
  'x-uuencode',
  'forwarded',
  'attached',
  'nested',
  'preamble',
  'epilogue',
  'no-boundary',
  'lost-boundary',
  'status-word',
  'unknown-cte',
  'text-nosubtype',
  'text-garbage',
  'b64word',
  'qpword',
  'subject:',
  'from: ',
  'content-type',
  'content-type: text/plain',
  'charset',
  'iso-8859-1',
  'john',
  'doe',
  'john doe',
  '"doe, john"',
  'example.com',
  '@example.org',
  'alice@example.org',
  '<alice@example.org>',
  'jürgen',
  'juergen',
  'team',
  'team:',
  'undisclosed',
  'recipients:;',
  'comment',
  'nobody',
  'zzznothing',
  'a',
  'e',
  'x',
  ' ',
  '12345',
  'encoded',
  '=?utf-8?',
  '?=',
  'q?broken',
  'brokenb64',
  'unknownset',
  'split-words',
  'splitwords',
  'hello  world',
  'hello\tworld',
  'no-charset',
  'unknown-charset',
  'caf\ufffd',
  'before',
  'after break',
  'qpword padded',
  'padded stray',
  'stray = sign',
  '=zz end',
  'endjoined',
  'twotypes',
  'commented',
];

/** The needles address keys look for: those with a letter or digit (see KNOWN_DIFFERENCES in the comparison test). */
const ADDRESS_NEEDLES = NEEDLES.filter((n) => /[\p{L}\p{N}]/u.test(n));

// ---- text and its encodings ----

/** Which words a charset can carry. */
const CHARSETS: { name: string; words: readonly string[] }[] = [
  { name: 'utf-8', words: [...ASCII_WORDS, ...LATIN1_WORDS, ...EURO_WORDS, ...CYRILLIC_WORDS, ...JAPANESE_WORDS, ...UNICODE_WORDS] },
  { name: 'iso-8859-1', words: [...ASCII_WORDS, ...LATIN1_WORDS] },
  { name: 'ISO-8859-15', words: [...ASCII_WORDS, ...LATIN1_WORDS, ...EURO_WORDS] },
  { name: 'windows-1252', words: [...ASCII_WORDS, ...LATIN1_WORDS, ...EURO_WORDS] },
  { name: 'koi8-r', words: [...ASCII_WORDS, ...CYRILLIC_WORDS] },
  { name: 'iso-2022-jp', words: [...ASCII_WORDS, ...JAPANESE_WORDS] },
  { name: 'gb2312', words: [...ASCII_WORDS, ...CHINESE_WORDS] },
  { name: 'us-ascii', words: ASCII_WORDS },
  // other names of the same charsets
  { name: 'latin1', words: [...ASCII_WORDS, ...LATIN1_WORDS] },
  { name: 'cp1252', words: [...ASCII_WORDS, ...LATIN1_WORDS, ...EURO_WORDS] },
  { name: 'UTF8', words: [...ASCII_WORDS, ...LATIN1_WORDS, ...UNICODE_WORDS] },
];

/** ISO-2022-JP from EUC-JP: each two-octet JIS X 0208 character is the EUC pair less 0x80, between escapes. */
function iso2022jp(text: string): Buffer {
  const euc = iconv.encode(text, 'euc-jp');
  const out: number[] = [];
  let kanji = false;
  for (let i = 0; i < euc.length; i++) {
    const c = euc[i];
    if (c >= 0xa1) {
      if (!kanji) out.push(0x1b, 0x24, 0x42); // ESC $ B
      kanji = true;
      out.push(c - 0x80, euc[++i] - 0x80);
    } else {
      if (kanji) out.push(0x1b, 0x28, 0x42); // ESC ( B
      kanji = false;
      out.push(c);
    }
  }
  if (kanji) out.push(0x1b, 0x28, 0x42);
  return Buffer.from(out);
}

function encodeText(text: string, charset: string): Buffer {
  const cs = charset.toLowerCase();
  if (cs === 'utf-8' || cs === 'us-ascii') return Buffer.from(text, 'utf8');
  if (cs === 'iso-2022-jp') return iso2022jp(text);
  return iconv.encode(text, cs);
}

function qpEncode(octets: Buffer): string {
  let out = '';
  let line = 0;
  for (let i = 0; i < octets.length; i++) {
    const c = octets[i];
    let piece: string;
    if (c === 0x0d && octets[i + 1] === 0x0a) {
      out += '\r\n';
      i++;
      line = 0;
      continue;
    }
    if ((c >= 0x21 && c <= 0x7e && c !== 0x3d) || (c === 0x20 && octets[i + 1] !== 0x0d && i + 1 < octets.length))
      piece = String.fromCharCode(c);
    else piece = `=${c.toString(16).toUpperCase().padStart(2, '0')}`;
    if (line + piece.length > 72) {
      out += '=\r\n';
      line = 0;
    }
    out += piece;
    line += piece.length;
  }
  return out;
}

function base64Lines(octets: Buffer): string {
  return (octets.toString('base64').match(/.{1,76}/g) ?? []).join('\r\n');
}

/** An RFC 2047 word (or several, when `split`: cut between characters, as RFC 2047 section 5 allows). */
function encodedWords(r: Seeded, text: string, charset: string, split: boolean): string {
  const q = r.chance(50);
  const word = (piece: string) => {
    const octets = encodeText(piece, charset);
    if (!q) return `=?${charset}?B?${octets.toString('base64')}?=`;
    let body = '';
    for (const c of octets) {
      body +=
        (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a)
          ? String.fromCharCode(c)
          : c === 0x20
            ? '_'
            : `=${c.toString(16).toUpperCase().padStart(2, '0')}`;
    }
    return `=?${charset}?${r.chance(50) ? 'Q' : 'q'}?${body}?=`;
  };
  const chars = [...text];
  if (!split || chars.length < 2 || charset.toLowerCase() === 'iso-2022-jp') return word(text);
  const cut = 1 + r.int(chars.length - 1);
  return `${word(chars.slice(0, cut).join(''))}${r.pick([' ', '\r\n ', '\r\n\t'])}${word(chars.slice(cut).join(''))}`;
}

/** Encoded words RFC 2047 does not allow, each read some way by every reader. */
const BROKEN_WORDS = [
  '=?utf-8?x?q?broken?=',
  '=?utf-8?q?no-end',
  '=?utf-8?b?YnJva2VuYjY0!!!?=',
  '=?x-unknownset?q?12345?=',
  '=?utf-8?q??=',
  'plain=?utf-8?q?glued?=text',
  '"=?utf-8?q?in_quotes?="',
];

// ---- the pieces of a message ----

const PEOPLE = [
  'alice@example.org',
  'Bob <bob@example.net>',
  '"Doe, John" <john@example.com>',
  'john@example.com (John Doe)',
  'carol@example.org (a comment)',
  '=?utf-8?q?J=C3=BCrgen_M=C3=BCller?= <juergen@example.de>',
  '=?iso-8859-1?b?SvxyZ2Vu?= <j2@example.de>',
  '"Quoted \\"Nick\\" Name" <nick@example.com>',
  'team: dave@example.org, erin@example.org;',
  'undisclosed-recipients:;',
  '<nobody@example.org>',
  'Frank Ünicode <frank@example.com>',
  'Group Two: "G, H" <gh@example.com>;, ivan@example.ru',
  'Иван <ivan@example.ru>',
  '<@route.example:route@example.com>',
];

function addressList(r: Seeded): string {
  return r.some(PEOPLE, 1, 3).join(r.pick([', ', ',\r\n\t', ' ,  ']));
}

function words(r: Seeded, pool: readonly string[], min: number, max: number): string {
  const list = r.some(pool, min, max);
  if (r.chance(4)) list.splice(r.int(list.length + 1), 0, r.pick(RARE_WORDS));
  return list.join(' ');
}

/** A Subject (or another text field's) value: plain, raw 8-bit UTF-8, encoded words, or broken words. */
function textField(r: Seeded): string {
  const kind = r.int(8);
  if (kind === 7) return latin1Octets(words(r, [...ASCII_WORDS, ...LATIN1_WORDS], 1, 4)); // raw 8-bit that is not UTF-8
  if (kind === 0) return words(r, ASCII_WORDS, 1, 5).replace(/ /g, () => r.pick([' ', ' ', '  ', '\t', ' \t ']));
  if (kind === 1) return words(r, [...ASCII_WORDS, ...LATIN1_WORDS, ...UNICODE_WORDS], 1, 4); // raw UTF-8 (RFC 6532)
  if (kind === 6) return `${words(r, ASCII_WORDS, 0, 2)} ${r.pick(BROKEN_WORDS)} ${words(r, ASCII_WORDS, 0, 2)}`.trim();
  const cs = r.pick(CHARSETS.filter((c) => c.name !== 'us-ascii'));
  const text = words(r, cs.words, 1, 3);
  const before = r.chance(40) ? `${r.pick(ASCII_WORDS)} ` : '';
  return `${before}${encodedWords(r, text, cs.name, r.chance(40))}${r.chance(30) ? ' split-words' : ''}`;
}

interface Part {
  header: string[];
  body: Buffer;
}

/** Header text to be written in ISO-8859-1 octets, not UTF-8 (render). */
function latin1Octets(text: string): string {
  return `\u0001${text}\u0002`;
}

function render(p: Part): Buffer {
  const header = `${p.header.join('\r\n')}\r\n\r\n`;
  const pieces = header.split(/[\u0001\u0002]/).map((piece, i) => Buffer.from(piece, i % 2 === 1 ? 'latin1' : 'utf8'));
  return Buffer.concat([...pieces, p.body]);
}

/** A text/plain or text/html part in one charset and transfer encoding. */
function textPart(r: Seeded, html = false): Part {
  const cs = r.pick(CHARSETS);
  const lines = Array.from({ length: 1 + r.int(6) }, () => words(r, cs.words, 2, 12));
  let text = lines.join('\r\n');
  if (html) text = `<html><body><p>${lines.join('</p>\r\n<p>')}</p></body></html>`;
  text += '\r\n';
  const octets = encodeText(text, cs.name);
  const eightBit = octets.some((c) => c >= 0x80);
  const cte =
    cs.name === 'iso-2022-jp'
      ? '7bit'
      : r.pick(eightBit ? ['8bit', 'quoted-printable', 'base64'] : ['7bit', 'quoted-printable', 'base64', '']);
  const header = [
    `Content-Type: text/${html ? 'html' : 'plain'}; ${r.pick(['charset', 'CHARSET'])}=${r.chance(30) ? `"${cs.name}"` : cs.name}`,
  ];
  if (cte !== '') header.push(`Content-Transfer-Encoding: ${r.chance(20) ? cte.toUpperCase() : cte}`);
  const body = cte === 'base64' ? `${base64Lines(octets)}\r\n` : cte === 'quoted-printable' ? `${qpEncode(octets)}\r\n` : null;
  return { header, body: body === null ? octets : Buffer.from(body, 'latin1') };
}

function binaryAttachment(r: Seeded): Part {
  const bytes = Buffer.from(Array.from({ length: 30 + r.int(300) }, () => r.int(256)));
  const name = r.pick(['report2024.pdf', 'photo.png', 'data.bin', 'Größe.zip']);
  const type = name.endsWith('.png') ? 'image/png' : name.endsWith('.pdf') ? 'application/pdf' : 'application/octet-stream';
  return {
    header: [
      `Content-Type: ${type}; name="${name}"`,
      'Content-Transfer-Encoding: base64',
      `Content-Disposition: attachment; filename="${name}"`,
      ...(r.chance(50) ? [`Content-Description: ${words(r, ASCII_WORDS, 1, 3)} quarterly`] : []),
    ],
    body: Buffer.from(`${base64Lines(bytes)}\r\n`),
  };
}

function textAttachment(r: Seeded): Part {
  const p = textPart(r);
  p.header.push(`Content-Disposition: ${r.pick(['attachment', 'inline'])}; filename="notes-${r.int(9)}.txt"`);
  if (r.chance(50)) p.header.push(`Content-Description: =?utf-8?q?attached_notes_=C3=A9t=C3=A9?=`);
  if (r.chance(30)) p.header.push(`X-Part-Note: ${textField(r)}`);
  return p;
}

let boundaries = 0;

function multipart(r: Seeded, subtype: string, parts: Part[], header: string[] = []): Part {
  const boundary = `b${++boundaries}=_${r.int(1e6)}`;
  const chunks: Buffer[] = [];
  if (r.chance(40)) chunks.push(Buffer.from(`preamble ${words(r, ASCII_WORDS, 1, 3)}\r\n`));
  for (const p of parts) chunks.push(Buffer.from(`--${boundary}\r\n`), render(p), Buffer.from('\r\n'));
  chunks.push(Buffer.from(`--${boundary}--\r\n`));
  if (r.chance(40)) chunks.push(Buffer.from(`epilogue ${words(r, ASCII_WORDS, 1, 3)}\r\n`));
  return {
    header: [...header, `Content-Type: multipart/${subtype};${r.pick([' ', '\r\n\t'])}boundary="${boundary}"`],
    body: Buffer.concat(chunks),
  };
}

function attachedMessage(r: Seeded, depth: number): Part {
  const inner = message(r, depth + 1);
  return {
    header: [
      `Content-Type: message/${r.chance(80) ? 'rfc822' : 'global'}`,
      ...(r.chance(50) ? ['Content-Disposition: attachment; filename="forwarded.eml"'] : []),
    ],
    body: inner,
  };
}

/** A part of a kind the readers may differ on. */
function oddPart(r: Seeded): Part {
  switch (r.int(13)) {
    case 9: // base64 broken in the middle
      return {
        header: ['Content-Type: text/plain; charset=utf-8', 'Content-Transfer-Encoding: base64'],
        body: Buffer.from(`${Buffer.from('b64word before').toString('base64')}\r\n!!${Buffer.from('after break').toString('base64')}\r\n`),
      };
    case 10: // quoted-printable with trailing white space, a stray "=" and a bad escape
      return {
        header: ['Content-Type: text/plain; charset=utf-8', 'Content-Transfer-Encoding: quoted-printable'],
        body: Buffer.from(`qpword padded   \r\nstray = sign =ZZ end=\r\njoined\r\n`),
      };
    case 11: // two Content-Types, a comment, an RFC 2231 charset
      return {
        header: ["Content-Type: text/plain; charset*=iso-8859-1''%E9t%E9", 'Content-Type: (c) application/x-second'],
        body: Buffer.from(`twotypes ${words(r, ASCII_WORDS, 1, 3)}\r\n`),
      };
    case 12:
      return {
        header: ["Content-Type: (a comment) TEXT/Plain (more); charset*=iso-8859-1'fr'%E9t%E9"],
        body: Buffer.from(`commented ${words(r, ASCII_WORDS, 1, 3)}\r\n`),
      };
    case 7: // 8-bit text without a charset, not UTF-8
      return {
        header: ['Content-Type: text/plain', 'Content-Transfer-Encoding: 8bit'],
        body: Buffer.from(`no-charset ${words(r, [...ASCII_WORDS, ...LATIN1_WORDS], 2, 6)}\r\n`, 'latin1'),
      };
    case 8: // a charset no one knows: read as UTF-8
      return {
        header: ['Content-Type: text/plain; charset=x-unknown-cs'],
        body: Buffer.from(`unknown-charset ${words(r, [...ASCII_WORDS, ...LATIN1_WORDS, ...UNICODE_WORDS], 2, 6)}\r\n`),
      };
    case 0: // a multipart without a boundary: its text is no part's
      return {
        header: ['Content-Type: multipart/mixed'],
        body: Buffer.from(`no-boundary ${words(r, ASCII_WORDS, 2, 6)}\r\n`),
      };
    case 1: // a boundary that never comes
      return {
        header: ['Content-Type: multipart/alternative; boundary="never-here"'],
        body: Buffer.from(`lost-boundary ${words(r, ASCII_WORDS, 2, 6)}\r\n`),
      };
    case 2:
      return {
        header: ['Content-Type: message/delivery-status'],
        body: Buffer.from(
          'Reporting-MTA: dns; mx.example.org\r\n\r\nFinal-Recipient: rfc822; a@b.example\r\n' +
            `Status: 5.0.0 status-word ${r.pick(ASCII_WORDS)}\r\n`,
        ),
      };
    case 3:
      return {
        header: ['Content-Type: text/plain', 'Content-Transfer-Encoding: x-uuencode'],
        body: Buffer.from(`unknown-cte ${words(r, ASCII_WORDS, 2, 5)}\r\n`),
      };
    case 4:
      return { header: ['Content-Type: text'], body: Buffer.from(`text-nosubtype ${words(r, ASCII_WORDS, 2, 5)}\r\n`) };
    case 5:
      return { header: ['Content-Type: text/plain garbage'], body: Buffer.from(`text-garbage ${words(r, ASCII_WORDS, 2, 5)}\r\n`) };
    default:
      return { header: [], body: Buffer.from(`default-type ${words(r, [...ASCII_WORDS, ...LATIN1_WORDS], 2, 5)}\r\n`) };
  }
}

function body(r: Seeded, depth: number): Part {
  const kind = r.int(depth > 0 ? 5 : 8);
  switch (kind) {
    case 0:
    case 1:
      return textPart(r);
    case 2:
      return multipart(r, 'alternative', [textPart(r), textPart(r, true)]);
    case 3: {
      const parts = [r.chance(50) ? textPart(r) : multipart(r, 'alternative', [textPart(r), textPart(r, true)])];
      for (let i = r.int(3); i >= 0; i--) parts.push(r.chance(50) ? binaryAttachment(r) : textAttachment(r));
      return multipart(r, 'mixed', parts);
    }
    case 4:
      return multipart(r, 'mixed', [textPart(r), oddPart(r)]);
    case 5:
      return multipart(r, 'mixed', [textPart(r), attachedMessage(r, depth)]);
    case 6:
      if (r.chance(30)) {
        // a digest: its parts are messages without a Content-Type of their own
        const items = Array.from({ length: 1 + r.int(2) }, () => {
          const m = message(r, depth + 1);
          const cut = m.indexOf('\r\n\r\n');
          return { header: [latin1Octets(m.toString('latin1', 0, cut))], body: m.subarray(cut + 4) }; // the octets as they are
        });
        return multipart(r, 'digest', items);
      }
      return oddPart(r);
    default:
      return multipart(r, r.pick(['mixed', 'related']), [
        textPart(r),
        r.chance(50) ? attachedMessage(r, depth) : binaryAttachment(r),
        oddPart(r),
      ]);
  }
}

const DATES = [
  'Mon, 4 Mar 2024 10:00:00 +0000',
  'Tue, 5 Mar 2024 23:30:00 -0500',
  'Wed, 6 Mar 2024 00:15:00 +0900',
  '7 Mar 2024 12:00 EST',
  'Fri, 8 Mar 2024 09:00:00 +0100',
];

/** A whole message: its header (with MIME-Version unless it is a plain one) and a body. */
function message(r: Seeded, depth: number): Buffer {
  const b = body(r, depth);
  const header: string[] = [];
  header.push(`From: ${addressList(r)}`);
  if (r.chance(85)) header.push(`To: ${addressList(r)}`);
  if (r.chance(40)) header.push(`Cc: ${addressList(r)}`);
  if (r.chance(20)) header.push(`Bcc: ${addressList(r)}`);
  if (r.chance(90)) header.push(`Subject: ${textField(r)}`);
  // always a Date: SENT* without one differ from Dovecot on purpose (modules/imap/search/evaluate.ts)
  header.push(`Date: ${r.pick(DATES)}`);
  header.push(`Message-ID: <${r.int(1e9)}.${depth}@corpus.example>`);
  if (r.chance(30)) header.push(`X-Mailer: ${textField(r)}`);
  if (r.chance(20)) header.push(`Comments: ${words(r, ASCII_WORDS, 1, 4)}\r\n\t${words(r, ASCII_WORDS, 1, 4)}`);
  if (r.chance(10)) header.push(`Keywords:${r.pick(['', ' ', '\t'])}${words(r, ASCII_WORDS, 1, 3)}  `);
  if (depth > 0) header.push('X-Nested: forwarded nested');
  const mime = b.header.length > 0 && !(r.chance(10) && b.header[0]?.startsWith('Content-Type: text/plain'));
  if (mime) header.push('MIME-Version: 1.0');
  return render({ header: [...header, ...b.header], body: b.body });
}

/**
 * `count` messages drawn from the generator seeded with `seed` (the same seed, the same mailbox): arrival
 * dates over a few days with ties, some messages \Seen, \Flagged, \Answered or \Deleted.
 */
export function searchCorpus(count: number, seed: number): SearchCorpusMessage[] {
  const r = new Seeded(seed);
  boundaries = 0;
  return Array.from({ length: count }, () => {
    const crlf = message(r, 0);
    // a third of the files with LF line ends, as Dovecot and most MTAs write a Maildir
    const raw = r.chance(33) ? Buffer.from(crlf.toString('latin1').replace(/\r\n/g, '\n'), 'latin1') : crlf;
    const arrival = new Date(Date.UTC(2024, 2, 1 + r.int(10), r.int(24), r.int(60), r.int(60)));
    const flags = [...'FRST'].filter(() => r.chance(20)).join('');
    return { raw, arrival, flags };
  });
}

// ---- SEARCH commands ----

/** A needle as an IMAP astring: an atom, a quoted string, or (non-ASCII) a literal (LITERAL+, RFC 7888). */
function astring(r: Seeded, s: string): string {
  if (/[^\x20-\x7e]/.test(s)) return `{${Buffer.byteLength(s)}+}\r\n${s}`;
  if (/^[A-Za-z0-9.@-]+$/.test(s) && r.chance(50)) return s;
  return `"${s.replace(/(["\\])/g, '\\$1')}"`;
}

const HEADER_NAMES = ['Subject', 'X-Mailer', 'Comments', 'Keywords', 'Message-ID', 'From', 'To', 'Content-Type', 'X-Nested', 'X-Missing'];
const DAYS = ['1-Mar-2024', '4-Mar-2024', '5-Mar-2024', '6-Mar-2024', '8-Mar-2024', '11-Mar-2024'];

function searchKey(r: Seeded, depth: number, messages: number): string {
  const needle = () => astring(r, r.pick(NEEDLES));
  const kind = r.int(depth > 2 ? 16 : 20);
  switch (kind) {
    case 0:
    case 1:
      return `BODY ${needle()}`;
    case 2:
    case 3:
      return `TEXT ${needle()}`;
    case 4:
      return `SUBJECT ${needle()}`;
    case 5: // a needle of white space or punctuation alone would find the ", " Dovecot puts between addresses
      return `${r.pick(['FROM', 'TO', 'CC', 'BCC'])} ${astring(r, r.pick(ADDRESS_NEEDLES))}`;
    case 6:
      return `HEADER ${r.pick(HEADER_NAMES)} ${r.chance(15) ? '""' : needle()}`;
    case 7:
      return r.pick([
        'SEEN',
        'UNSEEN',
        'FLAGGED',
        'UNFLAGGED',
        'ANSWERED',
        'UNANSWERED',
        'DELETED',
        'UNDELETED',
        'DRAFT',
        'UNDRAFT',
        'ALL',
      ]);
    case 8:
      return `${r.pick(['LARGER', 'SMALLER'])} ${r.pick([500, 1000, 2000, 4000])}`;
    case 9:
      return `${r.pick(['BEFORE', 'ON', 'SINCE', 'SENTBEFORE', 'SENTON', 'SENTSINCE'])} ${r.pick(DAYS)}`;
    case 10: {
      const a = 1 + r.int(messages);
      return r.chance(50) ? `${a}:${Math.min(messages, a + r.int(40))}` : `UID ${a}:*`;
    }
    case 11:
      return `${r.pick(['FROM', 'TO', 'CC'])} ${astring(r, r.pick(['alice', 'john', 'example', 'jürgen', 'иван', 'team', 'doe']))}`;
    case 12:
    case 13:
      return `BODY ${astring(r, r.pick(NON_ASCII_WORDS).toLowerCase())}`;
    case 14:
      return `TEXT ${astring(r, r.pick([...RARE_WORDS, ...LATIN1_WORDS, ...UNICODE_WORDS]).toUpperCase())}`;
    case 15: // RECENT, NEW and OLD are left out: each server has its own sessions' \Recent; MODSEQ: its own modseqs
      return r.pick([`KEYWORD $label${r.int(2)}`, 'UNKEYWORD $label0', 'OLDER 60', 'YOUNGER 60']);
    case 16:
      return `NOT ${searchKey(r, depth + 1, messages)}`;
    case 17:
      return `OR ${searchKey(r, depth + 1, messages)} ${searchKey(r, depth + 1, messages)}`;
    default:
      return `(${searchKey(r, depth + 1, messages)} ${searchKey(r, depth + 1, messages)})`;
  }
}

/**
 * `count` SEARCH commands (without tag) over a mailbox of `messages` messages, drawn from the generator seeded
 * with `seed`: every key, NOT, OR and parenthesised lists, needles short and long, in other cases and forms,
 * non-ASCII ones as literals, with CHARSET UTF-8 or none.
 */
export function searchCommands(count: number, seed: number, messages: number): string[] {
  const r = new Seeded(seed);
  return Array.from({ length: count }, () => {
    const keys = Array.from({ length: 1 + r.int(2) }, () => searchKey(r, 0, messages)).join(' ');
    const charset = /[^\x00-\x7f]/.test(keys) || r.chance(30) ? 'CHARSET UTF-8 ' : '';
    return `${r.chance(30) ? 'UID ' : ''}SEARCH ${charset}${keys}`;
  });
}
