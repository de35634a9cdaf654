// An account's metadata entries (RFC 5464) in the file Dovecot 2.3 keeps them in with
// `mail_attribute_dict = file:%h/Maildir/dovecot-attributes` (its "file" dict, src/lib-dict/dict-file.c):
// a key line and a value line after each other, both tab-escaped (\001 as \0011, TAB as \001t, CR as
// \001r, LF as \001n; NUL as \0010 on reading), in no order. Keys are Dovecot's (index-attribute.c):
// "priv/GUID/KEY" for a private entry and "shared/GUID/KEY" for a shared one, GUID the mailbox's (the G
// of its dovecot-uidlist) and KEY the entry name without "/private/" or "/shared/"; the server entries
// are INBOX's, their KEY below "vendor/vendor.dovecot/pvt/server/". The file is replaced whole under
// dovecot-attributes.lock, the dotlock Dovecot's file dict takes (its default lock method), so neither
// server loses the other's changes.
import { readFile } from 'node:fs/promises';
import { acquireDotlock } from './dotlock.js';
import { replaceFile } from './replace-file.js';

export const ATTRIBUTES_FILE = 'dovecot-attributes';

/** Dovecot's tab escapes: the octet after \001, and the one it stands for. */
const UNESCAPED = new Map<number, number>([
  [0x30, 0x00],
  [0x31, 0x01],
  [0x74, 0x09],
  [0x72, 0x0d],
  [0x6e, 0x0a],
]);
const ESCAPED = new Map([...UNESCAPED].map(([letter, octet]) => [octet, letter]));

function tabUnescape(line: Buffer): Buffer {
  if (!line.includes(0x01)) return line;
  const out: number[] = [];
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (c === 0x01 && i + 1 < line.length) {
      const next = line[++i];
      out.push(UNESCAPED.get(next) ?? next);
    } else out.push(c);
  }
  return Buffer.from(out);
}

function tabEscape(value: Buffer): Buffer {
  if (!value.some((c) => ESCAPED.has(c))) return value;
  const out: number[] = [];
  for (const c of value) {
    const letter = ESCAPED.get(c);
    if (letter === undefined) out.push(c);
    else out.push(0x01, letter);
  }
  return Buffer.from(out);
}

/** The file's keys and values (a key without its value line, as a crash could leave, is dropped, as Dovecot drops it). */
export function parseAttributes(data: Buffer): Map<string, Buffer> {
  const dict = new Map<string, Buffer>();
  let at = 0;
  for (;;) {
    const keyEnd = data.indexOf(0x0a, at);
    if (keyEnd < 0) break;
    const valueEnd = data.indexOf(0x0a, keyEnd + 1);
    if (valueEnd < 0) break;
    dict.set(tabUnescape(data.subarray(at, keyEnd)).toString('utf8'), tabUnescape(data.subarray(keyEnd + 1, valueEnd)));
    at = valueEnd + 1;
  }
  return dict;
}

export function formatAttributes(dict: ReadonlyMap<string, Buffer>): Buffer {
  const parts: Buffer[] = [];
  const nl = Buffer.from('\n');
  for (const [key, value] of dict) parts.push(tabEscape(Buffer.from(key, 'utf8')), nl, tabEscape(value), nl);
  return Buffer.concat(parts);
}

/** The entries of the file at `path` (none when there is no file). */
export async function readAttributes(path: string): Promise<Map<string, Buffer>> {
  try {
    return parseAttributes(await readFile(path));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return new Map();
    throw err;
  }
}

/**
 * Changes the file under its lock: `change` gets the entries as they are now and changes them in place,
 * returning false when nothing changed (nothing is written then); the file is replaced whole (replace-file.ts).
 */
export async function changeAttributes(path: string, change: (dict: Map<string, Buffer>) => boolean): Promise<void> {
  const lock = await acquireDotlock(`${path}.lock`, { timeoutMs: 30_000, staleMs: 60_000, guarded: path });
  try {
    const dict = await readAttributes(path);
    if (!change(dict)) return;
    await replaceFile(path, formatAttributes(dict));
  } finally {
    await lock.release();
  }
}
