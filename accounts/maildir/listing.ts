// Listing a Maildir folder: every message in new/ and cur/ with its POP size, oldest first. A large
// listing is kept in memory keyed by the modification times of new/ and cur/, which change whenever a
// message is added, renamed (a flag) or removed there, so a second sign-in to a big mailbox that did
// not change costs two stat calls instead of reading and sorting the whole folder again.
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { type ArrivalKey, arrivalKey, compareArrival, parseMaildirName } from './filename.js';
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

async function stampOf(folder: string): Promise<string> {
  const [n, c] = await Promise.all([stat(join(folder, 'new'), { bigint: true }), stat(join(folder, 'cur'), { bigint: true })]);
  return `${n.mtimeNs}:${n.ino}/${c.mtimeNs}:${c.ino}`;
}

export async function listFolder(folder: string): Promise<readonly Listed[]> {
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
    for (const name of await readdir(join(folder, sub))) {
      if (!name.startsWith('.')) found.push({ ...arrivalKey(name), sub });
    }
  }
  found.sort(compareArrival); // oldest first, the order Dovecot numbers them in too

  let sizes: SizeCache | undefined;
  const listing: Listed[] = [];
  for (const { sub, name } of found) {
    const parsed = parseMaildirName(name);
    let size = parsed.popSize;
    if (size === undefined) {
      sizes ??= await SizeCache.load(folder);
      try {
        size = await sizes.sizeOf(parsed.base, join(folder, sub, name));
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue; // removed while we listed
        throw err;
      }
    }
    listing.push({ sub, name, base: parsed.base, flags: parsed.flags, size });
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
