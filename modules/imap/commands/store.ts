// STORE and UID STORE (RFC 9051 section 6.4.6): +FLAGS, -FLAGS, FLAGS, with .SILENT. Each flag needs
// its right (RFC 4314 section 4): s for \Seen, t for \Deleted, w for the others and keywords.
import type { FlagChange } from '../../../store/contract.js';
import { normalizeFlag } from '../../../store/contract.js';
import type { Command, ImapContext } from '../context.js';
import { bad, no } from '../imap-error.js';
import { targetUids } from '../fetch/fetch.js';
import type { Cursor } from '../wire/cursor.js';
import { quoteClient } from '../../../sessions/client-text.js';
import { enableCondstore, modseqArg } from '../condstore.js';
import { formatSet } from '../wire/sequence-set.js';
import { fetchHead, requireUid } from '../uidonly.js';

/** flag-list or flags separated by spaces (RFC 9051 allows both in STORE). */
export function parseFlags(a: Cursor, parens: 'required' | 'optional'): string[] {
  const flags: string[] = [];
  const one = () => {
    const backslash = a.accept(0x5c);
    const name = a.atom('a flag');
    if (backslash && name.toUpperCase() === 'RECENT') throw bad('\\Recent cannot be stored');
    try {
      flags.push(normalizeFlag(backslash ? `\\${name}` : name));
    } catch (err) {
      throw bad((err as Error).message);
    }
  };
  if (a.peek() === 0x28) a.list(one, 'the flag list');
  else if (parens === 'required') a.fail('a flag list such as (\\Seen)');
  else {
    one();
    while (a.maybeSp()) one();
  }
  return flags;
}

function rightFor(flag: string): string {
  return flag === '\\Seen' ? 's' : flag === '\\Deleted' ? 't' : 'w';
}

export async function store(s: ImapContext, c: Command): Promise<string | undefined> {
  requireUid(s, c);
  const a = c.args;
  a.sp();
  const setText = a.sequenceSet();
  a.sp();
  // RFC 7162 section 3.1.3: UNCHANGEDSINCE n, the one STORE modifier
  let unchangedSince: number | null = null;
  if (a.peek() === 0x28) {
    a.list(() => {
      const name = a.atom('a STORE modifier').toUpperCase();
      if (name !== 'UNCHANGEDSINCE' || unchangedSince !== null) throw bad(`Unknown or repeated STORE modifier ${quoteClient(name, 30)}`);
      a.sp();
      unchangedSince = modseqArg(a, 'the mod-sequence of UNCHANGEDSINCE');
    }, 'the STORE modifiers');
    a.sp();
  }
  const op = a.atom('+FLAGS, -FLAGS or FLAGS').toUpperCase();
  const m = /^([+-]?)FLAGS(\.SILENT)?$/.exec(op);
  if (!m) throw bad(`Expected +FLAGS, -FLAGS or FLAGS (with .SILENT), not ${quoteClient(op, 30)}`);
  a.sp();
  const flags = parseFlags(a, 'optional');
  a.end();
  const sel = s.selected();
  if (sel.readOnly) throw no('The mailbox is open read-only (EXAMINE)', 'READ-ONLY');
  const needed = m[1] === '' ? ['\\Seen', '\\Deleted', '\\Answered'] : flags;
  for (const flag of new Set(needed.map(rightFor))) {
    if (!sel.rights.includes(flag))
      throw no(
        `You may not change ${flag === 's' ? '\\Seen' : flag === 't' ? '\\Deleted' : 'these flags'} in ${sel.target.display}`,
        'NOPERM',
      );
  }
  const named = targetUids(sel, setText, c.uid);
  let uids = named.filter((uid) => !sel.isGone(uid) && sel.view.get(uid) !== undefined);
  const modified: number[] = [];
  if (unchangedSince !== null) {
    enableCondstore(s);
    // the messages as they are now (other sessions' changes first: no EXPUNGE, the numbers stay), then
    // only those not changed since the client's modseq are stored; the others are named in [MODIFIED]
    await s.sendUpdates(false, true);
    const limit: number = unchangedSince;
    uids = uids.filter((uid) => {
      const stale = (sel.view.get(uid)?.modseq ?? 0) > limit;
      if (stale) modified.push(uid);
      return !stale;
    });
  }
  const change: FlagChange = m[1] === '+' ? { add: flags } : m[1] === '-' ? { remove: flags } : { replace: flags };
  const changed = uids.length > 0 ? await sel.view.store(uids, change) : [];
  sel.changedHere(changed);
  // a keyword new to the mailbox is announced first, even to .SILENT (RFC 3501 section 7.2.6)
  for (const line of sel.announce(changed)) s.send(line);
  const modifiedText =
    modified.length === 0
      ? undefined
      : `[MODIFIED ${formatSet(c.uid ? modified : modified.map((uid) => sel.seqOf(uid)))}] Conditional STORE failed`;
  if (m[2]) {
    // RFC 7162 section 3.1.3: with CONDSTORE on, even .SILENT says the new MODSEQ of what changed
    if (sel.condstore) for (const info of changed) s.send(`${fetchHead(sel, info.uid, c.uid)}MODSEQ (${info.modseq}))`);
    return modifiedText;
  }
  // RFC 9051: the new flags of each message (Dovecot and most servers answer every message named)
  for (const uid of uids) {
    const info = sel.info(uid);
    if (!info) continue;
    const modseq = sel.condstore ? ` MODSEQ (${info.modseq})` : '';
    s.send(`${fetchHead(sel, uid, c.uid)}FLAGS ${sel.flagsOf(info)}${modseq})`);
  }
  return modifiedText;
}
