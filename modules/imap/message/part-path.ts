// Section part numbers (RFC 9051 section 6.4.5): "1" of a message that is not multipart is its body;
// the parts of a multipart count from 1; a number after a message/rfc822 (or message/global) part goes
// into the embedded message. Like Dovecot, a part that is not multipart answers to one ".1" (itself),
// not to two.
import type { MimePart } from '../../../mime/mime-tree.js';

export function resolvePart(root: MimePart, path: readonly number[]): MimePart | null {
  let part: MimePart | undefined = root;
  let selfUsed = false;
  for (let i = 0; i < path.length; i++) {
    const n = path[i];
    if (!Number.isInteger(n) || n < 1) return null;
    if (part.kind === 'multipart') {
      part = part.children[n - 1];
      selfUsed = false;
      if (part === undefined) return null;
    } else {
      if (n !== 1 || selfUsed) return null;
      selfUsed = true;
    }
    if (i < path.length - 1 && part.kind === 'message' && part.message) {
      part = part.message;
      selfUsed = false;
    }
  }
  return part;
}
