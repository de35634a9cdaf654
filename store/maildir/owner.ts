// Files Postern makes inside a Maildir belong to whoever owns the folder they are in. Postern may run as
// root while Dovecot (or another delivery agent) works on the same tree as the mail user: a uidlist or
// a message root left as root's, mode 0600, would be unreadable to them. Running as any other user,
// the files are that user's anyway, and nothing is done.
//
// This runs after every file Postern makes (each delivery, each lock), so it costs as few system calls
// as it can: a folder's owner is remembered for a few seconds (an operator's chown of a Maildir is
// followed after that long), and a file this process has just created is known to be root's (with the
// folder's group when the folder is setgid, as the kernel does) without a look at it: it is changed
// only when the folder's owner is another. A file Postern did not create (a message moved in from
// another user's mailbox, a hard link) is looked at. The change never follows a symbolic link (lchown).
import { lchown, lstat, stat } from 'node:fs/promises';
import { dirname } from 'node:path';

const euid = process.geteuid?.() ?? -1;
const egid = process.getegid?.() ?? -1;
const asRoot = euid === 0;

/** How long a folder's owner is trusted without a look. */
const OWNER_KEPT_MS = 5_000;
/** Folders remembered at most (past this, all are forgotten). */
const OWNERS_KEPT = 10_000;
/** The set-group-ID bit of a mode (not among fs.constants). */
const S_ISGID = 0o2000;

export interface Owner {
  readonly uid: number;
  readonly gid: number;
}

interface FolderOwner extends Owner {
  /** New files in it get its group (set-group-ID folder). */
  readonly setgid: boolean;
}

const owners = new Map<string, { until: number; owner: Promise<FolderOwner> }>();

/** The owner of `folder`, looked at once per OWNER_KEPT_MS (lookups meanwhile share the one look). */
function folderOwner(folder: string): Promise<FolderOwner> {
  const now = performance.now(); // (not the wall clock: set back, it would keep an owner for hours)
  const known = owners.get(folder);
  if (known && known.until > now) return known.owner;
  if (owners.size >= OWNERS_KEPT) owners.clear();
  const owner = stat(folder).then((st) => ({ uid: st.uid, gid: st.gid, setgid: (st.mode & S_ISGID) !== 0 }));
  owners.set(folder, { until: now + OWNER_KEPT_MS, owner });
  // a failed look is not remembered (the caller gets the error)
  owner.catch(() => {
    if (owners.get(folder)?.owner === owner) owners.delete(folder);
  });
  return owner;
}

export interface InheritOptions {
  /**
   * This process has just created the file (open with O_CREAT, mkdir), not linked it nor moved it in:
   * it is this process's, and is not looked at.
   */
  created?: boolean;
}

/** Gives `path` the owner and group of the folder it is in (only when running as root). */
export async function inheritOwner(path: string, options: InheritOptions = {}): Promise<void> {
  if (!asRoot) return;
  let folder: FolderOwner;
  let file: Owner;
  if (options.created) {
    folder = await folderOwner(dirname(path));
    file = { uid: euid, gid: folder.setgid ? folder.gid : egid };
  } else {
    [folder, file] = await Promise.all([folderOwner(dirname(path)), lstat(path)]);
  }
  if (file.uid !== folder.uid || file.gid !== folder.gid) await lchown(path, folder.uid, folder.gid);
}

/**
 * Whether a file with owner `file`, in the folder of `path`, already has the owner inheritOwner would
 * give it (always when not running as root).
 */
export async function ownedAsFolder(path: string, file: Owner): Promise<boolean> {
  if (!asRoot) return true;
  const folder = await folderOwner(dirname(path));
  return file.uid === folder.uid && file.gid === folder.gid;
}
