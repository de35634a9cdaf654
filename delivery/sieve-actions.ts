// A Sieve outcome carried out for one recipient (sieve/outcome.ts says what a run decided). The order keeps
// the two promises of a delivery, nothing lost and nothing stored twice:
//   1. reject/ereject: ereject is answered in the protocol (LMTP 550 5.7.1, `postern deliver` exit 77, as
//      dovecot-lda -e); reject sends the rejection (RFC 5429 section 2.1.2) to the envelope sender
//   2. the stores are written, not yet visible, each mailbox once (flags and keywords given at store time;
//      a missing mailbox without :create keeps to INBOX, with a log line)
//   3. redirects go out (RFC 5228 section 4.2: the envelope sender is the original one, <> stays <>); one done
//      for this message already within sieve.redirectDuplicatePeriod is not done again; a relay that fails
//      for now makes the whole delivery a temporary failure (as Pigeonhole: the MTA tries again, nothing
//      was stored), one that refuses for good keeps the message in INBOX
//   4. the stores become visible
//   5. vacation replies go out (null sender), remembered per sender; then the duplicate ids are remembered.
// Whatever fails in 5 is logged only: the message is stored by then.
import { createHash } from 'node:crypto';
import type { AccountAddress } from '../accounts/names.js';
import type { SieveAction, SieveOutcome } from '../sieve/outcome.js';
import {
  type AppendedMessage,
  type DeliveryMemory,
  MailStoreError,
  type MailStore,
  mailErrorOf,
  MailError,
  type StagedMessage,
  SYSTEM_FLAGS,
} from '../store/contract.js';
import { OverQuotaError } from '../store/quota/over-quota.js';
import { DeliveryError, storeFailure } from './delivery-error.js';
import { storeTargets } from './delivered-outcome.js';
import { allHeaders, bareAddress, firstHeader, newMessageId, redirectedCopy, rejectionMessage } from './sieve-mail.js';

/**
 * The relay's one call the outcome needs (submission/relay.ts, a floor above: given, not imported). What it
 * throws says `temporary: false` when trying later cannot work (the relay refused for good).
 */
export interface OutgoingMail {
  send(from: string, to: string[], raw: Buffer): Promise<{ accepted: string[]; rejected: string[] }>;
}

/** A relay failure that trying later may cure (anything not marked `temporary: false`). */
const temporaryFailure = (err: unknown) => (err as { temporary?: unknown })?.temporary !== false;
const refusedForGood = (message: string) => Object.assign(new Error(message), { temporary: false });

/** What the carrying out logs; `details` already names the account. */
export type SieveLog = (level: 'info' | 'error', details: Record<string, unknown>, message: string) => void;

export interface CarryOutContext {
  readonly store: MailStore;
  /** The account's delivery memory (vacation, duplicate, redirects done); null: none (nothing remembered). */
  readonly memory: DeliveryMemory | null;
  /** submission.relay; null: redirect, vacation and reject cannot send (the message is kept instead). */
  readonly relay: OutgoingMail | null;
  readonly account: AccountAddress;
  /** The recipient as the MTA gave it (RCPT TO). */
  readonly recipient: string;
  /** The envelope sender; "" for the null sender. */
  readonly envelopeFrom: string;
  /** The message as stored (with the fields the delivery adds). */
  readonly message: Buffer;
  /** Where a keep goes (`postern deliver --mailbox`, as dovecot-lda -m); INBOX otherwise. */
  readonly defaultMailbox: string;
  readonly settings: {
    readonly redirectDuplicatePeriod: number;
    readonly maxRedirects: number;
    /** The host name of Message-IDs and the rejection's Reporting-UA. */
    readonly hostname: string;
    readonly fullTempfail?: boolean;
  };
  readonly log: SieveLog;
}

export interface CarriedOut {
  /** Mailboxes the message was stored in, with the octets stored. */
  readonly stored: readonly { mailbox: string; octets: number }[];
  readonly redirected: readonly string[];
  /** ereject: the reason the protocol answers with (nothing stored). */
  readonly rejected: string | null;
  /** Nothing stored nor sent on purpose (discard, a reject answered by mail or dropped, a duplicate redirect). */
  readonly discarded: boolean;
}

const SYSTEM = new Map(SYSTEM_FLAGS.map((f) => [f.toLowerCase(), f]));
/** An IMAP keyword (RFC 9051 flag-keyword: an atom). */
const KEYWORD = /^[^\x00-\x20\x7f(){%*"\\\]]+$/;

/** The flags a store gets: system flags in their IMAP spelling, valid keywords; \Recent and unknown system flags dropped. */
export function storeFlags(flags: readonly string[]): string[] {
  const out = new Set<string>();
  for (const f of flags) {
    if (f.startsWith('\\')) {
      const system = SYSTEM.get(f.toLowerCase());
      if (system) out.add(system);
    } else if (KEYWORD.test(f) && f.length <= 255) out.add(f);
  }
  return [...out];
}

async function* once(message: Buffer): AsyncGenerator<Buffer> {
  yield message;
}

interface Target {
  mailbox: string;
  flags: Set<string>;
  create: boolean;
}

const isInbox = (m: string) => m.toUpperCase() === 'INBOX';

/** The redirect's duplicate id, as Pigeonhole builds it: message, recipient, target, resent and list ids. */
function redirectKey(message: Buffer, messageId: string, recipient: string, to: string): string {
  const resent = firstHeader(message, 'Resent-Message-ID') ?? firstHeader(message, 'Resent-From') ?? '';
  const list = firstHeader(message, 'List-Id') ?? '';
  const id = [messageId, recipient.toLowerCase(), to.toLowerCase(), resent, list].join('\0');
  return `redirect:${createHash('sha256').update(id).digest('hex')}`;
}

export async function carryOut(outcome: SieveOutcome, ctx: CarryOutContext): Promise<CarriedOut> {
  const message = outcome.edited ?? ctx.message;
  const actions = outcome.actions.length > 0 ? outcome.actions : [keepAction()];
  let keepAnyway = false;

  // 1. reject, ereject (RFC 5429): nothing is stored
  const reject = actions.find((a): a is Extract<SieveAction, { kind: 'reject' }> => a.kind === 'reject');
  if (reject) {
    if (reject.extended) {
      ctx.log('info', { reason: reject.reason }, 'sieve: rejected (ereject)');
      await remember(ctx, outcome);
      return { stored: [], redirected: [], rejected: reject.reason, discarded: false };
    }
    const sent = await sendRejection(ctx, message, reject.reason);
    if (sent !== 'failed') {
      await remember(ctx, outcome);
      return { stored: [], redirected: [], rejected: null, discarded: true };
    }
    keepAnyway = true;
  }

  // 2. the stores, written but not visible yet
  const targets = storeTargets(actions, ctx.defaultMailbox);
  const staged: { mailbox: string; staged: StagedMessage }[] = [];
  const abortAll = () => Promise.all(staged.splice(0).map((s) => s.staged.abort().catch(() => {})));
  // INBOX is written last, once, with the flags of every store that lands there (a keep, a fileinto whose
  // mailbox is missing or cannot take the message): a store that falls back never loses its flags
  const inbox = { wanted: false, flags: new Set<string>() };
  const toInbox = (flags: Iterable<string>) => {
    inbox.wanted = true;
    for (const f of flags) inbox.flags.add(f);
  };
  const append = async (mailbox: string, flags: Iterable<string>) =>
    staged.push({ mailbox, staged: await ctx.store.append(ctx.account, mailbox, once(message), { flags: storeFlags([...flags]) }) });
  const stage = async (t: Target): Promise<void> => {
    if (isInbox(t.mailbox)) return toInbox(t.flags);
    // the named mailbox is tried at once (the store looks for its folder as it writes): one look, not two;
    // when that fails, the mailbox is looked at as before (created with :create, else INBOX, with the log)
    if (!staged.some((s) => s.mailbox === t.mailbox)) {
      try {
        await append(t.mailbox, t.flags);
        return;
      } catch (err) {
        if (!(err instanceof MailStoreError) || err instanceof OverQuotaError) {
          await abortAll();
          throw storeFailure(err, `cannot store the message for ${ctx.recipient}`, ctx.settings.fullTempfail);
        }
      }
    }
    const mailbox = await existingMailbox(ctx, t);
    if (isInbox(mailbox)) return toInbox(t.flags);
    if (staged.some((s) => s.mailbox === mailbox)) return;
    try {
      await append(mailbox, t.flags);
    } catch (err) {
      if (!(err instanceof OverQuotaError) && err instanceof MailStoreError) {
        ctx.log('info', { mailbox, err: err.message }, 'sieve: cannot store into the mailbox; kept in INBOX');
        return toInbox(t.flags);
      }
      await abortAll();
      throw storeFailure(err, `cannot store the message for ${ctx.recipient}`, ctx.settings.fullTempfail);
    }
  };
  const stageInbox = async (): Promise<void> => {
    if (staged.some((s) => s.mailbox === 'INBOX')) return;
    try {
      await append('INBOX', inbox.flags);
    } catch (err) {
      await abortAll();
      throw storeFailure(err, `cannot store the message for ${ctx.recipient}`, ctx.settings.fullTempfail);
    }
  };
  for (const t of targets.values()) await stage(t);
  if (inbox.wanted) await stageInbox();

  // 3. redirects, before anything is visible: one that must be tried again leaves nothing behind
  const redirected: string[] = [];
  let duplicateRedirect = false;
  const addresses = [...new Set(actions.filter((a) => a.kind === 'redirect').map((a) => a.address))];
  if (addresses.length > ctx.settings.maxRedirects) {
    ctx.log('info', { redirects: addresses.length, maxRedirects: ctx.settings.maxRedirects }, 'sieve: too many redirects; kept in INBOX');
    addresses.length = 0;
    keepAnyway = true;
  }
  const originalId = firstHeader(message, 'Message-ID');
  const messageId = originalId ?? newMessageId(ctx.settings.hostname);
  const loopedFrom = new Set(allHeaders(message, 'X-Sieve-Redirected-From').map(bareAddress));
  for (const to of addresses) {
    const key = redirectKey(message, messageId, ctx.recipient, to);
    if (loopedFrom.has(ctx.recipient.toLowerCase())) {
      ctx.log('info', { to }, 'sieve: not redirected: the message was redirected from this recipient before (a loop); kept in INBOX');
      keepAnyway = true;
      continue;
    }
    if (originalId !== null && ctx.memory && (await ctx.memory.seen(key).catch(() => false))) {
      ctx.log('info', { to }, 'sieve: discarded duplicate forward');
      duplicateRedirect = true;
      continue;
    }
    if (!ctx.relay) {
      ctx.log('error', { to }, 'sieve: cannot redirect: no relay is configured (submission.relay); kept in INBOX');
      keepAnyway = true;
      continue;
    }
    try {
      const copy = redirectedCopy(message, ctx.recipient, originalId === null ? messageId : null);
      const result = await ctx.relay.send(ctx.envelopeFrom, [to], copy);
      if (result.rejected.length > 0) throw refusedForGood(`The relay refused ${to}`);
      redirected.push(to);
      ctx.log('info', { to }, 'sieve: forwarded');
      await ctx.memory?.remember(key, ctx.settings.redirectDuplicatePeriod).catch(() => {});
    } catch (err) {
      if (temporaryFailure(err)) {
        await abortAll();
        ctx.log('error', { to, err: (err as Error).message }, 'sieve: cannot redirect now; the delivery is tried again later');
        throw new DeliveryError(`cannot redirect to <${to}> now (${(err as Error).message})`, false, 'sieve');
      }
      ctx.log('error', { to, err: (err as Error).message }, 'sieve: redirect refused for good; kept in INBOX');
      keepAnyway = true;
    }
  }
  if (keepAnyway) await stageInbox();

  // 4. visible: each mailbox once; a failure after the first one cannot be taken back, and is only logged
  const stored: { mailbox: string; octets: number }[] = [];
  for (const s of staged.splice(0)) {
    let appended: AppendedMessage;
    try {
      appended = await s.staged.commit();
    } catch (err) {
      await s.staged.abort().catch(() => {});
      if (stored.length === 0 && redirected.length === 0) {
        await abortAll();
        throw storeFailure(err, `cannot store the message for ${ctx.recipient}`, ctx.settings.fullTempfail);
      }
      ctx.log('error', { mailbox: s.mailbox, err: (err as Error).message }, 'sieve: cannot store into the mailbox');
      continue;
    }
    stored.push({ mailbox: s.mailbox, octets: appended.storedSize });
  }

  // 5. what follows a delivery done
  for (const a of actions) if (a.kind === 'vacation') await sendVacation(ctx, a);
  await remember(ctx, outcome);
  const discarded = stored.length === 0 && redirected.length === 0;
  if (discarded && !duplicateRedirect) ctx.log('info', {}, 'sieve: discarded');
  return { stored, redirected, rejected: null, discarded };
}

function keepAction(): SieveAction {
  return { kind: 'store', mailbox: 'INBOX', flags: [], create: false, implicit: true };
}

/** The mailbox a store goes to: the one named when it exists (or :create made it), else INBOX. */
async function existingMailbox(ctx: CarryOutContext, t: Target): Promise<string> {
  if (isInbox(t.mailbox)) return 'INBOX';
  try {
    if (await ctx.store.hasMailbox(ctx.account, t.mailbox)) return t.mailbox;
    if (t.create) {
      await ctx.store.createMailbox(ctx.account, t.mailbox);
      ctx.log('info', { mailbox: t.mailbox }, 'sieve: mailbox created (:create)');
      return t.mailbox;
    }
    ctx.log('info', { mailbox: t.mailbox }, 'sieve: fileinto a mailbox that does not exist; kept in INBOX');
  } catch (err) {
    if (mailErrorOf(err) === MailError.TEMP) throw storeFailure(err, `cannot open ${t.mailbox}`);
    ctx.log('info', { mailbox: t.mailbox, err: (err as Error).message }, 'sieve: cannot use the mailbox; kept in INBOX');
  }
  return 'INBOX';
}

/**
 * reject (RFC 5429 section 2.1): the rejection goes to the envelope sender from the null sender. None for a
 * null sender or an automatic message (Dovecot discards those, as the RFC allows); a relay that cannot take it
 * means the message is kept instead.
 */
async function sendRejection(ctx: CarryOutContext, message: Buffer, reason: string): Promise<'sent' | 'dropped' | 'failed'> {
  if (ctx.envelopeFrom === '') {
    ctx.log('info', { reason }, 'sieve: discarded reject to <>');
    return 'dropped';
  }
  const auto = firstHeader(message, 'Auto-Submitted');
  if (auto !== null && auto.toLowerCase() !== 'no') {
    ctx.log('info', { reason }, 'sieve: auto-submitted message not answered with a rejection; discarded');
    return 'dropped';
  }
  if (!ctx.relay) {
    ctx.log('error', { reason }, 'sieve: cannot send the rejection: no relay is configured (submission.relay); kept in INBOX');
    return 'failed';
  }
  const domain = ctx.account.domain;
  const rejection = rejectionMessage(message, {
    to: ctx.envelopeFrom,
    recipient: ctx.recipient,
    from: `Postmaster <postmaster@${domain}>`,
    reason,
    hostname: ctx.settings.hostname,
  });
  try {
    const result = await ctx.relay.send('', [ctx.envelopeFrom], rejection);
    if (result.rejected.length > 0) throw refusedForGood(`The relay refused ${ctx.envelopeFrom}`);
    ctx.log('info', { to: ctx.envelopeFrom, reason }, 'sieve: rejected');
    return 'sent';
  } catch (err) {
    ctx.log('error', { to: ctx.envelopeFrom, err: (err as Error).message }, 'sieve: cannot send the rejection; kept in INBOX');
    return 'failed';
  }
}

/** RFC 5230 section 4.2: answered once per sender and period; the reply goes out from the null sender (section 5). */
async function sendVacation(ctx: CarryOutContext, v: Extract<SieveAction, { kind: 'vacation' }>): Promise<void> {
  const to = bareAddress(v.to);
  if (to === '' || to === ctx.recipient.toLowerCase() || to === `${ctx.account.name}@${ctx.account.domain}`) {
    ctx.log('info', { to: v.to }, 'sieve: vacation not sent to the recipient itself');
    return;
  }
  try {
    if (ctx.memory && (await ctx.memory.seen(v.key))) {
      ctx.log('info', { to: v.to }, 'sieve: vacation already answered this sender within its period');
      return;
    }
  } catch (err) {
    ctx.log('error', { to: v.to, err: (err as Error).message }, 'sieve: vacation not sent: the delivery memory cannot be read');
    return;
  }
  if (!ctx.relay) {
    ctx.log('error', { to: v.to }, 'sieve: vacation not sent: no relay is configured (submission.relay)');
    return;
  }
  try {
    const result = await ctx.relay.send('', [v.to], v.reply);
    if (result.rejected.length > 0) throw new Error(`the relay refused ${v.to}`);
    await ctx.memory?.remember(v.key, v.periodSeconds);
    ctx.log('info', { to: v.to }, 'sieve: sent vacation response');
  } catch (err) {
    ctx.log('error', { to: v.to, err: (err as Error).message }, 'sieve: vacation not sent');
  }
}

/** Duplicate ids (RFC 7352) are remembered once the delivery is done. */
async function remember(ctx: CarryOutContext, outcome: SieveOutcome): Promise<void> {
  for (const r of outcome.remember) {
    await ctx.memory?.remember(r.key, r.seconds).catch((err: Error) => {
      ctx.log('error', { err: err.message }, 'sieve: cannot remember a duplicate id');
    });
  }
}
