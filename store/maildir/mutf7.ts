// Mailbox names on disk are in IMAP's modified UTF-7 (RFC 3501 section 5.1.3), as Dovecot keeps them
// in Maildir++ folder names and the subscriptions file: "Entwürfe" is ".Entw&APw-rfe". The utf7
// package does the coding.
import { createRequire } from 'node:module';

const { imap } = createRequire(import.meta.url)('utf7') as { imap: { encode(s: string): string; decode(s: string): string } };

export function encodeMutf7(name: string): string {
  return imap.encode(name);
}

export function decodeMutf7(name: string): string {
  return imap.decode(name);
}
