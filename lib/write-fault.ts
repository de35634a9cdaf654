/**
 * Whether a file-system error means the tree cannot take a write just now: the disk or the user's quota is
 * full, the file system is read-only, or the device failed. Bookkeeping that can wait (UIDs, mod-sequences)
 * is then kept in memory and written later, so a user can still read and delete mail on a full disk.
 */
const WRITE_FAULTS = new Set(['ENOSPC', 'EDQUOT', 'EROFS', 'EIO']);

export function isWriteFault(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException | null)?.code;
  return code !== undefined && WRITE_FAULTS.has(code);
}
