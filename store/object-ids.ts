// The ids of RFC 8474 (OBJECTID) as both stores give them: an objectid is 1 to 255 letters, digits, "_"
// or "-" (RFC 8474 section 4). A message's id is made from the GUID the store keeps for it (for Maildir,
// Dovecot's: the G field of its dovecot-uidlist record, else its file's base name), so the same GUID gives
// the same id in every process and after every restart. A GUID of letters, digits and "-" (Dovecot's 32
// hex digits) is its own id; any other octet is written "_" and two hex digits ("." is "_2E"), so two
// GUIDs never share an id and no hashing is needed (a client's flag sync may ask it of 100,000 messages).
import { createHash } from 'node:crypto';

const MAX = 255;

const HEX = '0123456789ABCDEF';

/** The EMAILID of a message whose store GUID is `guid`. */
export function emailIdOf(guid: string): string {
  if (/^[A-Za-z0-9-]{1,255}$/.test(guid)) return guid;
  // its UTF-8 octets, each outside [A-Za-z0-9-] as "_XX"
  const octets = /^[\x00-\x7f]*$/.test(guid) ? guid : Buffer.from(guid).toString('latin1');
  let out = '';
  for (let i = 0; i < octets.length; i++) {
    const c = octets.charCodeAt(i);
    if ((c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c === 0x2d) out += octets[i];
    else out += `_${HEX[c >> 4]}${HEX[c & 15]}`;
  }
  // empty, or too long escaped: "_H" and a SHA-256 ("H" is no hex digit: no escaped id starts so)
  return out.length > 0 && out.length <= MAX ? out : `_H${createHash('sha256').update(guid).digest('hex')}`;
}

/** A GUID as a uidlist G field may carry it (no space, nothing a record line could be cut at), or null. */
export function guidField(guid: string): string[] {
  return /^[\x21-\x7e]{1,200}$/.test(guid) ? [`G${guid}`] : [];
}
