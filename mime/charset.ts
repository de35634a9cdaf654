// Text in a message as a string: bytes in a declared charset (a Content-Type parameter, an RFC 2047
// encoded word's), bytes with no charset, and header values with encoded words (read in encoded-words.ts).
// libmime does the charsets (iconv-lite underneath: every ISO-8859, windows-125x, KOI8, the CJK sets,
// UTF-7 ...); here only what a reader of real mail adds, as the WHATWG Encoding Standard and mail clients do:
// us-ascii and ISO-8859-1 labels read as windows-1252 (libmime's own mapping), and bytes without a
// usable charset read as UTF-8 when they are valid UTF-8, else as windows-1252. Never throws.
import { isUtf8 } from 'node:buffer';
import libmimeCharset from 'libmime/lib/charset.js';

/** Bytes with no (usable) charset: UTF-8 when they are valid UTF-8 (ASCII is), else windows-1252. */
export function decodeUnknown(b: Buffer): string {
  if (isUtf8(b)) return b.toString('utf8');
  return libmimeCharset.decode(b, 'windows-1252');
}

/** Bytes in a declared charset to a string; no charset, ASCII or UTF-8: decodeUnknown. */
export function decodeCharset(b: Buffer, charset: string | undefined): string {
  if (charset === undefined) return decodeUnknown(b);
  let cs = charset.trim().toLowerCase();
  const star = cs.indexOf('*'); // RFC 2231 section 5 language: utf-8*en
  if (star >= 0) cs = cs.slice(0, star);
  if (cs === '' || cs === 'us-ascii' || cs === 'ascii' || cs === 'utf-8' || cs === 'utf8') return decodeUnknown(b);
  try {
    return libmimeCharset.decode(b, cs);
  } catch {
    return decodeUnknown(b);
  }
}

/** A header value with its RFC 2047 encoded words decoded, as Dovecot's lib-mail decodes them (encoded-words.ts). */
export { decodeEncodedWords } from './encoded-words.js';
