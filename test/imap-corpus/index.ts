// The IMAP message corpus: MIME messages written for the FETCH tests (test/unit/imap-message.test.ts and
// the differential test against Dovecot, test/interop/imap-message-dovecot.test.ts). The .eml files are kept
// with LF line ends for easy editing; load() gives them as the server hands them to modules/imap/message:
// every line ending in CRLF (bare LF turned into CRLF, as the server does before parsing).
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const CORPUS_DIR = dirname(fileURLToPath(import.meta.url));

/** The corpus file names, in corpus order (their numeric prefix). */
export const CORPUS: readonly string[] = readdirSync(CORPUS_DIR)
  .filter((name) => name.endsWith('.eml'))
  .sort();

/** Bare LF to CRLF (CR already before an LF is kept). */
export function toCrlf(raw: Buffer): Buffer {
  const out: number[] = [];
  for (let i = 0; i < raw.length; i++) {
    if (raw[i] === 0x0a && (i === 0 || raw[i - 1] !== 0x0d)) out.push(0x0d);
    out.push(raw[i]);
  }
  return Buffer.from(out);
}

/** One corpus message as CRLF bytes. */
export function load(name: string): Buffer {
  return toCrlf(readFileSync(join(CORPUS_DIR, name)));
}
