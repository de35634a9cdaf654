// Mail submitted by a signed-in user (XTND XMIT), handled like `sendmail -t`: recipients come from To,
// Cc and Bcc; Bcc is removed; From must be one of the sender's own addresses; Date, Message-ID and a
// Received trace field are added. Local recipients get the message by the same path as
// `postern deliver`, remote ones through the relay. All or nothing: local copies are staged (written
// but invisible) first, then the relay is asked, and only when it accepted every remote recipient are
// the local copies made visible.
import { randomBytes } from 'node:crypto';
import { simpleParser, type AddressObject, type EmailAddress, type ParsedMail } from 'mailparser';
import type { AccountStore } from '../accounts/account-store.js';
import type { MailStore, StagedMessage } from '../store/contract.js';
import { type AccountAddress, formatAddress, NameError } from '../accounts/names.js';
import { mayUseSender, type SenderPolicy } from './senders.js';
import type { Router } from '../accounts/router.js';
import { deliveredOctets } from '../delivery/delivered-octets.js';
import { RawMessage, rfc5322Date } from '../delivery/message-header.js';
import { type Relay, RelayError } from './relay.js';
import { OverQuotaError } from '../store/quota/over-quota.js';

/** What a submission logs (the session's logger fits). */
export interface SubmissionLog {
  info(details: Record<string, unknown>, message: string): void;
  error(details: Record<string, unknown>, message: string): void;
}

/** A submission refused; `temporary` when the same message may succeed later. */
export class SubmissionError extends Error {
  constructor(
    message: string,
    readonly temporary = false,
  ) {
    super(message);
  }
}

export interface SubmissionSettings {
  /** Messages one account may submit per hour; 0 = no limit. */
  maxPerHour: number;
  /** The host name in Received and Message-ID. */
  hostname: string;
  realToHeader: string;
  /** Whose addresses an account may send as (submission.senders; senders.ts); own when absent. */
  senders?: SenderPolicy;
}

/**
 * A rate kept by one process for several (the workers): says whether an attempt under `key` is within
 * `max` per `windowMs`, and counts it when it is.
 */
export type SharedRate = (key: string, max: number, windowMs: number) => Promise<boolean>;

export interface SubmissionServices {
  accounts: AccountStore;
  store: MailStore;
  router: Router;
  relay: Relay | null;
  settings: SubmissionSettings;
  /** The hourly limit counted with the other workers; null in a single process. */
  sharedRate?: SharedRate | null;
}

export interface Submitted {
  messageId: string;
  local: number;
  remote: number;
}

const HOUR_MS = 3_600_000;

/**
 * A local recipient whose mailbox is over quota refuses the whole submission with words that say so (a
 * permanent refusal, as LMTP's 552 5.2.2: not the server's failure, and the same message fails again
 * until the recipient makes room); any other failure goes on as it came.
 */
function fullMailbox(recipient: string): (err: unknown) => never {
  return (err) => {
    if (err instanceof OverQuotaError) throw new SubmissionError(`The mailbox of ${recipient} is full (over quota); nothing was delivered`);
    throw err;
  };
}

function flatten(field: AddressObject | AddressObject[] | undefined): string[] {
  const out: string[] = [];
  const walk = (list: EmailAddress[]) => {
    for (const a of list) {
      if (a.group) walk(a.group);
      else if (a.address) out.push(a.address.toLowerCase());
    }
  };
  for (const obj of field === undefined ? [] : Array.isArray(field) ? field : [field]) walk(obj.value);
  return out;
}

export class Submitter {
  /** Submission times per account, for the hourly limit. */
  private readonly recent = new Map<string, number[]>();

  constructor(private services: SubmissionServices) {}

  reconfigure(services: SubmissionServices): void {
    this.services.relay?.close();
    this.services = services;
  }

  private withinRate(sender: string, now: number): boolean {
    const max = this.services.settings.maxPerHour;
    const times = (this.recent.get(sender) ?? []).filter((t) => now - t < HOUR_MS);
    this.recent.set(sender, times);
    return max === 0 || times.length < max;
  }

  /** The relay of submission.relay (null without one), shared by every module that sends (SMTP submission, LMTP's Sieve). */
  get relay(): Relay | null {
    return this.services.relay;
  }

  /** True when the sender may use `address` (submission.senders, senders.ts). */
  mayUseSender(sender: AccountAddress, address: string): Promise<boolean> {
    return mayUseSender(this.services.settings.senders ?? 'own', this.services.router, sender, address);
  }

  /**
   * Counts one message of `sender` against submission.maxPerHour (with the other workers when they share
   * limits); throws a temporary SubmissionError past the limit. Every attempt within the limit counts,
   * whatever becomes of it: refusals must not be a way around it.
   */
  async admit(sender: AccountAddress, log: SubmissionLog): Promise<void> {
    const settings = this.services.settings;
    const from = formatAddress(sender);
    const now = Date.now();
    const shared = this.services.sharedRate;
    const within =
      settings.maxPerHour === 0 || (shared ? await shared(`submission:${from}`, settings.maxPerHour, HOUR_MS) : this.withinRate(from, now));
    if (!shared && within) this.recent.get(from)?.push(now);
    if (!within) {
      log.info({ user: from, maxPerHour: settings.maxPerHour }, 'submission refused: rate limit');
      throw new SubmissionError(
        `Too many messages submitted in the last hour (the limit is ${settings.maxPerHour}); try again later`,
        true,
      );
    }
  }

  /**
   * Checks the From and Sender fields of `message`: one of each at most, and every address in them one the
   * sender may use (submission.senders). Returns the From addresses (none when the field is absent).
   */
  async identityFields(sender: AccountAddress, message: RawMessage, parsed?: ParsedMail): Promise<string[]> {
    const header = parsed ?? (await simpleParser(message.headerBytes));
    // mailparser keeps only the last From; mail programs show the first. One From field, and every
    // address in From and Sender must be the sender's own.
    if (message.count('From') > 1 || message.count('Sender') > 1)
      throw new SubmissionError('The message has more than one From or Sender field');
    const froms = flatten(header.from);
    const identities = [...froms, ...(header.headers.get('sender') ? flatten(header.headers.get('sender') as AddressObject) : [])];
    for (const f of identities) {
      if (!(await this.mayUseSender(sender, f)))
        throw new SubmissionError(`From: ${f} is not one of your addresses; send as ${formatAddress(sender)}`);
    }
    if (message.count('From') === 1 && froms.length === 0) throw new SubmissionError('The From field holds no address');
    return froms;
  }

  async submit(sender: AccountAddress, peerAddress: string, raw: Buffer, log: SubmissionLog): Promise<Submitted> {
    const { accounts, store, router, relay, settings } = this.services;
    const from = formatAddress(sender);
    const now = Date.now();
    await this.admit(sender, log);

    const message = RawMessage.parse(raw);
    const header = await simpleParser(message.headerBytes);
    const recipients = [...new Set([...flatten(header.to), ...flatten(header.cc), ...flatten(header.bcc)])];
    if (recipients.length === 0) throw new SubmissionError('The message has no recipients: give them in To, Cc or Bcc');
    const froms = await this.identityFields(sender, message, header);

    const id = `${now.toString(36)}.${randomBytes(6).toString('hex')}`;
    const messageId = `<${id}@${settings.hostname}>`;
    message.remove('Bcc');
    message.remove('Resent-Bcc');
    if (froms.length === 0) message.append('From', from);
    if (!message.has('Date')) message.append('Date', rfc5322Date(new Date(now)));
    if (!message.has('Message-ID')) message.append('Message-ID', messageId);
    message.prepend(
      'Received',
      `from [${peerAddress}] by ${settings.hostname} (Postern) with POP3 XTND XMIT id ${id} (authenticated as ${from});` +
        ` ${rfc5322Date(new Date(now))}`,
    );
    const out = message.toBuffer();

    const local: { recipient: string; account: AccountAddress; localPart: string | null }[] = [];
    const remote: string[] = [];
    for (const r of recipients) {
      const at = r.lastIndexOf('@');
      if (at <= 0) throw new SubmissionError(`"${r}" is not an address with a domain`);
      if (!accounts.domains.has(r.slice(at + 1))) {
        remote.push(r);
        continue;
      }
      const routed = await router.route(r).catch((err: unknown) => {
        if (err instanceof NameError) return null;
        throw err;
      });
      if (!routed) throw new SubmissionError(`No such local recipient: ${r}`);
      local.push({ recipient: r, ...routed });
    }
    if (remote.length > 0 && !relay) {
      throw new SubmissionError(`Remote recipients (${remote.join(', ')}) cannot be reached: no relay is configured (submission.relay)`);
    }

    const staged: StagedMessage[] = [];
    try {
      for (const l of local) {
        const extra = l.localPart === null ? undefined : `${settings.realToHeader}: ${l.recipient}`;
        const data = deliveredOctets(
          (async function* () {
            yield out;
          })(),
          { extraHeader: extra },
        );
        staged.push(await store.append(l.account, 'INBOX', data).catch(fullMailbox(l.recipient)));
      }
      if (remote.length > 0) {
        const result = await relay!.send(from, remote, out);
        // SMTP cannot take back what the relay accepted for the other recipients; local copies are not made.
        if (result.rejected.length > 0) {
          throw new SubmissionError(
            `The relay refused ${result.rejected.join(', ')} (it took the message for ${result.accepted.join(', ')}); nothing was ` +
              `delivered here`,
          );
        }
      }
    } catch (err) {
      await Promise.all(staged.map((s) => s.abort()));
      log.info({ user: from, err: (err as Error).message }, 'submission refused');
      if (err instanceof RelayError) throw new SubmissionError(`${err.message}; nothing was delivered`, err.temporary);
      if (err instanceof SubmissionError) throw err;
      throw new SubmissionError('The message could not be stored; nothing was delivered, try again later', true);
    }
    // Make the local copies visible. Each is tried even if one fails, so no copy is left behind in tmp/.
    const failed: string[] = [];
    for (const [i, s] of staged.entries()) {
      try {
        await s.commit();
      } catch (err) {
        failed.push(err instanceof OverQuotaError ? `${local[i].recipient} (mailbox full)` : local[i].recipient);
        log.error({ user: from, recipient: local[i].recipient, err }, 'cannot store a submitted message');
        await s.abort();
      }
    }
    if (failed.length > 0) {
      throw new SubmissionError(
        `The message went to ${recipients.length - failed.length} recipients but could not be stored for ${failed.join(', ')}`,
        true,
      );
    }
    log.info({ user: from, messageId, local: local.length, remote: remote.length, octets: out.length }, 'message submitted');
    return { messageId, local: local.length, remote: remote.length };
  }
}
