// Every part of a parsed message with the section number that names it (RFC 9051 section 6.4.5), the
// inverse of modules/imap/message/part-path.ts: what the differential tests against Dovecot fetch.
import type { MimePart } from '../../mime/mime-tree.js';

export function numberedParts(root: MimePart): [number[], MimePart][] {
  const out: [number[], MimePart][] = [];
  const children = (part: MimePart, path: number[]) => {
    if (part.kind === 'multipart') for (const [i, c] of part.children.entries()) visit(c, [...path, i + 1]);
    else visit(part, [...path, 1]);
  };
  const visit = (part: MimePart, path: number[]) => {
    out.push([path, part]);
    if (part.kind === 'multipart') children(part, path);
    else if (part.kind === 'message' && part.message) children(part.message, path);
  };
  children(root, []);
  return out;
}
