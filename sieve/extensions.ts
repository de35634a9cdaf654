// The Sieve capabilities Postern implements, under Pigeonhole's names (ManageSieve's SIEVE capability lists
// them; `require` of any other is a compile error, RFC 5228 section 3.2).
export const SIEVE_EXTENSIONS: readonly string[] = [
  'fileinto',
  'reject',
  'ereject',
  'envelope',
  'encoded-character',
  'vacation',
  'vacation-seconds',
  'subaddress',
  'comparator-i;ascii-numeric',
  'relational',
  'regex',
  'imap4flags',
  'copy',
  'include',
  'body',
  'variables',
  'environment',
  'mailbox',
  'date',
  'index',
  'duplicate',
  'editheader',
  'spamtest',
  'spamtestplus',
  'virustest',
];

/** Capabilities a script may require that every script has anyway (RFC 5228 section 2.7.3). */
export const IMPLICIT_CAPABILITIES: readonly string[] = ['comparator-i;octet', 'comparator-i;ascii-casemap'];
