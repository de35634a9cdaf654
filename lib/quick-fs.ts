// File calls for the delivery path, where each message costs a few dozen of them. A call through
// fs/promises goes to libuv's thread pool and back: measured on a 2-core machine, about 25 us of CPU for an
// lstat that costs 4 us when made in place. Calls that only touch the kernel's caches (lstat, open, a
// small write, close, rename, unlink) are made in place here; fsync, which waits for the disk, still goes
// to the pool so that the event loop never waits for a disk. (On a network file system a look-up can wait
// for the server: the same holds for the calls Dovecot makes, one process per delivery.)
import { closeSync, fsync, fstatSync, openSync, readSync, writeSync } from 'node:fs';

/** fsync(2) of an open descriptor, off the event loop. */
export function fsyncFd(fd: number): Promise<void> {
  return new Promise((resolve, reject) => fsync(fd, (err) => (err ? reject(err) : resolve())));
}

/**
 * Writes all of `data` at the descriptor's position (a short write is written on; one that stores nothing
 * is ENOSPC), as lib/atomic-file.ts writeAll does for a FileHandle.
 */
export function writeAllNow(fd: number, data: Buffer): void {
  let at = 0;
  while (at < data.length) {
    const written = writeSync(fd, data, at, data.length - at);
    if (written <= 0) throw Object.assign(new Error('the file system stored nothing (no space left?)'), { code: 'ENOSPC' });
    at += written;
  }
}

/** Fails with EIO unless the file holds exactly `expected` octets (as atomic-file.ts checkLength). */
export function checkLengthNow(fd: number, expected: number): void {
  const { size } = fstatSync(fd);
  if (size !== expected) throw Object.assign(new Error(`the file holds ${size} octets, ${expected} were written`), { code: 'EIO' });
}

/** Closes a descriptor, never throwing (for the paths that already fail). */
export function closeQuietly(fd: number): void {
  try {
    closeSync(fd);
  } catch {
    // already failing: the first error is the one reported
  }
}

/** Files up to this size are read in place by readRangeNow (a page-cache copy); larger ones by the pool. */
export const READ_IN_PLACE = 64 * 1024;

/** Octets `from` to `to` of a file, read in place (for small ranges: see READ_IN_PLACE). */
export function readRangeNow(path: string, from: number, to: number): Buffer {
  const fd = openSync(path, 'r');
  try {
    const buffer = Buffer.allocUnsafe(Math.max(0, to - from));
    let at = 0;
    while (at < buffer.length) {
      const n = readSync(fd, buffer, at, buffer.length - at, from + at);
      if (n === 0) break;
      at += n;
    }
    return buffer.subarray(0, at);
  } finally {
    closeSync(fd);
  }
}
