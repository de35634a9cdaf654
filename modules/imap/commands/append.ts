// APPEND (RFC 9051 section 6.3.12, APPENDUID from UIDPLUS RFC 4315, APPENDLIMIT RFC 7889, MULTIAPPEND
// RFC 3502). Each message literal is streamed to the store's staged append as it arrives, never held
// whole; it is checked (mailbox, rights, size) before the "+" that lets the client send it, and committed
// only once the command has ended well. Flags the user may not set are dropped (RFC 4314 section 4).
import type { Command, ImapContext } from '../context.js';
import { bad, no } from '../imap-error.js';
import { requireRightOrTryCreate } from '../access.js';
import { encodeBinaryParts } from '../message/binary-append.js';
import { mailboxArg } from './mailbox-commands.js';
import { parseFlags } from './store.js';
import { parseDateTime } from '../wire/date-time.js';
import { formatSet } from '../wire/sequence-set.js';
import type { Cursor } from '../wire/cursor.js';
import type { StagedMessage } from '../../../store/contract.js';

async function* binaryAppendData(input: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of input) chunks.push(chunk);
  yield encodeBinaryParts(Buffer.concat(chunks));
}

function rightFor(flag: string): string {
  return flag === '\\Seen' ? 's' : flag === '\\Deleted' ? 't' : 'w';
}

/** One message of an APPEND: its options, then its octets (in the command's parts, or a literal still to stream). */
function messageOptions(a: Cursor): { flags: string[]; internalDate?: Date } {
  let flags: string[] = [];
  let internalDate: Date | undefined;
  if (a.peek() === 0x28) {
    flags = parseFlags(a, 'required');
    a.sp();
  }
  if (a.peek() === 0x22) {
    const parsed = parseDateTime(a.string('a date-time'));
    if (!parsed) throw bad('Invalid date-time: expected one such as "06-Mar-2025 01:00:00 +0200"');
    internalDate = parsed;
    a.sp();
  }
  return { flags, internalDate };
}

/** RFC 9755 section 4 (UTF8=ACCEPT): "UTF8 (" before the message's literal8; true when it is there. */
function utf8Data(s: ImapContext, a: Cursor): boolean {
  if (!a.peekAtom('UTF8')) return false;
  if (!s.enabled.has('UTF8=ACCEPT')) throw bad('APPEND with UTF8 needs ENABLE UTF8=ACCEPT first');
  a.atom();
  a.sp();
  a.expect(0x28, '"(" after UTF8');
  return true;
}

// RFC 3502 (MULTIAPPEND): several messages in one command, all or nothing. Each is staged in the store
// as it arrives; all are committed together (store.commitAll: one quota check for the batch) only once
// the command has ended well, and every staged one is dropped when any of them is refused or the client
// goes away mid-way.
export async function append(s: ImapContext, c: Command): Promise<string> {
  const a = c.args;
  a.sp();
  const { target } = mailboxArg(s, a);
  a.sp();
  let args = a;
  let literal = c.literal;
  let rights: string | null = null;
  const staged: StagedMessage[] = [];
  let stagedOctets = 0;
  try {
    for (;;) {
      const options = messageOptions(args);
      const utf8 = utf8Data(s, args);
      let inMemory: Buffer | null = null;
      let literal8 = literal?.binary ?? false;
      if (!literal) {
        // the message came as a literal read with the command (after a mailbox name sent as a literal)
        if (!args.atLiteral()) args.fail('the message as a literal ({size})');
        literal8 = args.atLiteral8();
        inMemory = args.stringBytes('the message', true);
      } else if (!args.atEnd()) args.fail('the message as a literal ({size})');
      if (utf8 && !literal8) throw bad('UTF8 takes the message as a literal8 (~{size})');
      const size = literal?.size ?? inMemory!.length;
      if (size > s.settings.maxAppend)
        throw no(`The message is too large (${size} octets; the limit is ${s.settings.maxAppend})`, 'TOOBIG');
      if (size === 0) throw no('The message is empty');
      rights ??= await requireRightOrTryCreate(s, target, 'i', 'add messages');
      // Over quota is answered before the "+" (as Dovecot does when the size is known): the client need not
      // send what cannot be kept. The literal's octets stand for the stored ones (a binary part grows when
      // stored): the store looks again, exactly, as it places the messages.
      await s.services.store.checkRoom(target.owner, { storage: stagedOctets + size, messages: staged.length + 1 });
      stagedOctets += size;
      const flags = options.flags.filter((f) => rights!.includes(rightFor(f)));
      let data: AsyncIterable<Buffer> = literal
        ? s.literalData(literal)
        : (async function* () {
            yield inMemory!;
          })();
      // RFC 3516 section 4.4: binary parts are stored base64-encoded (binary-append.ts), so the message is
      // read whole first (at most maxAppend octets, as any literal); other APPENDs stream to the store.
      // RFC 9755 section 4: a UTF8 message (RFC 6532 headers) is kept as it is, not as binary parts
      if (literal8 && !utf8) data = binaryAppendData(data);
      staged.push(await s.services.store.append(target.owner, target.mailbox, data, { flags, internalDate: options.internalDate }));
      if (literal) ({ args, literal } = await s.continueCommand());
      if (utf8) args.expect(0x29, '")" closing the UTF8 message');
      if (args.atEnd() && !literal) break;
      args.sp();
    }
  } catch (err) {
    await Promise.all(staged.map((m) => m.abort().catch(() => {})));
    throw err;
  }
  // all of them or none: the store checks the quota for the whole batch as it places it
  const appended = await s.services.store.commitAll(staged);
  const uids = appended.map((m) => m.uid);
  const uidValidity = appended[0].uidValidity;
  s.counted('appended', uids.length);
  return `[APPENDUID ${uidValidity} ${formatSet(uids)}] APPEND completed`;
}
