// Listing a Maildir folder: every message in new/ and cur/ with its POP size, oldest first. A large
// listing is kept in memory keyed by the modification times of new/ and cur/, which change whenever a
// message is added, renamed (a flag) or removed there, so a second sign-in to a big mailbox that did
// not change costs two stat calls instead of reading and sorting the whole folder again.
import { lstat, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { type ArrivalKey, arrivalKey, compareArrival, parseMaildirName } from './filename.js';
import { MailboxLinkError, reportOnce, type StoreLog } from './real-folders.js';
import { SizeCache } from './size-cache.js';

export interface Listed {
  readonly sub: 'new' | 'cur';
  readonly name: string;
  readonly base: string;
  readonly flags: string;
  readonly size: number;
}

// Folders smaller than this are listed afresh every time (cheap); at most this many are kept.
const CACHE_FROM = 1000;
const CACHE_FOLDERS = 16;

interface Cached {
  stamp: string;
  listing: readonly Listed[];
}

const cache = new Map<string, Cached>();

/** The modification times of new/ and cur/, which must be real folders (not links). */
async function stampOf(folder: string): Promise<string> {
  const [n, c] = await Promise.all([lstat(join(folder, 'new'), { bigint: true }), lstat(join(folder, 'cur'), { bigint: true })]);
  if (!n.isDirectory()) throw new MailboxLinkError(join(folder, 'new'));
  if (!c.isDirectory()) throw new MailboxLinkError(join(folder, 'cur'));
  return `${n.mtimeNs}:${n.ino}/${c.mtimeNs}:${c.ino}`;
}

/** How often a message renamed again and again by other sessions is looked for before giving up. */
export const RENAME_RETRIES = 5;

/** Where the message with this base name is now, or null when it is gone. */
export async function findByBase(folder: string, base: string): Promise<{ sub: 'new' | 'cur'; name: string } | null> {
  for (const sub of ['cur', 'new'] as const) {
    for (const name of await readdir(join(folder, sub))) {
      if (name.startsWith(base) && parseMaildirName(name).base === base) return { sub, name };
    }
  }
  return null;
}

/**
 * Every message of the folder, oldest first. What is not a plain file (a folder, a symbolic link, a
 * device) is left out, and logged once, so one odd entry never makes a mailbox unusable.
 */
export async function listFolder(folder: string, log?: StoreLog): Promise<readonly Listed[]> {
  // The stamp is taken before reading: a change made while we read gives a newer stamp next time.
  const stamp = await stampOf(folder);
  const hit = cache.get(folder);
  if (hit && hit.stamp === stamp) {
    cache.delete(folder); // most recently used last
    cache.set(folder, hit);
    return hit.listing;
  }

  const found: (ArrivalKey & { sub: 'new' | 'cur' })[] = [];
  for (const sub of ['new', 'cur'] as const) {
    for (const entry of await readdir(join(folder, sub), { withFileTypes: true })) {
      if (entry.name.startsWith('.')) continue;
      if (entry.isFile()) found.push({ ...arrivalKey(entry.name), sub });
      else reportOnce(log, join(folder, sub, entry.name), entry.isSymbolicLink() ? 'a symbolic link' : entry.isDirectory() ? 'a folder' : 'not a plain file');
    }
  }
  found.sort(compareArrival); // oldest first, the order Dovecot numbers them in too

  let sizes: SizeCache | undefined;
  const listing: Listed[] = [];
  // Another session may move a message from new/ to cur/ (setting Seen) while we list: it can then be
  // in both listings. It is kept once, as the cur/ entry (where it is now).
  const at = new Map<string, number>();
  for (const entry of found) {
    let { sub, name } = entry;
    let parsed = parseMaildirName(name);
    const seen = at.get(parsed.base);
    if (seen !== undefined && (sub === 'new' || listing[seen].sub === 'cur')) continue;
    let size = parsed.popSize;
    for (let attempt = 0; size === undefined && attempt <= RENAME_RETRIES; attempt++) {
      sizes ??= await SizeCache.load(folder);
      try {
        size = await sizes.sizeOf(parsed.base, join(folder, sub, name));
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ELOOP') break; // replaced by a link meanwhile: left out
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
        // Renamed (a flag) since we read the folder, or removed: measure it where it is now. A name that
        // is there and still cannot be opened (a dangling link) is left out, as a removed one.
        const now = await findByBase(folder, parsed.base);
        if (!now || (now.sub === sub && now.name === name)) break;
        ({ sub, name } = now);
        parsed = parseMaildirName(name);
        size = parsed.popSize;
      }
    }
    if (size === undefined) continue; // removed while we listed, or unreadable
    const listed: Listed = { sub, name, base: parsed.base, flags: parsed.flags, size };
    if (seen !== undefined) {
      listing[seen] = listed;
    } else {
      at.set(parsed.base, listing.length);
      listing.push(listed);
    }
  }
  if (sizes) await sizes.save(new Set(listing.map((e) => e.base)));

  if (listing.length >= CACHE_FROM) {
    cache.set(folder, { stamp, listing });
    if (cache.size > CACHE_FOLDERS) cache.delete(cache.keys().next().value!);
  } else {
    cache.delete(folder);
  }
  return listing;
}
