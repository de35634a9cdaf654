// The first-seen mark of a Maildir folder (MailboxView.claimRecent; IMAP's \Recent): `postern-recent`
// beside dovecot-uidlist holds the UIDVALIDITY and the highest UID a session has already claimed. It
// lives in the tree, not in memory, so that sessions of every worker process and every node sharing the
// tree agree on which one saw a message first. Dovecot keeps the same idea as "first recent UID" in
// its index header, which Postern does not read or write: each server keeps its own mark.
//
// The mark is a symbolic link whose target is "UIDVALIDITY UID" (as Postern's dotlocks are links to
// "pid:host"): read with one readlink(2), replaced by a link made as postern-recent.tmp and renamed over
// it (readers see the old mark or the new one). A target that short lives in the link's inode, so no data
// block is written, synced or freed for it: the mark it replaced, a small file written to a temporary file
// and renamed over the old one, made ext4 start writing the file's data at each rename (auto_da_alloc), at
// every APPEND and every SELECT that found new mail. A mark written as a file by an older Postern is still
// read (and replaced by a link at the next claim).
//
// A claim reads the mark and raises it under postern-recent.lock (a dotlock as for the uidlist, its
// own so that it never holds up Dovecot). The mark is never lowered. A missing or malformed mark counts
// as 0: every message is new to the first session that claims (as a fresh Dovecot index does). Marks
// already read are kept per process: they only ever rise, so a view whose messages are all at or below
// one needs no file access at all. When the mark cannot be kept (a read-only tree, a lock held for long),
// a claim takes nothing from others and the session counts as first to see what lies above the mark it
// last knew: mail is still served.
//
// A folder Postern makes gets its mark (0) at once (startMark). A folder without one was made by
// Dovecot or by a Postern before the mark: its messages were served already, and a user moving from
// Dovecot does not expect them all \Recent once. Its mark then starts where Dovecot's Maildir reading of
// recent puts it (a file still in new/ is one no session has taken yet; Dovecot moves a file to cur/
// when a session takes it): the highest UID in cur/, which the caller gives (`upgraded`). That start is
// written at once, by a peek too, so every session and process counts from the same mark.
import { join } from 'node:path';
import { readlinkQuick, readSmallFileQuick, renameQuick, symlinkQuick, unlinkQuick } from '../../lib/quick-fs.js';
import { acquireDotlock } from './dotlock.js';
import { inheritOwner } from './owner.js';

export const RECENT_FILE = 'postern-recent';

/** The mark as last read or written by this process, by folder path and UIDVALIDITY (a lower bound of the file's). */
const known = new Map<string, number>();
/** This process's claims take turns per folder, so that they never poll the lock file for each other. */
const turns = new Map<string, Promise<unknown>>();

/** The mark as its link (or an older Postern's file) gives it; null when there is none. */
async function readMark(folder: string, uidValidity: number): Promise<number | null> {
  const path = join(folder, RECENT_FILE);
  let text: string;
  try {
    // in place while lib/in-place.ts allows (every SELECT and STATUS asks): one readlink(2)
    text = await readlinkQuick(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return null;
    if (code !== 'EINVAL') throw err;
    text = (await readSmallFileQuick(path)).toString('utf8'); // not a link: the file of an older Postern
  }
  // (the last part of the target: a tool that copied the tree may have made the link's target a path)
  const m = /^(\d{1,10}) (\d{1,10})\s*$/.exec(text.slice(text.lastIndexOf('/') + 1));
  return m && Number(m[1]) === uidValidity ? Number(m[2]) : 0;
}

/** Replaces the mark: a new link renamed over the old mark (no data written: see above). */
async function writeMark(folder: string, uidValidity: number, mark: number): Promise<void> {
  const path = join(folder, RECENT_FILE);
  const tmp = `${path}.tmp`;
  const target = `${uidValidity} ${mark}`;
  try {
    await symlinkQuick(target, tmp);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    // left by a process killed between its link and its rename (the lock is ours: no one else makes it now)
    await unlinkQuick(tmp);
    await symlinkQuick(target, tmp);
  }
  try {
    await inheritOwner(tmp, { created: true });
    await renameQuick(tmp, path);
  } catch (err) {
    await unlinkQuick(tmp).catch(() => {});
    throw err;
  }
}

/** A new folder's mark, 0 (every message that comes is new to the first session that takes it); a mark already there stays. */
export async function startMark(folder: string, uidValidity: number): Promise<void> {
  const path = join(folder, RECENT_FILE);
  try {
    await symlinkQuick(`${uidValidity} 0`, path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return;
    throw err;
  }
  await inheritOwner(path, { created: true });
}

/**
 * The mark before this call; with `claim`, raises it to `highest` (when higher). The caller's messages
 * above the returned mark are first seen by it (claimed) or not yet claimed by anyone (peek). `upgraded`
 * gives the mark a folder without one starts from (see above); without it such a folder counts from 0.
 */
export async function firstSeenMark(
  folder: string,
  uidValidity: number,
  highest: number,
  claim: boolean,
  upgraded?: () => number,
): Promise<number> {
  const key = `${uidValidity}:${folder}`;
  const cached = known.get(key) ?? 0;
  if (highest <= cached) return cached; // nothing above a mark that never drops
  try {
    if (!claim) {
      const read = await readMark(folder, uidValidity);
      if (read === null && upgraded) return await claimInTurn(key, folder, uidValidity, 0, upgraded);
      const mark = Math.max(known.get(key) ?? 0, read ?? 0);
      remember(key, mark);
      return mark;
    }
    return await claimInTurn(key, folder, uidValidity, highest, upgraded);
  } catch {
    return known.get(key) ?? 0;
  }
}

/** Raises the mark to `highest` under its lock (a folder without one first gets its start); the mark before. */
function claimInTurn(key: string, folder: string, uidValidity: number, highest: number, upgraded?: () => number): Promise<number> {
  return inTurn(key, async () => {
    // another session of this process claimed meanwhile (thousands in IDLE hear of one message at once):
    // the mark it wrote is known, no file needs reading
    const now = known.get(key);
    if (now !== undefined && highest <= now) return now;
    const lock = await acquireDotlock(join(folder, `${RECENT_FILE}.lock`), {
      timeoutMs: 10_000,
      staleMs: 120_000,
      guarded: join(folder, RECENT_FILE),
      form: 'symlink', // Postern's own file (dotlock.ts)
    });
    try {
      const read = await readMark(folder, uidValidity);
      const mark = Math.max(known.get(key) ?? 0, read ?? upgraded?.() ?? 0);
      if (highest > mark || (read === null && upgraded)) await writeMark(folder, uidValidity, Math.max(mark, highest));
      remember(key, Math.max(mark, highest));
      return mark;
    } finally {
      await lock.release();
    }
  });
}

function remember(key: string, mark: number): void {
  if (known.size >= 10_000 && !known.has(key)) known.clear(); // a cache: the file is the truth
  known.set(key, mark);
}

function inTurn<T>(key: string, work: () => Promise<T>): Promise<T> {
  const turn = (turns.get(key) ?? Promise.resolve()).then(work);
  const settled = turn.then(
    () => {},
    () => {},
  );
  turns.set(key, settled);
  void settled.then(() => {
    if (turns.get(key) === settled) turns.delete(key);
  });
  return turn;
}
