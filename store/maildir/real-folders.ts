// Links and odd entries inside an account. Postern may run as root and reads every user's mail, so a
// symbolic link planted in a Maildir (cur/x -> /etc/shadow, or .Archive -> someone else's Maildir) must
// never be followed: message files are opened with O_NOFOLLOW, an entry of new/ or cur/ that is not a
// plain file (a link, a folder, a device) is left out and logged, and an account folder, its Maildir,
// a mailbox folder or its tmp/ new/ cur/ that is a link is refused. Links above the account folders
// (dataDir itself, dataDir/accounts, a domain folder) are the operator's and are followed.
import { constants } from 'node:fs';
import { lstat } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { UnsafeMailboxError } from '../contract.js';

/** Flags for opening a message file: read only, and never through a symbolic link. */
export const READ_NO_FOLLOW = constants.O_RDONLY | constants.O_NOFOLLOW;

/** A folder inside an account is a symbolic link (or not a folder): Postern will not use it. */
export class MailboxLinkError extends UnsafeMailboxError {
  constructor(path: string) {
    super(
      path,
      `${path} is a symbolic link or not a folder; Postern does not follow links inside an account folder (move the data there, or use ` +
        `a bind mount)`,
    );
  }
}

/** What checkRealFolders found there (every part of it a real folder, no link). */
export interface RealFolders {
  /** `folder` is there. */
  readonly folder: boolean;
  /** Which of the `subs` are there, in their order. */
  readonly subs: readonly boolean[];
}

/**
 * Checks that `folder` (inside `accountDir`) and its `subs` are real folders, from the account folder
 * down: none a symbolic link. A part that does not exist is fine (it may be made), and what is there is
 * returned (so that what is there is not looked at again). The lstat calls run together, off the event
 * loop (they are made on every sign-in), and are judged from the top down.
 */
export async function checkRealFolders(accountDir: string, folder: string, subs: readonly string[] = []): Promise<RealFolders> {
  const inside = relative(accountDir, folder);
  const parts = inside === '' ? [] : inside.split(sep);
  const chain = [accountDir];
  for (const part of parts) chain.push(join(chain[chain.length - 1], part));
  const look = (p: string) =>
    lstat(p).then(
      (st) => st,
      (err: NodeJS.ErrnoException) => {
        if (err.code === 'ENOENT') return null;
        throw err;
      },
    );
  const [down, below] = await Promise.all([Promise.all(chain.map(look)), Promise.all(subs.map((sub) => look(join(folder, sub))))]);
  for (const [i, st] of down.entries()) {
    if (st === null) return { folder: false, subs: subs.map(() => false) }; // not there (yet): nothing below it is either
    if (!st.isDirectory()) throw new MailboxLinkError(chain[i]);
  }
  for (const [i, st] of below.entries()) if (st !== null && !st.isDirectory()) throw new MailboxLinkError(join(folder, subs[i]));
  return { folder: true, subs: below.map((st) => st !== null) };
}

/** Logs an odd entry once per process (a mailbox is listed at every sign-in). */
export interface StoreLog {
  warn(details: Record<string, unknown>, message: string): void;
}

const reported = new Set<string>();

export function reportOnce(log: StoreLog | undefined, path: string, what: string): void {
  if (!log || reported.has(path)) return;
  if (reported.size > 10_000) reported.clear();
  reported.add(path);
  log.warn({ path, what }, 'left out of the mailbox: not a message file');
}
