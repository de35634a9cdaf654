// The i;unicode-casemap comparator's mapping (RFC 5051 section 2; RFC 9051 section 6.4.4 makes SEARCH compare
// with it): every character mapped to its simple titlecase, then decomposed (NFKD), so that "bu" is found in
// "Bücher" (ü becomes U and a combining diaeresis) and "abc" in "ＡＢＣ" (full-width letters decompose to
// ASCII). SEARCH maps the needle and the text alike and looks for the mapped needle as a substring of the
// mapped text; a mapping may change a string's length (one character can become several), so only mapped
// strings are ever compared.
//
// Dovecot 2.3's SEARCH maps by the same rule (its uni_utf8_to_decomposed_titlecase), and gives the same text for
// nearly every character (checked against its library for all 1,112,063 code points), except where it departs
// from RFC 5051, where this follows the RFC (README: "SEARCH compares by i;unicode-casemap"):
// - Dovecot decomposes each character one level only (its table holds UnicodeData's mapping, not NFKD's full
//   one): "ệ" becomes "Ê" and a tilde there, here E, a circumflex and a tilde, so "nguye" finds "Nguyễn";
// - Dovecot does not decompose titlecase letters (Dž, ᾈ, ᾼ ...); NFKD does;
// - NFKD puts combining marks of different classes in their canonical order across characters; Dovecot keeps
//   the order they came in;
// - letters whose case or decomposition Unicode added after Dovecot's table (Ƛ, Ꞔ, Ꟁ ...) map by Node's own
//   Unicode data (ICU) here, and stay as they are there.
// Details: the titlecase is the simple one (UnicodeData's field 14): ß, ŉ, the ligatures ﬀ..ﬆ keep their case
// (their upper case is two letters, which only the full mapping gives), and decompose afterwards ("ﬀ" becomes
// "ff", which "FF" does not find: the decomposition is not mapped again); DŽ, Dž and dž all become Dž, then D,
// z and a caron; Georgian letters keep theirs (their Mtavruli capitals are upper case, not title case). ASCII
// maps to upper case (no ASCII character decomposes).

/** Simple titlecase mappings that JavaScript's toUpperCase does not give (it applies the full mappings). */
const TITLECASE_SPECIAL = new Map<number, number>();
for (const [from, to] of [
  [0x01c4, 0x01c5],
  [0x01c6, 0x01c5],
  [0x01c7, 0x01c8],
  [0x01c9, 0x01c8],
  [0x01ca, 0x01cb],
  [0x01cc, 0x01cb],
  [0x01f1, 0x01f2],
  [0x01f3, 0x01f2],
  [0x1fb3, 0x1fbc],
  [0x1fc3, 0x1fcc],
  [0x1ff3, 0x1ffc],
]) {
  TITLECASE_SPECIAL.set(from, to);
}
// Greek letters with ypogegrammeni: the small ones map to the titlecase ones 8 code points on
for (const base of [0x1f80, 0x1f90, 0x1fa0]) for (let i = 0; i < 8; i++) TITLECASE_SPECIAL.set(base + i, base + 8 + i);

const TITLECASE_LETTER = /^\p{Lt}$/u;

/** The simple titlecase mapping of one code point (itself when it has none). */
export function simpleTitlecase(cp: number): number {
  const special = TITLECASE_SPECIAL.get(cp);
  if (special !== undefined) return special;
  if (cp >= 0x10d0 && cp <= 0x10ff) return cp; // Georgian: titlecase is the letter itself
  const c = String.fromCodePoint(cp);
  if (TITLECASE_LETTER.test(c)) return cp; // Dž, ᾈ ...: their upper case is another letter
  const upper = c.toUpperCase();
  if (upper === c) return cp;
  const u = upper.codePointAt(0)!;
  // several code points: only a full mapping (SpecialCasing) exists, no simple one
  return upper.length === (u > 0xffff ? 2 : 1) ? u : cp;
}

const mapped = new Map<string, string>();

/**
 * A run of non-ASCII characters mapped: each to its simple titlecase, then NFKD. A run can be normalized on its
 * own: ASCII characters neither decompose nor carry a combining class, so no mark moves across them.
 */
function mapRun(run: string): string {
  const known = mapped.get(run);
  if (known !== undefined) return known;
  let title = '';
  for (const ch of run) title += String.fromCodePoint(simpleTitlecase(ch.codePointAt(0)!));
  const m = title.normalize('NFKD');
  if (run.length <= 4 && mapped.size < 65536) mapped.set(run, m); // short runs repeat: an accented letter, a word of CJK
  return m;
}

const NOT_ASCII = /[^\x00-\x7f]/;
const NON_ASCII_RUNS = /[^\x00-\x7f]+/g;

/** `s` mapped by i;unicode-casemap (RFC 5051 section 2): each character to its simple titlecase, then NFKD. */
export function casemap(s: string): string {
  if (!NOT_ASCII.test(s)) return s.toUpperCase();
  let out = '';
  let last = 0;
  for (const m of s.matchAll(NON_ASCII_RUNS)) {
    const at = m.index!;
    if (at > last) out += s.slice(last, at).toUpperCase();
    out += mapRun(m[0]);
    last = at + m[0].length;
  }
  if (last < s.length) out += s.slice(last).toUpperCase();
  return out;
}
