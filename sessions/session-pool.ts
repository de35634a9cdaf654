// The sessions of one protocol module whose clients sign in (POP, IMAP): who may connect (listeners/
// admission.ts: the module's channel limits, counted with the other workers and nodes when they share
// them), the throttle of failed sign-ins, the order in which they stop with the server, and the list of
// signed-in sessions `postern who` reads and `postern kick` acts on (signed-in.ts).
import { Admission, type AdmissionLimits, type AdmittedSession, type SharedAdmission } from '../listeners/admission.js';
import type { Connection } from '../listeners/connection.js';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import { AuthThrottle, type SharedThrottle } from './auth-throttle.js';
import type { SignedInSessions } from './signed-in.js';

/** What the pool needs of a session. */
export interface PooledSession extends AdmittedSession {
  readonly conn: Connection;
  start(): void;
  /** Server shutdown, first phase: closes the session now if it only waits for its client. */
  shutdown(): void;
  /** Server shutdown, deadline reached: cuts the session without applying what it had pending. */
  cut(): void;
  /**
   * The account signed in (name@domain), null before sign-in: what `postern who` lists. A session without
   * it and `kick` is not listed by its pool (a module may list its sessions itself in ModuleContext.signedIn).
   */
  readonly signedInAccount?: string | null;
  /** `postern kick`: ends the signed-in session, telling its client `reason`, applying nothing pending. */
  kick?(reason: string): void;
}

/** What a session tells its pool of its life: sign-in (it then counts against other limits) and end. */
export interface SessionHooks<S> {
  signedIn(session: S): void;
  /** Back to the state before signing in (ManageSieve's UNAUTHENTICATE): no longer listed by `postern who`. */
  signedOut(session: S): void;
  ended(session: S): void;
}

export class SessionPool<S extends PooledSession> {
  private readonly sessions: Admission<S>;
  /** Failed sign-ins from one address slow down its next answers (auth-throttle.ts). */
  readonly throttle = new AuthThrottle(0);
  private stopping = false;
  /** Where signed-in sessions are listed (ModuleContext.signedIn), once started. */
  private signedInList: SignedInSessions | null = null;
  /** How to take each listed session off the list. */
  private readonly unlist = new Map<S, () => void>();
  private readonly hooks: SessionHooks<S> = {
    signedIn: (s) => {
      this.sessions.signedIn(s);
      this.list(s);
    },
    signedOut: (s) => this.unlistSession(s),
    ended: (s) => {
      this.unlistSession(s);
      this.sessions.release(s);
    },
  };

  constructor(
    /** The pool the limits and the throttle are counted in across processes ("pop", "imap"). */
    private readonly pool: string,
    /** The module's log tag ("POP", "IMAP"). */
    private readonly tag: string,
    /** The name a limit is counted under in the metrics ("maxChannels", "imap.maxChannels"). */
    private readonly label: (limit: string) => string,
  ) {
    this.sessions = new Admission<S>(pool);
  }

  set limits(limits: AdmissionLimits) {
    this.sessions.limits = limits;
  }

  /**
   * Starts serving; `shared`: the limits and throttle counted with the other workers and nodes
   * (ModuleContext.shared); `signedIn`: the process's list of signed-in sessions (ModuleContext.signedIn).
   */
  start(shared: { readonly admission: SharedAdmission; readonly throttle: SharedThrottle } | null, signedIn?: SignedInSessions): void {
    this.stopping = false;
    if (signedIn) this.signedInList = signedIn;
    if (shared) {
      this.sessions.share(shared.admission);
      this.throttle.share(this.pool, shared.throttle);
    }
  }

  /** Lists a session that signed in (again, after ManageSieve's UNAUTHENTICATE: with its new account). */
  private list(s: S): void {
    this.unlistSession(s);
    const account = s.signedInAccount;
    if (!this.signedInList || account === null || account === undefined || !s.kick) return;
    const remove = this.signedInList.add({
      id: s.conn.id,
      account,
      protocol: this.pool,
      remoteAddress: s.conn.remoteAddress,
      since: Date.now(),
      kick: (reason) => s.kick?.(reason),
    });
    this.unlist.set(s, remove);
  }

  private unlistSession(s: S): void {
    this.unlist.get(s)?.();
    this.unlist.delete(s);
  }

  /**
   * A new connection: served by the session `make` builds, within the limits, or refused with `refuse`
   * (which says why in the protocol's words) when the module is stopping or a limit is reached.
   */
  accept(
    conn: Connection,
    serving: { metrics: Metrics; log: Logger } | null,
    refuse: (why: string) => void,
    make: (hooks: SessionHooks<S>) => S,
  ): void {
    if (!serving || this.stopping) {
      refuse('Server shutting down; try again later');
      return;
    }
    void this.sessions.welcome({
      conn,
      tag: this.tag,
      label: this.label,
      metrics: serving.metrics,
      log: serving.log,
      stopping: () => this.stopping,
      refuse,
      session: () => make(this.hooks),
      start: (session) => session.start(),
    });
  }

  /**
   * Stops serving: sessions only waiting for their client are closed now, the others may finish until
   * `deadline` (ms since the epoch), then are cut; what still runs 3 s later (a POP QUIT applying its
   * deletions) is destroyed.
   */
  async stop(deadline: number): Promise<void> {
    this.stopping = true;
    for (const s of this.sessions.values()) s.shutdown();
    await this.sessions.allEnded(deadline);
    for (const s of this.sessions.values()) s.cut();
    await this.sessions.allEnded(Date.now() + 3000);
    for (const s of this.sessions.values()) s.conn.socket.destroy();
  }
}
