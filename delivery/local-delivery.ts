// Local delivery, the same for `postern deliver` (an MTA's pipe) and the LMTP module (an MTA's socket):
// an address is routed to an account (a route that leaves a local part adds X-Real-To, Direct Mailbox
// Addressing), and the message is written atomically into the mailbox (tmp/ then new/, as dovecot-lda).
// Failures say whether the MTA should bounce (unknown recipient, too large) or retry (an I/O error).
import type { MailStore } from '../store/contract.js';

export { DeliveryError, ioFailure, storeFailure } from './delivery-error.js';
import { type AccountAddress, formatAddress, NameError } from '../accounts/names.js';
import type { Routed, Router } from '../accounts/router.js';
import { deliveredOctets } from './delivered-octets.js';
import { DeliveryError, ioFailure, storeFailure } from './delivery-error.js';
import type { DeliverySieve } from './sieve-front.js';
import { firstHeader } from './sieve-mail.js';

/** A recipient the message can be delivered to. */
export interface LocalRecipient {
  /** The address as the MTA gave it. */
  readonly address: string;
  readonly account: AccountAddress;
  /** X-Real-To for a route that leaves a local part (Direct Mailbox Addressing); null for the account's own address. */
  readonly extraHeader: string | null;
}

export interface LocalDeliverySettings {
  mainDomain: string;
  realToHeader: string;
  /** Largest message accepted, in octets (0 = no limit). */
  maxSize: number;
  /**
   * The characters that start a subaddress (RFC 5233; Dovecot's and Postfix's recipient_delimiter): an address
   * no account or route takes is routed without its detail (`ann+work@` reaches ann), the detail kept in the
   * envelope for Sieve. "" turns it off.
   */
  recipientDelimiter?: string;
  /** Over quota is a temporary failure (quota.fullTempfail, Dovecot's quota_full_tempfail); else the MTA bounces it. */
  fullTempfail?: boolean;
}

/** Counts the octets going by; throws DeliveryError('too-large') past `max`. */
async function* limited(input: AsyncIterable<Buffer>, max: number): AsyncGenerator<Buffer> {
  let octets = 0;
  for await (const chunk of input) {
    octets += chunk.length;
    if (max > 0 && octets > max)
      throw new DeliveryError(`the message is larger than the limit of ${max} octets (delivery.maxSize)`, true, 'too-large');
    yield chunk;
  }
}

/** What a delivery through Sieve did (deliverFiltered). */
export interface FilteredDelivery {
  /** Octets stored, summed over the mailboxes. */
  readonly octets: number;
  /** Where the message was stored (none: discarded, redirected or rejected). */
  readonly mailboxes: readonly string[];
  /** ereject's reason: the protocol refuses the message for this recipient with it (nothing was stored). */
  readonly rejected: string | null;
  /** False when no script ran (none for this account, or sieve.enabled false). */
  readonly filtered: boolean;
  /** `mailbox` was asked for but does not exist: stored in INBOX instead (unfiltered delivery). */
  readonly fellBack: boolean;
}

export class LocalDelivery {
  constructor(
    private readonly router: Router,
    private readonly store: MailStore,
    private readonly settings: LocalDeliverySettings,
    /** Sieve at delivery (delivery/sieve-filter.ts); null: none. */
    private readonly sieve: DeliverySieve | null = null,
  ) {}

  get maxSize(): number {
    return this.settings.maxSize;
  }

  /**
   * Routes an address; DeliveryError('unknown-user') when nothing here takes it, ('io') when routing could not be
   * read. An address with a subaddress (recipientDelimiter) that nothing takes as written is routed without it.
   */
  async recipient(address: string): Promise<LocalRecipient> {
    let refused: NameError | null = null;
    const asWritten = await this.route(address).catch((err) => {
      if (!(err instanceof NameError)) throw err;
      refused = err;
      return null;
    });
    const routed =
      asWritten ??
      (await this.withoutDetail(address).catch((err) => {
        if (err instanceof NameError) return null;
        throw err;
      }));
    if (!routed)
      throw new DeliveryError((refused as NameError | null)?.message ?? `${address}: no such account or route`, true, 'unknown-user');
    const domain = address.includes('@') ? address.slice(address.lastIndexOf('@') + 1).toLowerCase() : this.settings.mainDomain;
    const extraHeader = routed.localPart === null ? null : `${this.settings.realToHeader}: ${routed.localPart}@${domain}`;
    return { address, account: routed.account, extraHeader };
  }

  private async route(address: string): Promise<Routed | null> {
    try {
      return await this.router.route(address);
    } catch (err) {
      if (err instanceof NameError) throw err;
      // a damaged routes.json or account.json, an I/O error: the MTA must keep the message and retry
      throw new DeliveryError(`cannot route ${address} (${(err as Error).message})`, false, 'io');
    }
  }

  /** `ann+work@example.org` routed as `ann@example.org` (the first delimiter starts the detail, RFC 5233 section 3). */
  private async withoutDetail(address: string): Promise<Routed | null> {
    const delimiters = this.settings.recipientDelimiter ?? '+';
    const at = address.lastIndexOf('@');
    const local = at < 0 ? address : address.slice(0, at);
    let cut = -1;
    for (const d of delimiters) {
      const i = local.indexOf(d);
      if (i > 0 && (cut < 0 || i < cut)) cut = i;
    }
    if (cut < 0) return null;
    return this.route(local.slice(0, cut) + (at < 0 ? '' : address.slice(at)));
  }

  /**
   * The mailbox to deliver into: `wanted` when it exists, else INBOX (as dovecot-lda does with -m).
   * `fellBack` says it did not exist.
   */
  async mailbox(r: LocalRecipient, wanted: string): Promise<{ mailbox: string; fellBack: boolean }> {
    if (wanted.toUpperCase() === 'INBOX') return { mailbox: 'INBOX', fellBack: false };
    let exists: boolean;
    try {
      exists = await this.store.hasMailbox(r.account, wanted);
    } catch (err) {
      throw storeFailure(err, `cannot open ${formatAddress(r.account)}`);
    }
    return exists ? { mailbox: wanted, fellBack: false } : { mailbox: 'INBOX', fellBack: true };
  }

  /**
   * Delivers to one recipient through its Sieve scripts (sieve-filter.ts): without any, exactly deliver() into
   * `mailbox` (INBOX when it does not exist); with some, the message is read whole (with what a delivery adds),
   * the scripts run, and their outcome is carried out. `envelopeFrom`: the envelope sender when it is not
   * `returnPath` (`postern deliver --from`; else the message's Return-Path field).
   */
  async deliverFiltered(
    r: LocalRecipient,
    input: AsyncIterable<Buffer>,
    options: { maxSize?: number; returnPath?: string; envelopeFrom?: string; mailbox?: string; logFields?: Record<string, unknown> } = {},
  ): Promise<FilteredDelivery> {
    const scripts = this.sieve ? await this.sieve.scriptsFor(r.account) : [];
    const wanted = options.mailbox ?? 'INBOX';
    if (scripts.length === 0) {
      const { mailbox, fellBack } = await this.mailbox(r, wanted);
      const octets = await this.deliver(r, mailbox, input, options);
      return { octets, mailboxes: [mailbox], rejected: null, filtered: false, fellBack };
    }
    const chunks: Buffer[] = [];
    try {
      const octets = deliveredOctets(limited(input, options.maxSize ?? this.settings.maxSize), {
        extraHeader: r.extraHeader ?? undefined,
        returnPath: options.returnPath,
        dropMboxFromLine: options.returnPath === undefined,
      });
      for await (const chunk of octets) chunks.push(chunk);
    } catch (err) {
      if (err instanceof DeliveryError) throw err;
      throw ioFailure(err, 'cannot read the message');
    }
    const message = Buffer.concat(chunks);
    if (message.length === 0) throw new DeliveryError('the message is empty', true, 'empty');
    const returnPath = firstHeader(message, 'Return-Path');
    const envelopeFrom =
      options.envelopeFrom ?? options.returnPath ?? (returnPath === null ? '' : (/<([^>]*)>/.exec(returnPath)?.[1] ?? returnPath));
    const carried = await this.sieve!.filter(scripts, {
      account: r.account,
      recipient: r.address,
      envelopeFrom,
      message,
      defaultMailbox: wanted,
      logFields: options.logFields ?? {},
    });
    return {
      octets: carried.stored.reduce((sum, s) => sum + s.octets, 0),
      mailboxes: carried.stored.map((s) => s.mailbox),
      rejected: carried.rejected,
      filtered: true,
      fellBack: false,
    };
  }

  /**
   * Stores the message (at most `maxSize` octets of `input`, as received) with what a delivery adds
   * (delivered-octets.ts); nothing is left behind when it fails. `returnPath`: the envelope sender of an
   * MTA's transaction (LMTP); without it, the message was piped in and may start with an mbox From line.
   * Returns the octets stored.
   */
  async deliver(
    r: LocalRecipient,
    mailbox: string,
    input: AsyncIterable<Buffer>,
    options: { maxSize?: number; returnPath?: string } = {},
  ): Promise<number> {
    try {
      const octets = deliveredOctets(limited(input, options.maxSize ?? this.settings.maxSize), {
        extraHeader: r.extraHeader ?? undefined,
        returnPath: options.returnPath,
        dropMboxFromLine: options.returnPath === undefined,
      });
      const stored = await this.store.deliver(r.account, mailbox, octets);
      return stored.storedSize;
    } catch (err) {
      if (err instanceof DeliveryError) throw err;
      throw storeFailure(err, `cannot store the message for ${formatAddress(r.account)}`, this.settings.fullTempfail);
    }
  }
}
