// The form in which SORT and THREAD compare text (RFC 5256 section 2.1 asks for i;ascii-casemap; Dovecot,
// which we match, compares the titlecased and decomposed text byte for byte instead, so "é" and "É"
// sort alike and non-ASCII letters are not left in raw order): each character mapped to its simple
// upper (title) case, then decomposed (NFKD approximates Dovecot's decomposition tables).
const NOT_ASCII = /[^\x00-\x7f]/;

export function sortText(s: string): string {
  if (!NOT_ASCII.test(s)) return s.toUpperCase();
  let out = '';
  for (const ch of s) {
    const upper = ch.toUpperCase();
    // a full case mapping that grows (ß -> SS) is not a simple one: the character stays as it is
    out += [...upper].length === 1 ? upper : ch;
  }
  return out.normalize('NFKD');
}

/**
 * Compares two sort texts as Dovecot's strcmp() compares their UTF-8 bytes: UTF-16 order differs from
 * UTF-8 byte order only between astral characters (surrogates) and U+E000..U+FFFF.
 */
export function compareText(a: string, b: string): number {
  if (a === b) return 0;
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x === y) continue;
    if (x >= 0xd800 && y >= 0xd800) {
      // a surrogate (an astral character) sorts after every BMP character in UTF-8
      const xs = x < 0xe000 ? 0x10000 : x;
      const ys = y < 0xe000 ? 0x10000 : y;
      if (xs !== ys) return xs - ys;
    }
    return x - y;
  }
  return a.length - b.length;
}
