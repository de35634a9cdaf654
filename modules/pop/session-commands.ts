// Commands valid in every state: CAPA (RFC 2449 section 5) and QUIT (RFC 1939 sections 4 and 6).
import { formatAddress } from '../../accounts/names.js';
import { offeredMechanisms } from './auth-commands.js';
import type { PopContext, SignedIn } from './context.js';
import { PopError } from './pop-error.js';

/** The capabilities this session offers now (RFC 2449 section 6). */
export function capabilities(s: PopContext): string[] {
  const caps = ['TOP', 'UIDL'];
  if (s.state === 'AUTHORIZATION') {
    if (s.settings.userPass && s.cleartextAllowed) caps.push('USER');
    const sasl = offeredMechanisms(s).map((m) => m.name);
    if (sasl.length > 0) caps.push(`SASL ${sasl.join(' ')}`);
    if (s.conn.canStartTls) caps.push('STLS');
  }
  caps.push('RESP-CODES', 'PIPELINING', 'AUTH-RESP-CODE');
  if (s.state === 'TRANSACTION') caps.push('XTND XMIT'); // mail submission, only after signing in
  caps.push('IMPLEMENTATION Postern');
  return caps;
}

export function capa(s: PopContext): void {
  s.send('+OK Capability list follows');
  s.sendBody(
    capabilities(s)
      .map((c) => `${c}\r\n`)
      .join(''),
  );
}

/** Runs `op` on each message by itself; a message already gone counts as done, an I/O error as failed. */
async function each(
  s: PopContext,
  uids: readonly number[],
  op: (uid: number) => Promise<unknown>,
): Promise<{ done: number; failed: number }> {
  let done = 0;
  let failed = 0;
  for (const uid of uids) {
    try {
      await op(uid);
      done++;
    } catch (err) {
      failed++;
      s.log.error({ err, uid }, 'cannot apply a deletion');
    }
  }
  return { done, failed };
}

export async function quit(s: PopContext): Promise<void> {
  if (s.state === 'AUTHORIZATION') {
    s.close('quit', '+OK Postern signing off');
    return;
  }
  // UPDATE: apply the deletion marks. Only QUIT gets here; a dropped connection applies nothing.
  const user: SignedIn = s.enterUpdate();
  await s.settled(); // Seen flags being set by RETR
  const m = user.maildrop;
  const { store, settings } = s.services;
  const same = (name: string) => name.toUpperCase() === user.mailbox.toUpperCase();
  const indexes = m.deletedIndexes();
  const uids = indexes.map((i) => m.uid(i));
  const action = settings.deleteAction;
  const target = { account: user.owner };
  let deletion = { done: 0, failed: 0 };
  if (uids.length > 0) {
    if (action.kind === 'flag') deletion = await each(s, uids, (uid) => m.view.store([uid], { add: ['\\Deleted'] }));
    // moving a message into the mailbox it is in would keep it: there, delete means expunge
    else if (action.kind === 'move' && !same(action.mailbox)) {
      await store.createMailbox(user.owner, action.mailbox);
      deletion = await each(s, uids, (uid) => m.view.move([uid], { ...target, mailbox: action.mailbox }));
    } else deletion = await each(s, uids, (uid) => m.view.expunge([uid]));
  }
  let failed = deletion.failed;
  // OpenVMS: mail read but not deleted moves to the MAIL folder (pop.moveReadTo).
  const read = settings.moveReadTo && !same(settings.moveReadTo) ? m.readIndexes().map((i) => m.uid(i)) : [];
  if (read.length > 0) {
    await store.createMailbox(user.owner, settings.moveReadTo!);
    failed += (await each(s, read, (uid) => m.view.move([uid], { ...target, mailbox: settings.moveReadTo! }))).failed;
  }
  s.stats.deleted = deletion.done;
  s.stats.deletedOctets = indexes.reduce((sum, i) => sum + m.size(i), 0);
  if (failed > 0) {
    s.log.error({ user: formatAddress(user.address), failed }, 'some deleted messages could not be removed');
    s.close('quit', new PopError('SYS/TEMP', `${failed} deleted messages could not be removed; the others were`).line);
    return;
  }
  s.close('quit', `+OK Postern signing off (${m.count} messages left)`);
}
