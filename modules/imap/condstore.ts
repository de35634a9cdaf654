// What the commands share of CONDSTORE and QRESYNC (RFC 7162): turning CONDSTORE on (by ENABLE or any
// "CONDSTORE enabling command", section 3.1), mod-sequence arguments, and the UIDs a client that was away
// must be told are gone (VANISHED (EARLIER), section 3.2.5.2 and 3.2.6).
import type { ImapContext } from './context.js';
import { bad } from './imap-error.js';
import type { SelectedMailbox } from './selected.js';
import type { Cursor } from './wire/cursor.js';
import { lowerBound } from '../../lib/by-uid.js';
import { mergeRanges, parseSequenceSet, STAR } from './wire/sequence-set.js';
import { quoteClient } from '../../sessions/client-text.js';

const MAX_MODSEQ = 2n ** 63n - 1n;

/**
 * mod-sequence-valzer (RFC 7162 section 7: 0 to 2^63-1). The store's modseqs are far below 2^53, so a
 * larger value (exact or not as a JavaScript number) compares as larger than all of them.
 */
export function modseqArg(a: Cursor, what: string): number {
  const text = a.atom(what);
  if (!/^\d{1,19}$/.test(text) || BigInt(text) > MAX_MODSEQ) throw bad(`${quoteClient(text, 30)} is not a mod-sequence (0 to 2^63-1)`);
  return Number(text);
}

/**
 * Turns CONDSTORE on for the session (section 3.1): untagged FETCH responses then carry UID and MODSEQ.
 * Turned on while a mailbox is selected, the client learns its HIGHESTMODSEQ at once (as Dovecot says it).
 */
export function enableCondstore(s: ImapContext): void {
  if (!s.enable('CONDSTORE')) return;
  if (s.state !== 'selected') return;
  const m = s.selected();
  m.condstore = true;
  s.send(`* OK [HIGHESTMODSEQ ${m.view.highestModseq}] Highest`);
}

/** A UID set without "*" (known-uids, known-sequence-set, known-uid-set), as merged ranges. */
export function rangesArg(a: Cursor, what: string): [number, number][] {
  const set = parseSequenceSet(a.sequenceSet(what));
  const ranges: [number, number][] = [];
  for (const [x, y] of set) {
    if (x === STAR || y === STAR) throw bad(`"*" is not allowed in ${what}`);
    ranges.push([Math.min(x, y), Math.max(x, y)]);
  }
  return mergeRanges(ranges);
}

/** Ranges written as a sequence set ("1:3,7"). */
export function formatRanges(ranges: readonly (readonly [number, number])[]): string {
  return ranges.map(([lo, hi]) => (lo === hi ? `${lo}` : `${lo}:${hi}`)).join(',');
}

/** True when `n` is in one of the merged, ascending ranges. */
export function inRanges(ranges: readonly (readonly [number, number])[], n: number): boolean {
  let lo = 0;
  let hi = ranges.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (ranges[mid][1] < n) lo = mid + 1;
    else hi = mid;
  }
  return lo < ranges.length && ranges[lo][0] <= n;
}

/**
 * The UIDs (within `known`, or any) that vanished from the mailbox at a modseq above `modseq`, as a set
 * ('' for none). Exact while the store remembers that far back; beyond that, every UID below UIDNEXT that
 * the mailbox does not hold (section 3.2.5.2: the client ignores UIDs it never knew). UIDs still in the
 * session's map are left for the VANISHED that announces them.
 */
export function vanishedSince(m: SelectedMailbox, modseq: number, known: readonly (readonly [number, number])[] | null): string {
  const exact = m.view.expungedSince(modseq);
  const held = (uid: number) => m.seqOf(uid) !== 0 || m.view.get(uid) !== undefined;
  if (exact !== null) {
    const uids = exact.filter((uid) => !held(uid) && (known === null || inRanges(known, uid)));
    return formatRanges(mergeRanges(uids.map((u) => [u, u])));
  }
  // the fallback, range by range: the gaps between the UIDs held (a 100,000-message mailbox is walked once)
  const top = m.view.uidNext - 1;
  const present = [...new Set([...m.uids, ...m.view.messages.map((x) => x.uid)])].sort((a, b) => a - b);
  const out: [number, number][] = [];
  for (const [lo0, hi0] of known ?? [[1, top] as const]) {
    const hi = Math.min(hi0, top);
    let at = lo0;
    for (let i = lowerBound(present, lo0); at <= hi; i++) {
      const next = i < present.length ? present[i] : Number.POSITIVE_INFINITY;
      if (next > at) out.push([at, Math.min(hi, next - 1)]);
      at = next + 1;
    }
  }
  return formatRanges(out);
}
