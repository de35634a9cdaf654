// The subscriptions file at the root of an account's Maildir, as Dovecot 2.3 keeps it
// (src/lib-storage/list/subscription-file.c). Version 2, which Dovecot writes in new files: "V\t2\n\n",
// then one mailbox per line, its levels in modified UTF-7 joined by TAB (TAB, CR, LF and \001 in a
// level escaped as \001t, \001r, \001n, \0011). Version 1 (no header; levels joined by ".", the
// Maildir++ separator) is kept as version 1. It is written through subscriptions.lock, renamed over it.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DELIMITER } from '../contract.js';
import { acquireDotlock } from './dotlock.js';
import { decodeMutf7, encodeMutf7 } from '../../lib/mutf7.js';
import { replaceFile } from './replace-file.js';

const FILE = 'subscriptions';
const V2 = 'V\t2\n\n';

function unescapeLevel(s: string): string {
  return s.replace(/\x01([1trn])/g, (_, c: string) => ({ '1': '\x01', t: '\t', r: '\r', n: '\n' })[c]!);
}

function escapeLevel(s: string): string {
  return s.replace(/[\x01\t\r\n]/g, (c) => ({ '\x01': '\x011', '\t': '\x01t', '\r': '\x01r', '\n': '\x01n' })[c]!);
}

interface Parsed {
  version: 1 | 2;
  names: string[];
}

function parse(text: string): Parsed {
  const version = text.startsWith(V2) ? 2 : 1;
  const body = version === 2 ? text.slice(V2.length) : text;
  const names: string[] = [];
  for (const line of body.split('\n')) {
    if (line === '') continue;
    const levels = version === 2 ? line.split('\t').map(unescapeLevel) : line.split('.');
    const name = levels.map(decodeMutf7).join(DELIMITER);
    names.push(name.toUpperCase() === 'INBOX' ? 'INBOX' : name);
  }
  return { version, names };
}

function format(p: Parsed): string {
  const lines = p.names.map((n) => {
    const levels = n.split(DELIMITER).map(encodeMutf7);
    return p.version === 2 ? levels.map(escapeLevel).join('\t') : levels.join('.');
  });
  return (p.version === 2 ? V2 : '') + lines.map((l) => `${l}\n`).join('');
}

async function read(root: string): Promise<Parsed | null> {
  try {
    return parse(await readFile(join(root, FILE), 'utf8'));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}

export async function readSubscriptions(root: string): Promise<string[]> {
  return (await read(root))?.names ?? [];
}

/** Adds (or removes) one name, under the lock; a file that is unchanged is not written. */
export async function changeSubscription(root: string, name: string, subscribed: boolean): Promise<void> {
  const path = join(root, FILE);
  const lock = await acquireDotlock(`${path}.lock`, { timeoutMs: 30_000, staleMs: 30_000, guarded: path });
  try {
    const current = (await read(root)) ?? { version: 2, names: [] };
    const has = current.names.includes(name);
    if (has === subscribed) return;
    const names = subscribed ? [...current.names, name] : current.names.filter((n) => n !== name);
    await replaceFile(path, Buffer.from(format({ version: current.version, names }), 'utf8'));
  } finally {
    await lock.release();
  }
}
