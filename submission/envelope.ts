// A message a signed-in user submitted with an SMTP envelope (RFC 6409): sent to the envelope's recipients,
// the remote ones through submission.relay and the local ones through local delivery (the same path as
// LMTP's, Sieve included). SMTP answers a message once, so the order is chosen for "nothing lost, nothing
// twice":
//   1. the relay first: when it cannot take the message (down: temporary; refused: permanent) nothing has
//      been delivered anywhere, and the client is answered 4xx/5xx and keeps the message;
//   2. then each local recipient; when every recipient failed, nothing was delivered either, and the client
//      is answered with the failure (4xx when one of them may work later);
//   3. when some recipients got the message and others did not (the relay refused some of them, a mailbox
//      is full, a Sieve ereject), the message is accepted (250) and a delivery report (RFC 3464) naming the
//      others is put in the submitter's own INBOX: the client cannot be asked to send again to some only.
import { randomBytes } from 'node:crypto';
import { type AccountAddress, formatAddress } from '../accounts/names.js';
import { DeliveryError, type LocalDelivery, type LocalRecipient } from '../delivery/local-delivery.js';
import { rfc5322Date } from '../delivery/message-header.js';
import { RelayError } from './relay.js';

/** How the relay is reached (submission/relay.ts). */
export interface EnvelopeRelay {
  send(from: string, to: string[], raw: Buffer): Promise<{ accepted: string[]; rejected: string[] }>;
}

export interface EnvelopeServices {
  readonly delivery: LocalDelivery;
  readonly relay: EnvelopeRelay | null;
  /** The host name in the delivery report. */
  readonly hostname: string;
  readonly log: {
    info(details: Record<string, unknown>, message: string): void;
    error(details: Record<string, unknown>, message: string): void;
  };
}

export interface Envelope {
  /** The signed-in account: the delivery report goes to its INBOX. */
  readonly account: AccountAddress;
  /** MAIL FROM ("" for the null sender). */
  readonly mailFrom: string;
  readonly local: readonly LocalRecipient[];
  readonly remote: readonly string[];
}

/** A recipient the message did not reach. */
export interface NotDelivered {
  readonly recipient: string;
  readonly reason: string;
  /** False when the same message may reach it later. */
  readonly permanent: boolean;
  /** The enhanced status code (RFC 3463) of the failure. */
  readonly status: string;
}

export interface EnvelopeSent {
  readonly delivered: readonly string[];
  readonly notDelivered: readonly NotDelivered[];
  /** The delivery report was stored in the submitter's INBOX (false: none was needed, or it could not be stored). */
  readonly reported: boolean;
}

/** Nothing was delivered: the client is answered with `status` (RFC 3463; 4.x.x: try later) and keeps the message. */
export class EnvelopeRefused extends Error {
  constructor(
    message: string,
    readonly status: string,
  ) {
    super(message);
  }

  get temporary(): boolean {
    return this.status.startsWith('4');
  }
}

/** The enhanced status code (RFC 3463) of a local delivery's failure. */
function deliveryStatus(err: unknown): string {
  if (!(err instanceof DeliveryError)) return '4.3.0';
  switch (err.kind) {
    case 'unknown-user':
      return '5.1.1';
    case 'too-large':
      return '5.3.4';
    case 'over-quota':
      return err.permanent ? '5.2.2' : '4.2.2';
    case 'full':
      return '4.3.1';
    default:
      return err.permanent ? '5.0.0' : '4.3.0';
  }
}

async function* once(data: Buffer): AsyncGenerator<Buffer> {
  yield data;
}

export async function sendEnvelope(
  services: EnvelopeServices,
  envelope: Envelope,
  message: Buffer,
  logFields: Record<string, unknown>,
): Promise<EnvelopeSent> {
  const { delivery, relay, log } = services;
  const delivered: string[] = [];
  const notDelivered: NotDelivered[] = [];
  if (envelope.remote.length > 0) {
    if (!relay) throw new EnvelopeRefused('No relay is configured for other domains (submission.relay); nothing was delivered', '5.7.1');
    try {
      const result = await relay.send(envelope.mailFrom, [...envelope.remote], message);
      delivered.push(...result.accepted);
      for (const r of result.rejected) {
        notDelivered.push({ recipient: r, reason: 'the relay refused this recipient', permanent: true, status: '5.0.0' });
      }
    } catch (err) {
      if (!(err instanceof RelayError)) throw err;
      log.info({ ...logFields, err: err.message, temporary: err.temporary }, 'relay refused the message');
      throw new EnvelopeRefused(`${err.message}; nothing was delivered`, err.temporary ? '4.4.1' : '5.0.0');
    }
  }
  // A recipient named twice (or two routes to one account with the same X-Real-To) is stored once.
  const done = new Set<string>();
  for (const r of envelope.local) {
    const key = `${formatAddress(r.account)}|${r.extraHeader ?? ''}`;
    if (done.has(key)) continue;
    done.add(key);
    try {
      // RFC 5321 section 4.4: the final delivery adds Return-Path with the envelope sender
      const result = await delivery.deliverFiltered(r, once(message), { returnPath: envelope.mailFrom, logFields });
      if (result.rejected !== null) {
        notDelivered.push({
          recipient: r.address,
          reason: `refused by its Sieve filter: ${result.rejected}`,
          permanent: true,
          status: '5.7.1',
        });
      } else {
        delivered.push(r.address);
        log.info({ ...logFields, to: r.address, octets: result.octets, mailboxes: result.mailboxes }, 'delivered');
      }
    } catch (err) {
      const status = deliveryStatus(err);
      log.info({ ...logFields, to: r.address, err: (err as Error).message }, 'not delivered');
      notDelivered.push({ recipient: r.address, reason: (err as Error).message, permanent: status.startsWith('5'), status });
    }
  }
  if (delivered.length === 0) {
    // a failure that may pass is answered first: the client tries the whole message again later
    const first = notDelivered.find((n) => !n.permanent) ?? notDelivered[0];
    if (!first) throw new EnvelopeRefused('No recipients', '5.5.1');
    throw new EnvelopeRefused(`<${first.recipient}>: ${first.reason}; nothing was delivered`, first.status);
  }
  let reported = false;
  if (notDelivered.length > 0) {
    const report = deliveryReport(services.hostname, envelope.account, message, delivered, notDelivered);
    const self: LocalRecipient = { address: formatAddress(envelope.account), account: envelope.account, extraHeader: null };
    try {
      await delivery.deliver(self, 'INBOX', once(report), { returnPath: '' });
      reported = true;
    } catch (err) {
      log.error({ ...logFields, err: (err as Error).message }, 'cannot store the delivery report');
    }
  }
  return { delivered, notDelivered, reported };
}

/** The header section of `message`, for the report's text/rfc822-headers part. */
function headerOf(message: Buffer): Buffer {
  const end = message.indexOf('\r\n\r\n');
  return end < 0 ? message : message.subarray(0, end + 2);
}

/** A delivery status notification (RFC 3464, multipart/report of RFC 6522) for the recipients not reached. */
export function deliveryReport(
  hostname: string,
  account: AccountAddress,
  message: Buffer,
  delivered: readonly string[],
  notDelivered: readonly NotDelivered[],
): Buffer {
  const boundary = `postern-${randomBytes(8).toString('hex')}`;
  const now = new Date();
  const oneLine = (s: string) => s.replace(/[\r\n]+/g, ' ');
  const text = [
    'Your message was delivered to:',
    ...delivered.map((r) => `  <${r}>`),
    '',
    'but not to:',
    ...notDelivered.map((n) => `  <${n.recipient}>: ${oneLine(n.reason)}`),
    '',
    'To reach them, send the message again to them alone.',
  ];
  const perRecipient = notDelivered.flatMap((n) => [
    '',
    `Final-Recipient: rfc822; ${n.recipient}`,
    'Action: failed',
    `Status: ${n.status}`,
    `Diagnostic-Code: X-Postern; ${oneLine(n.reason)}`,
  ]);
  const lines = [
    `From: Mail Delivery System <MAILER-DAEMON@${hostname}>`,
    `To: <${formatAddress(account)}>`,
    'Subject: Undelivered Mail Returned to Sender',
    `Date: ${rfc5322Date(now)}`,
    `Message-ID: <${now.getTime().toString(36)}.${randomBytes(6).toString('hex')}@${hostname}>`,
    'Auto-Submitted: auto-replied',
    'MIME-Version: 1.0',
    `Content-Type: multipart/report; report-type=delivery-status; boundary="${boundary}"`,
    '',
    `--${boundary}`,
    'Content-Type: text/plain; charset=utf-8',
    '',
    ...text,
    `--${boundary}`,
    'Content-Type: message/delivery-status',
    '',
    `Reporting-MTA: dns; ${hostname}`,
    `Arrival-Date: ${rfc5322Date(now)}`,
    ...perRecipient,
    '',
    `--${boundary}`,
    'Content-Type: text/rfc822-headers',
    '',
  ];
  return Buffer.concat([Buffer.from(`${lines.join('\r\n')}\r\n`), headerOf(message), Buffer.from(`\r\n--${boundary}--\r\n`)]);
}
