// Commands valid in every state: CAPA (RFC 2449 section 5) and QUIT (RFC 1939 sections 4 and 6).
import { formatAddress } from '../../accounts/names.js';
import { offeredMechanisms } from './auth-commands.js';
import { PopError } from './pop-error.js';
import type { PopSession } from './session.js';

/** The capabilities this session offers now (RFC 2449 section 6). */
export function capabilities(s: PopSession): string[] {
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

export function capa(s: PopSession): void {
  s.send('+OK Capability list follows');
  s.sendBody(capabilities(s).map((c) => `${c}\r\n`).join(''));
}

export async function quit(s: PopSession): Promise<void> {
  if (s.state === 'AUTHORIZATION') {
    s.close('quit', '+OK Postern signing off');
    return;
  }
  // UPDATE: apply the deletion marks. Only QUIT gets here; a dropped connection applies nothing.
  s.state = 'UPDATE';
  await s.settled(); // Seen flags being set by RETR
  const m = s.maildrop!;
  const { store, settings } = s.services;
  const { owner, mailbox } = s.opened!;
  const same = (name: string) => name.toUpperCase() === mailbox.toUpperCase();
  const indexes = m.deletedIndexes();
  const action = settings.deleteAction;
  let result = { removed: 0, failed: 0 };
  if (indexes.length > 0) {
    if (action.kind === 'flag') result = await m.snapshot.flagTrashed(indexes);
    // moving a message into the mailbox it is in would keep it: there, delete means expunge
    else if (action.kind === 'move' && !same(action.mailbox)) result = await m.snapshot.moveTo(indexes, await store.ensureFolder(owner, action.mailbox));
    else result = await m.snapshot.commit(indexes);
  }
  // OpenVMS: mail read but not deleted moves to the MAIL folder (pop.moveReadTo).
  const read = settings.moveReadTo && !same(settings.moveReadTo) ? m.readIndexes() : [];
  if (read.length > 0) {
    const moved = await m.snapshot.moveTo(read, await store.ensureFolder(owner, settings.moveReadTo!));
    result = { removed: result.removed, failed: result.failed + moved.failed };
  }
  s.stats.deleted = result.removed;
  s.stats.deletedOctets = indexes.reduce((sum, i) => sum + m.size(i), 0);
  if (result.failed > 0) {
    s.log.error({ user: formatAddress(s.address!), failed: result.failed }, 'some deleted messages could not be removed');
    s.close('quit', new PopError('SYS/TEMP', `${result.failed} deleted messages could not be removed; the others were`).line);
    return;
  }
  s.close('quit', `+OK Postern signing off (${m.count} messages left)`);
}
