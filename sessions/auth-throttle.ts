// Slows down repeated failed sign-ins from one address without locking anybody out: from the third
// failure within the window, each failed attempt's answer waits longer (base, 2 x base, 4 x base ...
// up to a cap). A correct password is never delayed, so the real user still gets in.

/** Failures further apart than this start the count again. */
export const THROTTLE_WINDOW_MS = 15 * 60_000;
const MAX_DELAY_MS = 30_000;
const MAX_TRACKED = 10_000;

/** A throttle kept by one process for several (the workers): records a failure, answers the delay. */
export type SharedThrottle = (pool: string, address: string, baseSeconds: number) => Promise<number>;

export class AuthThrottle {
  private readonly failures = new Map<string, { count: number; last: number }>();
  private shared: { pool: string; failed: SharedThrottle } | null = null;

  constructor(public baseSeconds: number) {}

  /** From now on failures from every process sharing `failed` count together (under `pool`). */
  share(pool: string, failed: SharedThrottle): void {
    this.shared = { pool, failed };
  }

  /** failed(), counted across processes when shared. */
  async failedShared(address: string): Promise<number> {
    return this.shared ? this.shared.failed(this.shared.pool, address, this.baseSeconds) : this.failed(address);
  }

  /** Records a failed sign-in from `address` and returns how long to wait before answering (ms). */
  failed(address: string, now = Date.now()): number {
    let entry = this.failures.get(address);
    if (!entry || now - entry.last > THROTTLE_WINDOW_MS) entry = { count: 0, last: now };
    entry.count += 1;
    entry.last = now;
    this.failures.delete(address); // re-insert: the Map stays ordered oldest first
    this.failures.set(address, entry);
    if (this.failures.size > MAX_TRACKED) this.failures.delete(this.failures.keys().next().value!);
    return failureDelay(entry.count, this.baseSeconds);
  }
}

/** The wait before answering the `count`th failure in a row from one address (ms). */
export function failureDelay(count: number, baseSeconds: number): number {
  if (count < 3 || baseSeconds === 0) return 0;
  return Math.min(baseSeconds * 1000 * 2 ** (count - 3), MAX_DELAY_MS);
}
