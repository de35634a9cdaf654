// Opening and closing the selected mailbox (RFC 9051 sections 6.3.2, 6.3.3, 6.4.1, 6.4.2, 6.4.3) and
// EXPUNGE (6.4.3, UID EXPUNGE from UIDPLUS, RFC 4315). Reading needs r; EXPUNGE needs e (RFC 4314).
import { openForUser } from '../../../sessions/mailbox-access.js';
import type { Command, ImapContext } from '../context.js';
import { inRanges, modseqArg, rangesArg, vanishedSince } from '../condstore.js';
import { fetchHead, uidRequired } from '../uidonly.js';
import { bad, no } from '../imap-error.js';
import { SelectedMailbox } from '../selected.js';
import { quoteClient } from '../../../sessions/client-text.js';
import { parseSequenceSet, resolveSet } from '../wire/sequence-set.js';
import { mailboxArg, wireName } from './mailbox-commands.js';

/** The QRESYNC select-param (RFC 7162 section 3.2.5): what the client knew when it left. */
interface Qresync {
  readonly uidValidity: number;
  readonly modseq: number;
  readonly known: [number, number][] | null;
}

/** SELECT/EXAMINE's options: CONDSTORE, QRESYNC (uidvalidity modseq [known-uids [seq-match-data]]). */
function selectOptions(s: ImapContext, c: Command): { condstore: boolean; qresync: Qresync | null } {
  const a = c.args;
  let condstore = false;
  let qresync: Qresync | null = null;
  a.list(() => {
    const name = a.atom('a SELECT option').toUpperCase();
    if (name === 'CONDSTORE') condstore = true;
    else if (name === 'QRESYNC') {
      if (!s.enabled.has('QRESYNC')) throw bad('QRESYNC is not enabled (ENABLE QRESYNC first)');
      a.sp();
      let uidValidity = 0;
      let modseq = 0;
      let known: [number, number][] | null = null;
      let at = 0;
      a.list(() => {
        if (at === 0) uidValidity = a.number('the UIDVALIDITY of QRESYNC');
        else if (at === 1) modseq = modseqArg(a, 'the mod-sequence of QRESYNC');
        else if (at === 2 && a.peek() !== 0x28) known = rangesArg(a, 'the known UIDs of QRESYNC');
        else if (at <= 3) {
          // seq-match-data: checked, not used (it only narrows the fallback; the client ignores UIDs it never knew)
          if (s.enabled.has('UIDONLY')) throw uidRequired('QRESYNC sequence match data'); // RFC 9586 section 3.7
          a.list(() => {
            rangesArg(a, 'the known sequence numbers of QRESYNC');
            a.sp();
            rangesArg(a, 'the known UIDs of QRESYNC');
          }, 'the QRESYNC sequence match data');
          at = 3;
        } else throw bad('Too many QRESYNC parameters');
        at++;
      }, 'the QRESYNC parameters');
      if (at < 2 || uidValidity === 0 || modseq === 0) throw bad('QRESYNC needs a UIDVALIDITY and a mod-sequence (both nonzero)');
      qresync = { uidValidity, modseq, known };
    } else throw bad(`Unknown SELECT option ${quoteClient(name, 30)}`);
  }, 'the SELECT options');
  return { condstore, qresync };
}

async function open(s: ImapContext, c: Command, readOnly: boolean): Promise<string> {
  c.args.sp();
  const { target } = mailboxArg(s, c.args);
  let options: ReturnType<typeof selectOptions> = { condstore: false, qresync: null };
  if (c.args.maybeSp()) options = selectOptions(s, c);
  c.args.end();
  // RFC 9051: a SELECT first deselects the current mailbox, even when it then fails
  if (s.state === 'selected') {
    s.select(null);
    s.send('* OK [CLOSED] Previous mailbox closed');
  }
  if (options.condstore || options.qresync) s.enable('CONDSTORE'); // RFC 7162 section 3.1: a CONDSTORE enabling command
  // MailboxUnavailable (missing, or not readable) is answered NO [NONEXISTENT] (store-errors.ts)
  const opened = await openForUser(
    s.services.accounts,
    s.services.store,
    s.user(),
    target.own ? null : `${target.owner.name}@${target.owner.domain}`,
    target.mailbox,
  );
  opened.view.searchIndex?.prepare(); // a session that may SEARCH: what came meanwhile is indexed in the background
  const writable = !readOnly && /[stwie]/.test(opened.rights);
  const selected = new SelectedMailbox(opened.view, target, target.display, !writable, opened.rights, s.mailboxChanged, !s.rev2);
  s.select(selected);
  selected.condstore = s.enabled.has('CONDSTORE');
  selected.qresync = s.enabled.has('QRESYNC');
  selected.uidonly = s.enabled.has('UIDONLY');
  const messages = opened.view.messages;
  // RFC 3501 section 6.3.1: SELECT takes the messages no session saw yet as recent; EXAMINE only counts them
  const recent = await selected.claimRecent();
  s.send(`* ${messages.length} EXISTS`);
  if (!s.rev2) s.send(`* ${recent} RECENT`);
  for (const line of selected.flagsLines()) s.send(line);
  if (!s.rev2 && !selected.uidonly) {
    // (UNSEEN is a message number: not after ENABLE UIDONLY, RFC 9586 section 3)
    const firstUnseen = selected.firstUnseen();
    if (firstUnseen > 0) s.send(`* OK [UNSEEN ${firstUnseen}] First unseen`);
  }
  s.send(`* OK [UIDVALIDITY ${opened.view.uidValidity}] UIDs valid`);
  s.send(`* OK [UIDNEXT ${opened.view.uidNext}] Predicted next UID`);
  if (selected.condstore) s.send(`* OK [HIGHESTMODSEQ ${opened.view.highestModseq}] Highest`);
  s.send(`* OK [MAILBOXID (${opened.view.mailboxId})] Ok`); // RFC 8474 section 4.2 (after HIGHESTMODSEQ, as Dovecot)
  if (s.rev2) s.send(`* LIST () "/" ${wireName(s, target)}`);
  if (options.qresync?.uidValidity === opened.view.uidValidity) resync(s, selected, options.qresync);
  return `[${writable ? 'READ-WRITE' : 'READ-ONLY'}] ${c.verb} completed`;
}

/**
 * RFC 7162 section 3.2.5.1: what changed since the client's modseq, among the UIDs it knows: the UIDs gone
 * (VANISHED (EARLIER)), then the flags of each message changed or added since (UID, FLAGS, MODSEQ).
 */
function resync(s: ImapContext, m: SelectedMailbox, q: Qresync): void {
  const vanished = vanishedSince(m, q.modseq, q.known);
  if (vanished !== '') s.send(`* VANISHED (EARLIER) ${vanished}`);
  const messages = m.view.messages;
  const changed = messages.filter((x) => x.modseq > q.modseq && (q.known === null || inRanges(q.known, x.uid)));
  for (const line of m.announce(changed)) s.send(line);
  for (const x of changed) s.send(`${fetchHead(m, x.uid, true)}FLAGS ${m.flagsOf(x)} MODSEQ (${x.modseq}))`);
}

export const select = (s: ImapContext, c: Command) => open(s, c, false);
export const examine = (s: ImapContext, c: Command) => open(s, c, true);

/** Removes the messages among `uids` that hold \Deleted; the EXPUNGE responses follow from the sync. */
async function expungeDeleted(s: ImapContext, uids: readonly number[] | null): Promise<number> {
  const m = s.selected();
  if (m.readOnly) throw no('The mailbox is open read-only (EXAMINE)', 'READ-ONLY');
  if (!m.rights.includes('e')) throw no(`You may not expunge in ${m.target.display}`, 'NOPERM');
  // the whole mailbox is walked as it is, not looked up message by message (CLOSE and EXPUNGE of the mixed load)
  const doomed =
    uids === null
      ? m.view.messages.filter((x) => x.flags.has('\\Deleted')).map((x) => x.uid)
      : uids.filter((uid) => m.view.get(uid)?.flags.has('\\Deleted'));
  if (doomed.length === 0) return 0;
  const n = (await m.view.expunge(doomed)).length;
  s.counted('expunged', n);
  return n;
}

/** RFC 7162 section 3.2.10: with QRESYNC on, EXPUNGE's tagged OK says the HIGHESTMODSEQ after it (the VANISHED sent first). */
async function expungedText(s: ImapContext): Promise<string | undefined> {
  if (!s.enabled.has('QRESYNC')) return undefined;
  await s.sendUpdates(true, true);
  return `[HIGHESTMODSEQ ${s.selected().view.highestModseq}] Expunge completed`;
}

// RFC 9051 section 6.4.3
export async function expunge(s: ImapContext, c: Command): Promise<string | undefined> {
  c.args.end();
  await expungeDeleted(s, null);
  return expungedText(s);
}

// RFC 4315 section 2.1: only the named messages
export async function uidExpunge(s: ImapContext, c: Command): Promise<string | undefined> {
  c.args.sp();
  const set = parseSequenceSet(c.args.sequenceSet('a UID set'));
  c.args.end();
  const m = s.selected();
  await expungeDeleted(
    s,
    resolveSet(
      set,
      m.view.messages.map((x) => x.uid),
    ),
  );
  return expungedText(s);
}

// RFC 9051 section 6.4.1: expunges silently (no EXPUNGE responses), then deselects
// RFC 7162 section 3.2.11: with QRESYNC on, its tagged OK says the HIGHESTMODSEQ after the expunge
export async function close(s: ImapContext, c: Command): Promise<string | undefined> {
  c.args.end();
  const m = s.selected();
  if (!m.readOnly && m.rights.includes('e')) await expungeDeleted(s, null).catch(() => 0);
  const highest = m.view.highestModseq;
  s.select(null);
  return s.enabled.has('QRESYNC') ? `[HIGHESTMODSEQ ${highest}] CLOSE completed` : undefined;
}

// RFC 9051 section 6.4.2
export function unselect(s: ImapContext, c: Command): void {
  c.args.end();
  s.select(null);
}
