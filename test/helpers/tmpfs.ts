// A small file system made real for the full-disk tests: a tmpfs the test mounts (tests run as root, here and in
// CI), and a file that fills it to its last byte.
import { execFileSync } from 'node:child_process';
import { open } from 'node:fs/promises';

/** Mounts a tmpfs of `size` (such as "3m") on `dir`. */
export function mountTmpfs(dir: string, size: string): void {
  if (process.getuid?.() !== 0) throw new Error('this test mounts a tmpfs and must run as root (CI does)');
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size},mode=0755`, 'tmpfs', dir]);
}

/** Writes into `path` until the file system is full. */
export async function fill(path: string): Promise<void> {
  const h = await open(path, 'w');
  try {
    for (;;) {
      const { bytesWritten } = await h.write(Buffer.alloc(4096, 0x78));
      if (bytesWritten < 4096) break;
    }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
  } finally {
    await h.close();
  }
}
