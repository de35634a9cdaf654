// Opening and closing the selected mailbox (RFC 9051 sections 6.3.2, 6.3.3, 6.4.1, 6.4.2, 6.4.3) and
// EXPUNGE (6.4.3, UID EXPUNGE from UIDPLUS, RFC 4315). Reading needs r; EXPUNGE needs e (RFC 4314).
import { openForUser } from '../../../sessions/mailbox-access.js';
import type { Command, ImapContext } from '../context.js';
import { no } from '../imap-error.js';
import { SelectedMailbox } from '../selected.js';
import { parseSequenceSet, resolveSet } from '../wire/sequence-set.js';
import { mailboxArg, wireName } from './mailbox-commands.js';

async function open(s: ImapContext, c: Command, readOnly: boolean): Promise<string> {
  c.args.sp();
  const { target } = mailboxArg(s, c.args);
  if (c.args.maybeSp()) c.args.list(() => c.args.atom('a SELECT option'), 'the SELECT options'); // CONDSTORE and such are not offered
  c.args.end();
  // RFC 9051: a SELECT first deselects the current mailbox, even when it then fails
  if (s.state === 'selected') {
    s.select(null);
    s.send('* OK [CLOSED] Previous mailbox closed');
  }
  // MailboxUnavailable (missing, or not readable) is answered NO [NONEXISTENT] (store-errors.ts)
  const opened = await openForUser(
    s.services.accounts,
    s.services.store,
    s.user(),
    target.own ? null : `${target.owner.name}@${target.owner.domain}`,
    target.mailbox,
  );
  const writable = !readOnly && /[stwie]/.test(opened.rights);
  const selected = new SelectedMailbox(opened.view, target, target.display, !writable, opened.rights, s.mailboxChanged, !s.rev2);
  s.select(selected);
  const messages = opened.view.messages;
  // RFC 3501 section 6.3.1: SELECT takes the messages no session saw yet as recent; EXAMINE only counts them
  const recent = await selected.claimRecent();
  s.send(`* ${messages.length} EXISTS`);
  if (!s.rev2) s.send(`* ${recent} RECENT`);
  for (const line of selected.flagsLines()) s.send(line);
  if (!s.rev2) {
    const firstUnseen = messages.findIndex((m) => !m.flags.has('\\Seen'));
    if (firstUnseen >= 0) s.send(`* OK [UNSEEN ${firstUnseen + 1}] First unseen`);
  }
  s.send(`* OK [UIDVALIDITY ${opened.view.uidValidity}] UIDs valid`);
  s.send(`* OK [UIDNEXT ${opened.view.uidNext}] Predicted next UID`);
  s.send(`* OK [MAILBOXID (${opened.view.mailboxId})] Ok`); // RFC 8474 section 4.2
  if (s.rev2) s.send(`* LIST () "/" ${wireName(s, target)}`);
  return `[${writable ? 'READ-WRITE' : 'READ-ONLY'}] ${c.verb} completed`;
}

export const select = (s: ImapContext, c: Command) => open(s, c, false);
export const examine = (s: ImapContext, c: Command) => open(s, c, true);

/** Removes the messages among `uids` that hold \Deleted; the EXPUNGE responses follow from the sync. */
async function expungeDeleted(s: ImapContext, uids: readonly number[] | null): Promise<number> {
  const m = s.selected();
  if (m.readOnly) throw no('The mailbox is open read-only (EXAMINE)', 'READ-ONLY');
  if (!m.rights.includes('e')) throw no(`You may not expunge in ${m.target.display}`, 'NOPERM');
  const candidates = uids ?? m.view.messages.map((x) => x.uid);
  const doomed = candidates.filter((uid) => m.view.get(uid)?.flags.has('\\Deleted'));
  if (doomed.length === 0) return 0;
  const n = (await m.view.expunge(doomed)).length;
  s.counted('expunged', n);
  return n;
}

// RFC 9051 section 6.4.3
export async function expunge(s: ImapContext, c: Command): Promise<void> {
  c.args.end();
  await expungeDeleted(s, null);
}

// RFC 4315 section 2.1: only the named messages
export async function uidExpunge(s: ImapContext, c: Command): Promise<void> {
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
}

// RFC 9051 section 6.4.1: expunges silently (no EXPUNGE responses), then deselects
export async function close(s: ImapContext, c: Command): Promise<void> {
  c.args.end();
  const m = s.selected();
  if (!m.readOnly && m.rights.includes('e')) await expungeDeleted(s, null).catch(() => 0);
  s.select(null);
}

// RFC 9051 section 6.4.2
export function unselect(s: ImapContext, c: Command): void {
  c.args.end();
  s.select(null);
}
