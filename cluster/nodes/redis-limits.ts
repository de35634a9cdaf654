// The limits of several nodes kept in Redis (redis-scripts.ts): maxChannels and the per-address limits
// with the same eviction rule as one process, the growing sign-in delay, submission.maxPerHour. While
// Redis is down, or a question to it fails, the node's own count answers (`fallback`: this process, or
// the primary of its workers), which is why every session is told to it too. When Redis is back, this
// process puts its open sessions there again (they may have come or gone meanwhile, or Redis may have
// restarted empty) and carries on. A node's heartbeat every few seconds keeps what it holds in Redis; a
// node that stops (kill -9, a machine lost) is taken out by the others within DEAD_AFTER_MS.
import { randomBytes } from 'node:crypto';
import type { AdmissionLimits, SharedAdmission } from '../../listeners/admission.js';
import type { SharedRate } from '../../submission/submitter.js';
import { failureDelay, type SharedThrottle, THROTTLE_WINDOW_MS } from '../../sessions/auth-throttle.js';
import type { Logger } from '../../observability/logger.js';
import type { SharedLimits } from '../shared-limits.js';
import type { RedisLink } from './redis-link.js';

const HEARTBEAT_MS = 3000;
/** A node silent this long is gone: what it held is given back. */
export const DEAD_AFTER_MS = 10_000;
/** What the fallback is told of a session admitted by Redis: counted there, never checked. */
const UNCHECKED: AdmissionLimits = {
  total: Number.MAX_SAFE_INTEGER,
  perAddress: Number.MAX_SAFE_INTEGER,
  unauthenticated: Number.MAX_SAFE_INTEGER,
  unauthenticatedPerAddress: Number.MAX_SAFE_INTEGER,
};

interface Held {
  readonly pool: string;
  readonly sid: string;
  readonly address: string;
  signedIn: boolean;
}

export class RedisLimits implements SharedLimits {
  /** This process's open sessions, what Redis is given again after an outage. */
  private readonly held = new Map<string, Held>();
  private readonly evictors = new Map<string, (sid: string) => void>();
  /** Set when Redis may not know what this process holds (a write failed, or Redis was away). */
  private stale = true;
  private readonly timer: NodeJS.Timeout;
  private beating = false;
  /** Admissions sent to Redis and not answered yet. */
  private admitting = 0;
  /** Heartbeats that replaced what Redis holds (an admission that overlapped one checks this). */
  private replaces = 0;
  private lastFailureLog = 0;

  constructor(
    private readonly link: RedisLink,
    private readonly fallback: SharedLimits,
    private readonly logger: Logger,
  ) {
    link.subscribe('evict', (message) => this.evictNotice(message));
    link.onUp(() => {
      this.stale = true;
      void this.beat();
    });
    this.timer = setInterval(() => void this.beat(), HEARTBEAT_MS);
    this.timer.unref();
  }

  private heldKey(pool: string, sid: string): string {
    return `${pool}|${sid}`;
  }

  /**
   * The heartbeat; after an outage or a failed write it first replaces what Redis holds for this node,
   * and it does so too when Redis counts another number of sessions for this node than it holds (a
   * sweep while this node was stalled, a race between a replace and an admission): whatever went wrong,
   * Redis's view of this node is right again within a heartbeat or two.
   */
  private async beat(): Promise<void> {
    if (this.beating || !this.link.up) return;
    this.beating = true;
    try {
      for (let attempt = 0; attempt < 2; attempt++) {
        const replace = this.stale;
        this.stale = false;
        if (replace) this.replaces += 1;
        // admissions on their way are held here and may not be counted there yet
        const args: (string | number)[] = [
          this.link.node,
          DEAD_AFTER_MS,
          this.held.size - this.admitting,
          this.held.size,
          replace ? '1' : '0',
        ];
        if (replace) for (const h of this.held.values()) args.push(h.pool, h.sid, h.address, h.signedIn ? '1' : '0');
        const known = await this.link.run('heartbeat', ...args);
        if (known === 1) break;
        this.stale = true; // Redis had lost this node, or counts it wrong: give it everything again
      }
    } catch (err) {
      this.failed(err);
    } finally {
      this.beating = false;
    }
  }

  /** A question to Redis failed: the next heartbeat puts things right; said once a minute at most. */
  private failed(err: unknown): void {
    this.stale = true;
    const now = Date.now();
    if (now - this.lastFailureLog < 60_000) return;
    this.lastFailureLog = now;
    this.logger.error(
      { err: (err as Error).message },
      'a Redis command failed: this node answers on its own count until Redis answers again',
    );
  }

  /** Another node (or this one) chose a session to close to make room. */
  private evictNotice(message: string): void {
    const bar = message.indexOf('|');
    const node = message.slice(0, bar);
    if (node !== this.link.node) return;
    const rest = message.slice(bar + 1);
    const tab = rest.indexOf('\t');
    this.evict(rest.slice(0, tab), rest.slice(tab + 1), true);
  }

  /**
   * Closes one of this process's sessions for room; `byRedis`: the fallback still counts it, and
   * Redis is told again that it is gone (a heartbeat replacing this node's sessions may have put it back
   * before the word came).
   */
  private evict(pool: string, sid: string, byRedis: boolean): void {
    this.held.delete(this.heldKey(pool, sid));
    if (byRedis) {
      this.fallback.admission.released(pool, sid);
      this.write('released', pool, this.link.node, sid);
    }
    this.evictors.get(pool)?.(sid);
  }

  private async admit(
    pool: string,
    address: string,
    limits: AdmissionLimits,
    sid: string,
  ): Promise<{ refusedBy: string | null; evicted: string[] }> {
    const key = this.heldKey(pool, sid);
    if (this.link.up) {
      // held before Redis is asked, so that a heartbeat replacing this node's sessions meanwhile keeps it
      this.held.set(key, { pool, sid, address, signedIn: limits.signedInOnArrival === true });
      const replaces = this.replaces;
      this.admitting += 1;
      try {
        const out = (await this.link.run(
          'admit',
          pool,
          address,
          this.link.node,
          sid,
          limits.total,
          limits.perAddress,
          limits.unauthenticated,
          limits.unauthenticatedPerAddress,
          limits.signedInOnArrival ? '1' : '0',
        )) as string[];
        // the sessions chosen to make room are told by the script's own notices (evictNotice)
        const evicted: string[] = [];
        for (let i = 1; i < out.length; i += 2) evicted.push(out[i]);
        const refusedBy = out[0] === '' ? null : out[0];
        if (refusedBy !== null) {
          this.held.delete(key);
          if (this.replaces !== replaces) this.write('released', pool, this.link.node, sid); // a replace may have put it there
        } else if (this.held.has(key)) {
          this.fallback.admission.admit(pool, address, { ...UNCHECKED, signedInOnArrival: limits.signedInOnArrival }, sid).catch(() => {});
        }
        return { refusedBy, evicted };
      } catch (err) {
        this.held.delete(key);
        this.failed(err);
      } finally {
        this.admitting -= 1;
      }
    }
    const answer = await this.fallback.admission.admit(pool, address, limits, sid);
    if (answer.refusedBy === null) {
      this.held.set(key, { pool, sid, address, signedIn: limits.signedInOnArrival === true });
      this.stale = true; // Redis does not know this one
    }
    return answer;
  }

  /** Runs a script when Redis is up; a failure only marks what Redis holds as stale. */
  private write(name: 'signedIn' | 'released' | 'kept', ...args: string[]): void {
    if (!this.link.up) {
      this.stale = true;
      return;
    }
    this.link.run(name, ...args).catch((err: unknown) => this.failed(err));
  }

  readonly admission: SharedAdmission = {
    admit: (pool, address, limits, sid) => this.admit(pool, address, limits, sid),
    signedIn: (pool, sid) => {
      const h = this.held.get(this.heldKey(pool, sid));
      if (h) h.signedIn = true;
      this.fallback.admission.signedIn(pool, sid);
      this.write('signedIn', pool, this.link.node, sid);
    },
    released: (pool, sid) => {
      this.held.delete(this.heldKey(pool, sid));
      this.fallback.admission.released(pool, sid);
      this.write('released', pool, this.link.node, sid);
    },
    onEvict: (pool, evict) => {
      this.evictors.set(pool, evict);
      // while Redis is away the node's own count chooses (it has already forgotten the session)
      this.fallback.admission.onEvict(pool, (sid) => this.evict(pool, sid, false));
    },
    kept: (pool, sid, address) => {
      this.held.set(this.heldKey(pool, sid), { pool, sid, address, signedIn: true });
      this.fallback.admission.kept(pool, sid, address);
      this.write('kept', pool, this.link.node, sid, address);
    },
  };

  /** Asks Redis while it is up, else (or when the question fails) the node's own count. */
  private async either<T>(viaRedis: () => Promise<T>, own: () => Promise<T>): Promise<T> {
    if (this.link.up) {
      try {
        return await viaRedis();
      } catch (err) {
        this.failed(err);
      }
    }
    return own();
  }

  readonly throttle: SharedThrottle = (pool, address, baseSeconds) =>
    this.either(
      async () => failureDelay(Number(await this.link.run('failed', pool, address, THROTTLE_WINDOW_MS)), baseSeconds),
      () => this.fallback.throttle(pool, address, baseSeconds),
    );

  readonly rate: SharedRate = (key, max, windowMs) =>
    this.either(
      async () => (await this.link.run('rate', key, max, windowMs, `${this.link.node}:${randomBytes(6).toString('hex')}`)) === 1,
      () => this.fallback.rate(key, max, windowMs),
    );

  /** The node stops: what it holds in Redis is given back at once (not after DEAD_AFTER_MS). */
  async leave(): Promise<void> {
    clearInterval(this.timer);
    if (!this.link.up) return;
    await this.link.run('leave', this.link.node).catch(() => {});
  }
}
