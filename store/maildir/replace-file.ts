// Replacing a small file of Dovecot's whole, under the lock its writers take (the caller holds it): the new
// content is written beside it and renamed over it, so a reader sees the old file or the new one, never half;
// running as root, it gets the folder's owner first, so Dovecot (as the mail user) can read it.
import { open, rename, unlink } from 'node:fs/promises';
import { writeAll } from '../../lib/atomic-file.js';
import { inheritOwner } from './owner.js';

export async function replaceFile(path: string, data: Buffer): Promise<void> {
  const tmp = `${path}.${process.pid}.tmp`;
  try {
    const handle = await open(tmp, 'w', 0o600);
    try {
      await writeAll(handle, data);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await inheritOwner(tmp, { created: true });
    await rename(tmp, path);
  } catch (err) {
    await unlink(tmp).catch(() => {}); // (a full disk: nothing half-written is left beside it)
    throw err;
  }
}
