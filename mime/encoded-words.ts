// RFC 2047 encoded words in a header value, read the way Dovecot's lib-mail reads them (the decoder behind
// IMAP SEARCH and Pigeonhole's header tests), so Postern and Dovecot see the same text in one message:
// - any `=?charset?X?text?=` is a word, wherever it stands (inside quotes, glued to a word);
// - a run of white space only (SP, TAB, CR, LF) before a `=?` goes, whether a word follows or not
//   (RFC 2047 section 6.2 says so between two words; Dovecot drops it before any `=?`);
// - B text is decoded up to its first character that is not base64 (what came before stays; a word with
//   nothing valid gives nothing); Q text turns `_` into a space and `=XX` into an octet, a stray `=` stays;
// - a `=?` that does not start a well-formed word (no third `?`, no `?=` after it, an encoding other than
//   Q or B) stays as written;
// - UTF-8 and ASCII words are read as UTF-8 (an invalid octet as U+FFFD), other charsets through libmime,
//   an unknown charset as UTF-8 (utf8AsDovecot).
// One thing differs on purpose: adjacent words of one charset are joined before their charset is read, so a
// character split across two words (which RFC 2047 section 5 forbids, but mailers do) survives where Dovecot
// shows U+FFFD. A charset's RFC 2231 language suffix (`utf-8*en`, section 5) is ignored.
import { isUtf8 } from 'node:buffer';
import libmimeCharset from 'libmime/lib/charset.js';

/**
 * Octets read as UTF-8 the way Dovecot reads them (its uni_utf8_get_valid_data): each invalid sequence is a
 * U+FFFD, but never two in a row ("Gr\xfc\xdfe" reads "Gr\ufffde").
 */
export function utf8AsDovecot(octets: Buffer): string {
  const s = octets.toString('utf8');
  return isUtf8(octets) ? s : s.replace(/\ufffd{2,}/g, '\ufffd');
}

/** A decoded word's octets with the charset they are in; or text outside any word. */
type Piece = { readonly charset: string; readonly octets: number[] } | string;

/** A header value (already a string) with its RFC 2047 encoded words decoded. Never throws. */
export function decodeEncodedWords(value: string): string {
  if (value.indexOf('=?') < 0) return value;
  const pieces: Piece[] = [];
  let start = 0; // the start of the text not yet given out
  let pos = 0;
  while (pos + 1 < value.length) {
    if (value.charCodeAt(pos) !== 0x3d || value.charCodeAt(pos + 1) !== 0x3f) {
      pos++;
      continue;
    }
    if (pos !== start && !onlyWhiteSpace(value, start, pos)) pieces.push(value.slice(start, pos));
    const word = readWord(value, pos + 2);
    if (word === null) {
      // Not a word: its `=?` is text, and the scan goes on after it.
      start = pos;
      pos += 2;
      continue;
    }
    if (word.octets.length > 0) {
      const last = pieces[pieces.length - 1];
      if (last !== undefined && typeof last !== 'string' && sameCharset(last.charset, word.charset)) {
        for (const o of word.octets) last.octets.push(o);
      } else pieces.push(word);
    }
    pos = word.end;
    start = pos;
  }
  if (start < value.length) pieces.push(value.slice(start));
  let out = '';
  for (const p of pieces) out += typeof p === 'string' ? p : decodeWordText(Buffer.from(p.octets), p.charset);
  return out;
}

function onlyWhiteSpace(s: string, from: number, to: number): boolean {
  for (let i = from; i < to; i++) {
    const c = s.charCodeAt(i);
    if (c !== 0x20 && c !== 0x09 && c !== 0x0d && c !== 0x0a) return false;
  }
  return true;
}

/**
 * The word whose `charset?X?text?=` starts at `at` (just after its `=?`): the first three `?` after it, the
 * third followed by `=`; null when there are no such `?` or X (its first character) is neither Q nor B.
 */
function readWord(s: string, at: number): { charset: string; octets: number[]; end: number } | null {
  const q1 = s.indexOf('?', at);
  const q2 = q1 < 0 ? -1 : s.indexOf('?', q1 + 1);
  const q3 = q2 < 0 ? -1 : s.indexOf('?', q2 + 1);
  if (q3 < 0 || s.charCodeAt(q3 + 1) !== 0x3d) return null;
  const encoding = s.charAt(q1 + 1).toUpperCase();
  if (encoding !== 'Q' && encoding !== 'B') return null;
  const text = Buffer.from(s.slice(q2 + 1, q3), 'utf8');
  return { charset: s.slice(at, q1), octets: encoding === 'Q' ? decodeQ(text) : decodeB(text), end: q3 + 2 };
}

/** RFC 2047 section 4.2: `_` is a space, `=XX` an octet; a `=` without two hex digits stays as it is. */
function decodeQ(text: Buffer): number[] {
  const out: number[] = [];
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === 0x5f) out.push(0x20);
    else if (c === 0x3d && i + 2 < text.length && isHex(text[i + 1]!) && isHex(text[i + 2]!)) {
      out.push(parseInt(text.toString('latin1', i + 1, i + 3), 16));
      i += 2;
    } else out.push(c);
  }
  return out;
}

function isHex(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66);
}

const BASE64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

/** RFC 2047 section 4.1 (base64), each octet given out as soon as its bits are in; stops at the first non-base64 character. */
function decodeB(text: Buffer): number[] {
  const out: number[] = [];
  let bits = 0;
  let count = 0;
  for (const c of text) {
    if (c === 0x20 || c === 0x09 || c === 0x0d || c === 0x0a) continue;
    const v = BASE64.indexOf(String.fromCharCode(c));
    if (v < 0) break; // '=' (padding) and anything else end the data
    bits = ((bits << 6) | v) & 0xffffff;
    count += 6;
    if (count >= 8) {
      count -= 8;
      out.push((bits >> count) & 0xff);
    }
  }
  return out;
}

/** The charset without an RFC 2231 language suffix, lower case. */
function charsetName(charset: string): string {
  const star = charset.indexOf('*');
  return (star < 0 ? charset : charset.slice(0, star)).trim().toLowerCase();
}

function sameCharset(a: string, b: string): boolean {
  return charsetName(a) === charsetName(b);
}

const UTF8_NAMES = new Set(['', 'utf-8', 'utf8', 'us-ascii', 'ascii']);

function decodeWordText(octets: Buffer, charset: string): string {
  const cs = charsetName(charset);
  if (UTF8_NAMES.has(cs)) return utf8AsDovecot(octets);
  try {
    return libmimeCharset.decode(octets, cs); // an unknown charset reads as UTF-8 there
  } catch {
    return octets.toString('utf8');
  }
}
