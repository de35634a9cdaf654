// A snapshot of one Maildir folder (see MailboxSnapshot in ../mail-store.ts). Lists new/ and cur/
// once; afterwards a message is found again by its base name if another session renamed it (a flag
// change) and reported gone if it was removed. Nothing is locked.
import { closeSync, openSync, readFileSync, readSync } from 'node:fs';
import { open, rename, unlink } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { join } from 'node:path';
import { type CommitResult, type MailboxSnapshot, MessageGoneError } from '../mail-store.js';
import { parseMaildirName, uidlFor, withFlags } from './filename.js';
import { findByBase, listFolder, RENAME_RETRIES } from './listing.js';
import { READ_NO_FOLLOW, type StoreLog } from './real-folders.js';
import { headerListsName } from './real-to.js';

type Sub = 'new' | 'cur';

interface Entry {
  sub: Sub;
  name: string;
  base: string;
  size: number;
  /** This session's own flag rename of the message, while it runs: reads wait for it. */
  renaming?: Promise<void>;
}

// readNow()'s buffer, shared by all snapshots: the process is single-threaded and every caller uses
// the bytes before it reads the next message. Messages larger than this are read into their own buffer.
const readBuffer = Buffer.allocUnsafe(256 * 1024 + 1);

export interface SnapshotOptions {
  /** Direct Mailbox Addressing: keep only messages whose `header` lists `name`. */
  realTo?: { header: string; name: string };
  /** Leave out messages with the Trashed (T) flag (deleteAction: flag). */
  hideTrashed?: boolean;
  /** Show at most this many messages, the oldest (messageMaximum); 0 or absent = all. */
  limit?: number;
}

/**
 * Runs `op` on the message's current path, following renames by other sessions (a flag change): the
 * entry is updated to where the message is now. MessageGoneError when it was removed, or when its name is
 * there and still cannot be opened (a dangling link).
 */
async function atCurrentPath<T>(folder: string, e: Entry, op: (path: string) => Promise<T>): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    // The name tried, not the entry's fields at the time of the failure: the session's own rename of the
    // same message may have moved the entry on meanwhile, and the new name is then worth a try.
    const { sub, name } = e;
    try {
      return await op(join(folder, sub, name));
    } catch (err) {
      // ELOOP: the file was replaced by a symbolic link, which is never followed (real-folders.ts)
      if ((err as NodeJS.ErrnoException).code === 'ELOOP') throw new MessageGoneError();
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT' || attempt >= RENAME_RETRIES) throw err;
      const now = e.sub !== sub || e.name !== name ? e : await findByBase(folder, e.base);
      if (!now || (now.sub === sub && now.name === name)) throw new MessageGoneError();
      e.sub = now.sub;
      e.name = now.name;
    }
  }
}

async function onlyAddressedTo(folder: string, entries: Entry[], realTo: { header: string; name: string }): Promise<Entry[]> {
  const kept: Entry[] = [];
  for (const e of entries) {
    try {
      if (await atCurrentPath(folder, e, (path) => headerListsName(path, realTo.header, realTo.name))) kept.push(e);
    } catch (err) {
      if (!(err instanceof MessageGoneError)) throw err; // removed meanwhile: not shown
    }
  }
  return kept;
}

export class MaildirSnapshot implements MailboxSnapshot {
  readonly count: number;
  readonly totalSize: number;

  private constructor(
    private readonly folder: string,
    private readonly entries: Entry[],
  ) {
    this.count = entries.length;
    this.totalSize = entries.reduce((sum, e) => sum + e.size, 0);
  }

  static async open(folder: string, options: SnapshotOptions = {}, log?: StoreLog): Promise<MaildirSnapshot> {
    const listing = await listFolder(folder, log);
    // The snapshot's entries follow renames during the session, so each session gets its own copies.
    let entries: Entry[] = [];
    for (const l of listing) {
      if (options.hideTrashed && l.flags.includes('T')) continue;
      entries.push({ sub: l.sub, name: l.name, base: l.base, size: l.size });
    }
    if (options.realTo) entries = await onlyAddressedTo(folder, entries, options.realTo);
    if (options.limit) entries = entries.slice(0, options.limit);
    return new MaildirSnapshot(folder, entries);
  }

  size(index: number): number {
    return this.entries[index].size;
  }

  uidl(index: number): string {
    return uidlFor(this.entries[index].base);
  }

  private path(e: Entry): string {
    return join(this.folder, e.sub, e.name);
  }

  /** Runs `op` on the message's current path, following renames by other sessions. */
  private withCurrentPath<T>(e: Entry, op: (path: string) => Promise<T>): Promise<T> {
    return atCurrentPath(this.folder, e, op);
  }

  async open(index: number): Promise<Readable> {
    const e = this.entries[index];
    if (e.renaming) await e.renaming;
    const handle = await this.withCurrentPath(e, (p) => open(p, READ_NO_FOLLOW));
    return handle.createReadStream({ highWaterMark: 128 * 1024 });
  }

  readNow(index: number): Buffer | null {
    const e = this.entries[index];
    if (e.renaming) return null; // our own Seen rename is under way: open() waits for it
    // A small message is read with direct system calls into one reused buffer: from the page cache that
    // takes microseconds, where the thread pool's round trips (open, fstat, read, close) and a fresh
    // buffer per message cost far more. The file is never larger than its POP size (that only adds CRs).
    let fd: number;
    try {
      fd = openSync(this.path(e), READ_NO_FOLLOW);
    } catch (err) {
      // renamed or removed meanwhile, or replaced by a link: open() follows the rename or says it is gone
      if ((err as NodeJS.ErrnoException).code === 'ENOENT' || (err as NodeJS.ErrnoException).code === 'ELOOP') return null;
      throw err;
    }
    try {
      if (e.size >= readBuffer.length) return readFileSync(fd);
      let length = 0;
      for (;;) {
        const n = readSync(fd, readBuffer, length, readBuffer.length - length, length);
        length += n;
        // Exactly the POP size: a CRLF message, complete. Otherwise read until the end of the file.
        if (n === 0 || length === e.size || length === readBuffer.length) break;
      }
      // Larger than its POP size: not what the name said (rewritten in place); read it as it is now.
      if (length > e.size) return readFileSync(fd);
      return readBuffer.subarray(0, length);
    } finally {
      closeSync(fd);
    }
  }

  seen(index: number): boolean {
    const e = this.entries[index];
    return e.sub === 'cur' && parseMaildirName(e.name).flags.includes('S');
  }

  /**
   * Adds a flag letter by renaming into cur/, keeping the flags other agents set. Renames of one message
   * by this session run one after another, and reads of it wait for them (see Entry.renaming).
   */
  private addFlag(e: Entry, flag: string): Promise<void> {
    const previous = e.renaming;
    const task = (async () => {
      if (previous) await previous.catch(() => {});
      await this.withCurrentPath(e, async (from) => {
        const flags = parseMaildirName(e.name).flags;
        if (e.sub === 'cur' && flags.includes(flag)) return;
        const name = withFlags(e.name, `${flags}${flag}`);
        await rename(from, join(this.folder, 'cur', name));
        e.sub = 'cur';
        e.name = name;
      });
    })();
    e.renaming = task;
    const clear = () => {
      if (e.renaming === task) e.renaming = undefined;
    };
    task.then(clear, clear);
    return task;
  }

  async markSeen(index: number): Promise<void> {
    try {
      await this.addFlag(this.entries[index], 'S');
    } catch (err) {
      if (!(err instanceof MessageGoneError)) throw err;
    }
  }

  /** Runs `op` on each message; a message already gone counts as done, an I/O error as failed. */
  private async each(indexes: readonly number[], op: (e: Entry) => Promise<void>): Promise<CommitResult> {
    let removed = 0;
    let failed = 0;
    for (const index of indexes) {
      try {
        await op(this.entries[index]);
        removed++;
      } catch (err) {
        if (err instanceof MessageGoneError) removed++;
        else failed++;
      }
    }
    return { removed, failed };
  }

  async flagTrashed(indexes: readonly number[]): Promise<CommitResult> {
    return this.each(indexes, (e) => this.addFlag(e, 'T'));
  }

  async moveTo(indexes: readonly number[], target: string): Promise<CommitResult> {
    return this.each(indexes, (e) => this.withCurrentPath(e, (from) => rename(from, join(target, e.sub, e.name))));
  }

  async commit(indexes: readonly number[]): Promise<CommitResult> {
    return this.each(indexes, (e) => this.withCurrentPath(e, (p) => unlink(p)));
  }
}
