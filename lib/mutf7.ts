// IMAP's modified UTF-7 (RFC 3501 section 5.1.3): "Entwürfe" is "Entw&APw-rfe". One codec for both
// places mailbox names take this form: IMAP's wire, and the Maildir++ folder names and subscriptions file
// on disk, where Dovecot keeps them the same way (".Entw&APw-rfe"). The utf7 package does the coding.
import { createRequire } from 'node:module';

const { imap } = createRequire(import.meta.url)('utf7') as { imap: { encode(s: string): string; decode(s: string): string } };

export function encodeMutf7(name: string): string {
  return imap.encode(name);
}

export function decodeMutf7(name: string): string {
  return imap.decode(name);
}
