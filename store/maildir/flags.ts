// Flags in Maildir file names ("…:2,FSab"): upper-case letters are the system flags (D \Draft,
// F \Flagged, R \Answered, S \Seen, T \Deleted), lower-case ones keywords (dovecot-keywords says
// which). Letters are kept sorted; letters Postern does not know (other upper-case ones, some MUAs use
// P for "passed") are kept as they are when the flags change.
import type { KeywordTable } from './keywords.js';

const SYSTEM: Record<string, string> = { D: '\\Draft', F: '\\Flagged', R: '\\Answered', S: '\\Seen', T: '\\Deleted' };
const LETTER: Record<string, string> = Object.fromEntries(Object.entries(SYSTEM).map(([l, f]) => [f, l]));

/** The flags and keywords that the letters of a file name stand for. */
export function flagsOf(letters: string, keywords: KeywordTable): Set<string> {
  const flags = new Set<string>();
  for (const c of letters) {
    const system = SYSTEM[c];
    if (system) flags.add(system);
    else if (c >= 'a' && c <= 'z') flags.add(keywords.nameOf(c));
  }
  return flags;
}

/** Keywords among `flags` that have no letter yet. */
export function keywordsWithoutLetter(flags: Iterable<string>, keywords: KeywordTable): string[] {
  return [...flags].filter((f) => !f.startsWith('\\') && keywords.letterOf(f) === undefined);
}

/**
 * The letters for `flags` (every keyword must have a letter by now), keeping the letters of `previous`
 * that stand for nothing Postern knows.
 */
export function lettersOf(flags: ReadonlySet<string>, keywords: KeywordTable, previous = ''): string {
  const out = new Set<string>();
  for (const c of previous) if (!SYSTEM[c] && !(c >= 'a' && c <= 'z')) out.add(c);
  for (const f of flags) {
    let letter = f.startsWith('\\') ? LETTER[f] : keywords.letterOf(f);
    // a letter dovecot-keywords has no entry for is shown as "unknown-<index>": it keeps its letter
    const unknown = /^unknown-(\d{1,2})$/.exec(f);
    if (!letter && unknown && Number(unknown[1]) < 26) letter = String.fromCharCode(97 + Number(unknown[1]));
    if (letter) out.add(letter);
  }
  return [...out].sort().join('');
}
