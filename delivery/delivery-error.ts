// Why a delivery cannot be made, in the terms the MTA needs: bounce (permanent) or try again later; and the
// store's failures (their MailError codes) turned into those terms, once for every way delivery stores.
import { MailError, MailStoreError, mailErrorOf } from '../store/contract.js';
import { OverQuotaError } from '../store/quota/over-quota.js';

/** Why a delivery cannot be made: `permanent` (bounce: unknown user, too large) or not (the MTA retries later). */
export class DeliveryError extends Error {
  constructor(
    message: string,
    readonly permanent: boolean,
    /**
     * What failed: 'unknown-user', 'too-large', 'empty', 'mailbox' (a bad mailbox name), 'full' (no space),
     * 'over-quota' (the account's quota; permanent unless quota.fullTempfail), 'io', 'sieve' (what a Sieve
     * script decided cannot be done now: a redirect the relay cannot take yet, scripts that cannot be read).
     */
    readonly kind: 'unknown-user' | 'too-large' | 'empty' | 'mailbox' | 'full' | 'over-quota' | 'io' | 'sieve',
  ) {
    super(message);
  }
}

/** An I/O error in words the MTA's log can use, and whether it is a full disk. */
export function ioFailure(err: unknown, what: string): DeliveryError {
  const code = (err as NodeJS.ErrnoException).code;
  if (mailErrorOf(err) === MailError.NOQUOTA) return new DeliveryError(`${what} (${code})`, false, 'full');
  return new DeliveryError(`${what} (${code ?? (err as Error).message})`, false, 'io');
}

/**
 * What the store's failure means for the MTA: a mailbox name or a message the store can never take is
 * bounced, in the store's words; anything else (a full disk, an I/O error) is tried again later.
 */
export function storeFailure(err: unknown, what: string, fullTempfail = false): DeliveryError {
  if (err instanceof OverQuotaError) return new DeliveryError(err.message, !fullTempfail, 'over-quota');
  if (err instanceof MailStoreError) {
    switch (err.mailError) {
      case MailError.PARAMS:
      case MailError.LIMIT:
        return new DeliveryError(err.message, true, 'mailbox');
      case MailError.INVALIDDATA:
        return new DeliveryError('the message is empty', true, 'empty');
    }
  }
  return ioFailure(err, what);
}
