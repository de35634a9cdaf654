// The store's refusal of a message that does not fit the account's quota.
import { MailError, MailStoreError } from '../contract.js';

/**
 * Storing this would take the account past its quota (MailError.NOQUOTA, as a full disk is): IMAP answers
 * NO [OVERQUOTA], LMTP 552 5.2.2 (452 4.2.2 with quota.fullTempfail), `postern deliver` exits 73 (75).
 * The words are Dovecot's quota_exceeded_message.
 */
export class OverQuotaError extends MailStoreError {
  constructor(readonly resource: 'storage' | 'messages') {
    super(MailError.NOQUOTA, 'Quota exceeded (mailbox for user is full)');
  }
}
