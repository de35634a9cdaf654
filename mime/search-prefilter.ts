// Whether the text SEARCH's TEXT and BODY keys look in (mime-text.ts) can hold a needle at all, told from the
// message's raw octets in one pass, before anything is parsed or decoded: most messages of a mailbox do not hold
// a rare word, and telling so costs a lowercase copy and a few substring searches where decoding costs the MIME
// tree, every header field and every text part (issue 25: the index-free path as fast as Dovecot's).
//
// The rule. A message whose octets are all ASCII, that has no RFC 2047 encoded word ("=?"), no base64 or
// quoted-printable part, and whose charset parameters name only charsets that read ASCII octets as themselves,
// has as its searchable text nothing but runs of its own octets (field values unfolded, part bodies) joined by
// what the reader adds between them ("name: " before a value, line feeds between pieces, a space for a folding
// line break or a tab). Folding (i;unicode-casemap) maps ASCII text to ASCII text, changing only the case. So a
// needle (folded) without white space, control characters or a colon, that is not among the message's octets
// (ASCII case-insensitively), is not in its text; and a needle that folds to anything but ASCII is not in an
// ASCII text. Anything else (8-bit octets, which may be UTF-8 full-width letters that fold to ASCII; an
// encoding; a charset such as UTF-7 or ISO-2022-JP, whose ASCII octets stand for other characters; a charset
// parameter written in a way this scan does not read) and the message is "maybe": the evaluator decides.
// It assumes text parts are searched as their decoded octets (text/html as its source, as Dovecot's SEARCH
// without FTS reads it); test/unit/search-prefilter.test.ts checks the rule against the evaluator.
import { isAscii } from 'node:buffer';

/** Charsets whose decoders read every ASCII octet as that ASCII character (lower case, without quotes). */
const ASCII_TRANSPARENT = /^(us-ascii|ascii|utf-?8|iso-8859-\d{1,2}|iso8859-\d{1,2}|latin-?1|windows-125\d|cp125\d|koi8-[ru])$/;

/** A needle the rule can reason about: no white space, no control character, no colon (see above). */
const NEEDLE_CHARS = /^[^\s\x00-\x1f\x7f:]+$/;

const NON_ASCII = /[^\x00-\x7f]/;

/** Octets of a charset name after `charset=` (RFC 2045 token, without tspecials). */
function isNameOctet(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x7a) || c === 0x2d || c === 0x5f || c === 0x2e || c === 0x3a;
}

/** Whether every `charset` parameter of the (lower-case) text names an ASCII-transparent charset; false when unsure. */
function charsetsTransparent(text: string): boolean {
  for (let at = text.indexOf('charset'); at >= 0; at = text.indexOf('charset', at + 7)) {
    let i = at + 7;
    while (text.charCodeAt(i) === 0x20) i++;
    const c = text.charCodeAt(i);
    if (c !== 0x3d) {
      // a word such as "charsets", or the end: not a parameter; anything else ("*", a comment, a line break)
      // may be one written in a way this scan does not read
      if ((c >= 0x61 && c <= 0x7a) || (c >= 0x30 && c <= 0x39) || c === 0x2d || c === 0x5f || Number.isNaN(c)) continue;
      return false;
    }
    i++;
    while (text.charCodeAt(i) === 0x20) i++;
    if (text.charCodeAt(i) === 0x22) i++;
    const start = i;
    while (i < text.length && isNameOctet(text.charCodeAt(i))) i++;
    if (!ASCII_TRANSPARENT.test(text.slice(start, i))) return false;
  }
  return true;
}

/**
 * Compiles the test for one folded needle: the returned function says true when the message certainly does not hold
 * it in the text TEXT (and BODY) search; false means maybe. Null when the rule cannot tell for this needle at all.
 */
export function cannotHold(foldedNeedle: string): ((raw: Buffer) => boolean) | null {
  if (!NEEDLE_CHARS.test(foldedNeedle)) return null;
  const ascii = !NON_ASCII.test(foldedNeedle);
  const needle = foldedNeedle.toLowerCase();
  return (raw) => {
    if (!isAscii(raw)) return false;
    const text = raw.toString('latin1').toLowerCase();
    if (ascii && text.includes(needle)) return false;
    if (text.includes('=?') || text.includes('base64') || text.includes('quoted-printable')) return false;
    return charsetsTransparent(text);
  };
}
