// COPY, MOVE and their UID forms (RFC 9051 sections 6.4.7 and 6.4.8, MOVE RFC 6851), answered with
// COPYUID (UIDPLUS, RFC 4315). The target needs i (RFC 4314); MOVE also needs t and e on the source.
import type { Command, ImapContext } from '../context.js';
import { no } from '../imap-error.js';
import { targetUids } from '../fetch/fetch.js';
import { formatOrdered } from '../wire/sequence-set.js';
import { mailboxArg } from './mailbox-commands.js';
import { requireRightOrTryCreate } from '../access.js';
import { requireUid } from '../uidonly.js';

async function transfer(s: ImapContext, c: Command, move: boolean): Promise<string | undefined> {
  requireUid(s, c);
  const a = c.args;
  a.sp();
  const setText = a.sequenceSet();
  a.sp();
  const { target } = mailboxArg(s, a);
  a.end();
  const sel = s.selected();
  const uids = targetUids(sel, setText, c.uid);
  await requireRightOrTryCreate(s, target, 'i', 'add messages');
  if (move) {
    if (sel.readOnly) throw no('The mailbox is open read-only (EXAMINE)', 'READ-ONLY');
    if (!sel.rights.includes('t') || !sel.rights.includes('e'))
      throw no(`You may not remove messages from ${sel.target.display}`, 'NOPERM');
  }
  const present = uids.filter((uid) => sel.view.get(uid) !== undefined);
  const gone = present.length < uids.length;
  if (present.length === 0) {
    if (gone) throw no('The messages were removed by another session', 'EXPUNGEISSUED');
    return move ? 'No messages moved' : 'No messages copied';
  }
  const ref = { account: target.owner, mailbox: target.mailbox };
  const result = move ? await sel.view.move(present, ref) : await sel.view.copy(present, ref);
  if (move) s.counted('expunged', result.mapping.length);
  const copyuid =
    result.mapping.length > 0
      ? `[COPYUID ${result.uidValidity} ${formatOrdered(result.mapping.map(([f]) => f))} ` +
        `${formatOrdered(result.mapping.map(([, t]) => t))}] `
      : '';
  if (move) {
    // RFC 6851 section 4.3: COPYUID in an untagged OK before the EXPUNGE responses
    if (copyuid) s.send(`* OK ${copyuid}Moved`);
    await s.sendUpdates(true, true);
    // Another session moved or removed some first (they were moved once, by it): as Dovecot answers
    if (result.mapping.length < present.length) {
      throw no(
        result.mapping.length === 0
          ? 'The messages were removed by another session'
          : 'Some of the messages were removed by another session; the others were moved',
        'EXPUNGEISSUED',
      );
    }
    return `${move ? 'MOVE' : 'COPY'} completed`;
  }
  if (gone) throw no('Some of the messages were removed by another session; the others were copied', 'EXPUNGEISSUED');
  return `${copyuid}${c.verb} completed`;
}

export const copy = (s: ImapContext, c: Command) => transfer(s, c, false);
export const move = (s: ImapContext, c: Command) => transfer(s, c, true);
