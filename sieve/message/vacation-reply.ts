// vacation (RFC 5230, RFC 6131 :seconds): whether to answer at all (RFC 5230 section 5, in Pigeonhole's order
// and with its log lines), and the answer itself. No answer when the envelope recipient is <>, to the null
// sender, to the user's own addresses (the recipient, the account's addresses, :addresses), to list mail
// (List-Id and the RFC 2369 List-* fields), to mail with an Auto-Submitted other than "no", with Precedence
// junk/bulk/list, to system addresses (MAILER-DAEMON, LISTSERV, majordomo, owner-*, *-request@), nor when none of
// the user's addresses is in To, Cc, Bcc or the Resent-* fields (an implicit delivery: a list, a Bcc, a forward).
// The answer goes to the envelope sender only, from the null sender (Pigeonhole's default); whoever carries it out
// checks `key` (the sender and the handle, hashed as Pigeonhole) against the account's memory for the period.
import { createHash, randomBytes } from 'node:crypto';
import type { SieveAction, SieveEnvelope } from '../outcome.js';
import { parseEnvelopeAddress, type SieveAddress } from './address-part.js';
import type { SieveMessage } from './sieve-message.js';

/** The vacation command's arguments (RFC 5230 section 4, RFC 6131). */
export interface VacationParams {
  /** The reason: the reply's body (a whole MIME entity, headers included, with :mime). */
  readonly reason: string;
  /** :subject; null: "Auto: " + the original subject (RFC 5230 section 4.6). */
  readonly subject?: string | null;
  /** :from; null: the recipient address. */
  readonly from?: string | null;
  /** :addresses: more addresses of the user, for the To/Cc check. */
  readonly addresses?: readonly string[];
  /** :mime: the reason is a MIME entity (RFC 5230 section 4.8). */
  readonly mime?: boolean;
  /** :handle; null: one made from the reason, subject, from and :mime (RFC 5230 section 4.2). */
  readonly handle?: string | null;
  /** :days * 86400 or :seconds; null: the configured default. */
  readonly periodSeconds?: number | null;
}

/** What the reply depends on besides the message and the arguments. */
export interface VacationContext {
  readonly envelope: SieveEnvelope;
  /** The account's own addresses (SieveRunInput.ownAddresses). */
  readonly ownAddresses: readonly string[];
  readonly now: Date;
  /** sieve.vacationMinPeriod, vacationDefaultPeriod, vacationMaxPeriod (seconds; max 0: no limit). */
  readonly periods: { readonly min: number; readonly default: number; readonly max: number };
  /** The host name for the reply's Message-ID. */
  readonly hostname?: string;
}

export type VacationDecision =
  | { readonly send: true; readonly action: Extract<SieveAction, { kind: 'vacation' }> }
  /** No reply, and why (Pigeonhole's log line). */
  | { readonly send: false; readonly reason: string };

/** RFC 2369 list fields and List-Id (RFC 2919): list mail is never answered. */
export const LIST_HEADERS: readonly string[] = [
  'list-id',
  'list-owner',
  'list-subscribe',
  'list-post',
  'list-unsubscribe',
  'list-help',
  'list-archive',
];

/** The fields that name the recipients the user must be among (RFC 5230 section 4.5). */
export const RECIPIENT_HEADERS: readonly string[] = ['to', 'cc', 'bcc', 'resent-to', 'resent-cc', 'resent-bcc'];

/** The period clamped to the configured bounds (RFC 6131 section 2; Pigeonhole's sieve_vacation_*_period). */
export function vacationPeriod(requested: number | null | undefined, periods: VacationContext['periods']): number {
  let p = requested ?? periods.default;
  if (p < periods.min) p = periods.min; // 0 too: Pigeonhole raises ":seconds 0" to the minimum (with a warning)
  if (periods.max > 0 && p > periods.max) p = periods.max;
  return Math.max(p, 0);
}

/**
 * Addresses of mail systems that must not be answered (RFC 5230 section 4.5), as Pigeonhole tells them: starting
 * MAILER-DAEMON, LISTSERV or majordomo (any case), starting "owner-", or holding "-request@".
 */
export function isSystemAddress(address: string): boolean {
  const lower = address.toLowerCase();
  return (
    lower.startsWith('mailer-daemon') ||
    lower.startsWith('listserv') ||
    lower.startsWith('majordomo') ||
    address.startsWith('owner-') ||
    address.includes('-request@')
  );
}

/** Two addresses alike as Pigeonhole compares them here: the whole address ignoring case ("Me@x" is "me@X"). */
export function sameAddress(a: SieveAddress, b: SieveAddress): boolean {
  return a.localPart !== null && b.localPart !== null && a.text.toLowerCase() === b.text.toLowerCase();
}

function parsed(s: string): SieveAddress | null {
  const a = parseEnvelopeAddress(s);
  return a !== null && a.localPart !== null ? a : null;
}

/**
 * The checks of RFC 5230 section 5 in Pigeonhole's order, against the envelope and the message: either why no
 * reply goes (Pigeonhole's log line), or the address the reply comes from: the first of the recipient, the
 * account's other addresses and :addresses found in To, Cc, Bcc, Resent-To, Resent-Cc or Resent-Bcc.
 */
export function vacationCheck(
  message: SieveMessage,
  params: VacationParams,
  ctx: VacationContext,
): { readonly refused: string } | { readonly replyFrom: string } {
  const recipient = ctx.envelope.to;
  if (recipient === '') return { refused: 'vacation action aborted: envelope recipient is <>' };
  const sender = parsed(ctx.envelope.from);
  if (sender === null) return { refused: 'discarded vacation reply to <>' };
  const own = [recipient, ...(ctx.envelope.originalTo ? [ctx.envelope.originalTo] : []), ...ctx.ownAddresses];
  if (own.some((a) => sameOwn(a, sender))) return { refused: `discarded vacation reply to own address <${sender.text}>` };
  const extra = params.addresses ?? [];
  if (extra.some((a) => sameOwn(a, sender)))
    return { refused: `discarded vacation reply to own address <${sender.text}> (as specified using :addresses argument)` };
  if (LIST_HEADERS.some((name) => message.hasHeader(name)))
    return { refused: `discarding vacation response to mailinglist recipient <${sender.text}>` };
  if (message.headerValues('auto-submitted', { decoded: false }).some((v) => v.toLowerCase() !== 'no'))
    return { refused: `discarding vacation response to auto-submitted message from <${sender.text}>` };
  for (const v of message.headerValues('precedence', { decoded: false })) {
    const p = v.toLowerCase();
    if (p === 'junk' || p === 'bulk' || p === 'list')
      return { refused: `discarding vacation response to precedence=${v} message from <${sender.text}>` };
  }
  if (isSystemAddress(sender.text)) return { refused: `not sending vacation response to system address <${sender.text}>` };
  const named = RECIPIENT_HEADERS.flatMap((h) => message.addresses(h));
  for (const candidate of [...own, ...extra]) {
    const mine = parsed(candidate);
    if (mine !== null && named.some((a) => sameAddress(a, mine))) return { replyFrom: mine.text };
  }
  return {
    refused:
      'discarding vacation response for implicitly delivered message; no known (envelope) recipient address found in message ' +
      `headers (recipient=<${recipient}>, and${extra.length === 0 ? ' no' : ''} additional \`:addresses' are specified)`,
  };
}

function sameOwn(own: string, sender: SieveAddress): boolean {
  const a = parsed(own);
  return a !== null && sameAddress(a, sender);
}

/** The default handle (RFC 5230 section 4.2): the arguments that shape the reply. */
function defaultHandle(params: VacationParams): string {
  return `${params.reason}\0${params.subject ?? ''}\0${params.from ?? ''}\0${params.mime ? 'mime' : ''}`;
}

/** The memory key: the sender and the handle, hashed (one per sender and vacation command). */
export function vacationKey(sender: string, params: VacationParams): string {
  const h = createHash('md5');
  h.update(sender.toLowerCase());
  h.update('\0');
  h.update(params.handle ?? defaultHandle(params));
  return `vacation:${h.digest('hex')}`;
}

/** RFC 5322 date-time of `now` in UTC. */
function rfc5322Date(now: Date): string {
  return now.toUTCString().replace(/GMT$/, '+0000');
}

/** A header value safe to write: non-ASCII text as RFC 2047 UTF-8 words, line breaks gone. */
function headerText(value: string): string {
  const flat = value.replace(/[\r\n]+/g, ' ');
  if (!/[^\x20-\x7e\t]/.test(flat)) return flat;
  return `=?UTF-8?B?${Buffer.from(flat).toString('base64')}?=`;
}

/**
 * Whether to answer, and the answer as Pigeonhole writes it: To the envelope sender, From :from (else the user's
 * address found in the message), Subject (:subject, else "Auto: " + the original one, else "Automated reply"),
 * In-Reply-To and References from the message's Message-ID and References, Auto-Submitted: auto-replied
 * (RFC 3834), Precedence: bulk, a new Message-ID and Date, the reason as a text/plain UTF-8 body (with :mime, the
 * MIME entity it is). The envelope: to the sender, from the null sender.
 */
export function vacationReply(message: SieveMessage, params: VacationParams, ctx: VacationContext): VacationDecision {
  const check = vacationCheck(message, params, ctx);
  if ('refused' in check) return { send: false, reason: check.refused };
  const to = parsed(ctx.envelope.from)!.text;
  const original = message.headerValues('subject')[0];
  const subject = params.subject ? params.subject : original !== undefined ? `Auto: ${original}` : 'Automated reply';
  const messageId = message.headerValues('message-id', { decoded: false })[0];
  const refs = message.headerValues('references', { decoded: false })[0];
  const host = ctx.hostname ?? 'postern';
  const lines = [
    'X-Sieve: Postern Sieve',
    `Message-ID: <${randomBytes(12).toString('hex')}.${ctx.now.getTime()}@${host}>`,
    `Date: ${rfc5322Date(ctx.now)}`,
    `From: ${params.from ? headerText(params.from) : `<${check.replyFrom}>`}`,
    `To: <${to}>`,
    `Subject: ${headerText([...subject].slice(0, 256).join(''))}`,
  ];
  if (messageId !== undefined) {
    lines.push(`In-Reply-To: ${messageId}`);
    lines.push(`References: ${refs !== undefined ? `${refs} ` : ''}${messageId}`);
  } else if (refs !== undefined) lines.push(`References: ${refs}`);
  // X-Auto-Response-Suppress: what Exchange reads to send no answer back (Pigeonhole 0.5.19 writes it too)
  lines.push('Auto-Submitted: auto-replied (vacation)', 'Precedence: bulk', 'X-Auto-Response-Suppress: All', 'MIME-Version: 1.0');
  if (!params.mime) lines.push('Content-Type: text/plain; charset=utf-8', 'Content-Transfer-Encoding: 8bit', '');
  const reply = Buffer.from(`${lines.join('\r\n')}\r\n${params.reason.replace(/\r?\n/g, '\r\n')}\r\n`);
  return {
    send: true,
    action: {
      kind: 'vacation',
      to,
      from: '',
      reply,
      key: vacationKey(to, params),
      periodSeconds: vacationPeriod(params.periodSeconds, ctx.periods),
    },
  };
}
