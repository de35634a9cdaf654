// Who may connect (CommuniGate's "Maximum Number of Channels", per client address too), the same for
// every protocol module: signed-in sessions and connections still signing in are counted apart, and at
// a limit the oldest connection only waiting for its client to sign in is closed to make room (as
// Dovecot's login processes do), so slow or idle clients that never sign in cannot keep others out.
// Signed-in sessions are never closed for room: past the limits, a new connection is refused.
import { PerAddress } from './per-address.js';

/** What admission needs of a module's session. */
export interface AdmittedSession {
  readonly conn: { readonly remoteAddress: string; readonly id: string };
  /** True while the session only waits for its client (it may then be closed to make room). */
  readonly waitingForClient: boolean;
  /** Closes it to make room, telling the client why. */
  evict(): void;
}

export interface AdmissionLimits {
  total: number;
  perAddress: number;
  unauthenticated: number;
  unauthenticatedPerAddress: number;
  /** Sessions count as signed in from the start (an MTA's LMTP connection): never closed to make room. */
  signedInOnArrival?: boolean;
}

/**
 * The limits of a module whose clients are mail servers, not users (LMTP, the auth socket): the total
 * alone, since an MTA opens many connections from one address; none signs in, none is closed for room.
 */
export function mtaLimits(total: number): AdmissionLimits {
  const none = Number.MAX_SAFE_INTEGER;
  return { total, perAddress: none, unauthenticated: none, unauthenticatedPerAddress: none, signedInOnArrival: true };
}

class Sessions<S extends AdmittedSession> extends PerAddress<S> {
  oldestWaiting(address?: string): S | undefined {
    for (const s of this.values(address)) if (s.waitingForClient) return s;
    return undefined;
  }
}

/** A new connection for a module, as welcome() takes it. */
export interface Arrival<S> {
  readonly conn: {
    readonly id: string;
    readonly remoteAddress: string;
    readonly peer: string;
    readonly listener: string;
    readonly socket: { readonly destroyed: boolean };
  };
  /** The module's log tag ("POP", "IMAP"). */
  readonly tag: string;
  /** The name a limit is counted under in the metrics ("maxChannels", "imap.maxChannels"). */
  readonly label: (limit: string) => string;
  readonly metrics: {
    readonly evicted: { inc(labels: { limit: string }): void };
    readonly refused: { inc(labels: { limit: string }): void };
    readonly connections: { inc(labels: { listener: string }): void };
  };
  readonly log: { info(fields: Record<string, unknown>, msg: string): void; error(fields: Record<string, unknown>, msg: string): void };
  /** True once the module is stopping. */
  stopping(): boolean;
  /** Tells the client why it is not served (in the module's words) and closes. */
  refuse(why: string): void;
  /** Makes the session (not started). */
  session(): S;
  /** Starts it once it is counted. */
  start(session: S): void;
}

/**
 * The limits kept for several processes at once (the workers of `serve --workers`): one place counts
 * every process's sessions, says whether a new one may come in, and tells the process holding the
 * connection it chose to close to make room. Sessions are named by their connection id.
 */
export interface SharedAdmission {
  admit(pool: string, address: string, limits: AdmissionLimits, id: string): Promise<{ refusedBy: string | null; evicted: string[] }>;
  signedIn(pool: string, id: string): void;
  released(pool: string, id: string): void;
  /** `evict` is called with the id of a session of this process to close to make room. */
  onEvict(pool: string, evict: (id: string) => void): void;
  /** The session asked to be closed had signed in meanwhile: it stays, and is counted again. */
  kept(pool: string, id: string, address: string): void;
}

export class Admission<S extends AdmittedSession> {
  limits: AdmissionLimits = { total: 0, perAddress: 0, unauthenticated: 0, unauthenticatedPerAddress: 0 };
  private readonly sessions = new Sessions<S>();
  private readonly unauthenticated = new Sessions<S>();
  private shared: SharedAdmission | null = null;

  /** `pool`: the name the limits are shared under (the module's). */
  constructor(private readonly pool: string) {}

  /** From now on the limits count the sessions of every process that shares `shared`. */
  share(shared: SharedAdmission): void {
    this.shared = shared;
    shared.onEvict(this.pool, (id) => {
      for (const s of this.sessions.values()) {
        if (s.conn.id !== id) continue;
        if (!this.unauthenticated.delete(s.conn.remoteAddress, s)) {
          shared.kept(this.pool, id, s.conn.remoteAddress); // signed in before the word came: it stays
          return;
        }
        this.sessions.delete(s.conn.remoteAddress, s);
        s.evict();
        return;
      }
      // admitted, not added yet: closed as soon as it is (an id of a connection already gone is ignored)
      if (this.asking.has(id)) this.evictWhenAdded.add(id);
    });
  }

  private readonly evictWhenAdded = new Set<string>();
  /** Connections whose admission was asked of the shared limits and that are not sessions yet. */
  private readonly asking = new Set<string>();

  /**
   * admit() for a session not added yet, counting every process when the limits are shared; the
   * session's connection id names it there. Resolves to null (it may come in) or the limit refusing it.
   */
  async admitShared(address: string, id: string, evicted: (limit: string) => void): Promise<string | null> {
    if (!this.shared) return this.admit(address, evicted);
    this.asking.add(id);
    let verdict: Awaited<ReturnType<SharedAdmission['admit']>>;
    try {
      verdict = await this.shared.admit(this.pool, address, this.limits, id);
    } catch (err) {
      this.asking.delete(id);
      this.evictWhenAdded.delete(id);
      throw err;
    }
    for (const limit of verdict.evicted) evicted(limit);
    if (verdict.refusedBy) {
      this.asking.delete(id);
      this.evictWhenAdded.delete(id);
    }
    return verdict.refusedBy;
  }

  get size(): number {
    return this.sessions.size;
  }

  values(): S[] {
    return [...this.sessions.values()];
  }

  /**
   * Makes room for a connection from `address`: null when it may come in (connections closed to make
   * room were reported to `evicted` with the limit reached), else the name of the limit that refuses it.
   */
  admit(address: string, evicted: (limit: string) => void): string | null {
    const { total, perAddress, unauthenticated, unauthenticatedPerAddress } = this.limits;
    // Each limit is checked after making room for the ones before it (closing one connection counts for all).
    const checks: [() => boolean, string, string | undefined][] = [
      [() => this.unauthenticated.count(address) >= unauthenticatedPerAddress, 'maxUnauthenticatedPerAddress', address],
      [() => this.sessions.count(address) >= perAddress, 'maxChannelsPerAddress', address],
      [() => this.unauthenticated.size >= unauthenticated, 'maxUnauthenticated', undefined],
      [() => this.sessions.size >= total, 'maxChannels', undefined],
    ];
    for (const [reached, limit, from] of checks) {
      if (!reached()) continue;
      const oldest = this.unauthenticated.oldestWaiting(from);
      if (!oldest) return limit;
      this.release(oldest);
      oldest.evict();
      evicted(limit);
    }
    return null;
  }

  /**
   * A new connection: counted and served, or refused with the limit named in the log and the metrics.
   * With shared limits the answer takes an IPC round trip; a client that left meanwhile is forgotten.
   */
  async welcome(a: Arrival<S>): Promise<void> {
    const { conn, log, metrics } = a;
    let refusedBy: string | null;
    try {
      refusedBy = await this.admitShared(conn.remoteAddress, conn.id, (limit) => metrics.evicted.inc({ limit: a.label(limit) }));
    } catch (err) {
      log.error({ tag: a.tag, cid: conn.id, err: (err as Error).message }, 'connection refused: the shared limits did not answer');
      return a.refuse('Server busy; try again later');
    }
    if (refusedBy) {
      log.info(
        { tag: a.tag, cid: conn.id, peer: conn.peer, limit: refusedBy, open: this.size },
        'connection refused: too many connections',
      );
      metrics.refused.inc({ limit: a.label(refusedBy) });
      return a.refuse('Too many connections; try again later');
    }
    // the client went away while the shared limits were asked (a health check): nothing to serve
    if (conn.socket.destroyed) return this.abandon(conn.id);
    if (this.evictedBeforeStart(conn.id)) return a.refuse('Too many connections waiting to sign in; try again later');
    if (a.stopping()) {
      this.abandon(conn.id);
      return a.refuse('Server shutting down; try again later');
    }
    metrics.connections.inc({ listener: conn.listener });
    const session = a.session();
    this.add(session);
    a.start(session);
  }

  /** A connection admitted by admitShared() that will not become a session after all. */
  abandon(id: string): void {
    this.asking.delete(id);
    if (!this.evictWhenAdded.delete(id)) this.shared?.released(this.pool, id);
  }

  /**
   * True (once) when the connection admitted as `id` was chosen to make room before it became a
   * session. It is then given back to the shared limits too: the word to close it may have overtaken
   * the answer that counted it (a process that counts it since must forget it again).
   */
  evictedBeforeStart(id: string): boolean {
    if (!this.evictWhenAdded.delete(id)) return false;
    this.asking.delete(id);
    this.shared?.released(this.pool, id);
    return true;
  }

  /** Counts a new session (not signed in yet). */
  add(session: S): void {
    this.asking.delete(session.conn.id);
    this.sessions.add(session.conn.remoteAddress, session);
    if (!this.limits.signedInOnArrival) this.unauthenticated.add(session.conn.remoteAddress, session);
  }

  /** The session signed in: it no longer counts against the limits for connections signing in. */
  signedIn(session: S): void {
    this.unauthenticated.delete(session.conn.remoteAddress, session);
    this.shared?.signedIn(this.pool, session.conn.id);
  }

  /** Stops counting a session (it ended, or it is being closed to make room). */
  release(session: S): void {
    const counted = this.sessions.delete(session.conn.remoteAddress, session);
    this.unauthenticated.delete(session.conn.remoteAddress, session);
    if (counted) this.shared?.released(this.pool, session.conn.id);
  }

  /** Resolves when every session has ended, or at `deadline` (ms since the epoch). */
  async allEnded(deadline: number): Promise<void> {
    while (this.sessions.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  }
}
