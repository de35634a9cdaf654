// The i;unicode-casemap comparator's mapping (RFC 5051 section 2; RFC 9051 section 6.4.4 makes SEARCH compare
// with it): every character mapped to its simple titlecase, then decomposed (NFKD), so that "bu" is found in
// "Bücher" (ü becomes U and a combining diaeresis) and "abc" in "ＡＢＣ" (full-width letters decompose to
// ASCII). SEARCH maps the needle and the text alike and looks for the mapped needle as a substring of the
// mapped text; a mapping may change a string's length (one character can become several), so only mapped
// strings are ever compared.
//
// Must give the same text as Dovecot 2.3's uni_utf8_to_decomposed_titlecase, the mapping its SEARCH uses, for
// every character both know (test/unit/search-casemap.test.ts checks the cases below; the comparison with
// Dovecot, test/interop/imap-search-dovecot.test.ts, the rest):
// - the titlecase is the simple one (UnicodeData's field 14): ß, ŉ, the ligatures ﬀ..ﬆ keep their case (their
//   upper case is two letters, which only the full mapping gives); DŽ, Dž, dž all become Dž; Georgian letters
//   keep theirs (their Mtavruli capitals are upper case, not title case);
// - a character whose titlecase is itself a titlecase letter (Dž, ᾈ, ᾼ ...) is not decomposed;
// - each character is decomposed on its own, the marks of a decomposition in the order it gives, never
//   reordered across characters (NFKD would reorder marks of different classes);
// - text is mapped character by character, so the result of a decomposition is not mapped again ("ﬀ" becomes
//   "ff", which "FF" does not find: RFC 5051 maps the same way);
// - ASCII maps to upper case (no ASCII character decomposes).
// Node's own Unicode data (ICU) gives the case mappings and decompositions; a character newer than Dovecot's
// table may map differently there.

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
  const upper = c.toUpperCase();
  if (upper === c) return cp;
  const u = upper.codePointAt(0)!;
  // several code points: only a full mapping (SpecialCasing) exists, no simple one
  return upper.length === (u > 0xffff ? 2 : 1) ? u : cp;
}

/** One code point mapped: titlecase, then decomposed (not when the titlecase is a titlecase letter). */
function mapCodePoint(cp: number): string {
  const t = String.fromCodePoint(simpleTitlecase(cp));
  return TITLECASE_LETTER.test(t) ? t : t.normalize('NFKD');
}

const mapped = new Map<number, string>();

function mapNonAscii(run: string): string {
  let out = '';
  for (const ch of run) {
    const cp = ch.codePointAt(0)!;
    let m = mapped.get(cp);
    if (m === undefined) {
      m = mapCodePoint(cp);
      if (mapped.size < 65536) mapped.set(cp, m);
    }
    out += m;
  }
  return out;
}

const NOT_ASCII = /[^\x00-\x7f]/;
const NON_ASCII_RUNS = /[^\x00-\x7f]+/g;

/** `s` mapped by i;unicode-casemap as Dovecot maps it (see the top of this file). */
export function casemap(s: string): string {
  if (!NOT_ASCII.test(s)) return s.toUpperCase();
  let out = '';
  let last = 0;
  for (const m of s.matchAll(NON_ASCII_RUNS)) {
    const at = m.index!;
    if (at > last) out += s.slice(last, at).toUpperCase();
    out += mapNonAscii(m[0]);
    last = at + m[0].length;
  }
  if (last < s.length) out += s.slice(last).toUpperCase();
  return out;
}
