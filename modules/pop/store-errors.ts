// One place that turns what the store and the account layer throw into POP answers (RFC 2449/3206
// response codes), by the store's MailError code, and logs what the operator must know.
import { NO_SUCH_MAILBOX } from '../../sessions/mailbox-access.js';
import { MailError, mailErrorOf, type UnsafeMailboxError } from '../../store/contract.js';
import type { Logger } from '../../observability/logger.js';
import { PopError } from './pop-error.js';

/**
 * The POP answer for `err`, thrown while working on message `n` (if any): a message another session
 * removed, a mailbox that does not exist or cannot be opened; anything else is returned as it is (the
 * caller logs it and answers [SYS/TEMP]).
 */
export function popErrorFor(err: unknown, log: Logger, context: Record<string, unknown> = {}, n?: number): unknown {
  if (err instanceof PopError) return err;
  switch (mailErrorOf(err)) {
    case MailError.EXPUNGED:
      return new PopError(null, `Message ${n} was deleted by another session`);
    case MailError.NOTFOUND:
      // the words of a mailbox the user may not read too: neither can be probed
      return new PopError('SYS/PERM', NO_SUCH_MAILBOX);
    case MailError.UNAVAILABLE:
      log.error({ ...context, path: (err as UnsafeMailboxError).path }, (err as Error).message);
      return new PopError('SYS/PERM', 'This mailbox cannot be opened; the server log says why');
    default:
      return err;
  }
}
