// The instant a Date: field names, for SORT DATE and THREAD (RFC 5256): the one date reader in mime/ (Dovecot's
// rules), shared with Sieve's date test.
export { parseMessageDate } from '../../../mime/message-date.js';
