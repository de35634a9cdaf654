// The mailbox of the `search` part (search-scenario.ts, issue 25): `count` messages of mail as people get it,
// seeded so that every run writes the same octets. Words come from a made-up vocabulary with a Zipf-like
// frequency (a few common words, a long tail), so a full-text index meets as many distinct words as a real
// mailbox gives it. The kinds of mail (by share): plain text (65%), text with an HTML alternative in
// quoted-printable (15%), text with a base64 attachment (10%), ISO-8859-1 quoted-printable text with accented
// words and an encoded-word subject (10%). About 3 KiB a message on average.
//
// Two needles, each found nowhere else (no vocabulary word holds them):
// - TEXT_NEEDLE is in NEEDLE_MESSAGES messages, in a plain body, an HTML part, a subject, a base64 text part;
// - FROM_NEEDLE is the name of a sender of every FROM_EVERY-th message ("a From that a few hundred match").
// Written into `maildir`/new with delivery names (S= and W= sizes, CRLF line ends) as maildir-gen.ts does.
import { closeSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { join } from 'node:path';

export const TEXT_NEEDLE = 'needle';
export const FROM_NEEDLE = 'quixley';
/** Every FROM_EVERY-th message (from the 7th) comes from Pat Quixley. */
export const FROM_EVERY = 300;
/** How many messages hold TEXT_NEEDLE. */
export const NEEDLE_MESSAGES = 7;

const FIRST_SECOND = 1_700_000_000;
const HOST = 'bench.example';

/** A seeded generator (a 32-bit LCG, as sort-scenario.ts's), so every run writes the same mail. */
class Random {
  constructor(private state: number) {}
  next(n: number): number {
    this.state = (Math.imul(this.state, 1103515245) + 12345) & 0x7fffffff;
    return Math.floor((this.state / 0x80000000) * n);
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.next(xs.length)];
  }
}

const ONSETS = [
  'b',
  'c',
  'd',
  'f',
  'g',
  'h',
  'j',
  'k',
  'l',
  'm',
  'n',
  'p',
  'r',
  's',
  't',
  'v',
  'w',
  'br',
  'st',
  'tr',
  'pl',
  'gr',
  'ch',
  'sh',
];
const VOWELS = ['a', 'e', 'i', 'o', 'u', 'a', 'e', 'o', 'ai', 'ou', 'ea'];
const CODAS = ['', '', '', '', 'n', 'r', 's', 't', 'm', 'l', 'nd', 'st'];

/** Does `w` hold a needle (then it is not a word of the vocabulary)? */
function holdsNeedle(w: string): boolean {
  return w.includes(TEXT_NEEDLE) || w.includes(FROM_NEEDLE);
}

/**
 * `size` made-up words of 1 to 3 syllables (mostly 2; about 6 letters on average, as English words in running
 * text are about 5), distinct, none holding a needle, the shortest first: as in a real language, the frequent
 * words are the short ones.
 */
function vocabulary(r: Random, size: number): string[] {
  const seen = new Set<string>();
  while (seen.size < size) {
    let w = '';
    const syllables = [1, 2, 2, 2, 3][r.next(5)];
    for (let s = 0; s < syllables; s++) w += r.pick(ONSETS) + r.pick(VOWELS) + r.pick(CODAS);
    if (!holdsNeedle(w)) seen.add(w);
  }
  return [...seen].sort((a, b) => a.length - b.length);
}

/** Picks words with a Zipf-like frequency: word i about as often as 1/(i+1). */
class Words {
  private readonly cumulative: Float64Array;
  constructor(
    readonly list: readonly string[],
    private readonly r: Random,
  ) {
    this.cumulative = new Float64Array(list.length);
    let total = 0;
    for (let i = 0; i < list.length; i++) this.cumulative[i] = total += 1 / (i + 1);
  }
  word(): string {
    const x = (this.r.next(1 << 30) / (1 << 30)) * this.cumulative[this.cumulative.length - 1];
    let lo = 0;
    let hi = this.cumulative.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.cumulative[mid] < x) lo = mid + 1;
      else hi = mid;
    }
    return this.list[lo];
  }
  /** About `octets` of text in lines of at most 76 characters, sentences that start with a capital. */
  text(octets: number, needle: string | null): string[] {
    const lines: string[] = [];
    let line = '';
    let length = 0;
    let capital = true;
    let needleAt = needle === null ? -1 : this.r.next(Math.max(1, Math.floor(octets / 7)));
    for (let n = 0; length < octets; n++) {
      let w = n === needleAt ? (needle as string) : this.word();
      if (n === needleAt) needleAt = -1;
      if (capital) w = w[0].toUpperCase() + w.slice(1);
      capital = this.r.next(12) === 0;
      if (capital) w += '.';
      else if (this.r.next(15) === 0) w += ',';
      if (line.length + w.length + 1 > 76) {
        lines.push(line);
        line = '';
      }
      line = line ? `${line} ${w}` : w;
      length += w.length + 1;
    }
    if (needleAt >= 0) line = `${line} ${needle}`; // a short text: the needle at its end
    if (line) lines.push(line);
    return lines;
  }
}

interface Person {
  name: string;
  address: string;
}

function people(r: Random, words: Words, count: number): Person[] {
  const cap = (w: string) => w[0].toUpperCase() + w.slice(1);
  const domains = Array.from({ length: 40 }, () => `${words.list[200 + r.next(3000)]}.example`);
  const out: Person[] = [];
  for (let i = 0; i < count; i++) {
    const first = words.list[100 + r.next(2000)];
    const last = words.list[100 + r.next(5000)];
    out.push({ name: `${cap(first)} ${cap(last)}`, address: `${first}.${last}@${r.pick(domains)}` });
  }
  return out;
}

const ACCENTED = ['café', 'Müller', 'Bücher', 'garçon', 'déjà', 'Straße', 'señor', 'façade', 'naïve', 'Ångström'];

/** Quoted-printable (RFC 2045 section 6.7) of ISO-8859-1 text lines (soft breaks at 76). */
function quotedPrintable(lines: string[], charset: 'latin1' | 'utf8'): string[] {
  const out: string[] = [];
  for (const l of lines) {
    let encoded = '';
    for (const byte of Buffer.from(l, charset)) {
      encoded += byte === 0x3d || byte > 0x7e ? `=${byte.toString(16).toUpperCase().padStart(2, '0')}` : String.fromCharCode(byte);
    }
    while (encoded.length > 75) {
      let cut = 75;
      while (encoded[cut - 1] === '=' || encoded[cut - 2] === '=') cut--;
      out.push(`${encoded.slice(0, cut)}=`);
      encoded = encoded.slice(cut);
    }
    out.push(encoded);
  }
  return out;
}

/** An RFC 2047 encoded word (Q, ISO-8859-1) of one short word. */
function qWord(word: string): string {
  let q = '';
  for (const byte of Buffer.from(word, 'latin1')) q += byte > 0x7e ? `=${byte.toString(16).toUpperCase()}` : String.fromCharCode(byte);
  return `=?ISO-8859-1?Q?${q}?=`;
}

function base64Lines(data: Buffer): string[] {
  const b64 = data.toString('base64');
  const out: string[] = [];
  for (let i = 0; i < b64.length; i += 76) out.push(b64.slice(i, i + 76));
  return out;
}

/** The kinds of message, with the part of the mailbox each makes up. */
type Kind = 'plain' | 'alternative' | 'attachment' | 'latin1';

function kindOf(r: Random): Kind {
  const x = r.next(100);
  return x < 65 ? 'plain' : x < 80 ? 'alternative' : x < 90 ? 'attachment' : 'latin1';
}

/** The message numbers (0-based) that hold TEXT_NEEDLE, spread over the mailbox. */
export function needleMessages(count: number): number[] {
  return Array.from({ length: Math.min(NEEDLE_MESSAGES, count) }, (_, i) => Math.floor(((i + 0.5) * count) / NEEDLE_MESSAGES));
}

/** What the mailbox holds, for the scenario's checks: which messages each needle should find (1-based numbers). */
export interface SearchMailbox {
  messages: number;
  octets: number;
  /** Messages whose text holds TEXT_NEEDLE. */
  textHits: number[];
  /** Messages whose From holds FROM_NEEDLE. */
  fromHits: number[];
}

/** Writes the mailbox; returns what it holds. */
export function writeSearchMailbox(maildir: string, account: string, count: number): SearchMailbox {
  for (const sub of ['cur', 'new', 'tmp']) mkdirSync(join(maildir, sub), { recursive: true });
  const r = new Random(25);
  const words = new Words(vocabulary(r, 30_000), r);
  const senders = people(r, words, 1500);
  const quixley: Person = { name: 'Pat Quixley', address: 'pat.quixley@quixley-consulting.example' };
  const needles = new Set(needleMessages(count));
  const textHits: number[] = [];
  const fromHits: number[] = [];
  let octets = 0;
  for (let i = 0; i < count; i++) {
    const needleHere = needles.has(i);
    const fromQuixley = i % FROM_EVERY === 6;
    const sender = fromQuixley ? quixley : r.pick(senders);
    const kind = kindOf(r);
    // where the needle goes in this message: the body mostly, sometimes the subject
    const needleInSubject = needleHere && textHits.length % 4 === 3;
    const bodyNeedle = needleHere && !needleInSubject ? TEXT_NEEDLE : null;
    const subjectWords = Array.from({ length: 3 + r.next(6) }, () => words.word());
    if (needleInSubject) subjectWords.splice(1, 0, TEXT_NEEDLE);
    let subject = subjectWords.join(' ');
    subject = subject[0].toUpperCase() + subject.slice(1);
    const secs = FIRST_SECOND + i * 60 + r.next(60);
    const header = [
      `Return-Path: <${sender.address}>`,
      `From: ${sender.name} <${sender.address}>`,
      `To: ${account}@localhost`,
      ...(r.next(4) === 0 ? [`Cc: ${r.pick(senders).name} <${r.pick(senders).address}>`] : []),
      `Subject: ${kind === 'latin1' ? `${qWord(r.pick(ACCENTED))} ${subject}` : subject}`,
      `Date: ${new Date(secs * 1000).toUTCString().replace('GMT', '+0000')}`,
      `Message-ID: <${i + 1}.search@${HOST}>`,
      'MIME-Version: 1.0',
    ];
    // most texts a few hundred octets to 2 KB, one in ten longer (up to 10 KB)
    const bodyOctets = 200 + r.next(1600) + (r.next(10) === 0 ? r.next(8000) : 0);
    const text = words.text(bodyOctets, bodyNeedle);
    let body: string[];
    const boundary = `=_bench_${i}_${r.next(1e9)}`;
    switch (kind) {
      case 'plain':
        header.push('Content-Type: text/plain; charset=us-ascii', 'Content-Transfer-Encoding: 7bit');
        body = text;
        break;
      case 'latin1': {
        header.push('Content-Type: text/plain; charset=iso-8859-1', 'Content-Transfer-Encoding: quoted-printable');
        const accented = text.map((l) => (r.next(3) === 0 ? `${l} ${r.pick(ACCENTED)}` : l));
        body = quotedPrintable(accented, 'latin1');
        break;
      }
      case 'alternative': {
        header.push(`Content-Type: multipart/alternative; boundary="${boundary}"`);
        const html = [`<html><body><p>${text.join('<br>\r\n')}</p></body></html>`];
        body = [
          'This is a multi-part message in MIME format.',
          `--${boundary}`,
          'Content-Type: text/plain; charset=utf-8',
          'Content-Transfer-Encoding: 7bit',
          '',
          ...(bodyNeedle ? words.text(200, null) : text), // the needle in the HTML part only
          `--${boundary}`,
          'Content-Type: text/html; charset=utf-8',
          'Content-Transfer-Encoding: quoted-printable',
          '',
          ...quotedPrintable(html.join('').split('\r\n'), 'utf8'),
          `--${boundary}--`,
        ];
        break;
      }
      case 'attachment': {
        header.push(`Content-Type: multipart/mixed; boundary="${boundary}"`);
        // random octets, made again in the rare case their base64 spells a needle (a server may search it as text)
        const blob = Buffer.alloc(2000 + r.next(8000));
        do for (let b = 0; b < blob.length; b++) blob[b] = r.next(256);
        while (holdsNeedle(blob.toString('base64').toLowerCase()) || holdsNeedle(blob.toString('latin1').toLowerCase()));
        body = [
          `--${boundary}`,
          'Content-Type: text/plain; charset=utf-8',
          // a base64 text part: the needle has to be decoded to be found
          `Content-Transfer-Encoding: ${bodyNeedle ? 'base64' : '7bit'}`,
          '',
          ...(bodyNeedle ? base64Lines(Buffer.from(text.join('\r\n'))) : text),
          `--${boundary}`,
          `Content-Type: application/octet-stream; name="${words.word()}.bin"`,
          'Content-Transfer-Encoding: base64',
          `Content-Disposition: attachment; filename="${words.word()}.bin"`,
          '',
          ...base64Lines(blob),
          `--${boundary}--`,
        ];
        break;
      }
    }
    const data = Buffer.from(`${header.join('\r\n')}\r\n\r\n${body.join('\r\n')}\r\n`, 'latin1');
    const name = `${secs}.M${(i * 7919) % 1_000_000}P4243Q${i + 1}.${HOST},S=${data.length},W=${data.length}`;
    const fd = openSync(join(maildir, 'new', name), 'wx', 0o600);
    try {
      for (let done = 0; done < data.length; ) done += writeSync(fd, data, done);
    } finally {
      closeSync(fd);
    }
    octets += data.length;
    if (needleHere) textHits.push(i + 1);
    if (fromQuixley) fromHits.push(i + 1);
  }
  return { messages: count, octets, textHits, fromHits };
}
