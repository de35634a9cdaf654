// XTND XMIT (qpopper, UCB popper, CommuniGate): a signed-in user submits a message through POP.
// "+OK Start sending message.", then the message dot-stuffed and ended by a "." line, then +OK once
// every recipient took it, or -ERR with the reason and nothing delivered.
import { SubmissionError } from '../../submission/submitter.js';
import { badCommand, PopError } from './pop-error.js';
import type { PopContext } from './context.js';
import { quoteClient } from '../../sessions/client-text.js';

export async function xtnd(s: PopContext, [sub]: string[]): Promise<void> {
  if (sub.toUpperCase() !== 'XMIT') throw badCommand(`XTND ${quoteClient(sub, 20)} is not supported; only XTND XMIT`);
  const max = s.settings.maxSubmissionSize;
  s.send('+OK Start sending message.');
  const message = await s.readMessage(max);
  if (message.overflow) {
    s.log.info({ octets: message.size, max }, 'submission refused: too large');
    s.services.metrics.submissions.inc({ result: 'refused' });
    throw new PopError(null, `Message too large: ${message.size} octets, the limit is ${max}`);
  }
  const { metrics } = s.services;
  try {
    const result = await s.services.submitter.submit(s.signedIn().address, s.conn.remoteAddress, message.data, s.log);
    metrics.submissions.inc({ result: 'sent' });
    if (result.local > 0) metrics.deliveries.inc({ source: 'submission' }, result.local);
    s.send(`+OK Message sent to ${result.local + result.remote} recipients ${result.messageId}`);
  } catch (err) {
    metrics.submissions.inc({ result: 'refused' });
    if (err instanceof SubmissionError) throw new PopError(err.temporary ? 'SYS/TEMP' : null, err.message);
    throw err;
  }
}
