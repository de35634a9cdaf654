// Reading and writing Postern's and Dovecot's small metadata files in a Maildir folder the one way they
// are all written: a range read off the event loop, a write synced to disk, and a file replaced whole by
// writing `NAME.tmp` and renaming it over `NAME` (readers see the old file or the new one, never a part;
// one not synced is written in place while lib/in-place.ts allows, as lib/quick-fs.ts calls are, and
// renamed through the pool).
import { open, rename } from 'node:fs/promises';
import { closeQuick, closeQuietly, openQuick, unlinkQuick, writeAllQuick } from '../../lib/quick-fs.js';
import { inheritOwner } from './owner.js';

/** Octets `from` to `to` of a file (off the event loop: the thread pool reads them). */
export async function readRange(path: string, from: number, to: number): Promise<Buffer> {
  const handle = await open(path, 'r');
  try {
    const buffer = Buffer.allocUnsafe(Math.max(0, to - from));
    let at = 0;
    while (at < buffer.length) {
      const { bytesRead } = await handle.read(buffer, at, buffer.length - at, from + at);
      if (bytesRead === 0) break;
      at += bytesRead;
    }
    return buffer.subarray(0, at);
  } finally {
    await handle.close();
  }
}

/** Writes `data` whole to a file opened with `flags`, then fsyncs it. */
export async function writeSynced(path: string, flags: string, data: Buffer, mode?: number): Promise<void> {
  const handle = await open(path, flags, mode);
  try {
    let at = 0;
    while (at < data.length) at += (await handle.write(data, at, data.length - at)).bytesWritten;
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * Replaces the file at `path` with `data` through `path.tmp` (given the folder's owner, then renamed over
 * it; removed if that fails). `sync`: on disk before the rename, so that a crash leaves the old file or the
 * whole new one.
 */
export async function replaceFile(path: string, data: Buffer | string, sync: boolean): Promise<void> {
  const tmp = `${path}.tmp`;
  const bytes = typeof data === 'string' ? Buffer.from(data) : data;
  if (sync) await writeSynced(tmp, 'w', bytes, 0o600);
  else {
    // a file not synced is a small one written often (postern-recent at each SELECT): in place while allowed
    const fd = await openQuick(tmp, 'w', 0o600);
    try {
      await writeAllQuick(fd, bytes);
    } catch (err) {
      await closeQuietly(fd);
      await unlinkQuick(tmp).catch(() => {});
      throw err;
    }
    await closeQuick(fd);
  }
  try {
    await inheritOwner(tmp, { created: true });
    // through the pool, never in place: a rename over an existing file makes ext4 start writing the new
    // file's data first (auto_da_alloc), which took milliseconds here under load
    await rename(tmp, path);
  } catch (err) {
    await unlinkQuick(tmp).catch(() => {});
    throw err;
  }
}
