// Reading IMAP keyword announcements (RFC 3501 section 7.2.6, RFC 9051 section 7.3.5) in the answers a
// test gathered: a keyword must be named in `* FLAGS (...)` before any FETCH shows it.
import { expect } from 'vitest';

/** The index of the first line matching, or -1. */
export const indexOf = (lines: readonly string[], re: RegExp) => lines.findIndex((l) => re.test(l));

/** The keywords of the last `* FLAGS (...)` line. */
export function flagsLine(lines: readonly string[]): string[] | null {
  const line = [...lines].reverse().find((l) => l.startsWith('* FLAGS ('));
  return line ? line.slice('* FLAGS ('.length, -1).split(' ') : null;
}

/** Checks that every keyword a FETCH shows was in a FLAGS line sent before it (starting from `known`). */
export function announcedBeforeUse(lines: readonly string[], known: Set<string>): void {
  for (const line of lines) {
    const flags = flagsLine([line]);
    if (flags) for (const f of flags) known.add(f);
    const m = /FETCH \(.*FLAGS \(([^)]*)\)/.exec(line);
    if (m)
      for (const f of m[1].split(' ').filter((x) => x && !x.startsWith('\\')))
        expect(known.has(f), `${f} used in "${line}" before FLAGS named it`).toBe(true);
  }
}
