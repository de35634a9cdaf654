// A message APPENDed as a literal8 (RFC 3516 section 4.4, RFC 9051 section 6.3.12) may carry parts whose
// Content-Transfer-Encoding is "binary": octets, NUL included, that BODY[...] must never send (a
// literal8 is only for BINARY[...], and RFC 9051 section 4.3 forbids NUL in a literal). As Dovecot does
// (its binary converter on APPEND), each such part is stored base64-encoded, in lines of 76 characters,
// with its Content-Transfer-Encoding field rewritten to "base64" where it was: the file is an ordinary
// MIME message that every client, and Dovecot on the same tree, reads alike, BINARY[part] gives back
// exactly the octets the client sent, and BINARY.SIZE counts them. Everything else is stored as sent.
import { parseMime, type MimePart } from '../../../mime/mime-tree.js';

const LINE = 76;

function isBinary(part: MimePart): boolean {
  return part.kind !== 'multipart' && part.kind !== 'message' && part.data.encoding?.toString('latin1').trim().toLowerCase() === 'binary';
}

function hasBinary(part: MimePart): boolean {
  if (isBinary(part)) return true;
  if (part.kind === 'message' && part.message) return hasBinary(part.message);
  return part.children.some(hasBinary);
}

function base64Lines(body: Buffer): Buffer {
  const text = body.toString('base64');
  const lines: string[] = [];
  for (let i = 0; i < text.length; i += LINE) lines.push(text.slice(i, i + LINE));
  return Buffer.from(lines.join('\r\n'));
}

function render(raw: Buffer, part: MimePart, out: Buffer[]): number {
  // returns where the caller goes on copying from
  if (isBinary(part)) {
    let pos = part.headerStart;
    for (const f of part.fields) {
      if (f.name !== 'content-transfer-encoding') continue;
      out.push(raw.subarray(pos, f.start));
      const crlf = raw[f.end - 1] === 0x0a && raw[f.end - 2] === 0x0d;
      out.push(Buffer.from(`Content-Transfer-Encoding: base64${raw[f.end - 1] === 0x0a ? (crlf ? '\r\n' : '\n') : ''}`));
      pos = f.end;
    }
    out.push(raw.subarray(pos, part.bodyStart));
    out.push(base64Lines(raw.subarray(part.bodyStart, part.bodyEnd)));
    return part.bodyEnd;
  }
  let pos = part.headerStart;
  const inner = part.kind === 'message' && part.message ? [part.message] : part.children;
  for (const child of inner) {
    out.push(raw.subarray(pos, child.headerStart));
    pos = render(raw, child, out);
  }
  return pos;
}

/** The message as it is stored: parts in binary encoding base64-encoded; the same buffer when there are none. */
export function encodeBinaryParts(raw: Buffer): Buffer {
  const root = parseMime(raw);
  if (!hasBinary(root)) return raw;
  const out: Buffer[] = [];
  const end = render(raw, root, out);
  out.push(raw.subarray(end));
  return Buffer.concat(out);
}
