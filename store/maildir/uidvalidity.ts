// UIDVALIDITY for a new mailbox, from the counter Dovecot keeps at the root of a Maildir tree
// (src/lib-storage/mailbox-uidvalidity.c): dovecot-uidvalidity holds the last value given, as 8 hex
// digits, and an empty companion file dovecot-uidvalidity.<8 hex> carries the same value; taking the
// next one is renaming the companion to the next value, which only one process can do.
import { open, readdir, readFile, rename, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { inheritOwner } from './owner.js';

const FILE = 'dovecot-uidvalidity';
const hex = (n: number) => n.toString(16).padStart(8, '0');

let lastGiven = 0;

/** The next UIDVALIDITY of the tree rooted at `root` (the account's Maildir). */
export async function nextUidValidity(root: string): Promise<number> {
  let current: number | null = null;
  try {
    const text = (await readFile(join(root, FILE), 'latin1')).slice(0, 8);
    if (/^[0-9a-f]{8}$/i.test(text)) current = parseInt(text, 16);
  } catch {
    // missing: rescan below
  }
  if (current !== null) {
    for (let i = 0; i < 10; i++, current++) {
      const next = await taken(root, current);
      if (next !== null) return next;
    }
  }
  return rescan(root);
}

/** Renames the companion of `current` to current+1; the new value, or null when it was not there. */
async function taken(root: string, current: number): Promise<number | null> {
  const next = (current + 1) >>> 0 || 1;
  try {
    await rename(join(root, `${FILE}.${hex(current)}`), join(root, `${FILE}.${hex(next)}`));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
  await writeValue(root, next);
  return next;
}

async function rescan(root: string): Promise<number> {
  const companions = (await readdir(root))
    .map((n) => /^dovecot-uidvalidity\.([0-9a-f]{8})$/i.exec(n)?.[1])
    .filter((h): h is string => h !== undefined)
    .map((h) => parseInt(h, 16))
    .sort((a, b) => a - b);
  if (companions.length > 0) {
    const largest = companions.at(-1)!;
    if (companions[0] !== largest) {
      try {
        await unlink(join(root, `${FILE}.${hex(companions[0])}`));
      } catch {
        // someone else did
      }
    }
    const next = await taken(root, largest);
    if (next !== null) return next;
  }
  // nothing yet: start from the current time, as Dovecot does
  for (let value = Math.max(Math.floor(Date.now() / 1000), lastGiven + 1); ; value++) {
    const companion = join(root, `${FILE}.${hex(value)}`);
    try {
      await (await open(companion, 'wx', 0o444)).close();
      await inheritOwner(companion, { created: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') continue;
      throw err;
    }
    await writeValue(root, value);
    return value;
  }
}

async function writeValue(root: string, value: number): Promise<void> {
  lastGiven = value;
  // usually there already (and then not necessarily Postern's): its owner is looked at
  await writeFile(join(root, FILE), hex(value), { encoding: 'latin1', mode: 0o600 });
  await inheritOwner(join(root, FILE));
}
