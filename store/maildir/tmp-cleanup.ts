// Files left in a Maildir folder's tmp/ by a writer that died (kill -9, a crash, power loss during an
// APPEND, a delivery or a copy): they were never shown and their senders were never told they were
// stored, so they are removed. Dovecot removes tmp/ files older than 36 hours when it scans a folder
// (MAILDIR_TMP_DELETE_SECS); a file whose name says this host's process wrote it can go at once when
// that process no longer runs, or when it is this process's pid but older than this process (a pid
// reused after a restart, as in a container). Files of a process that runs are never touched.
import { lstat, readdir, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { writerOf } from './filename.js';
import { processRuns } from './dotlock.js';

/** Dovecot's age for an abandoned tmp/ file. */
export const TMP_MAX_AGE_MS = 36 * 3600_000;
/** A folder's tmp/ is looked at again after this long (on the next open, append or copy into it). */
const RESCAN_MS = 3600_000;
/** Folders remembered as looked at (past this, the oldest are forgotten and looked at again). */
const REMEMBERED = 10_000;

const startedAt = Date.now() - process.uptime() * 1000;
const scannedAt = new Map<string, number>();

/** True when the tmp/ file `name`, with these times, was left by a writer that is gone. */
export function abandoned(name: string, times: { mtimeMs: number; atimeMs: number; ctimeMs: number }, now = Date.now()): boolean {
  if (Math.max(times.mtimeMs, times.atimeMs, times.ctimeMs) < now - TMP_MAX_AGE_MS) return true;
  const writer = writerOf(name);
  if (!writer?.here || writer.pid <= 0) return false;
  // (ctime: place() sets a waiting file's mtime to its INTERNALDATE, which may be long ago)
  if (writer.pid === process.pid) return times.ctimeMs < startedAt - 1000;
  return !processRuns(writer.pid);
}

/** Removes what dead writers left in `folder`/tmp/; errors are left for the next look. */
export async function cleanTmp(folder: string): Promise<number> {
  const dir = join(folder, 'tmp');
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return 0;
  }
  let removed = 0;
  for (const name of names) {
    if (name.startsWith('.')) continue;
    try {
      const st = await lstat(join(dir, name));
      if (!st.isFile() || !abandoned(name, st)) continue;
      await unlink(join(dir, name));
      removed++;
    } catch {
      // gone meanwhile (placed by its writer), or not ours to remove
    }
  }
  return removed;
}

/**
 * Cleans `folder`'s tmp/ in the background the first time this process uses the folder, and again
 * at most once an hour. `done` hears how many files went (for the log).
 */
export function cleanTmpSometimes(folder: string, done?: (removed: number) => void): void {
  const now = Date.now();
  const last = scannedAt.get(folder);
  if (last !== undefined && now - last < RESCAN_MS) return;
  scannedAt.delete(folder);
  scannedAt.set(folder, now);
  if (scannedAt.size > REMEMBERED) scannedAt.delete(scannedAt.keys().next().value!);
  void cleanTmp(folder).then((removed) => {
    if (removed > 0) done?.(removed);
  });
}
