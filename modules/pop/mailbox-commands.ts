// The TRANSACTION commands (RFC 1939 section 5). Message numbers are the session's own and never
// change; a message marked deleted is left out of STAT/LIST/UIDL and answered -ERR.
import type { PopContext, SignedIn } from './context.js';
import { badCommand, PopError } from './pop-error.js';
import { popErrorFor } from './store-errors.js';
import { quoteClient } from '../../sessions/client-text.js';

export function stat(s: PopContext): void {
  const m = s.signedIn().maildrop;
  s.send(`+OK ${m.count} ${m.octets}`);
}

export function list(s: PopContext, [arg]: string[]): void {
  const m = s.signedIn().maildrop;
  if (arg !== undefined) {
    const i = m.index(arg);
    s.send(`+OK ${i + 1} ${m.size(i)}`);
    return;
  }
  s.send(`+OK ${m.count} messages (${m.octets} octets)`);
  s.sendBody(m.listing((i) => m.size(i)));
}

// RFC 1939 section 7 (optional command UIDL)
export function uidl(s: PopContext, [arg]: string[]): void {
  const m = s.signedIn().maildrop;
  if (arg !== undefined) {
    const i = m.index(arg);
    s.send(`+OK ${i + 1} ${m.uidl(i)}`);
    return;
  }
  s.send('+OK Unique-ID listing follows');
  s.sendBody(m.listing((i) => m.uidl(i)));
}

/** Turns "another session removed it" (and other store faults) into the answer; the session goes on. */
async function sending(s: PopContext, task: Promise<void>, n: number): Promise<void> {
  try {
    await task;
  } catch (err) {
    throw popErrorFor(err, s.log, {}, n);
  }
}

export function retr(s: PopContext, [arg]: string[]): Promise<void> | undefined {
  const user = s.signedIn();
  const i = user.maildrop.index(arg);
  const size = user.maildrop.size(i);
  // A small message usually goes out at once; otherwise the bookkeeping waits until it was sent.
  const pending = s.sendMessage(i, `+OK ${size} octets`);
  if (pending !== undefined) return sending(s, pending, i + 1).then(() => retrieved(s, user, i, size));
  retrieved(s, user, i, size);
  return undefined;
}

function retrieved(s: PopContext, user: SignedIn, i: number, size: number): void {
  const m = user.maildrop;
  m.markRetrieved(i);
  s.stats.retrieved += 1;
  s.stats.retrievedOctets += size;
  // RETR sets Seen once the message is sent (CommuniGate), if the user holds the "s" right; TOP never
  // changes flags. The rename runs while the client asks for the next message; QUIT waits for it.
  if (user.rights.includes('s') && !m.seen(i)) {
    m.markSeen(i);
    s.inBackground(
      m.view.store([m.uid(i)], { add: ['\\Seen'] }).then(
        () => {},
        (err: unknown) => s.log.error({ err, message: i + 1 }, 'cannot set Seen'),
      ),
    );
  }
}

// RFC 1939 section 7 (optional command TOP)
export function top(s: PopContext, [arg, lines]: string[]): Promise<void> | undefined {
  const m = s.signedIn().maildrop;
  const i = m.index(arg);
  if (!/^[0-9]{1,9}$/.test(lines)) throw badCommand(`${quoteClient(lines, 20)} is not a number of lines`);
  const pending = s.sendMessage(i, '+OK Top of message follows', Number(lines));
  return pending !== undefined ? sending(s, pending, i + 1) : undefined;
}

export function dele(s: PopContext, [arg]: string[]): void {
  const user = s.signedIn();
  const i = user.maildrop.index(arg);
  if (!user.rights.includes('t')) throw new PopError('SYS/PERM', 'You may not delete messages in this mailbox');
  user.maildrop.markDeleted(i);
  s.send(`+OK Message ${i + 1} deleted`);
}

export function rset(s: PopContext): void {
  const m = s.signedIn().maildrop;
  m.unmarkAll();
  s.send(`+OK Maildrop has ${m.count} messages (${m.octets} octets)`);
}

export function noop(s: PopContext): void {
  s.send('+OK');
}
