// File calls for the delivery path, where each message costs a few dozen of them. A call through
// fs/promises goes to libuv's thread pool and back: measured on a 2-core machine, about 25 us of CPU for an
// lstat that costs 4 us when made in place. Calls that only touch the kernel's caches (lstat, open, a
// small write, close, rename, unlink) are therefore made in place while lib/in-place.ts allows it (each
// timed: slow ones turn in-place calls off for a while; a network or FUSE file system, or the config,
// for good), and through the thread pool otherwise, with the same result. fsync, which waits for the
// disk, always goes to the pool, so that the event loop never waits for a disk.
import {
  type BigIntStats,
  close,
  closeSync,
  fstat,
  fstatSync,
  fsync,
  lstatSync,
  open,
  openSync,
  read,
  readSync,
  readlinkSync,
  renameSync,
  symlinkSync,
  type Stats,
  statSync,
  unlinkSync,
  write,
  writeSync,
} from 'node:fs';
import { lstat, readlink, rename, stat, symlink, unlink } from 'node:fs/promises';
import { inPlaceNow, timedInPlace } from './in-place.js';

/** fsync(2) of an open descriptor, off the event loop. */
export function fsyncFd(fd: number): Promise<void> {
  return new Promise((resolve, reject) => fsync(fd, (err) => (err ? reject(err) : resolve())));
}

/** open(2): in place when allowed, else through the pool. */
export function openQuick(path: string, flags: string | number, mode?: number): Promise<number> {
  if (inPlaceNow()) return settle(() => openSync(path, flags, mode));
  return new Promise((resolve, reject) => open(path, flags, mode, (err, fd) => (err ? reject(err) : resolve(fd))));
}

/** close(2): in place when allowed, else through the pool. */
export function closeQuick(fd: number): Promise<void> {
  if (inPlaceNow()) return settle(() => closeSync(fd));
  return new Promise((resolve, reject) => close(fd, (err) => (err ? reject(err) : resolve())));
}

/** Closes a descriptor, never failing (for the paths that already fail). */
export async function closeQuietly(fd: number): Promise<void> {
  await closeQuick(fd).catch(() => {}); // already failing: the first error is the one reported
}

/** One write(2) at the descriptor's position; the count written. */
function writeOnce(fd: number, data: Buffer, at: number): Promise<number> {
  if (inPlaceNow()) return settle(() => writeSync(fd, data, at, data.length - at));
  return new Promise((resolve, reject) => write(fd, data, at, data.length - at, null, (err, n) => (err ? reject(err) : resolve(n))));
}

/**
 * Writes all of `data` at the descriptor's position (a short write is written on; one that stores nothing
 * is ENOSPC), as lib/atomic-file.ts writeAll does for a FileHandle.
 */
export async function writeAllQuick(fd: number, data: Buffer): Promise<void> {
  let at = 0;
  while (at < data.length) {
    const written = await writeOnce(fd, data, at);
    if (written <= 0) throw Object.assign(new Error('the file system stored nothing (no space left?)'), { code: 'ENOSPC' });
    at += written;
  }
}

/** Fails with EIO unless the file holds exactly `expected` octets (as atomic-file.ts checkLength). */
export async function checkLengthQuick(fd: number, expected: number): Promise<void> {
  const { size } = inPlaceNow()
    ? timedInPlace(() => fstatSync(fd))
    : await new Promise<Stats>((resolve, reject) => fstat(fd, (err, st) => (err ? reject(err) : resolve(st))));
  if (size !== expected) throw Object.assign(new Error(`the file holds ${size} octets, ${expected} were written`), { code: 'EIO' });
}

/** lstat(2) with big integers, undefined when there is nothing there. */
export async function lstatQuick(path: string): Promise<BigIntStats | undefined> {
  if (inPlaceNow()) return timedInPlace(() => lstatSync(path, { bigint: true, throwIfNoEntry: false }));
  return lstat(path, { bigint: true }).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return undefined;
    throw err;
  });
}

/** stat(2) with big integers (throws ENOENT when there is nothing there). */
export async function statQuick(path: string): Promise<BigIntStats> {
  if (inPlaceNow()) return timedInPlace(() => statSync(path, { bigint: true }));
  return stat(path, { bigint: true });
}

/**
 * stat(2) with big integers, undefined when there is nothing there: for files that are often absent (a
 * routes.json never written, a folder without dovecot-keywords), whose ENOENT as a thrown error would cost
 * more than the call (an Error with its stack, each sign-in).
 */
export async function statIfThere(path: string): Promise<BigIntStats | undefined> {
  if (inPlaceNow()) return timedInPlace(() => statSync(path, { bigint: true, throwIfNoEntry: false }));
  return stat(path, { bigint: true }).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return undefined;
    throw err;
  });
}

/** readlink(2). */
export async function readlinkQuick(path: string): Promise<string> {
  if (inPlaceNow()) return timedInPlace(() => readlinkSync(path));
  return readlink(path);
}

/** symlink(2): a link at `path` whose target is `target` (EEXIST when `path` is taken). */
export async function symlinkQuick(target: string, path: string): Promise<void> {
  if (inPlaceNow()) return timedInPlace(() => symlinkSync(target, path));
  return symlink(target, path);
}

/** unlink(2). */
export async function unlinkQuick(path: string): Promise<void> {
  if (inPlaceNow()) return timedInPlace(() => unlinkSync(path));
  return unlink(path);
}

/**
 * rename(2) of a file to a name not in use: a message's new flags, tmp/ to new/ or cur/; or of a symbolic link
 * over another (\Recent's mark: a link has no data to write out). A file renamed over an existing one is
 * replaced through the pool (whole-files.ts replaceFile), since ext4 then starts writing the file's data out.
 */
export async function renameQuick(from: string, to: string): Promise<void> {
  if (inPlaceNow()) return timedInPlace(() => renameSync(from, to));
  return rename(from, to);
}

/** Files up to this size are read in place by readRangeQuick (a page-cache copy); larger ones by the pool. */
export const READ_IN_PLACE = 64 * 1024;

/** Octets `from` to `to` of a file (for small ranges: see READ_IN_PLACE); in place when allowed. */
export async function readRangeQuick(path: string, from: number, to: number): Promise<Buffer> {
  const fd = await openQuick(path, 'r');
  try {
    const buffer = Buffer.allocUnsafe(Math.max(0, to - from));
    let at = 0;
    while (at < buffer.length) {
      const n = await readOnce(fd, buffer, at, from + at);
      if (n === 0) break;
      at += n;
    }
    return buffer.subarray(0, at);
  } finally {
    await closeQuick(fd);
  }
}

/** The whole of a small file (an ACL, a list of names), read in place when allowed: a few calls, none waiting in the pool. */
export async function readSmallFileQuick(path: string): Promise<Buffer> {
  const fd = await openQuick(path, 'r');
  try {
    const chunks: Buffer[] = [];
    let total = 0;
    for (;;) {
      const chunk = Buffer.allocUnsafe(4096);
      const n = await readOnce(fd, chunk, 0, total);
      if (n === 0) break;
      chunks.push(chunk.subarray(0, n));
      total += n;
    }
    return Buffer.concat(chunks, total);
  } finally {
    await closeQuick(fd);
  }
}

function readOnce(fd: number, buffer: Buffer, at: number, position: number): Promise<number> {
  if (inPlaceNow()) return settle(() => readSync(fd, buffer, at, buffer.length - at, position));
  return new Promise((resolve, reject) => read(fd, buffer, at, buffer.length - at, position, (err, n) => (err ? reject(err) : resolve(n))));
}

/** A call made in place, timed, as a promise (its error a rejection, as the pool's twin gives it). */
function settle<T>(call: () => T): Promise<T> {
  try {
    return Promise.resolve(timedInPlace(call));
  } catch (err) {
    return Promise.reject(err);
  }
}
