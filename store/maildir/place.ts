// Putting messages into a Maildir folder: written whole into tmp/ first (every write checked, synced,
// the length checked: nothing half-written is ever shown), then placed: under the uidlist lock, each is
// renamed into new/ (no flags) or cur/ (with its flag letters) and given the next UID, as Dovecot's
// own saves do. A crash before the rename leaves the file only in tmp/, never shown, and the sender was
// not told it was stored.
import { link, lstat, open, unlink, utimes } from 'node:fs/promises';
import { checkLengthQuick, closeQuick, closeQuietly, fsyncFd, openQuick, writeAllQuick } from '../../lib/quick-fs.js';
import { join } from 'node:path';
import { checkLength, syncDir, writeAll } from '../../lib/atomic-file.js';
import { CrlfSizeCounter } from '../crlf-size.js';
import { EmptyMessageError } from '../contract.js';
import { newBaseName } from './filename.js';
import { keywordsWithoutLetter, lettersOf } from './flags.js';
import type { MaildirFolder } from './folder.js';
import { addKeywords } from './keywords.js';
import { inheritOwner, ownedAsFolder } from './owner.js';
import { READ_NO_FOLLOW } from './real-folders.js';
import { guidField } from '../object-ids.js';

const FLUSH_AT = 256 * 1024;

/** A message file in tmp/, waiting to be placed. */
export interface Written {
  /** Its path in tmp/. */
  readonly tmp: string;
  /** Its base name once placed: "SECS.M…P…Q….HOST,S=<size>,W=<crlf size>". */
  readonly base: string;
  readonly size: number;
  /** The CRLF size, when known (a copy keeps its source's). */
  readonly crlfSize?: number;
}

/** Writes a message from `input` into tmp/ of `folder`. EmptyMessageError when there is none. */
export async function writeToTmp(folder: string, input: AsyncIterable<Buffer>): Promise<Written> {
  const unique = newBaseName();
  const tmp = join(folder, 'tmp', unique);
  // opened, written and closed in place when allowed, synced off the event loop (lib/quick-fs.ts: a few dozen
  // calls per delivery)
  const fd = await openQuick(tmp, 'wx', 0o600);
  const counter = new CrlfSizeCounter();
  let size = 0;
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  const flush = async () => {
    if (pendingBytes === 0) return;
    const data = pending.length === 1 ? pending[0] : Buffer.concat(pending);
    pending = [];
    pendingBytes = 0;
    await writeAllQuick(fd, data);
  };
  try {
    await inheritOwner(tmp, { created: true });
    for await (const chunk of input) {
      counter.add(chunk);
      size += chunk.length;
      pending.push(chunk);
      pendingBytes += chunk.length;
      if (pendingBytes >= FLUSH_AT) await flush();
    }
    if (size === 0) throw new EmptyMessageError();
    await flush();
    await fsyncFd(fd);
    // The size the name will carry must be what the file holds.
    await checkLengthQuick(fd, size);
  } catch (err) {
    await closeQuietly(fd);
    await unlink(tmp).catch(() => {});
    throw err;
  }
  try {
    await closeQuick(fd);
  } catch (err) {
    await unlink(tmp).catch(() => {}); // (the descriptor is gone all the same)
    throw err;
  }
  return { tmp, base: `${unique},S=${size},W=${counter.size}`, size, crlfSize: counter.size };
}

/**
 * A copy of an existing message file into tmp/ of `folder`: a hard link when both are on one file system
 * and the file already has the owner a file there gets (a file of another user's mailbox is copied: one
 * file cannot belong to both).
 */
export async function copyToTmp(from: string, folder: string, base: string): Promise<Written> {
  const unique = newBaseName();
  const tmp = join(folder, 'tmp', unique);
  // The copy keeps the sizes its name says (it is the same message), with a base of its own.
  const sizes = /,S=\d+(?:,W=\d+)?/.exec(base)?.[0] ?? '';
  let linked = true;
  try {
    await link(from, tmp);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw err;
    linked = false; // another file system, or links not allowed: a real copy
  }
  if (linked) {
    let kept = false;
    try {
      const st = await lstat(tmp);
      kept = st.isFile() && (await ownedAsFolder(tmp, st));
      if (kept) return { tmp, base: `${unique}${sizes}`, size: st.size };
    } finally {
      // Not kept: the file of another user's mailbox (a copy is made, theirs stays theirs), or no plain
      // file (replaced by a link meanwhile: the real copy refuses it).
      if (!kept) await unlink(tmp);
    }
  }
  const source = await open(from, READ_NO_FOLLOW);
  let size: number;
  try {
    size = await writeToTmpFromHandle(source, tmp);
  } finally {
    await source.close();
  }
  return { tmp, base: `${unique}${sizes}`, size };
}

/** Copies `source` into the new file `tmp` (given the folder's owner); the number of octets. */
async function writeToTmpFromHandle(source: import('node:fs/promises').FileHandle, tmp: string): Promise<number> {
  const target = await open(tmp, 'wx', 0o600);
  try {
    await inheritOwner(tmp, { created: true });
    let total = 0;
    for await (const chunk of source.createReadStream({ autoClose: false, highWaterMark: FLUSH_AT })) {
      await writeAll(target, chunk as Buffer);
      total += (chunk as Buffer).length;
    }
    await target.sync();
    await checkLength(target, total);
    return total;
  } catch (err) {
    await unlink(tmp).catch(() => {});
    throw err;
  } finally {
    await target.close();
  }
}

export interface Placing {
  readonly written: Written;
  readonly flags: ReadonlySet<string>;
  /** Its arrival time (IMAP INTERNALDATE), set as the file's modification time, as Dovecot reads it. */
  readonly internalDate?: Date;
  /** The message's GUID when it is a copy (its source's: kept as the record's G field, as Dovecot keeps it). */
  readonly guid?: string;
}

/**
 * Places written messages into `folder` under its uidlist lock: keywords get their letters, each file
 * is renamed from tmp/ into new/ or cur/, and gets the next UID. Returns the UIDs and the UIDVALIDITY.
 * A file that cannot be placed is removed from tmp/ and the error thrown (those placed before stay).
 */
export async function place(folder: MaildirFolder, items: readonly Placing[]): Promise<{ uids: number[]; uidValidity: number }> {
  return folder.locked(async () => {
    let keywords = folder.keywords;
    const needed = new Set<string>();
    for (const item of items) for (const k of keywordsWithoutLetter(item.flags, keywords)) needed.add(k);
    if (needed.size > 0) keywords = await addKeywords(folder.path, keywords, [...needed]);
    const placed: { base: string; fields: string[] }[] = [];
    const targets: string[] = [];
    try {
      for (const item of items) {
        const letters = lettersOf(item.flags, keywords);
        if (item.internalDate) await utimes(item.written.tmp, item.internalDate, item.internalDate);
        const target =
          letters === '' ? join(folder.path, 'new', item.written.base) : join(folder.path, 'cur', `${item.written.base}:2,${letters}`);
        await folder.renameOwn(item.written.tmp, target);
        placed.push({ base: item.written.base, fields: item.guid === undefined ? [] : guidField(item.guid) });
        targets.push(target);
      }
    } catch (err) {
      for (const item of items.slice(placed.length)) await unlink(item.written.tmp).catch(() => {});
      if (placed.length > 0) await folder.appendRecords(placed);
      throw err;
    }
    // the renames made durable: only the folders that got a name need it
    for (const sub of ['new', 'cur'])
      if (targets.some((t) => t.startsWith(join(folder.path, sub, '/')))) await syncDir(join(folder.path, sub));
    let uids: number[];
    try {
      uids = await folder.appendRecords(placed);
    } catch (err) {
      // The UIDs could not be written (a full disk): the messages are taken back, so that the sender,
      // told it failed, does not see them twice when it tries again.
      for (const [i, item] of items.entries()) {
        const letters = lettersOf(item.flags, keywords);
        const target =
          letters === '' ? join(folder.path, 'new', item.written.base) : join(folder.path, 'cur', `${item.written.base}:2,${letters}`);
        if (i < placed.length) await unlink(target).catch(() => {});
      }
      throw err;
    }
    for (const target of targets) folder.added(target);
    return { uids, uidValidity: folder.uidValidity };
  });
}
