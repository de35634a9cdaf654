// What a local delivery makes of the octets it is given, before the store keeps them exactly as given
// (the store adds nothing: IMAP APPEND stores what the client sent, RFC 9051 6.3.12). A leading mbox
// "From " envelope line is dropped when the message comes from an MTA pipe (as dovecot-lda does); the
// final delivery's Return-Path goes on top (RFC 5321 4.4), and above it the header field a route adds
// (X-Real-To), in the message's own line-end style; a last line without a line ending gets one, as mail
// through an MTA always has.

export interface DeliveryEdits {
  /** Drop a leading mbox "From " line (`postern deliver`, bulletins). */
  readonly dropMboxFromLine?: boolean;
  /** The envelope sender, for the Return-Path line the final delivery adds (LMTP); '' for a null sender. */
  readonly returnPath?: string;
  /** One "Name: value" header field to put at the very top (a route's X-Real-To). */
  readonly extraHeader?: string;
}

/** The message's octets as a delivery stores them, in chunks. */
export async function* deliveredOctets(input: AsyncIterable<Buffer>, edits: DeliveryEdits = {}): AsyncGenerator<Buffer> {
  // Return-Path is the first line of what the delivery received: its style (CRLF) is the message's.
  let head: Buffer | null = edits.returnPath === undefined ? Buffer.alloc(0) : Buffer.from(`Return-Path: <${edits.returnPath}>\r\n`);
  let crlfStyle = false;
  let lastByte = -1;
  const out = (chunk: Buffer): Buffer => {
    if (chunk.length > 0) lastByte = chunk[chunk.length - 1];
    return chunk;
  };
  const fromLineMayCome = edits.dropMboxFromLine === true && edits.returnPath === undefined;
  for await (const raw of input) {
    let chunk = raw;
    if (head !== null) {
      head = Buffer.concat([head, chunk]);
      const nl = head.indexOf(10);
      if (nl < 0 && head.length < 4096) continue;
      crlfStyle = nl > 0 && head[nl - 1] === 13;
      const isFromLine = fromLineMayCome && nl >= 0 && head.subarray(0, 5).toString('latin1') === 'From ';
      chunk = isFromLine ? head.subarray(nl + 1) : head;
      head = null;
      if (edits.extraHeader) yield out(Buffer.from(`${edits.extraHeader}${crlfStyle ? '\r\n' : '\n'}`));
    }
    if (chunk.length > 0) yield out(chunk);
  }
  if (head !== null && head.length > 0) {
    // a short message with no line ending at all (or nothing but a Return-Path line)
    const nl = head.indexOf(10);
    crlfStyle = nl > 0 && head[nl - 1] === 13;
    if (edits.extraHeader) yield out(Buffer.from(`${edits.extraHeader}${crlfStyle ? '\r\n' : '\n'}`));
    yield out(head);
  }
  if (lastByte !== -1 && lastByte !== 10) yield out(Buffer.from(crlfStyle ? '\r\n' : '\n'));
}
