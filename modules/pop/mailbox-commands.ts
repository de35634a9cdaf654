// The TRANSACTION commands (RFC 1939 section 5). Message numbers are the session's own and never
// change; a message marked deleted is left out of STAT/LIST/UIDL and answered -ERR.
import { MessageGoneError } from '../../accounts/mail-store.js';
import { badCommand, PopError } from './pop-error.js';
import type { Maildrop } from './maildrop.js';
import type { PopSession } from './session.js';

function maildrop(s: PopSession) {
  return s.maildrop!;
}

export function stat(s: PopSession): void {
  const m = maildrop(s);
  s.send(`+OK ${m.count} ${m.octets}`);
}

export function list(s: PopSession, [arg]: string[]): void {
  const m = maildrop(s);
  if (arg !== undefined) {
    const i = m.index(arg);
    s.send(`+OK ${i + 1} ${m.size(i)}`);
    return;
  }
  s.send(`+OK ${m.count} messages (${m.octets} octets)`);
  s.sendBody(m.listing((i) => m.size(i)));
}

// RFC 1939 section 7 (optional command UIDL)
export function uidl(s: PopSession, [arg]: string[]): void {
  const m = maildrop(s);
  if (arg !== undefined) {
    const i = m.index(arg);
    s.send(`+OK ${i + 1} ${m.snapshot.uidl(i)}`);
    return;
  }
  s.send('+OK Unique-ID listing follows');
  s.sendBody(m.listing((i) => m.snapshot.uidl(i)));
}

/** Turns "another session removed it" into an answer the client can act on; the session goes on. */
async function sending(task: Promise<void>, n: number): Promise<void> {
  try {
    await task;
  } catch (err) {
    if (err instanceof MessageGoneError) throw new PopError(null, `Message ${n} was deleted by another session`);
    throw err;
  }
}

export function retr(s: PopSession, [arg]: string[]): Promise<void> | undefined {
  const m = maildrop(s);
  const i = m.index(arg);
  const size = m.size(i);
  // A small message usually goes out at once; otherwise the bookkeeping waits until it was sent.
  const pending = s.sendMessage(i, `+OK ${size} octets`);
  if (pending) return sending(pending, i + 1).then(() => retrieved(s, m, i, size));
  retrieved(s, m, i, size);
  return undefined;
}

function retrieved(s: PopSession, m: Maildrop, i: number, size: number): void {
  m.markRetrieved(i);
  s.stats.retrieved += 1;
  s.stats.retrievedOctets += size;
  // RETR sets Seen once the message is sent (CommuniGate), if the user holds the "s" right; TOP never
  // changes flags. The rename runs while the client asks for the next message; QUIT waits for it.
  if (s.rights.includes('s') && !m.snapshot.seen(i)) {
    s.inBackground(m.snapshot.markSeen(i).catch((err: unknown) => s.log.error({ err, message: i + 1 }, 'cannot set Seen')));
  }
}

// RFC 1939 section 7 (optional command TOP)
export function top(s: PopSession, [arg, lines]: string[]): Promise<void> | undefined {
  const m = maildrop(s);
  const i = m.index(arg);
  if (!/^[0-9]{1,9}$/.test(lines)) throw badCommand(`"${lines.slice(0, 20)}" is not a number of lines`);
  const pending = s.sendMessage(i, '+OK Top of message follows', Number(lines));
  return pending ? sending(pending, i + 1) : undefined;
}

export function dele(s: PopSession, [arg]: string[]): void {
  const m = maildrop(s);
  const i = m.index(arg);
  if (!s.rights.includes('t')) throw new PopError('SYS/PERM', 'You may not delete messages in this mailbox');
  m.markDeleted(i);
  s.send(`+OK Message ${i + 1} deleted`);
}

export function rset(s: PopSession): void {
  const m = maildrop(s);
  m.unmarkAll();
  s.send(`+OK Maildrop has ${m.count} messages (${m.octets} octets)`);
}

export function noop(s: PopSession): void {
  s.send('+OK');
}
