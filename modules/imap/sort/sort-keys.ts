// What SORT and THREAD read of one message (RFC 5256 sections 3 and 4, RFC 5957), taken from its header
// and internal date once and kept in key-cache.ts: the dates, the size, the base subject, the address
// keys, the Message-ID and the ids it refers to. Every text key is in sort form (sort-text.ts).
// As Dovecot reads them (its answers are the reference):
// - FROM/TO/CC: the local part of the first address of the first such field, its RFC 2047 words decoded
//   before parsing; a group's first "address" is the group's name; no field: "".
// - DISPLAYFROM/DISPLAYTO (RFC 5957 section 3): that address's display name, decoded, or when it has
//   none "mailbox@domain" (RFC 5957 says the addr-spec; Dovecot's is the same text).
// - DATE: the first Date field's instant, or the internal date when it has none that parses (or it
//   names the epoch itself, which Dovecot cannot tell from no date); ARRIVAL: the internal date. Both in
//   whole seconds, as Dovecot compares them. The internal date is read only when a key needs it.
// - Threading ids: the first valid Message-ID; the References field's ids, or when it has none the first
//   id of In-Reply-To.
import { isUtf8 } from 'node:buffer';
import { parseAddresses } from '../../../mime/address.js';
import { decodeEncodedWords, decodeUnknown } from '../../../mime/charset.js';
import { fieldName, fieldValue, forEachField } from '../../../mime/header.js';
import { baseSubject } from './base-subject.js';
import { parseMessageDate } from './message-date.js';
import { messageIds } from './message-id.js';
import { sortText } from './sort-text.js';

export interface SortKeys {
  /** The internal date, seconds since the epoch; null until someone needed it (it costs a stat). */
  arrival: number | null;
  /** The Date field's instant, seconds since the epoch, or null when it gives none. */
  readonly sent: number | null;
  /** Seconds since the epoch: `sent`, else the arrival (set once `arrival` is known: see withArrival). */
  date: number;
  /** RFC822.SIZE */
  readonly size: number;
  readonly subject: string;
  readonly replyOrForward: boolean;
  readonly from: string;
  readonly to: string;
  readonly cc: string;
  readonly displayFrom: string;
  readonly displayTo: string;
  /** The Message-ID, or null when it has none (it then threads as a message with an id of its own). */
  readonly messageId: string | null;
  /** The ids it refers to, oldest first (the last is its parent). */
  readonly refs: readonly string[];
}

const WANTED = new Set(['date', 'subject', 'from', 'to', 'cc', 'message-id', 'references', 'in-reply-to']);

/** The first address of a field, its encoded words decoded first (Dovecot's mail_get_first_header_utf8). */
function firstAddress(value: Buffer | undefined) {
  if (value === undefined) return null;
  // UTF-8 (ASCII is) without encoded words is already what decoding would give
  const decoded = value.indexOf('=?') < 0 && isUtf8(value) ? value : Buffer.from(decodeEncodedWords(decodeUnknown(value)), 'utf8');
  return parseAddresses(decoded)?.[0] ?? null;
}

type FirstAddress = ReturnType<typeof firstAddress>;

function mailboxKey(a: FirstAddress): string {
  return a?.mailbox ? sortText(a.mailbox.toString('utf8')) : '';
}

function displayKey(a: FirstAddress): string {
  if (a === null) return '';
  if (a.name !== null) {
    const name = decodeEncodedWords(a.name.toString('utf8'));
    if (name.length > 0) return sortText(name);
  }
  if (a.mailbox === null) return '';
  return sortText(a.domain !== null ? `${a.mailbox.toString('utf8')}@${a.domain.toString('utf8')}` : a.mailbox.toString('utf8'));
}

/** Records the message's internal date in its keys (and makes it the date when the Date field gave none). */
export function withArrival(k: SortKeys, internalDate: Date): void {
  k.arrival = Math.floor(internalDate.getTime() / 1000);
  if (k.sent === null) k.date = k.arrival;
}

/** The keys of a message from its header section and its size; the internal date is added by withArrival. */
export function sortKeysOf(header: Buffer, size: number): SortKeys {
  const first = new Map<string, Buffer>();
  forEachField(header, 0, header.length, (f) => {
    const length = f.nameEnd - f.nameStart;
    if (length < 2 || length > 11) return;
    const name = fieldName(header, f);
    if (WANTED.has(name) && !first.has(name)) first.set(name, fieldValue(header, f));
  });
  const dateField = first.get('date');
  const parsed = dateField === undefined ? null : parseMessageDate(dateField);
  const sent = parsed === 0 ? null : parsed;
  const subjectField = first.get('subject');
  const base = subjectField === undefined ? { subject: '', replyOrForward: false } : baseSubject(subjectField);
  const messageIdField = first.get('message-id');
  const referencesField = first.get('references');
  const inReplyToField = first.get('in-reply-to');
  let refs = referencesField === undefined ? [] : messageIds(referencesField);
  if (refs.length === 0 && inReplyToField !== undefined) refs = messageIds(inReplyToField, 1);
  const from = firstAddress(first.get('from'));
  const to = firstAddress(first.get('to'));
  return {
    arrival: null,
    sent,
    date: sent ?? 0,
    size,
    subject: base.subject,
    replyOrForward: base.replyOrForward,
    from: mailboxKey(from),
    to: mailboxKey(to),
    cc: mailboxKey(firstAddress(first.get('cc'))),
    displayFrom: displayKey(from),
    displayTo: displayKey(to),
    messageId: messageIdField === undefined ? null : (messageIds(messageIdField, 1)[0] ?? null),
    refs,
  };
}

/** What one entry holds, roughly, in octets (for the cache's bound). */
export function sortKeysCost(k: SortKeys): number {
  let chars = k.subject.length + k.from.length + k.to.length + k.cc.length + k.displayFrom.length + k.displayTo.length;
  chars += k.messageId?.length ?? 0;
  for (const r of k.refs) chars += r.length + 8;
  return 160 + chars * 2;
}
