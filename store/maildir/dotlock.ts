// Dotlocks as Dovecot 2.3 makes and honours them (src/lib/file-dotlock.c), for dovecot-uidlist.lock:
// the lock file is created with O_EXCL and holds "pid:hostname" (no newline). One that is found is
// waited for, and taken over only when it is stale: its pid is on this host and no longer runs (after
// the lock is 2 s old), or, with no pid of this host in it, when neither the lock nor the file it
// guards changed for `staleMs` (Dovecot: 120 s). A lock whose process still runs is never taken over;
// an empty one (its maker was killed before it wrote its pid) is taken over once it is 2 s old.
// Creating with O_EXCL works on NFS v3 and later, as Dovecot relies on too.
//
// Postern's own files (postern-modseq, postern-recent), which no other program locks, take the same lock in a
// cheaper form: a symbolic link whose target is "pid:hostname", made with one symlink(2) (atomic, EEXIST when
// taken, on NFS too) instead of a file created, written and closed. A link that short lives in its inode: no
// data block is allocated and freed for each lock, and every flag change, expunge and APPEND takes one (the
// mixed load's profile showed the file form's open, write, close and unlink at about 9% of the server's time).
import { lstat, lutimes, readFile, readlink, unlink, utimes } from 'node:fs/promises';
import { closeQuick, closeQuietly, lstatQuick, openQuick, symlinkQuick, unlinkQuick, writeAllQuick } from '../../lib/quick-fs.js';
import { hostname } from 'node:os';
import { MailError, MailStoreError } from '../contract.js';
import { inheritOwner } from './owner.js';

export interface DotlockOptions {
  /** Give up after this long (Dovecot waits 122 s for the uidlist; an interactive session less). */
  timeoutMs: number;
  /** A lock with no running pid of this host, unchanged this long, is stale (Dovecot: 120 s). */
  staleMs: number;
  /** The file the lock guards: a change to it means the holder is alive. */
  guarded?: string;
  /**
   * 'file' (the default): Dovecot's form, for the files Dovecot locks too. 'symlink': the cheaper form, for
   * Postern's own files only (Dovecot, and a Postern older than this form, would not read its holder).
   */
  form?: 'file' | 'symlink';
}

/**
 * The lock is held by a process that still runs, or changes all the time: try again later. TEMP, as
 * Dovecot's Maildir reports a uidlist lock timeout.
 */
export class LockTimeoutError extends MailStoreError {
  constructor(
    readonly path: string,
    holder: string,
  ) {
    super(MailError.TEMP, `${path} is held${holder ? ` by ${holder}` : ''}; gave up waiting`);
  }
}

const HOST = hostname();

export interface Dotlock {
  /** Removes the lock, if it is still ours (someone may have taken over a lock they thought stale). */
  release(): Promise<void>;
  /** Marks the lock as alive (Dovecot touches its locks every 10 s during long work). */
  touch(): Promise<void>;
}

async function identity(path: string): Promise<string | null> {
  try {
    const s = await lstat(path, { bigint: true });
    return `${s.ino}:${s.size}:${s.mtimeNs}:${s.ctimeNs}`;
  } catch {
    return null;
  }
}

/** True when a process with this pid runs on this host (as any user). */
export function processRuns(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'; // it runs, as another user
  }
}

/**
 * Tries once to create the lock; true when it is ours now. Created, written and closed in place while
 * lib/in-place.ts allows it, not through the thread pool (lib/quick-fs.ts: each delivery takes the uidlist lock).
 */
async function tryCreate(path: string, form: 'file' | 'symlink'): Promise<boolean> {
  if (form === 'symlink') {
    try {
      await symlinkQuick(`${process.pid}:${HOST}`, path);
      return true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
      throw err;
    }
  }
  let fd: number;
  try {
    fd = await openQuick(path, 'wx', 0o600);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  }
  try {
    await inheritOwner(path, { created: true }); // so that another agent, as the mail user, can read whose lock it is
    await writeAllQuick(fd, Buffer.from(`${process.pid}:${HOST}`));
  } catch (err) {
    // a full disk: no lock without its content (an empty one would look stale only after minutes)
    await closeQuietly(fd);
    await unlinkQuick(path);
    throw err;
  }
  await closeQuick(fd);
  return true;
}

/** identity() made in place when allowed (the lock just made, the lock released: the quick path of every delivery). */
async function identityQuick(path: string): Promise<string | null> {
  const s = await lstatQuick(path);
  return s === undefined ? null : `${s.ino}:${s.size}:${s.mtimeNs}:${s.ctimeNs}`;
}

export async function acquireDotlock(path: string, options: DotlockOptions): Promise<Dotlock> {
  const form = options.form ?? 'file';
  const started = Date.now();
  let lastSeen = '';
  let lastChange = Date.now();
  // the guarded file as it was when the lock was first found taken (undefined: not looked at yet)
  let guardedSeen: string | null | undefined;
  let wait = firstWait();
  let holder = '';
  for (;;) {
    if (await tryCreate(path, form)) break;
    if (options.guarded && guardedSeen === undefined) guardedSeen = await identity(options.guarded);
    const seen = await identity(path);
    if (seen === null) continue; // released meanwhile: try again at once
    if (seen !== lastSeen) {
      lastSeen = seen;
      lastChange = Date.now();
      wait = firstWait();
    }
    if (options.guarded) {
      const g = await identity(options.guarded);
      if (g !== guardedSeen) {
        guardedSeen = g;
        lastChange = Date.now();
      }
    }
    let content = '';
    let ageMs = 0;
    try {
      // either form, whichever this lock was made in (a lock's form is fixed by its file, not by this caller)
      const st = await lstat(path);
      content = st.isSymbolicLink() ? await readlink(path) : await readFile(path, 'latin1');
      ageMs = Date.now() - st.mtimeMs;
    } catch {
      continue; // released meanwhile
    }
    holder = content;
    if (content === '' && ageMs >= 2000 && (await identity(path)) === seen) {
      // its maker died between creating it and writing its pid (a kill -9 at that moment): a live
      // maker writes at once, so a lock still empty after 2 s has nobody behind it
      await unlinkIfSame(path, seen);
      continue;
    }
    const colon = content.indexOf(':');
    const pid = colon > 0 ? Number(content.slice(0, colon)) : NaN;
    const host = colon > 0 ? content.slice(colon + 1) : '';
    if (Number.isInteger(pid) && pid > 0 && host === HOST) {
      // A process of this host: never taken over while it runs; at once (after 2 s) once it does not.
      if (!processRuns(pid) && ageMs >= 2000 && (await identity(path)) === seen) {
        await unlinkIfSame(path, seen);
        await sleep(100 + Math.random() * 100);
        continue;
      }
    } else if (Date.now() - lastChange >= options.staleMs) {
      await unlinkIfSame(path, seen); // another host's, or no pid: stale once nothing changed for staleMs
      continue;
    }
    if (Date.now() - started >= options.timeoutMs) throw new LockTimeoutError(path, holder);
    await sleep(wait);
    wait = Math.min(wait * 1.5, MAX_WAIT_MS);
  }
  const mine = await identityQuick(path);
  return {
    async release() {
      const now = await lstatQuick(path);
      // only our own lock (the same inode) is removed
      if (now && mine?.startsWith(`${now.ino}:`)) await unlinkQuick(path);
    },
    async touch() {
      const now = new Date();
      // a lock someone took over: nothing to mark
      await (form === 'symlink' ? lutimes(path, now, now) : utimes(path, now, now)).catch(() => {});
    },
  };
}

async function unlinkIfSame(path: string, seen: string): Promise<void> {
  if ((await identity(path)) !== seen) return;
  await unlink(path).catch(() => {}); // gone already
}

/**
 * The first wait for a lock found taken, then 1.5 times longer each look, up to MAX_WAIT_MS; again from the
 * start when its holder changed. A lock is held for a millisecond or two (an APPEND's uidlist line, a flag
 * change's modseq line), and the sessions of one process take turns before it, so a wait here is for another
 * process: Dovecot, the CLI, another worker. Dovecot waits 100-200 ms at once (file-dotlock.c); that wait, here,
 * took the mixed load on one INBOX over two workers from 2,255 to 1,036 operations/s.
 */
const FIRST_WAIT_MS = 4;
const MAX_WAIT_MS = 300;
const firstWait = (): number => FIRST_WAIT_MS * (1 + Math.random());

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
