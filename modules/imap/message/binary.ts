// FETCH BINARY[<part>] and BINARY.SIZE (RFC 3516 sections 4.1-4.3, RFC 9051 section 6.4.5): the
// content with its Content-Transfer-Encoding undone. For a message/rfc822 or multipart part and for
// BINARY[] (the whole message) the parts inside are decoded in place and their header says
// "Content-Transfer-Encoding: binary" instead (as Dovecot does). 7bit, 8bit and binary stay as they are;
// any other encoding is 'unknown-cte' (the server answers NO [UNKNOWN-CTE]). Content-* fields of a
// message without MIME-Version or Content-Type mean nothing (RFC 2045 section 4): its body is as is.
import type { MimePart } from '../../../mime/mime-tree.js';
import { resolvePart } from './part-path.js';
import { decodeBase64, decodeQuotedPrintable } from '../../../mime/transfer-decode.js';

class UnknownCte extends Error {}

const CTE_BINARY = Buffer.from('Content-Transfer-Encoding: binary\r\n');

/** The decoded body of a single part, or null when its encoding is an identity one. */
function decoded(raw: Buffer, part: MimePart): Buffer | null {
  const enc = part.data.encoding?.toString('latin1').toLowerCase() ?? null;
  if (enc === null || enc === '7bit' || enc === '8bit' || enc === 'binary') return null;
  const body = raw.subarray(part.bodyStart, part.bodyEnd);
  if (enc === 'base64') return decodeBase64(body);
  if (enc === 'quoted-printable') return decodeQuotedPrintable(body);
  throw new UnknownCte();
}

/** The part's header with its Content-Transfer-Encoding fields replaced by "binary". */
function binaryHeader(raw: Buffer, part: MimePart): Buffer {
  const out: Buffer[] = [];
  let lastEnd = part.headerStart;
  for (const f of part.fields) {
    if (f.name !== 'content-transfer-encoding') continue;
    out.push(raw.subarray(lastEnd, f.start));
    lastEnd = f.end;
  }
  const fieldsEnd = part.fieldsEnd;
  out.push(raw.subarray(lastEnd, Math.max(lastEnd, fieldsEnd)));
  if (fieldsEnd > part.headerStart && raw[fieldsEnd - 1] !== 0x0a) out.push(Buffer.from('\r\n'));
  out.push(CTE_BINARY, raw.subarray(Math.max(lastEnd, fieldsEnd), part.headerEnd));
  return Buffer.concat(out);
}

/** The part (its header too when `withHeader`) with every encoded part inside decoded. */
function render(raw: Buffer, part: MimePart, withHeader: boolean, out: Buffer[]): void {
  if (part.kind === 'multipart' && part.children.length > 0) {
    if (withHeader) out.push(raw.subarray(part.headerStart, part.headerEnd));
    let pos = part.bodyStart;
    for (const child of part.children) {
      out.push(raw.subarray(pos, child.headerStart));
      render(raw, child, true, out);
      pos = child.bodyEnd;
    }
    out.push(raw.subarray(pos, part.bodyEnd));
  } else if (part.kind === 'message' && part.message) {
    if (withHeader) out.push(raw.subarray(part.headerStart, part.headerEnd));
    render(raw, part.message, true, out);
    out.push(raw.subarray(part.message.bodyEnd, part.bodyEnd));
  } else {
    const body = decoded(raw, part);
    if (body === null) out.push(raw.subarray(withHeader ? part.headerStart : part.bodyStart, part.bodyEnd));
    else {
      if (withHeader) out.push(binaryHeader(raw, part));
      out.push(body);
    }
  }
}

/** BINARY[part] (part [] = the whole message); null: no such part (the server sends an empty string). */
export function binaryBytes(raw: Buffer, root: MimePart, part: number[]): Buffer | 'unknown-cte' | null {
  const target = part.length === 0 ? root : resolvePart(root, part);
  if (target === null) return null;
  const out: Buffer[] = [];
  try {
    render(raw, target, part.length === 0, out);
  } catch (e) {
    if (e instanceof UnknownCte) return 'unknown-cte';
    throw e;
  }
  return Buffer.concat(out);
}
