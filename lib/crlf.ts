// Messages as IMAP sends them: every line ending CRLF (RFC 9051 section 2.3.1), nothing added or removed
// otherwise (an unterminated last line stays so, as in Dovecot), so that what goes out is exactly
// RFC822.SIZE octets (the store's CRLF size, store/crlf-size.ts, counts the same way).
const CRLF = Buffer.from('\r\n');

/** The message with CRLF line ends (the same buffer when nothing needs to change). */
export function toCrlf(raw: Buffer): Buffer {
  let bare = 0;
  for (let i = raw.indexOf(10); i !== -1; i = raw.indexOf(10, i + 1)) if (i === 0 || raw[i - 1] !== 13) bare++;
  if (bare === 0) return raw;
  const out = Buffer.allocUnsafe(raw.length + bare);
  let o = 0;
  let start = 0;
  for (let i = raw.indexOf(10); i !== -1; i = raw.indexOf(10, i + 1)) {
    if (i > 0 && raw[i - 1] === 13) continue;
    o += raw.copy(out, o, start, i);
    out[o++] = 13;
    out[o++] = 10;
    start = i + 1;
  }
  raw.copy(out, o, start);
  return out;
}

/** The same, chunk by chunk (a large message streamed into the socket), with the state between chunks. */
export class CrlfConverter {
  private lastWasCr = false;

  convert(chunk: Buffer): Buffer {
    if (chunk.length === 0) return chunk;
    let parts: Buffer[] | null = null;
    let start = 0;
    for (let i = chunk.indexOf(10); i !== -1; i = chunk.indexOf(10, i + 1)) {
      const before = i > 0 ? chunk[i - 1] === 13 : this.lastWasCr;
      if (before) continue;
      (parts ??= []).push(chunk.subarray(start, i), CRLF);
      start = i + 1;
    }
    this.lastWasCr = chunk[chunk.length - 1] === 13;
    if (parts === null) return chunk; // CRLF already: passed on as it is, no copy
    if (start < chunk.length) parts.push(chunk.subarray(start));
    return Buffer.concat(parts);
  }
}
