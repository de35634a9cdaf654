// A bounded in-memory cache of recent successful password checks, like Dovecot's auth cache: a
// repeated sign-in with the same password skips the scrypt computation. It never holds a password:
// an entry is an HMAC of the password under a key made fresh for each process, tied to the stored
// hash, so changing the password (a new hash in account.json) makes the entry useless at once.
// Entries expire; the oldest go first when the cache is full.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

interface Entry {
  storedHash: string;
  proof: Buffer;
  expires: number;
}

export class AuthCache {
  private readonly key = randomBytes(32);
  private readonly entries = new Map<string, Entry>();

  constructor(
    private readonly maxEntries: number,
    private readonly ttlMs: number,
  ) {}

  get enabled(): boolean {
    return this.maxEntries > 0 && this.ttlMs > 0;
  }

  private proof(account: string, password: string): Buffer {
    return createHmac('sha256', this.key).update(account).update('\0').update(password).digest();
  }

  /** True when this password was verified for this account and stored hash recently. */
  has(account: string, storedHash: string, password: string, now = Date.now()): boolean {
    if (!this.enabled) return false;
    const e = this.entries.get(account);
    if (!e) return false;
    if (e.expires <= now || e.storedHash !== storedHash) {
      this.entries.delete(account);
      return false;
    }
    return timingSafeEqual(e.proof, this.proof(account, password));
  }

  /** Remembers a successful check. */
  add(account: string, storedHash: string, password: string, now = Date.now()): void {
    if (!this.enabled) return;
    this.entries.delete(account);
    this.entries.set(account, { storedHash, proof: this.proof(account, password), expires: now + this.ttlMs });
    if (this.entries.size > this.maxEntries) this.entries.delete(this.entries.keys().next().value!);
  }
}
