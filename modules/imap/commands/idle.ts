// IDLE (RFC 2177, RFC 9051 section 6.3.13): "+ idling", then what other sessions change in the selected
// mailbox goes out as it happens (the store's watch and change notices wake us within about a second;
// every imap.idleCheckInterval the mailbox is looked at anyway, for changes nothing reported: another
// machine's writer on a network filesystem without Redis), and a "* OK Still here" now and then keeps
// NAT entries alive, until the client sends DONE.
import type { Command, ImapContext } from '../context.js';
import { bad } from '../imap-error.js';

export async function idle(s: ImapContext, c: Command): Promise<void> {
  c.args.end();
  const done = s.continuation('idling');
  let finished = false;
  const line = done.finally(() => (finished = true));
  line.catch(() => {});
  const { idleKeepaliveMs, idleCheckIntervalMs } = s.settings;
  let keepaliveAt = Date.now() + idleKeepaliveMs;
  let checkAt = Date.now() + idleCheckIntervalMs;
  while (!finished) {
    const wait = Math.max(0, Math.min(keepaliveAt, checkAt) - Date.now());
    const woke = await Promise.race([
      line.then(
        () => 'line' as const,
        () => 'line' as const,
      ),
      s.waitForChange(wait),
    ]);
    if (woke === 'line') break;
    const now = Date.now();
    if (woke === 'changed' || now >= checkAt) {
      await s.sendUpdates(s.state === 'selected', woke !== 'changed');
      checkAt = Date.now() + idleCheckIntervalMs; // from the end of this look: a slow one is not followed by another at once
    }
    if (now >= keepaliveAt) {
      s.send('* OK Still here');
      keepaliveAt = now + idleKeepaliveMs;
    }
    await s.flush();
  }
  const text = await line;
  if (text.trim().toUpperCase() !== 'DONE') throw bad('Expected DONE to end IDLE');
}
