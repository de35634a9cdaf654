// FETCH ENVELOPE (RFC 9051 section 7.5.2; RFC 3501 section 7.4.2): date, subject, from, sender,
// reply-to, to, cc, bcc, in-reply-to, message-id from a message's header. A missing field is NIL;
// Sender and Reply-To default to From. Encoded words stay as they are (clients decode them). When a
// field repeats (RFC 5322 allows it only once), like Dovecot the last Date/Subject/Message-ID/
// In-Reply-To counts and the address lists are joined.
import { list, NIL, nstring } from '../wire/encode.js';
import { type Address, parseAddresses } from '../../../mime/address.js';
import { forHumans, noLf } from './imap-text.js';
import type { MimePart } from '../../../mime/mime-tree.js';

const SP = Buffer.from(' ');

function addressList(addrs: Address[] | null): Buffer {
  if (addrs === null || addrs.length === 0) return NIL;
  // "(" 1*address ")": the addresses follow each other without a space (RFC 9051 section 9, env-from)
  const items = addrs.map((a) =>
    list([a.name === null ? NIL : nstring(forHumans(a.name)), nstring(a.route), nstring(a.mailbox), nstring(a.domain)]),
  );
  return Buffer.concat([Buffer.from('('), ...items, Buffer.from(')')]);
}

/** The envelope fields of `part`'s header, without the surrounding parentheses. */
export function envelopeFields(part: MimePart): Buffer {
  let date: Buffer | null = null;
  let subject: Buffer | null = null;
  let inReplyTo: Buffer | null = null;
  let messageId: Buffer | null = null;
  const addrs = new Map<string, Address[] | null>();
  for (const f of part.fields) {
    switch (f.name) {
      case 'date':
        date = f.value;
        break;
      case 'subject':
        subject = f.value;
        break;
      case 'in-reply-to':
        inReplyTo = f.value;
        break;
      case 'message-id':
        messageId = f.value;
        break;
      case 'from':
      case 'sender':
      case 'reply-to':
      case 'to':
      case 'cc':
      case 'bcc': {
        const parsed = parseAddresses(f.value);
        const prev = addrs.get(f.name) ?? null;
        addrs.set(f.name, parsed === null ? prev : prev === null ? parsed : prev.concat(parsed));
        break;
      }
    }
  }
  const from = addrs.get('from') ?? null;
  const items = [
    date === null ? NIL : nstring(noLf(date)),
    subject === null ? NIL : nstring(forHumans(subject)),
    addressList(from),
    addressList(addrs.get('sender') ?? from),
    addressList(addrs.get('reply-to') ?? from),
    addressList(addrs.get('to') ?? null),
    addressList(addrs.get('cc') ?? null),
    addressList(addrs.get('bcc') ?? null),
    inReplyTo === null ? NIL : nstring(noLf(inReplyTo)),
    messageId === null ? NIL : nstring(noLf(messageId)),
  ];
  const out: Buffer[] = [];
  items.forEach((item, i) => {
    if (i > 0) out.push(SP);
    out.push(item);
  });
  return Buffer.concat(out);
}

/**
 * The "(date subject from sender reply-to to cc bcc in-reply-to message-id)" list of the message whose
 * header `part` has (the root for FETCH ENVELOPE, an embedded message for message/rfc822).
 */
export function envelope(_raw: Buffer, part: MimePart): Buffer {
  return Buffer.concat([Buffer.from('('), envelopeFields(part), Buffer.from(')')]);
}
