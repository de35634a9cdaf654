// A message on its way into a store, the same for every store: a leading mbox "From " envelope line is
// dropped when the message comes from an MTA pipe (as dovecot-lda does), an extra header field can be
// put at the top (X-Real-To), and a delivered message's last line without a line ending gets one (as
// mail through an MTA always has); IMAP APPEND stores exactly the octets it was given.
import { CrlfSizeCounter } from './crlf-size.js';

export interface MessageInputOptions {
  /** One "Name: value" header field to add at the top. */
  extraHeader?: string;
  /** Drop a leading mbox "From " line (a message piped in by an MTA). */
  dropMboxFromLine?: boolean;
  /** Store the octets exactly as given (IMAP APPEND, RFC 9051 6.3.12): no line end added to a last line. */
  exact?: boolean;
}

/** The message's bytes as stored, in chunks; `counter` (if given) counts their CRLF size on the way. */
export async function* prepareMessage(input: AsyncIterable<Buffer>, options: MessageInputOptions = {}, counter?: CrlfSizeCounter): AsyncGenerator<Buffer> {
  let head: Buffer | null = Buffer.alloc(0); // the first line, while we look at it
  let crlfStyle = false;
  let lastByte = -1;
  const out = (chunk: Buffer): Buffer => {
    counter?.add(chunk);
    if (chunk.length > 0) lastByte = chunk[chunk.length - 1];
    return chunk;
  };
  for await (const raw of input) {
    let chunk = raw;
    if (head !== null) {
      head = Buffer.concat([head, chunk]);
      const nl = head.indexOf(10);
      if (nl < 0 && head.length < 4096) continue;
      crlfStyle = nl > 0 && head[nl - 1] === 13;
      const isFromLine = options.dropMboxFromLine && nl >= 0 && head.subarray(0, 5).toString('latin1') === 'From ';
      chunk = isFromLine ? head.subarray(nl + 1) : head;
      head = null;
      if (options.extraHeader) yield out(Buffer.from(`${options.extraHeader}${crlfStyle ? '\r\n' : '\n'}`));
    }
    if (chunk.length > 0) yield out(chunk);
  }
  if (head !== null && head.length > 0) {
    // a short message with no line ending at all
    if (options.extraHeader) yield out(Buffer.from(`${options.extraHeader}\n`));
    yield out(head);
  }
  if (!options.exact && lastByte !== -1 && lastByte !== 10) yield out(Buffer.from(crlfStyle ? '\r\n' : '\n'));
}

/** The CRLF size of a whole message held in memory. */
export function crlfSize(bytes: Buffer): number {
  const c = new CrlfSizeCounter();
  c.add(bytes);
  return c.size;
}
