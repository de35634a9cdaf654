// The account's quota usage in the Maildir++ `maildirsize` file at the Maildir root, read and written as
// Dovecot's `quota = maildir` backend does (docs/architecture.md, Quota), so Dovecot and Postern count
// alike on one tree:
//   the first line holds the limits, "<octets>S,<count>C" ("0S" with none); each line after it is a
//   change "<octets> <count>" (negative for a removal), appended with O_APPEND; the usage is their sum.
// The file is counted again (rewritten whole through a temporary file and a rename) when it is missing,
// damaged (a line that is no pair of numbers, a NUL, a negative sum), 5120 octets or more, when its
// limits line differs from the account's limits, or when it says the account is over quota and it has
// more than one change line or is older than 15 minutes (a count that may be wrong is not trusted to
// refuse mail). A count sums every file of new/ and cur/ of the root and of every ".Folder" (Trash too),
// each by the S= of its name, or its size on disk without one; when a folder changed while it was
// counted, the count is used but not written (Dovecot's rule), and the next look counts again.
import { open, readdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../../lib/atomic-file.js';
import { OverQuotaError } from '../quota/over-quota.js';
import { limited, NO_LIMITS, overLimit, type QuotaReport, type QuotaValues } from '../quota/quota.js';
import { inheritOwner } from './owner.js';

export const MAILDIRSIZE = 'maildirsize';
/** A file this large is counted again (the Maildir++ quota spec; Dovecot reads at most this). */
const MAX_OCTETS = 5120;
/** An over-quota sum older than this is counted again before it refuses mail. */
const STALE_MS = 15 * 60 * 1000;

/** The limits line as Dovecot writes it: "0S" when there are none. */
export function limitsLine(limits: QuotaValues): string {
  const parts: string[] = [];
  if (limits.storage > 0 || limits.messages === 0) parts.push(`${limits.storage}S`);
  if (limits.messages > 0) parts.push(`${limits.messages}C`);
  return parts.join(',');
}

/** The limits a limits line gives (0: none), or null when it is not one. */
function parseLimits(line: string): QuotaValues | null {
  let storage = 0;
  let messages = 0;
  for (const part of line.split(',')) {
    const m = /^(\d+)([SC])$/.exec(part);
    if (!m) return null;
    if (m[2] === 'S') storage = Number(m[1]);
    else messages = Number(m[1]);
  }
  return { storage, messages };
}

/** What a maildirsize file says: its limits, the usage its lines add up to, how many change lines. */
export interface MaildirsizeContents {
  readonly limits: QuotaValues;
  readonly usage: QuotaValues;
  readonly lines: number;
}

/** The file's text read as Dovecot reads it; null when it is damaged (it must be counted again). */
export function parseMaildirsize(data: Buffer): MaildirsizeContents | null {
  if (data.length >= MAX_OCTETS) return null;
  // a last line without its LF is one a writer has not finished: left out
  const end = data.lastIndexOf(10);
  if (end < 0 || data.subarray(0, end).includes(0)) return null;
  const [first, ...rest] = data.toString('latin1', 0, end).split('\n');
  const limits = parseLimits(first);
  if (!limits || rest.length === 0) return null;
  let storage = 0;
  let messages = 0;
  for (const line of rest) {
    const m = /^\s*([+-]?\d+)\s+([+-]?\d+)/.exec(line);
    if (!m) return null;
    storage += Number(m[1]);
    messages += Number(m[2]);
  }
  if (storage < 0 || messages < 0) return null;
  return { limits, usage: { storage, messages }, lines: rest.length };
}

/** The octets a message file counts for: the S= of its name, as Dovecot reads it (",S=digits" then ":", "," or the end). */
export function sizeInName(name: string): number | undefined {
  const at = name.indexOf(',S=');
  if (at < 0) return undefined;
  let i = at + 3;
  let value = 0;
  for (; i < name.length && name.charCodeAt(i) >= 48 && name.charCodeAt(i) <= 57; i++) value = value * 10 + (name.charCodeAt(i) - 48);
  return i === name.length || name[i] === ':' || name[i] === ',' ? value : undefined;
}

/** The message files of one folder of new/ or cur/: octets and count (a folder that is gone counts nothing). */
export async function sumFolder(dir: string): Promise<QuotaValues> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return NO_LIMITS;
    throw err;
  }
  let storage = 0;
  let messages = 0;
  for (const name of names) {
    if (name === '.' || name === '..' || name.startsWith('..')) continue;
    let size = sizeInName(name);
    if (size === undefined) {
      try {
        size = (await stat(join(dir, name))).size;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue; // removed meanwhile
        throw err;
      }
    }
    storage += size;
    messages++;
  }
  return { storage, messages };
}

/** The new/ and cur/ folders of every mailbox of the Maildir at `root` (INBOX is the root itself). */
async function messageFolders(root: string): Promise<string[]> {
  const folders = [join(root, 'new'), join(root, 'cur')];
  const entries = await readdir(root, { withFileTypes: true }).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return []; // no Maildir yet: nothing to count
    throw err;
  });
  for (const e of entries) {
    if (!e.isDirectory() || !e.name.startsWith('.') || e.name === '.' || e.name === '..') continue;
    folders.push(join(root, e.name, 'new'), join(root, e.name, 'cur'));
  }
  return folders;
}

/** The newest modification time of the folders (0 for those that are gone). */
async function newestChange(folders: readonly string[]): Promise<number> {
  const times = await Promise.all(
    folders.map((f) =>
      stat(f).then(
        (s) => s.mtimeMs,
        () => 0,
      ),
    ),
  );
  return Math.max(0, ...times);
}

/** Counts every message of the Maildir at `root`; `settled` is false when a folder changed meanwhile. */
export async function countMaildir(root: string): Promise<{ usage: QuotaValues; settled: boolean }> {
  const folders = await messageFolders(root);
  const before = await newestChange(folders);
  let storage = 0;
  let messages = 0;
  for (const folder of folders) {
    const sum = await sumFolder(folder);
    storage += sum.storage;
    messages += sum.messages;
  }
  return { usage: { storage, messages }, settled: (await newestChange(folders)) === before };
}

/** The file's contents and age; null when there is none. */
async function readFileHead(path: string): Promise<{ data: Buffer; mtimeMs: number } | null> {
  let handle: import('node:fs/promises').FileHandle;
  try {
    handle = await open(path, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
  try {
    const buffer = Buffer.alloc(MAX_OCTETS + 1);
    let at = 0;
    for (;;) {
      const { bytesRead } = await handle.read(buffer, at, buffer.length - at, at);
      if (bytesRead === 0 || (at += bytesRead) >= buffer.length) break;
    }
    return { data: buffer.subarray(0, at), mtimeMs: (await handle.stat()).mtimeMs };
  } finally {
    await handle.close();
  }
}

/**
 * One account's quota over its Maildir root. The store checks the room and notes each change through it;
 * checks and changes of one account in this process take turns (a check and the placing it allows are
 * one step), and other processes (Dovecot, another Postern) append their own lines to the same file.
 */
export class MaildirQuota {
  constructor(
    readonly root: string,
    private readonly limitsOf: () => Promise<QuotaValues>,
  ) {}

  private get path(): string {
    return join(this.root, MAILDIRSIZE);
  }

  /** The usage the file says, when it can be trusted with these limits; null when it must be counted again. */
  private async trusted(limits: QuotaValues): Promise<QuotaValues | null> {
    const head = await readFileHead(this.path);
    if (!head) return null;
    const contents = parseMaildirsize(head.data);
    if (!contents || limitsLine(contents.limits) !== limitsLine(limits)) return null;
    if (overLimit(NO_LIMITS, limits, contents.usage) !== null && (contents.lines > 1 || head.mtimeMs < Date.now() - STALE_MS)) return null;
    return contents.usage;
  }

  /** Counts the Maildir again; the file is rewritten when the count is settled and there are limits to keep it for. */
  private async recount(limits: QuotaValues): Promise<QuotaValues> {
    const { usage, settled } = await countMaildir(this.root);
    if (settled && limited(limits)) {
      await writeFileAtomic(this.path, `${limitsLine(limits)}\n${usage.storage} ${usage.messages}\n`);
      await inheritOwner(this.path);
    }
    return usage;
  }

  /** The usage and the limits (the usage counted again when the file cannot be trusted). */
  async report(): Promise<QuotaReport> {
    const limits = await this.limitsOf();
    return { usage: (await this.trusted(limits)) ?? (await this.recount(limits)), limits };
  }

  /** Counts again whatever the file says (`postern quota recalc`). */
  async recalculate(): Promise<QuotaReport> {
    const limits = await this.limitsOf();
    return { usage: await this.recount(limits), limits };
  }

  /** OverQuotaError when `add` does not fit now (an early look: withRoom() looks again as it places). */
  async check(add: QuotaValues): Promise<void> {
    await this.checkWith(await this.limitsOf(), add);
  }

  private async checkWith(limits: QuotaValues, add: QuotaValues): Promise<void> {
    if (!limited(limits)) return;
    const over = overLimit((await this.trusted(limits)) ?? (await this.recount(limits)), limits, add);
    if (over) throw new OverQuotaError(over);
  }

  /**
   * Runs `place` when `add` fits the quota, then notes the change; OverQuotaError (nothing placed) when it
   * does not. `place` returns the change it made (what it placed may be less than `add`: messages gone).
   */
  async withRoom<T>(add: QuotaValues, place: () => Promise<{ result: T; added: QuotaValues }>): Promise<T> {
    return this.inTurn(async () => {
      // the limits read once for the look and the note (each read looks at account.json: once per delivery)
      const limits = await this.limitsOf();
      await this.checkWith(limits, add);
      const { result, added } = await place();
      await this.noteNow(limits, added);
      return result;
    });
  }

  /** Notes messages removed or moved out (negative values) or in. */
  async changed(change: QuotaValues): Promise<void> {
    if (change.storage === 0 && change.messages === 0) return;
    await this.inTurn(async () => this.noteNow(await this.limitsOf(), change));
  }

  /** Appends the change when the file can be trusted, else counts again (the change is on disk already). */
  private async noteNow(limits: QuotaValues, change: QuotaValues): Promise<void> {
    if (!limited(limits) || (change.storage === 0 && change.messages === 0)) return;
    if ((await this.trusted(limits)) === null) {
      await this.recount(limits);
      return;
    }
    // one write of one line with O_APPEND: lines of other writers are never mixed into it
    await writeFile(this.path, `${change.storage} ${change.messages}\n`, { flag: 'a' });
  }

  private inTurn<T>(work: () => Promise<T>): Promise<T> {
    const previous = turns.get(this.root) ?? Promise.resolve();
    const turn = previous.then(work, work);
    const tail = turn.then(
      () => {},
      () => {},
    );
    turns.set(this.root, tail);
    void tail.then(() => {
      if (turns.get(this.root) === tail) turns.delete(this.root);
    });
    return turn;
  }
}

/** The last turn of each account's quota in this process, by Maildir root (gone when idle). */
const turns = new Map<string, Promise<void>>();
