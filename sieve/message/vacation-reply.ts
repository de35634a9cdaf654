// vacation (RFC 5230, RFC 6131 :seconds): whether to answer at all (RFC 5230 section 5 and Pigeonhole's own
// checks), and the answer itself. No answer to the null sender, to system addresses (MAILER-DAEMON, LISTSERV,
// majordomo, owner-*, *-request), to one of the user's own addresses, to mail marked Auto-Submitted (other
// than "no"), Precedence bulk/list/junk, to list mail (List-Id and the RFC 2369 List-* fields), nor when none
// of the user's addresses (or :addresses) is in To, Cc, Bcc or the Resent-* fields (the user got it as a Bcc of
// a list, or by a forward). The answer goes to the envelope sender only, from the null sender; the one who
// carries it out checks `key` (sender and handle) against the account's memory for the period.
import { createHash, randomBytes } from 'node:crypto';
import type { SieveAction, SieveEnvelope } from '../outcome.js';
import { type SieveAddress, parseEnvelopeAddress } from './address-part.js';
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
  if (p < periods.min && p !== 0) p = periods.min;
  if (periods.max > 0 && p > periods.max) p = periods.max;
  return Math.max(p, 0);
}

/** Addresses of mail systems that must not be answered (RFC 5230 section 4.5; Pigeonhole's list). */
export function isSystemAddress(address: SieveAddress): boolean {
  const local = (address.localPart ?? '').toLowerCase();
  return (
    local === 'mailer-daemon' ||
    local === 'listserv' ||
    local === 'majordomo' ||
    local.startsWith('owner-') ||
    local.endsWith('-request') ||
    local.endsWith('-owner')
  );
}

/** Two addresses alike: the local part compared exactly, the domain ignoring case (RFC 5321 section 2.4). */
export function sameAddress(a: SieveAddress, b: SieveAddress): boolean {
  return a.localPart !== null && a.localPart === b.localPart && (a.domain ?? '').toLowerCase() === (b.domain ?? '').toLowerCase();
}

function parseOwn(list: readonly string[]): SieveAddress[] {
  return list.map((s) => parseEnvelopeAddress(s)).filter((a): a is SieveAddress => a !== null && a.localPart !== null);
}

/** The RFC 5230 section 5 checks against the message; null: a reply may go, else why not. */
export function vacationRefusal(message: SieveMessage, params: VacationParams, ctx: VacationContext): string | null {
  const sender = parseEnvelopeAddress(ctx.envelope.from);
  if (sender === null) return 'discarded vacation reply to <>';
  const mine = parseOwn([ctx.envelope.originalTo ?? ctx.envelope.to, ctx.envelope.to, ...ctx.ownAddresses, ...(params.addresses ?? [])]);
  if (mine.some((a) => sameAddress(a, sender))) return `discarded vacation reply to own address <${sender.text}>`;
  if (isSystemAddress(sender)) return `not sending vacation reply to system address <${sender.text}>`;
  for (const name of LIST_HEADERS)
    if (message.hasHeader(name)) return `discarding vacation response to mailinglist recipient <${sender.text}>`;
  for (const v of message.headerValues('auto-submitted', { decoded: false }))
    if (
      v
        .trim()
        .toLowerCase()
        .split(/[\s;(]/)[0] !== 'no'
    )
      return `discarding vacation response to auto-submitted message from <${sender.text}>`;
  for (const v of message.headerValues('precedence', { decoded: false })) {
    const p = v.trim().toLowerCase();
    if (p === 'junk' || p === 'bulk' || p === 'list')
      return `discarding vacation response to precedence=${p} message from <${sender.text}>`;
  }
  const named = RECIPIENT_HEADERS.flatMap((h) => message.addresses(h));
  if (!named.some((a) => mine.some((m) => sameAddress(a, m))))
    return `discarding vacation response for message implicitly delivered to <${ctx.envelope.to}>`;
  return null;
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
  return now
    .toUTCString()
    .replace(/GMT$/, '+0000')
    .replace(/^(\w+), 0?(\d+)/, '$1, $2');
}

/** A header value safe to write: non-ASCII text as RFC 2047 UTF-8 words, line breaks gone. */
function headerText(value: string): string {
  const flat = value.replace(/[\r\n]+/g, ' ');
  if (!/[^\x20-\x7e\t]/.test(flat)) return flat;
  return `=?UTF-8?B?${Buffer.from(flat).toString('base64')}?=`;
}

/**
 * Whether to answer, and the answer: To the envelope sender, From :from (else the recipient), Subject (:subject
 * or "Auto: " + the original one), In-Reply-To and References from the message's Message-ID, Auto-Submitted:
 * auto-replied (RFC 3834), Precedence: bulk, a new Message-ID and Date, the reason as a text/plain UTF-8 body
 * (or, with :mime, as the MIME entity it is). The envelope: to the sender, from the null sender.
 */
export function vacationReply(message: SieveMessage, params: VacationParams, ctx: VacationContext): VacationDecision {
  const refusal = vacationRefusal(message, params, ctx);
  if (refusal !== null) return { send: false, reason: refusal };
  const sender = parseEnvelopeAddress(ctx.envelope.from)!;
  const to = sender.text;
  const from = params.from ?? ctx.envelope.originalTo ?? ctx.envelope.to;
  const original = message.headerValues('subject')[0]?.trim() ?? '';
  const subject = params.subject ?? `Auto: ${original}`;
  const messageId = message.headerValues('message-id', { decoded: false })[0]?.trim();
  const refs = message.headerValues('references', { decoded: false })[0]?.replace(/\s+/g, ' ').trim();
  const host = ctx.hostname ?? 'postern';
  const lines = [
    `Message-ID: <${randomBytes(12).toString('hex')}.${ctx.now.getTime()}@${host}>`,
    `Date: ${rfc5322Date(ctx.now)}`,
    `From: ${headerText(from)}`,
    `To: <${to}>`,
    `Subject: ${headerText(subject)}`,
  ];
  if (messageId) {
    lines.push(`In-Reply-To: ${messageId}`);
    lines.push(`References: ${refs ? `${refs} ` : ''}${messageId}`);
  }
  lines.push('Auto-Submitted: auto-replied (vacation)', 'Precedence: bulk', 'MIME-Version: 1.0');
  let body: string;
  if (params.mime) body = params.reason.replace(/\r?\n/g, '\r\n');
  else {
    lines.push('Content-Type: text/plain; charset=utf-8', 'Content-Transfer-Encoding: 8bit');
    body = `\r\n${params.reason.replace(/\r?\n/g, '\r\n')}`;
  }
  if (!body.endsWith('\r\n')) body += '\r\n';
  const reply = Buffer.from(`${lines.join('\r\n')}\r\n${body}`);
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
