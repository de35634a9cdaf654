// IMAP4rev1's modified UTF-7 for mailbox names on the wire (RFC 3501 section 5.1.3): "Entwürfe" is
// "Entw&APw-rfe". The utf7 package does the coding (the Maildir store uses it for folder names too).
import { createRequire } from 'node:module';

const { imap } = createRequire(import.meta.url)('utf7') as { imap: { encode(s: string): string; decode(s: string): string } };

export const encodeMutf7 = (name: string): string => imap.encode(name);
export const decodeMutf7 = (name: string): string => imap.decode(name);
