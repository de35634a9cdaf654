// The primary process's count of every worker's sessions, sign-in failures and submissions, so that
// the limits hold for the server as a whole (serve --workers): maxChannels and the per-address limits
// (listeners/admission.ts, the same rules: the oldest connection still signing in is closed to make
// room, whichever worker holds it), the growing sign-in delay (auth-throttle.ts), submission.maxPerHour.
// A worker that dies takes its sessions out of the count.
import type { AdmissionLimits } from '../../listeners/admission.js';
import { PerAddress } from '../../listeners/per-address.js';
import { AuthThrottle } from '../../sessions/auth-throttle.js';
import type { AdmitAnswer, Request } from './messages.js';

interface Entry {
  readonly worker: number;
  readonly sid: string;
  readonly address: string;
}

class Pool {
  readonly sessions = new PerAddress<Entry>();
  readonly unauthenticated = new PerAddress<Entry>();
  readonly byKey = new Map<string, Entry>();

  add(e: Entry, signedIn = false): void {
    this.byKey.set(`${e.worker}/${e.sid}`, e);
    this.sessions.add(e.address, e);
    if (!signedIn) this.unauthenticated.add(e.address, e);
  }

  remove(e: Entry): void {
    this.byKey.delete(`${e.worker}/${e.sid}`);
    this.sessions.delete(e.address, e);
    this.unauthenticated.delete(e.address, e);
  }
}

export class Coordinator {
  private readonly pools = new Map<string, Pool>();
  private readonly throttles = new Map<string, AuthThrottle>();
  private readonly rates = new Map<string, number[]>();

  /** `evict(worker, pool, sid)`: tell that worker to close that session to make room. */
  constructor(private readonly evict: (worker: number, pool: string, sid: string) => void) {}

  private pool(name: string): Pool {
    let p = this.pools.get(name);
    if (!p) this.pools.set(name, (p = new Pool()));
    return p;
  }

  answer(worker: number, r: Request): AdmitAnswer | number | boolean {
    if (r.op === 'admit') return this.admit(worker, r.pool, r.address, r.limits, r.sid);
    if (r.op === 'throttle') {
      let t = this.throttles.get(r.pool);
      if (!t) this.throttles.set(r.pool, (t = new AuthThrottle(r.baseSeconds)));
      t.baseSeconds = r.baseSeconds;
      return t.failed(r.address);
    }
    const now = Date.now();
    const times = (this.rates.get(r.key) ?? []).filter((t) => now - t < r.windowMs);
    const within = times.length < r.max;
    if (within) times.push(now);
    if (times.length > 0) this.rates.set(r.key, times);
    else this.rates.delete(r.key);
    return within;
  }

  /** Admission.admit() over every worker's sessions; an admitted one is counted at once. */
  private admit(worker: number, poolName: string, address: string, limits: AdmissionLimits, sid: string): AdmitAnswer {
    const p = this.pool(poolName);
    const evicted: string[] = [];
    const checks: [() => boolean, string, string | undefined][] = [
      [() => p.unauthenticated.count(address) >= limits.unauthenticatedPerAddress, 'maxUnauthenticatedPerAddress', address],
      [() => p.sessions.count(address) >= limits.perAddress, 'maxChannelsPerAddress', address],
      [() => p.unauthenticated.size >= limits.unauthenticated, 'maxUnauthenticated', undefined],
      [() => p.sessions.size >= limits.total, 'maxChannels', undefined],
    ];
    for (const [reached, limit, from] of checks) {
      if (!reached()) continue;
      const oldest = p.unauthenticated.values(from)[Symbol.iterator]().next().value as Entry | undefined;
      if (!oldest) return { refusedBy: limit, evicted };
      p.remove(oldest);
      this.evict(oldest.worker, poolName, oldest.sid);
      evicted.push(limit);
    }
    p.add({ worker, sid, address }, limits.signedInOnArrival === true);
    return { refusedBy: null, evicted };
  }

  signedIn(worker: number, pool: string, sid: string): void {
    const p = this.pool(pool);
    const e = p.byKey.get(`${worker}/${sid}`);
    if (e) p.unauthenticated.delete(e.address, e);
  }

  released(worker: number, pool: string, sid: string): void {
    const p = this.pool(pool);
    const e = p.byKey.get(`${worker}/${sid}`);
    if (e) p.remove(e);
  }

  /** A session chosen to make room had signed in before its worker heard: it stays, counted as signed in. */
  kept(worker: number, pool: string, sid: string, address: string): void {
    const p = this.pool(pool);
    const e = { worker, sid, address };
    p.byKey.set(`${worker}/${sid}`, e);
    p.sessions.add(address, e);
  }

  /** A worker exited: none of its sessions is open any more. */
  workerGone(worker: number): void {
    for (const p of this.pools.values()) for (const e of [...p.byKey.values()]) if (e.worker === worker) p.remove(e);
  }

  /** Sessions counted in a pool (for tests and logs). */
  open(pool: string): number {
    return this.pools.get(pool)?.sessions.size ?? 0;
  }
}
