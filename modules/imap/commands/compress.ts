// COMPRESS (RFC 4978 section 3): after sign-in, DEFLATE is the one mechanism. The tagged OK is the last
// answer sent as it is; every octet after it, both ways, is DEFLATE data (sessions/compression.ts).
import { quoteClient } from '../../../sessions/client-text.js';
import type { Command, ImapContext } from '../context.js';
import { bad, no } from '../imap-error.js';

export function compress(s: ImapContext, c: Command): null {
  c.args.sp();
  const mechanism = c.args.atom('a compression mechanism (DEFLATE)');
  c.args.end();
  if (s.compressed) throw no('DEFLATE compression is already active', 'COMPRESSIONACTIVE');
  if (mechanism.toUpperCase() !== 'DEFLATE') throw bad(`Unknown compression mechanism ${quoteClient(mechanism, 20)}; DEFLATE is supported`);
  s.startCompression();
  return null;
}
