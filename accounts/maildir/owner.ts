// Files Postern makes inside a Maildir belong to whoever owns the folder they are in. Postern may run as
// root while Dovecot (or another delivery agent) works on the same tree as the mail user: a uidlist or
// a message root left as root's, mode 0600, would be unreadable to them. Running as any other user,
// the files are that user's anyway, and nothing is done.
import { chownSync, lstatSync, statSync } from 'node:fs';
import { dirname } from 'node:path';

const asRoot = process.getuid?.() === 0;

/** Gives `path` the owner and group of the folder it is in (only when running as root). */
export function inheritOwner(path: string): void {
  if (!asRoot) return;
  const folder = statSync(dirname(path));
  const file = lstatSync(path);
  if (file.uid !== folder.uid || file.gid !== folder.gid) chownSync(path, folder.uid, folder.gid);
}
