// The decisions of a run printed as Pigeonhole's sieve-test prints them (`postern sieve test`, README "Sieve"):
// a "Performed actions:" list, then the "Implicit keep:" one, each "(none)" when empty; a failed run prints its
// error and the keep it fell back to, as sieve-test reports a run-time error; a script that does not compile
// prints the compiler's lines. The corpus of test/interop/sieve-pigeonhole.test.ts holds the form to sieve-test's.
import type { SieveAction, SieveOutcome } from './outcome.js';

type Store = Extract<SieveAction, { kind: 'store' }>;
type Vacation = Extract<SieveAction, { kind: 'vacation' }>;

/** The system flags in the order sieve-test lists them (Dovecot's: \answered \flagged \deleted \seen \draft). */
const SYSTEM_FLAGS = ['\\answered', '\\flagged', '\\deleted', '\\seen', '\\draft'];

/** sieve-test shows the system flags first, in lower case and in Dovecot's order, then the keywords as written. */
function printedFlags(flags: readonly string[]): string {
  const system = flags.filter((f) => f.startsWith('\\')).map((f) => f.toLowerCase());
  const keywords = flags.filter((f) => !f.startsWith('\\'));
  const known = SYSTEM_FLAGS.filter((f) => system.includes(f));
  const other = [...new Set(system.filter((f) => !SYSTEM_FLAGS.includes(f)))];
  return [...known, ...other, ...keywords].join(' ');
}

/** sieve-test shows each control character of a reason (CR and LF of a multi-line one included) as '?'. */
function printable(text: string): string {
  return text.replace(/[\x00-\x1f\x7f]/g, '?');
}

/** `copied`: the implicit keep still stands beside this store (RFC 3894 :copy), which sieve-test notes. */
function storeLines(a: Store, copied: boolean): string[] {
  const lines = [` * store message in folder: ${a.mailbox}`];
  if (a.create) lines.push('        + create mailbox if it does not exist');
  if (copied) lines.push('        + preserve implicit keep');
  if (a.flags.length > 0) lines.push(`        + add IMAP flags: ${printedFlags(a.flags)}`);
  return lines;
}

/** The reply's header fields (unfolded) and its body. */
function splitReply(reply: Buffer): { fields: Map<string, string>; body: string } {
  const text = reply.toString('utf8');
  const end = text.search(/\r?\n\r?\n/);
  const head = end < 0 ? text : text.slice(0, end);
  const body = end < 0 ? '' : text.slice(end).replace(/^\r?\n\r?\n/, '');
  const fields = new Map<string, string>();
  for (const field of head.split(/\r?\n(?![ \t])/)) {
    const colon = field.indexOf(':');
    if (colon > 0)
      fields.set(
        field.slice(0, colon).trim().toLowerCase(),
        field
          .slice(colon + 1)
          .replace(/\r?\n/g, '')
          .trim(),
      );
  }
  return { fields, body };
}

// RFC 5230 section 4: sieve-test lists the period, the subject and from of the reply, the handle, then the reason.
// Postern shows the reply as it will go out (its Subject and From, defaults applied) and its memory key as handle.
function vacationLines(a: Vacation): string[] {
  const { fields, body } = splitReply(a.reply);
  const lines = [' * send vacation message:', `    => seconds : ${a.periodSeconds}`];
  const subject = fields.get('subject');
  if (subject !== undefined) lines.push(`    => subject : ${subject}`);
  lines.push(`    => from    : ${fields.get('from') ?? a.from}`);
  lines.push(`    => handle  : ${a.key}`, '', 'START MESSAGE');
  lines.push(...body.replace(/\r?\n$/, '').split(/\r?\n/));
  lines.push('END MESSAGE');
  return lines;
}

function actionLines(a: SieveAction, copied: boolean): string[] {
  switch (a.kind) {
    case 'store':
      return storeLines(a, copied);
    case 'discard':
      return [' * discard'];
    case 'redirect':
      return [` * redirect message to: <${a.address}>`, ...(copied ? ['        + preserve implicit keep'] : [])];
    case 'reject':
      return [` * reject message with reason: ${printable(a.reason)}`];
    case 'vacation':
      return vacationLines(a);
  }
}

function section(title: string, lines: string[]): string[] {
  return ['', `${title}:`, '', ...(lines.length > 0 ? lines : ['  (none)'])];
}

/** The outcome in sieve-test's form (its standard output, then the final result line for a failed run). */
export function describeOutcome(outcome: SieveOutcome): string {
  if (outcome.error !== null) {
    // sieve-test prints a run-time error and that it fell back to the implicit keep (RFC 5228 section 2.10.6).
    const error =
      /^\S+: (line \d+: )?error: /.test(outcome.error) || outcome.error.startsWith('error: ') ? outcome.error : `error: ${outcome.error}`;
    return `${error}\nfinal result: failed; resolved with successful implicit keep\n`;
  }
  const implicit = outcome.actions.filter((a): a is Store => a.kind === 'store' && a.implicit);
  // A store or redirect that left the implicit keep standing was a :copy one (any other cancels it, RFC 5228
  // section 2.10.2). Each id the duplicate test tracked is an action of its own in sieve-test's list (RFC 7352).
  const tracked = outcome.remember.filter((r) => r.key.startsWith('duplicate:')).map(() => ' * track duplicate');
  const performed = outcome.actions.filter((a) => !(a.kind === 'store' && a.implicit)).flatMap((a) => actionLines(a, implicit.length > 0));
  const kept = implicit.flatMap((a) => storeLines(a, false));
  return `${[...section('Performed actions', [...tracked, ...performed]), ...section('Implicit keep', kept)].join('\n')}\n\n`;
}

/** A script that does not compile: the compiler's lines (SieveCompileError.messages), then sieve-test's verdict. */
export function describeCompileError(err: { readonly messages: readonly string[] }): string {
  return `${[...err.messages, 'failed to compile sieve script'].join('\n')}\n`;
}
