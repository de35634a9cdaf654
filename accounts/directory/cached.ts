// Dovecot's auth cache for a directory (auth_cache_ttl): an answer is kept for `ttlMs`, a user that does
// not exist too (auth_cache_negative_ttl, the same time here), so repeated sign-ins and deliveries ask the
// database once per TTL. When the directory cannot answer, an expired answer of a user that exists is used
// (Dovecot falls back to expired cache entries on an internal failure, when it has a cache), so a short outage does not stop
// users who signed in recently. The password check itself is cached apart (accounts/auth-cache.ts).
import type { Directory, DirectoryEntry, LookupContext } from './contract.js';
import { DirectoryUnavailable } from './contract.js';

interface Kept {
  readonly entry: DirectoryEntry | null;
  readonly expires: number;
}

/** The most answers kept (the oldest go first). */
const MAX_ENTRIES = 100_000;

export class CachedDirectory implements Directory {
  readonly description: string;
  private readonly kept = new Map<string, Kept>();
  /** Lookups of one login already under way: one query serves every sign-in that waits for it. */
  private readonly pending = new Map<string, Promise<DirectoryEntry | null>>();
  readonly verify?: Directory['verify'];

  constructor(
    private readonly directory: Directory,
    private readonly ttlMs: number,
    /** Told when an expired answer stands in for a directory that cannot answer. */
    private readonly onStale: (login: string, err: DirectoryUnavailable) => void = () => {},
  ) {
    this.description = directory.description;
    if (directory.verify) this.verify = directory.verify.bind(directory);
  }

  async lookup(login: string, context?: LookupContext): Promise<DirectoryEntry | null> {
    const key = login.toLowerCase();
    const kept = this.kept.get(key);
    const now = Date.now();
    if (kept && kept.expires > now) return kept.entry;
    const running = this.pending.get(key);
    if (running !== undefined) return running;
    const lookup = this.directory.lookup(key, context).then(
      (entry) => {
        this.keep(key, entry);
        return entry;
      },
      (err: unknown) => {
        if (err instanceof DirectoryUnavailable && kept?.entry) {
          this.onStale(key, err);
          return kept.entry;
        }
        throw err;
      },
    );
    this.pending.set(key, lookup);
    try {
      return await lookup;
    } finally {
      this.pending.delete(key);
    }
  }

  private keep(key: string, entry: DirectoryEntry | null): void {
    if (this.ttlMs <= 0) return; // no cache (cacheTtl: 0), and so nothing to fall back on, as in Dovecot
    this.kept.delete(key);
    this.kept.set(key, { entry, expires: Date.now() + this.ttlMs });
    if (this.kept.size > MAX_ENTRIES) this.kept.delete(this.kept.keys().next().value!);
  }

  list(): Promise<string[]> {
    return this.directory.list();
  }

  close(): Promise<void> {
    this.kept.clear();
    return this.directory.close();
  }
}
