// Writing small files so that a crash leaves either the old content or the new one, never half of each.
import { type FileHandle, open, rename, unlink } from 'node:fs/promises';
import { closeQuick, fsyncFd, openQuick } from './quick-fs.js';
import { dirname, basename, join } from 'node:path';
import { randomBytes } from 'node:crypto';

/**
 * Writes all of `data` at the handle's position. write(2) may store fewer octets than asked (a nearly
 * full file system stores what fits and says so only in the count): the rest is written again, and
 * the next call then fails with the real error (ENOSPC), so a short write never passes for a whole one.
 */
export async function writeAll(handle: FileHandle, data: Buffer): Promise<void> {
  let at = 0;
  while (at < data.length) {
    const { bytesWritten } = await handle.write(data, at, data.length - at);
    if (bytesWritten <= 0) throw Object.assign(new Error('the file system stored nothing (no space left?)'), { code: 'ENOSPC' });
    at += bytesWritten;
  }
}

/** Fails with EIO unless the file behind `handle` holds exactly `expected` octets (a last check before a commit). */
export async function checkLength(handle: FileHandle, expected: number): Promise<void> {
  const { size } = await handle.stat();
  if (size !== expected) throw Object.assign(new Error(`the file holds ${size} octets, ${expected} were written`), { code: 'EIO' });
}

export async function writeFileAtomic(path: string, data: string | Buffer, mode = 0o600): Promise<void> {
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  const handle = await open(tmp, 'wx', mode);
  try {
    const bytes = typeof data === 'string' ? Buffer.from(data) : data;
    await writeAll(handle, bytes);
    await handle.sync();
    await checkLength(handle, bytes.length);
  } catch (err) {
    await handle.close();
    await unlink(tmp).catch(() => {});
    throw err;
  }
  await handle.close();
  try {
    await rename(tmp, path);
  } catch (err) {
    await unlink(tmp).catch(() => {});
    throw err;
  }
  await syncDir(dirname(path));
}

/** Makes a rename or a new file in `dir` durable. Best effort: some file systems refuse it. */
export async function syncDir(dir: string): Promise<void> {
  try {
    // opened and closed in place when allowed, synced off the event loop (quick-fs.ts: a message delivery makes this call)
    const fd = await openQuick(dir, 'r');
    try {
      await fsyncFd(fd);
    } finally {
      await closeQuick(fd);
    }
  } catch {
    // fsync on a directory is not supported everywhere; the rename itself is still atomic.
  }
}

/**
 * Runs `fn` while holding `path`.lock, so read-modify-write cycles on `path` from several processes
 * (the server taking an alert, an operator adding one) never lose each other's changes. A lock older
 * than `staleMs` was left by a crashed process and is taken over.
 */
export async function withFileLock<T>(path: string, fn: () => Promise<T>, staleMs = 10_000): Promise<T> {
  const lock = `${path}.lock`;
  const deadline = Date.now() + 5_000;
  for (;;) {
    try {
      const h = await open(lock, 'wx', 0o600);
      await h.close();
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const { stat } = await import('node:fs/promises');
      const age = await stat(lock).then(
        (s) => Date.now() - s.mtimeMs,
        () => 0,
      );
      if (age > staleMs) await unlink(lock).catch(() => {});
      else if (Date.now() > deadline) throw new Error(`${lock} is held by another process; try again`);
      else await new Promise((r) => setTimeout(r, 20));
    }
  }
  try {
    return await fn();
  } finally {
    await unlink(lock).catch(() => {});
  }
}
