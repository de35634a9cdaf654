// APPEND (RFC 9051 section 6.3.12, APPENDUID from UIDPLUS RFC 4315, APPENDLIMIT RFC 7889). The message
// literal is streamed to the store's staged append as it arrives, never held whole; it is checked
// (mailbox, rights, size) before the "+" that lets the client send it, and committed only once the
// command has ended well. Flags the user may not set are dropped (RFC 4314 section 4).
import type { Command, ImapContext } from '../context.js';
import { bad, no } from '../imap-error.js';
import { requireRightOrTryCreate } from '../access.js';
import { encodeBinaryParts } from '../message/binary-append.js';
import { mailboxArg } from './mailbox-commands.js';
import { parseFlags } from './store.js';
import { quoteClient } from '../wire/client-text.js';

const MONTHS = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'];

/** date-time (RFC 9051 section 9): "dd-Mon-yyyy hh:mm:ss +zzzz", the day may have a leading space. */
export function parseDateTime(text: string): Date {
  const m = /^ ?(\d{1,2})-([A-Za-z]{3})-(\d{4}) (\d{2}):(\d{2}):(\d{2}) ([+-])(\d{2})(\d{2})$/.exec(text);
  const month = m ? MONTHS.indexOf(m[2].toUpperCase()) : -1;
  if (!m || month < 0) throw bad(`${quoteClient(text, 40)} is not an IMAP date-time such as "01-Dec-2026 10:15:00 +0000"`);
  const offset = (m[7] === '-' ? -1 : 1) * (Number(m[8]) * 60 + Number(m[9]));
  const utc = Date.UTC(Number(m[3]), month, Number(m[1]), Number(m[4]), Number(m[5]), Number(m[6])) - offset * 60_000;
  const date = new Date(utc);
  if (Number.isNaN(date.getTime()) || date.getUTCDate() !== new Date(Date.UTC(Number(m[3]), month, Number(m[1]))).getUTCDate()) throw bad(`${quoteClient(text, 40)} is not a valid date`);
  return date;
}

async function* binaryAppendData(input: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of input) chunks.push(chunk);
  yield encodeBinaryParts(Buffer.concat(chunks));
}

function rightFor(flag: string): string {
  return flag === '\\Seen' ? 's' : flag === '\\Deleted' ? 't' : 'w';
}

export async function append(s: ImapContext, c: Command): Promise<string> {
  const a = c.args;
  a.sp();
  const { target } = mailboxArg(s, a);
  a.sp();
  let flags: string[] = [];
  let internalDate: Date | undefined;
  if (a.peek() === 0x28) {
    flags = parseFlags(a, 'required');
    a.sp();
  }
  if (a.peek() === 0x22) {
    internalDate = parseDateTime(a.string('a date-time'));
    a.sp();
  }
  let inMemory: Buffer | null = null;
  let literal8 = c.literal?.binary ?? false;
  if (!c.literal) {
    // the message came as a literal read with the command (after a mailbox name sent as a literal)
    if (!a.atLiteral()) a.fail('the message as a literal ({size})');
    literal8 = a.atLiteral8();
    inMemory = a.stringBytes('the message', true);
    a.end();
  } else if (!a.atEnd()) a.fail('the message as a literal ({size})');
  const size = c.literal?.size ?? inMemory!.length;
  if (size > s.settings.maxAppend) throw no(`The message is too large (${size} octets; the limit is ${s.settings.maxAppend})`, 'TOOBIG');
  if (size === 0) throw no('The message is empty');
  const rights = await requireRightOrTryCreate(s, target, 'i', 'add messages');
  flags = flags.filter((f) => rights.includes(rightFor(f)));
  let data: AsyncIterable<Buffer> = c.literal ? s.literalData(c.literal) : (async function* () { yield inMemory!; })();
  // RFC 3516 section 4.4: binary parts are stored base64-encoded (binary-append.ts), so the message is
  // read whole first (at most maxAppend octets, as any literal); other APPENDs stream to the store.
  if (literal8) data = binaryAppendData(data);
  const staged = await s.services.store.append(target.owner, target.mailbox, data, { flags, internalDate, exact: true });
  try {
    if (c.literal) await s.finishCommand();
  } catch (err) {
    await staged.abort();
    throw err;
  }
  const appended = await staged.commit();
  s.counted('appended', 1);
  return `[APPENDUID ${appended.uidValidity} ${appended.uid}] APPEND completed`;
}
