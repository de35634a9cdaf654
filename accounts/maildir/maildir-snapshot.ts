// A snapshot of one Maildir folder (see MailboxSnapshot in ../mail-store.ts). Lists new/ and cur/
// once; afterwards a message is found again by its base name if another session renamed it (a flag
// change) and reported gone if it was removed. Nothing is locked.
import { readFileSync } from 'node:fs';
import { open, readdir, rename, unlink } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { join } from 'node:path';
import { type CommitResult, type MailboxSnapshot, MessageGoneError } from '../mail-store.js';
import { parseMaildirName, uidlFor, withFlags } from './filename.js';
import { listFolder } from './listing.js';
import { headerListsName } from './real-to.js';

type Sub = 'new' | 'cur';

interface Entry {
  sub: Sub;
  name: string;
  base: string;
  size: number;
}

const RENAME_RETRIES = 5;

export interface SnapshotOptions {
  /** Direct Mailbox Addressing: keep only messages whose `header` lists `name`. */
  realTo?: { header: string; name: string };
  /** Leave out messages with the Trashed (T) flag (deleteAction: flag). */
  hideTrashed?: boolean;
  /** Show at most this many messages, the oldest (messageMaximum); 0 or absent = all. */
  limit?: number;
}

async function onlyAddressedTo(folder: string, entries: Entry[], realTo: { header: string; name: string }): Promise<Entry[]> {
  const kept: Entry[] = [];
  for (const e of entries) {
    try {
      if (await headerListsName(join(folder, e.sub, e.name), realTo.header, realTo.name)) kept.push(e);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err; // removed meanwhile: not shown
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

  static async open(folder: string, options: SnapshotOptions = {}): Promise<MaildirSnapshot> {
    const listing = await listFolder(folder);
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

  /** Finds where a message is now, after another session renamed it; false when it is gone. */
  private async relocate(e: Entry): Promise<boolean> {
    for (const sub of ['cur', 'new'] as const) {
      for (const name of await readdir(join(this.folder, sub))) {
        if (name.startsWith(e.base) && parseMaildirName(name).base === e.base) {
          e.sub = sub;
          e.name = name;
          return true;
        }
      }
    }
    return false;
  }

  /** Runs `op` on the message's current path, following renames by other sessions. */
  private async withCurrentPath<T>(e: Entry, op: (path: string) => Promise<T>): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await op(this.path(e));
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT' || attempt >= RENAME_RETRIES) throw err;
        if (!(await this.relocate(e))) throw new MessageGoneError();
      }
    }
  }

  async open(index: number): Promise<Readable> {
    const handle = await this.withCurrentPath(this.entries[index], (p) => open(p, 'r'));
    return handle.createReadStream({ highWaterMark: 128 * 1024 });
  }

  async read(index: number): Promise<Buffer> {
    // A small message is read with direct system calls: from the page cache that takes microseconds,
    // where the thread pool's four round trips (open, fstat, read, close) cost far more per message.
    return this.withCurrentPath(this.entries[index], async (p) => readFileSync(p));
  }

  /** Adds a flag letter by renaming into cur/, keeping the flags other agents set. */
  private async addFlag(e: Entry, flag: string): Promise<void> {
    await this.withCurrentPath(e, async (from) => {
      const flags = parseMaildirName(e.name).flags;
      if (e.sub === 'cur' && flags.includes(flag)) return;
      const name = withFlags(e.name, `${flags}${flag}`);
      await rename(from, join(this.folder, 'cur', name));
      e.sub = 'cur';
      e.name = name;
    });
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
