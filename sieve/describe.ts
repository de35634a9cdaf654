// The decisions of a run printed as Pigeonhole's sieve-test prints them (`postern sieve test`, README "Sieve"):
// a "Performed actions:" list, then the "Implicit keep:" one, each "(none)" when empty; a failed run prints its
// error and the keep it fell back to, as sieve-test reports a run-time error; a script that does not compile
// prints the compiler's lines. The corpus of test/interop/sieve-pigeonhole.test.ts holds the form to sieve-test's.
import type { SieveAction, SieveOutcome } from './outcome.js';

type Store = Extract<SieveAction, { kind: 'store' }>;
type Vacation = Extract<SieveAction, { kind: 'vacation' }>;

/** sieve-test shows a system flag in lower case (\seen), a keyword as written. */
function printedFlag(flag: string): string {
  return flag.startsWith('\\') ? flag.toLowerCase() : flag;
}

/** sieve-test shows each control character of a reason (CR and LF of a multi-line one included) as '?'. */
function printable(text: string): string {
  return text.replace(/[\x00-\x1f\x7f]/g, '?');
}

function storeLines(a: Store): string[] {
  const lines = [` * store message in folder: ${a.mailbox}`];
  if (a.create) lines.push('        + create mailbox if it does not exist');
  if (a.flags.length > 0) lines.push(`        + add IMAP flags: ${a.flags.map(printedFlag).join(' ')}`);
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

function actionLines(a: SieveAction): string[] {
  switch (a.kind) {
    case 'store':
      return storeLines(a);
    case 'discard':
      return [' * discard'];
    case 'redirect':
      return [` * redirect message to: <${a.address}>`];
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
  const performed = outcome.actions.filter((a) => !(a.kind === 'store' && a.implicit)).flatMap(actionLines);
  const implicit = outcome.actions.filter((a): a is Store => a.kind === 'store' && a.implicit).flatMap(storeLines);
  return `${[...section('Performed actions', performed), ...section('Implicit keep', implicit)].join('\n')}\n\n`;
}

/** A script that does not compile: the compiler's lines (SieveCompileError.messages), then sieve-test's verdict. */
export function describeCompileError(err: { readonly messages: readonly string[] }): string {
  return `${[...err.messages, 'failed to compile sieve script'].join('\n')}\n`;
}
