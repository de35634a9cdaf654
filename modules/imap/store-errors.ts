// One place that turns what the store and the account layer throw into IMAP answers (RFC 5530 response
// codes), by the store's MailError code as Dovecot's imap does, and logs what the operator must know.
import { AclError } from '../../accounts/rights.js';
import { MailError, mailErrorOf, MailStoreError, type UnsafeMailboxError } from '../../store/contract.js';
import type { Logger } from '../../observability/logger.js';
import { ImapError } from './imap-error.js';
import { OverQuotaError } from '../../store/quota/over-quota.js';

export function storeErrorAnswer(err: unknown, log: Logger, context: Record<string, unknown> = {}): ImapError {
  if (err instanceof ImapError) return err;
  if (err instanceof AclError) return new ImapError('BAD', null, err.message);
  const code = mailErrorOf(err);
  const words = (err as Error).message;
  switch (code) {
    case MailError.NOTFOUND:
      return new ImapError('NO', 'NONEXISTENT', 'No such mailbox');
    case MailError.EXPUNGED:
      return new ImapError('NO', 'EXPUNGEISSUED', 'Some of the requested messages were removed by another session');
    case MailError.LIMIT:
      // the store's words, or the file system's refusal of a name (ENAMETOOLONG), which has none for a user
      return new ImapError(
        'NO',
        'LIMIT',
        err instanceof MailStoreError ? `The mailbox name is too long: ${words}` : 'The mailbox name is too long to be kept',
      );
    case MailError.PARAMS:
    case MailError.NOTPOSSIBLE:
      return new ImapError('NO', 'CANNOT', words);
    case MailError.EXISTS:
      return new ImapError('NO', 'ALREADYEXISTS', words);
    case MailError.INVALIDDATA:
      return new ImapError('NO', null, 'The message is empty');
    case MailError.UNAVAILABLE:
      log.error({ ...context, path: (err as UnsafeMailboxError).path }, words);
      return new ImapError('NO', 'UNAVAILABLE', 'This mailbox cannot be opened; the server log says why');
    case MailError.NOQUOTA:
      // the account's quota: the user's to fix (RFC 9208 section 5.3), in the store's words (Dovecot's)
      if (err instanceof OverQuotaError) return new ImapError('NO', 'OVERQUOTA', words);
      log.error({ ...context, err }, 'no room to store');
      return new ImapError('NO', 'OVERQUOTA', 'No room to store this on the server now; delete some mail or try again later');
    case MailError.TEMP:
      log.error({ ...context, err }, 'command failed');
      return new ImapError('NO', 'SERVERBUG', 'Internal server error; the server log says more');
  }
}
