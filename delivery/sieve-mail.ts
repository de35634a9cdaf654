// The mail a Sieve outcome sends out: the redirected copy (RFC 5228 section 4.2, with the trace fields
// Pigeonhole adds) and the rejection of `reject` (RFC 5429 section 2.1: an MDN, RFC 8098, in the form
// Dovecot's LDA sends it), and the header fields they are decided by.
import { randomBytes } from 'node:crypto';
import { fieldName, fieldValue, forEachField } from '../mime/header.js';
import { RawMessage, rfc5322Date } from './message-header.js';

/** The first field called `name` (any case), unfolded, or null. */
export function firstHeader(message: Buffer, name: string): string | null {
  const wanted = name.toLowerCase();
  let found: string | null = null;
  forEachField(message, 0, message.length, (f) => {
    if (found === null && fieldName(message, f) === wanted) {
      found = fieldValue(message, f)
        .toString('latin1')
        .replace(/\r?\n(?=[ \t])/g, '')
        .trim();
    }
  });
  return found;
}

/** Every value of the fields called `name`. */
export function allHeaders(message: Buffer, name: string): string[] {
  const wanted = name.toLowerCase();
  const out: string[] = [];
  forEachField(message, 0, message.length, (f) => {
    if (fieldName(message, f) === wanted) out.push(fieldValue(message, f).toString('latin1').trim());
  });
  return out;
}

/** The address inside "<...>" (or the whole text), lower-cased for comparison. */
export function bareAddress(value: string): string {
  const m = /<([^>]*)>/.exec(value);
  return (m ? m[1] : value).trim().toLowerCase();
}

/** A new Message-ID on this host. */
export function newMessageId(hostname: string): string {
  return `<${Date.now().toString(36)}.${randomBytes(8).toString('hex')}@${hostname}>`;
}

/**
 * The copy a redirect sends: the message as stored without the fields of its final delivery (Return-Path)
 * and without earlier Sieve trace fields, with `X-Sieve` and `X-Sieve-Redirected-From` (the recipient whose
 * script redirected it) on top, and a Message-ID when it had none (Pigeonhole does the same).
 */
export function redirectedCopy(message: Buffer, redirectedFrom: string, messageId: string | null): Buffer {
  const copy = RawMessage.parse(message);
  copy.remove('Return-Path');
  copy.remove('X-Sieve');
  copy.remove('X-Sieve-Redirected-From');
  if (messageId !== null) copy.prepend('Message-ID', messageId);
  copy.prepend('X-Sieve-Redirected-From', redirectedFrom);
  copy.prepend('X-Sieve', 'Postern Sieve');
  return copy.toBuffer();
}

export interface Rejection {
  /** Envelope sender of the rejected message: the rejection goes there. */
  readonly to: string;
  /** The recipient whose script rejected it (Final-Recipient). */
  readonly recipient: string;
  /** The postmaster address the rejection comes from. */
  readonly from: string;
  readonly reason: string;
  readonly hostname: string;
}

/**
 * The rejection message (RFC 5429 section 2.1.2: an MDN of RFC 8098 whose disposition is "deleted"), as
 * Dovecot's LDA writes it: the reason in words, the machine-readable report, then the original header
 * (without Content-Type, as the body is left out).
 */
export function rejectionMessage(original: Buffer, r: Rejection): Buffer {
  const boundary = `${randomBytes(8).toString('hex')}/${r.hostname}`;
  const subject = (firstHeader(original, 'Subject') ?? '').replace(/[\r\n]+/g, ' ').slice(0, 80);
  const originalId = firstHeader(original, 'Message-ID');
  const originalRecipient = firstHeader(original, 'Original-Recipient');
  const reason = r.reason.replace(/\r?\n/g, '\r\n');
  const header = RawMessage.parse(original);
  header.remove('Content-Type');
  header.remove('Return-Path');
  const lines = [
    `Message-ID: ${newMessageId(r.hostname)}`,
    `Date: ${rfc5322Date()}`,
    `From: ${r.from}`,
    `To: <${r.to}>`,
    'MIME-Version: 1.0',
    `Content-Type: multipart/report; report-type=disposition-notification;\r\n\tboundary="${boundary}"`,
    `Subject: Rejected: ${subject}`,
    'Auto-Submitted: auto-replied (rejected)',
    'Precedence: bulk',
    '',
    'This is a MIME-encapsulated message',
    '',
    `--${boundary}`,
    'Content-Type: text/plain; charset=utf-8',
    'Content-Disposition: inline',
    'Content-Transfer-Encoding: 8bit',
    '',
    `Your message to <${r.recipient}> was automatically rejected:\r\n${reason}`,
    '',
    `--${boundary}`,
    'Content-Type: message/disposition-notification',
    '',
    `Reporting-UA: ${r.hostname}; Postern Mail Delivery Agent`,
    ...(originalRecipient ? [`Original-Recipient: rfc822; ${originalRecipient}`] : []),
    `Final-Recipient: rfc822; ${r.recipient}`,
    ...(originalId ? [`Original-Message-ID: ${originalId}`] : []),
    'Disposition: automatic-action/MDN-sent-automatically; deleted',
    '',
    `--${boundary}`,
    'Content-Type: message/rfc822',
    '',
  ];
  const head = header.headerBytes.toString('latin1').replace(/\r?\n/g, '\r\n');
  return Buffer.concat([
    Buffer.from(`${lines.join('\r\n')}\r\n`, 'utf8'),
    Buffer.from(head, 'latin1'),
    Buffer.from(`\r\n--${boundary}--\r\n`),
  ]);
}
