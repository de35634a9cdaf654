// One place that turns what the store and the account layer throw into IMAP answers (RFC 5530 response
// codes), and logs what the operator must know.
import { MailboxUnavailable } from '../../sessions/mailbox-access.js';
import { AclError } from '../../accounts/rights.js';
import { EmptyMessageError, MailboxNameError, MailboxNameTooLongError, MailboxNotFoundError, MailboxOperationError, MessageGoneError, UnsafeMailboxError } from '../../store/contract.js';
import type { Logger } from '../../observability/logger.js';
import { ImapError } from './imap-error.js';

export function storeErrorAnswer(err: unknown, log: Logger, context: Record<string, unknown> = {}): ImapError {
  if (err instanceof ImapError) return err;
  if (err instanceof MailboxUnavailable || err instanceof MailboxNotFoundError) return new ImapError('NO', 'NONEXISTENT', 'No such mailbox');
  if (err instanceof MessageGoneError) return new ImapError('NO', 'EXPUNGEISSUED', 'Some of the requested messages were removed by another session');
  if (err instanceof MailboxNameTooLongError) return new ImapError('NO', 'LIMIT', `The mailbox name is too long: ${err.message}`);
  if (err instanceof MailboxNameError) return new ImapError('NO', 'CANNOT', err.message);
  if (err instanceof MailboxOperationError) {
    const exists = /exists/i.test(err.message);
    return new ImapError('NO', exists ? 'ALREADYEXISTS' : 'CANNOT', err.message);
  }
  if (err instanceof EmptyMessageError) return new ImapError('NO', null, 'The message is empty');
  if (err instanceof AclError) return new ImapError('BAD', null, err.message);
  if (err instanceof UnsafeMailboxError) {
    log.error({ ...context, path: err.path }, err.message);
    return new ImapError('NO', 'UNAVAILABLE', 'This mailbox cannot be opened; the server log says why');
  }
  const code = (err as NodeJS.ErrnoException)?.code;
  if (code === 'ENAMETOOLONG') return new ImapError('NO', 'LIMIT', 'The mailbox name is too long to be kept');
  if (code === 'ENOSPC' || code === 'EDQUOT') {
    log.error({ ...context, err }, 'no room to store');
    return new ImapError('NO', 'OVERQUOTA', 'No room to store this on the server now; delete some mail or try again later');
  }
  log.error({ ...context, err }, 'command failed');
  return new ImapError('NO', 'SERVERBUG', 'Internal server error; the server log says more');
}
