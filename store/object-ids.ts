// The ids of RFC 8474 (OBJECTID) as both stores give them: an objectid is 1 to 255 letters, digits, "_"
// or "-" (RFC 8474 section 4). A message's id is made from the GUID the store keeps for it (for Maildir,
// Dovecot's: the G field of its dovecot-uidlist record, else its file's base name), which may hold other
// characters ("." and "," in a Maildir base name): it is hashed, so the same GUID gives the same id in
// every process and after every restart.
import { createHash } from 'node:crypto';

/** The EMAILID of a message whose store GUID is `guid`: "M" and 24 hex digits of its SHA-256. */
export function emailIdOf(guid: string): string {
  return `M${createHash('sha256').update(guid).digest('hex').slice(0, 24)}`;
}

/** A GUID as a uidlist G field may carry it (no space, nothing a record line could be cut at), or null. */
export function guidField(guid: string): string[] {
  return /^[\x21-\x7e]{1,200}$/.test(guid) ? [`G${guid}`] : [];
}
