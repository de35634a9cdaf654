// One place that turns what the store and the account layer throw into POP answers (RFC 2449/3206
// response codes), and logs what the operator must know.
import { MailboxUnavailable } from '../../sessions/mailbox-access.js';
import { MessageGoneError, UnsafeMailboxError } from '../../store/contract.js';
import type { Logger } from '../../observability/logger.js';
import { PopError } from './pop-error.js';

/**
 * The POP answer for `err`, thrown while working on message `n` (if any): a message another session
 * removed, a mailbox that cannot be opened, or a storage fault (logged, answered [SYS/TEMP]).
 */
export function popErrorFor(err: unknown, log: Logger, context: Record<string, unknown> = {}, n?: number): unknown {
  if (err instanceof PopError) return err;
  if (err instanceof MessageGoneError) return new PopError(null, `Message ${n} was deleted by another session`);
  if (err instanceof MailboxUnavailable) return new PopError('SYS/PERM', err.message);
  if (err instanceof UnsafeMailboxError) {
    log.error({ ...context, path: err.path }, err.message);
    return new PopError('SYS/PERM', 'This mailbox cannot be opened; the server log says why');
  }
  return err;
}
