// The base subject of RFC 5256 section 2.1, used by SORT SUBJECT and by both THREAD algorithms: the
// Subject field with RFC 2047 words decoded (the module's one decoder, message/charset.ts), made
// comparable (sort-text.ts), its white space packed, then these removed until nothing more matches:
// trailing "(fwd)" and spaces (step 2); leading "re:", "fw:", "fwd:" with their [blob]s (step 3) and a
// leading [blob] when something remains after it (step 4); a "[fwd: ...]" wrapper (step 6).
// Dovecot's reading of the ABNF, which we match byte for byte (it departs from a literal reading here):
// - a leader's own white space is at most one space (after the packing there is never more);
// - subj-refwd allows one space before its optional blob and none between blobs beyond the one after
//   each "]"; a "[" inside a blob ends it unmatched (BLOBCHAR excludes "[" and "]");
// - step 6 looks at the last character of the whole text for the "]", whatever step 2 removed before.
import { decodeEncodedWords, decodeUnknown } from '../../../mime/charset.js';
import { sortText } from './sort-text.js';

export interface BaseSubject {
  /** The base subject in sort form (sortText): compare with compareText. */
  readonly subject: string;
  /** True when a "Re:", "Fw:", "Fwd:", "(fwd)" or "[fwd: ...]" was removed (RFC 5256 section 4, REFERENCES step 5). */
  readonly replyOrForward: boolean;
}

/** Tabs, CR, LF and runs of spaces become one space (step 1). */
function packWhitespace(s: string): string {
  return /[\t\r\n]| [ \t]/.test(s) ? s.replace(/[ \t\r\n]+/g, ' ') : s;
}

/** A "[...]" blob at `i` and the one space after it: the index after it, or -1. */
function blobEnd(s: string, i: number): number {
  if (s[i] !== '[') return -1;
  let j = i + 1;
  while (j < s.length && s[j] !== '[' && s[j] !== ']') j++;
  if (s[j] !== ']') return -1;
  j++;
  return s[j] === ' ' ? j + 1 : j;
}

export function baseSubject(value: Buffer | string): BaseSubject {
  const raw = typeof value === 'string' ? value : decodeUnknown(value);
  let s = packWhitespace(sortText(decodeEncodedWords(raw)));
  let start = 0;
  let replyOrForward = false;
  for (;;) {
    // (2) trailers: "(FWD)" and spaces
    let end = s.length;
    while (end > start) {
      if (s[end - 1] === ' ') end--;
      else if (end - start >= 5 && s.startsWith('(FWD)', end - 5)) {
        replyOrForward = true;
        end -= 5;
      } else break;
    }
    s = s.slice(0, end);
    for (;;) {
      let found = false;
      // (3) a leader: one space, or *blob ("RE" / "FW" ["D"]) [" "] [blob] ":"
      if (s[start] === ' ') {
        start++;
        found = true;
      }
      let p = start;
      let blob = blobEnd(s, p);
      while (blob >= 0) {
        p = blob;
        blob = blobEnd(s, p);
      }
      if (s[p] !== '[') {
        let q = s.startsWith('RE', p) ? p + 2 : s.startsWith('FWD', p) ? p + 3 : s.startsWith('FW', p) ? p + 2 : -1;
        if (q >= 0 && s[q] === ' ') q++;
        if (q >= 0 && s[q] === '[') q = blobEnd(s, q);
        if (q >= 0 && s[q] === ':') {
          start = q + 1;
          replyOrForward = true;
          found = true;
        }
      }
      // (4) a leading blob, when something is left after it
      const after = blobEnd(s, start);
      if (after >= 0 && after < s.length) {
        start = after;
        found = true;
      }
      if (!found) break; // (5)
    }
    // (6) "[FWD:" ... "]" around the rest: unwrap and start again at (2)
    if (s.startsWith('[FWD:', start) && s.length > start && s[s.length - 1] === ']') {
      replyOrForward = true;
      s = s.slice(0, -1);
      start += 5;
      continue;
    }
    break;
  }
  return { subject: s.slice(start), replyOrForward };
}
