// UIDONLY (RFC 9586): after ENABLE UIDONLY no message number goes either way. Commands that take them
// (FETCH, STORE, SEARCH, SORT, THREAD, COPY, MOVE without UID, a message-number search key, QRESYNC's
// sequence match data) are refused with BAD [UIDREQUIRED] (sections 3.2, 3.5, 3.7); a message's data comes
// in "* uid UIDFETCH (...)" instead of "* n FETCH (...)" (section 3.3), with no UID item (the UID leads the
// response, as Cyrus sends it); removed messages are announced with VANISHED instead of EXPUNGE (section
// 3.6, as after ENABLE QRESYNC). EXISTS still counts the messages. (The session and the selected mailbox
// are seen here through the members used, so that selected.ts can use this file.)
import { bad } from './imap-error.js';

export function uidRequired(what: string) {
  return bad(`${what} after ENABLE UIDONLY: message numbers are not used, UIDs are`, 'UIDREQUIRED');
}

/** Section 3.2: a command given message numbers (without UID) is refused once UIDONLY is on. */
export function requireUid(s: { readonly enabled: ReadonlySet<string> }, c: { readonly uid: boolean; readonly verb: string }): void {
  if (!c.uid && s.enabled.has('UIDONLY')) throw uidRequired(`${c.verb} takes message numbers: use UID ${c.verb}`);
}

/**
 * The start of a message's data response, up to its first item: "* n FETCH (" (with "UID u " first when
 * `uidItem`), or "* u UIDFETCH (" in a mailbox selected with UIDONLY on.
 */
export function fetchHead(m: { readonly uidonly: boolean; seqOf(uid: number): number }, uid: number, uidItem: boolean): string {
  if (m.uidonly) return `* ${uid} UIDFETCH (`;
  return `* ${m.seqOf(uid)} FETCH (${uidItem ? `UID ${uid} ` : ''}`;
}
