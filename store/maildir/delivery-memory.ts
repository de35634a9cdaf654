// What deliveries to an account remember between runs (DeliveryMemory of store/contract.ts): vacation's
// "answered this sender already" (RFC 5230 section 4.2) and duplicate's ids (RFC 7352), in one file of
// Postern's in the account's home, `postern-sieve-memory` (Pigeonhole keeps these in Dovecot's lda-dupes
// file, which Postern does not share: each server keeps its own). One line per key remembered:
//
//   1796113780 9f86d081884c7d659a2feaa0c55ad015       expires at (Unix seconds), the key's SHA-256 (128 bits)
//
// Keys are hashed: the file holds no addresses, and every line has the same length. A record is appended
// (one short write) under the dotlock postern-sieve-memory.lock, so processes and workers on the tree never
// lose each other's records; a later line of a key replaces an earlier one. Readers take no lock: they read
// what was appended since their last look (a stat, then only the new octets). When the file passes
// COMPACT_AT octets it is rewritten whole (under the lock, through postern-sieve-memory.tmp renamed over it)
// with the keys that have not expired, at most MAX_KEYS of them (those that expire last): the file stays
// bounded, and a key dropped early only means one more vacation reply (Pigeonhole's own memory expires too).
import { createHash } from 'node:crypto';
import { mkdir, open, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { DeliveryMemory } from '../contract.js';
import { acquireDotlock, type Dotlock } from './dotlock.js';
import { inheritOwner } from './owner.js';
import { readRange, replaceFile } from './whole-files.js';

export const DELIVERY_MEMORY_FILE = 'postern-sieve-memory';
/** Keys kept at most after a compaction. */
export const MAX_KEYS = 10_000;
/** A record's length: 10 digits of seconds (until 2286), a space, 32 hex digits, a line end. */
const LINE = 44;
/** The file is compacted past this size (twice the records a compaction keeps). */
export const COMPACT_AT = 2 * MAX_KEYS * LINE;
/** The longest a delivery waits for the lock (its holder only appends a line or rewrites a small file). */
const LOCK_TIMEOUT_MS = 10_000;
const LOCK_STALE_MS = 30_000;

interface Cache {
  ino: number;
  /** Octets read so far (up to the last whole line). */
  consumed: number;
  /** Each key hash and when it expires (Unix seconds). */
  keys: Map<string, number>;
}

/** The records of one file, shared by every DeliveryMemory of this process over that file. */
const caches = new Map<string, Cache>();
/** Files whose records are kept in this process at most (past this, the oldest is forgotten). */
const KEPT_FILES = 256;

function hashOf(key: string): string {
  return createHash('sha256').update(key).digest('hex').slice(0, 32);
}

function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}

export class MaildirDeliveryMemory implements DeliveryMemory {
  private readonly path: string;

  /** `home`: the account folder (dataDir/accounts/DOMAIN/NAME). */
  constructor(private readonly home: string) {
    this.path = join(home, DELIVERY_MEMORY_FILE);
  }

  async seen(key: string): Promise<boolean> {
    const keys = await this.read();
    const until = keys.get(hashOf(key));
    return until !== undefined && until > nowSeconds();
  }

  async remember(key: string, seconds: number): Promise<void> {
    const until = nowSeconds() + Math.max(0, Math.ceil(seconds));
    const line = `${String(until).padStart(10, '0')} ${hashOf(key)}\n`;
    const lock = await this.lock();
    try {
      const handle = await open(this.path, 'a', 0o600);
      let size: number;
      try {
        await handle.write(line);
        size = (await handle.stat()).size;
      } finally {
        await handle.close();
      }
      if (size === line.length) await inheritOwner(this.path); // (just made: the folder's owner, for Dovecot's tools)
      if (size > COMPACT_AT) await this.compact();
    } finally {
      await lock.release();
    }
  }

  /** Takes the file's dotlock (making the home first when it is missing: an account not yet delivered to). */
  private async lock(): Promise<Dotlock> {
    // Postern's own file: the cheaper form of the lock (dotlock.ts)
    const options = { timeoutMs: LOCK_TIMEOUT_MS, staleMs: LOCK_STALE_MS, guarded: this.path, form: 'symlink' as const };
    try {
      return await acquireDotlock(`${this.path}.lock`, options);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      await mkdir(this.home, { recursive: true, mode: 0o700 });
      return acquireDotlock(`${this.path}.lock`, options);
    }
  }

  /** Rewrites the file with the live keys only, at most MAX_KEYS (the caller holds the lock). */
  private async compact(): Promise<void> {
    const now = nowSeconds();
    const live = [...(await this.read())].filter(([, until]) => until > now);
    live.sort((a, b) => b[1] - a[1]);
    const kept = live.slice(0, MAX_KEYS);
    await replaceFile(this.path, kept.map(([hash, until]) => `${String(until).padStart(10, '0')} ${hash}\n`).join(''), true);
    caches.delete(this.path);
  }

  /** The records as the file has them now: a stat, then the octets appended since the last read (or all of it). */
  private async read(): Promise<Map<string, number>> {
    const st = await stat(this.path).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return null;
      throw err;
    });
    if (st === null) {
      caches.delete(this.path);
      return new Map();
    }
    let cache = caches.get(this.path);
    if (!cache || cache.ino !== st.ino || st.size < cache.consumed) cache = { ino: st.ino, consumed: 0, keys: new Map() };
    if (st.size > cache.consumed) {
      const bytes = await readRange(this.path, cache.consumed, st.size);
      const end = bytes.lastIndexOf(0x0a) + 1; // (a line being written is read next time)
      for (const line of bytes.subarray(0, end).toString('latin1').split('\n')) {
        const m = /^(\d{1,12}) ([0-9a-f]{32})$/.exec(line);
        if (m) cache.keys.set(m[2], Number(m[1]));
      }
      cache.consumed += end;
    }
    caches.delete(this.path);
    caches.set(this.path, cache);
    if (caches.size > KEPT_FILES) caches.delete(caches.keys().next().value!);
    return cache.keys;
  }
}
