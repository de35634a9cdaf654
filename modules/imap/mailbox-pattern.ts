// LIST and LSUB mailbox patterns (RFC 9051 section 6.3.9, RFC 3501 section 6.3.9): "*" matches any
// run of characters, "%" any run without the hierarchy delimiter, everything else itself.
//
// Matched as a set of pattern positions walked over the name one character at a time (an NFA
// simulation), never by backtracking: a RegExp such as ^.*a.*a.*b$ takes time exponential in the number
// of wildcards on a name that almost matches (`LIST "" "*a*a*a*a*a*a*b"` took 4.2 s on a 63-character
// name and froze every session of the server). Here a name costs O(name length x live positions); a
// position is live only when the pattern up to it matched a prefix of the name, so it holds at most as
// many literal characters as that prefix has characters, and with runs of wildcards collapsed there are
// at most 2n+2 such positions: at most O(n^2) steps for a name of n characters, whatever the pattern.
import { DELIMITER } from '../../store/contract.js';

const STAR = -1;
const PERCENT = -2;

export interface MailboxPattern {
  /** Whether the whole of `name` matches. */
  test(name: string): boolean;
}

/** Pattern tokens: a UTF-16 code unit, STAR or PERCENT; runs of wildcards collapsed ("%*" is "*"). */
function tokens(pattern: string): number[] {
  const out: number[] = [];
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern.charCodeAt(i);
    const t = c === 0x2a ? STAR : c === 0x25 ? PERCENT : c;
    const last = out.length > 0 ? out[out.length - 1] : 0;
    if (t === STAR && (last === STAR || last === PERCENT)) out[out.length - 1] = STAR;
    else if (t === PERCENT && (last === STAR || last === PERCENT)) continue;
    else out.push(t);
  }
  return out;
}

/** Compiles `pattern` (no INBOX folding: the caller gives names and patterns in one form). */
export function mailboxPattern(pattern: string, delimiter: string = DELIMITER): MailboxPattern {
  const delim = delimiter.charCodeAt(0);
  const tok = tokens(pattern);
  const m = tok.length;
  // a pattern without wildcards is a plain comparison
  if (!tok.some((t) => t < 0)) return { test: (name) => name === pattern };
  // the live positions (0..m, m = the whole pattern matched), deduplicated by a stamp per step
  const seen = new Int32Array(m + 1);
  let current = new Int32Array(m + 1);
  let next = new Int32Array(m + 1);
  let stamp = 0;
  return {
    test(name: string): boolean {
      let count = 0;
      let nextCount = 0;
      stamp += 1;
      if (stamp > 0x3fffffff) {
        seen.fill(0);
        stamp = 1;
      }
      const add = (list: Int32Array, n: number, k: number): number => {
        // k and, when k is a wildcard (which may match nothing), the position after it
        for (;;) {
          if (seen[k] === stamp) return n;
          seen[k] = stamp;
          list[n++] = k;
          if (k < m && tok[k] < 0) k += 1;
          else return n;
        }
      };
      count = add(current, 0, 0);
      for (let i = 0; i < name.length && count > 0; i++) {
        const c = name.charCodeAt(i);
        stamp += 1;
        nextCount = 0;
        for (let j = 0; j < count; j++) {
          const k = current[j];
          if (k === m) continue;
          const t = tok[k];
          if (t === STAR || (t === PERCENT && c !== delim)) nextCount = add(next, nextCount, k);
          else if (t === c) nextCount = add(next, nextCount, k + 1);
        }
        const swap = current;
        current = next;
        next = swap;
        count = nextCount;
      }
      for (let j = 0; j < count; j++) if (current[j] === m) return true;
      return false;
    },
  };
}
