// dovecot-keywords: which keyword a letter a-z in a Maildir file name stands for, as Dovecot 2.3 keeps
// it (src/lib-storage/index/maildir/maildir-keywords.c): one line "<index> <name>" per used slot 0-25,
// letter a + index. It is written only while dovecot-uidlist.lock is held, through
// dovecot-keywords.lock renamed over it, and its modification time (in whole seconds) must grow on
// every change: that is the only way Dovecot notices one. A slot is never renumbered or reused.
import { open, readFile, rename, stat, unlink, utimes } from 'node:fs/promises';
import { join } from 'node:path';
import { MailboxOperationError, MailError } from '../contract.js';
import { inheritOwner } from './owner.js';

const FILE = 'dovecot-keywords';
export const KEYWORD_SLOTS = 26;

export class KeywordTable {
  constructor(
    /** Slot index -> keyword name (undefined: free). */
    readonly slots: readonly (string | undefined)[],
    /** The file's modification time when read, in whole seconds (0: no file). */
    readonly mtime: number,
  ) {}

  /** The keyword a letter stands for; a letter with no entry is "unknown-<index>", as Dovecot names it. */
  nameOf(letter: string): string {
    const index = letter.charCodeAt(0) - 97;
    return this.slots[index] ?? `unknown-${index}`;
  }

  /** The letter of a keyword (names compare without case), or undefined when it has none yet. */
  letterOf(name: string): string | undefined {
    const lower = name.toLowerCase();
    const index = this.slots.findIndex((s) => s !== undefined && s.toLowerCase() === lower);
    return index < 0 ? undefined : String.fromCharCode(97 + index);
  }
}

export async function readKeywords(folder: string): Promise<KeywordTable> {
  let text: string;
  let mtime = 0;
  try {
    text = await readFile(join(folder, FILE), 'utf8');
    mtime = Math.floor((await stat(join(folder, FILE))).mtimeMs / 1000);
  } catch {
    return new KeywordTable([], 0);
  }
  const slots: (string | undefined)[] = [];
  for (const line of text.split('\n')) {
    const space = line.indexOf(' ');
    if (space <= 0) continue;
    const index = Number(line.slice(0, space));
    const name = line.slice(space + 1);
    if (!Number.isInteger(index) || index < 0 || index >= KEYWORD_SLOTS || name === '') continue;
    slots[index] = name;
  }
  return new KeywordTable(slots, mtime);
}

/**
 * Gives each of `names` a letter, adding the new ones in the lowest free slots. The caller holds
 * dovecot-uidlist.lock and passes the table it read under it. Throws MailboxOperationError when the 26
 * letters are used up.
 */
export async function addKeywords(folder: string, table: KeywordTable, names: readonly string[]): Promise<KeywordTable> {
  const slots = [...table.slots];
  let changed = false;
  for (const name of names) {
    const lower = name.toLowerCase();
    if (slots.some((s) => s !== undefined && s.toLowerCase() === lower)) continue;
    let free = 0;
    while (free < KEYWORD_SLOTS && slots[free] !== undefined) free++;
    if (free >= KEYWORD_SLOTS)
      throw new MailboxOperationError(
        MailError.NOTPOSSIBLE,
        `this mailbox has no room for more keywords (a Maildir holds ${KEYWORD_SLOTS})`,
      );
    slots[free] = name;
    changed = true;
  }
  if (!changed) return table;
  const lock = join(folder, `${FILE}.lock`);
  await unlink(lock).catch(() => {}); // the uidlist lock is ours: nobody else may be using this one
  const handle = await open(lock, 'wx', 0o600);
  try {
    await handle.writeFile(slots.map((s, i) => (s === undefined ? '' : `${i} ${s}\n`)).join(''), 'utf8');
    await handle.sync();
  } finally {
    await handle.close();
  }
  await inheritOwner(lock, { created: true });
  const written = Math.floor((await stat(lock)).mtimeMs / 1000);
  if (written <= table.mtime) {
    const t = new Date((table.mtime + 1) * 1000);
    await utimes(lock, t, t);
  }
  await rename(lock, join(folder, FILE));
  return new KeywordTable(slots, Math.max(written, table.mtime + 1));
}
