// IDLE (RFC 2177, RFC 9051 section 6.3.13): "+ idling", then what other sessions change in the selected
// mailbox goes out as it happens (the store's watch wakes us within about a second), and a
// "* OK Still here" now and then keeps NAT entries alive, until the client sends DONE.
import type { Command, ImapContext } from '../context.js';
import { bad } from '../imap-error.js';

export async function idle(s: ImapContext, c: Command): Promise<void> {
  c.args.end();
  const done = s.continuation('idling');
  let finished = false;
  const line = done.finally(() => (finished = true));
  line.catch(() => {});
  while (!finished) {
    const woke = await Promise.race([line.then(() => 'line' as const, () => 'line' as const), s.waitForChange(s.settings.idleKeepaliveMs)]);
    if (woke === 'line') break;
    if (woke === 'changed') await s.sendUpdates(s.state === 'selected');
    else s.send('* OK Still here');
    await s.flush();
  }
  const text = await line;
  if (text.trim().toUpperCase() !== 'DONE') throw bad('Expected DONE to end IDLE');
}
