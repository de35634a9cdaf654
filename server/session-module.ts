// A protocol module whose clients sign in (POP, IMAP, ManageSieve, and the next ones), written once: the
// config keys every such module offers in its own section (channel limits, timeouts, sign-in keys, with
// the module's own defaults), and the module object itself: its sessions counted by a SessionPool within
// those limits, its sign-in policy built from those keys, its services rebuilt on a reloaded config. A
// module says only what is its own: its section, its services, its session, and how it refuses a client.
import { z } from 'zod';
import type { Connection } from '../listeners/connection.js';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import { type PooledSession, type SessionHooks, SessionPool } from '../sessions/session-pool.js';
import { type SignInPolicy, signInCounter } from '../sessions/sign-in.js';
import { authFailureDelaySchema, authFailureTimeSchema, saslMechanismsSchema } from '../sessions/sign-in-settings.js';
import { type ConfigSection, count, type LoadedConfig, seconds } from './config.js';
import type { ModuleContext, PosternModule } from './module.js';

/** A module's own defaults for the keys every sign-in module has. */
export interface SessionKeyDefaults {
  readonly maxChannels: number;
  readonly maxChannelsPerAddress: number;
  readonly idleTimeout: number;
  readonly loginTimeout: number;
  readonly commandTimeout: number;
  readonly maxAuthAttempts: number;
}

/**
 * The keys every sign-in module's section has (each documented in README.md), to spread into its
 * z.strictObject: `...sessionKeys({ maxChannels: 200, ... })`.
 */
export function sessionKeys(defaults: SessionKeyDefaults) {
  return {
    /** Most connections of the module at once (CommuniGate "Maximum Number of Channels"); more are refused. */
    maxChannels: count('simultaneous connections', 1, 1_000_000).default(defaults.maxChannels),
    /** Most connections at once from one client address. */
    maxChannelsPerAddress: count('simultaneous connections from one address', 1, 1_000_000).default(defaults.maxChannelsPerAddress),
    /** Most connections at once that have not signed in; past it the oldest waiting one is closed. */
    maxUnauthenticated: count('connections not signed in', 1, 1_000_000).default(100),
    /** Most connections at once from one address that have not signed in; past it that address's oldest is closed. */
    maxUnauthenticatedPerAddress: count('connections not signed in from one address', 1, 1_000_000).default(10),
    /** Close a session idle this long (seconds). */
    idleTimeout: seconds('idle time before a session is closed').default(defaults.idleTimeout),
    /** Seconds a connection may take to sign in before it is closed. */
    loginTimeout: seconds('time to sign in').default(defaults.loginTimeout),
    /** Seconds a command line may take to arrive once it has begun (a client trickling bytes is cut). */
    commandTimeout: seconds('time to send one command line').default(defaults.commandTimeout),
    /** Where passwords may travel unencrypted: elsewhere only after STARTTLS (or its protocol's name for it). */
    cleartextAuth: z.enum(['never', 'loopback', 'always'], { error: 'expected never, loopback or always' }).default('loopback'),
    /** SASL mechanisms offered (sessions/sign-in-settings.ts). */
    saslMechanisms: saslMechanismsSchema,
    /** Failed sign-ins before the connection is closed. */
    maxAuthAttempts: count('failed sign-ins per connection', 1, 100).default(defaults.maxAuthAttempts),
    /**
     * Seconds a failed sign-in takes at least, counted from the client's last line, whatever the reason
     * (unknown name, wrong password, wrong digest): the answer's timing tells nothing.
     */
    authFailureTime: authFailureTimeSchema,
    /** Seconds added to the answer to the third failed sign-in from one address, doubling after (0 = off). */
    authFailureDelay: authFailureDelaySchema,
  };
}

/** The values of sessionKeys in a loaded section. */
export interface SessionKeys {
  readonly maxChannels: number;
  readonly maxChannelsPerAddress: number;
  readonly maxUnauthenticated: number;
  readonly maxUnauthenticatedPerAddress: number;
  readonly maxAuthAttempts: number;
  readonly authFailureTime: number;
  readonly authFailureDelay: number;
}

/** What every sign-in module's services carry: its metrics, on the registry the server gave it. */
export interface SessionServices {
  readonly metrics: { readonly shared: Metrics };
}

export abstract class SessionModule<S extends PooledSession, Services extends SessionServices> implements PosternModule {
  abstract readonly name: string;
  abstract readonly configSection: ConfigSection;
  private services: Services | null = null;
  private logger: Logger | null = null;
  /** Every open session, and those not signed in yet (which count against tighter limits). */
  protected readonly sessions: SessionPool<S>;

  constructor(
    /** The pool its limits and throttle are counted in across processes ("pop", "imap"). */
    pool: string,
    /** Its log tag ("POP", "IMAP"). */
    tag: string,
    /** The name a limit is counted under in the metrics ("maxChannels" for POP, "imap.maxChannels"). */
    label: (limit: string) => string,
    /** Put before the mechanism in postern_sign_ins_total's label ("imap-"; POP's have none). */
    private readonly mechanismLabel: string,
  ) {
    this.sessions = new SessionPool<S>(pool, tag, label);
  }

  /** The module's section, as its schema (spreading sessionKeys) validated it. */
  protected abstract sessionKeys(config: LoadedConfig): SessionKeys;
  /** The module's services for a (re)loaded config; `previous` lets it keep what must outlive a reload (its metrics). */
  protected abstract makeServices(ctx: ModuleContext, signIn: SignInPolicy, previous: Services | null): Services;
  /** The line that refuses a client (shutting down, a limit reached), in the protocol's words. */
  protected abstract refusal(why: string): string;
  protected abstract makeSession(conn: Connection, services: Services, logger: Logger, hooks: SessionHooks<S>): S;

  start(ctx: ModuleContext): void {
    this.reconfigure(ctx);
    this.sessions.start(ctx.shared);
  }

  /** A reloaded config (SIGHUP): applies to sessions that start from now on. */
  reconfigure(ctx: ModuleContext): void {
    const keys = this.sessionKeys(ctx.config);
    const throttle = this.sessions.throttle;
    throttle.baseSeconds = keys.authFailureDelay;
    const signIn: SignInPolicy = {
      router: ctx.router,
      throttle,
      signIns: signInCounter(ctx.metrics),
      mechanismLabel: this.mechanismLabel,
      authFailureTimeMs: keys.authFailureTime * 1000,
      maxAuthAttempts: keys.maxAuthAttempts,
    };
    const previous = this.services?.metrics.shared === ctx.metrics ? this.services : null;
    this.services = this.makeServices(ctx, signIn, previous);
    this.logger = ctx.logger;
    this.sessions.limits = {
      total: keys.maxChannels,
      perAddress: keys.maxChannelsPerAddress,
      unauthenticated: keys.maxUnauthenticated,
      unauthenticatedPerAddress: keys.maxUnauthenticatedPerAddress,
    };
  }

  /** A new connection, within the limits (listeners/admission.ts). */
  accept(conn: Connection): void {
    const services = this.services;
    const logger = this.logger;
    const serving = services && logger ? { metrics: services.metrics.shared, log: logger } : null;
    this.sessions.accept(
      conn,
      serving,
      (why) => conn.refuse(this.refusal(why)),
      (hooks) => this.makeSession(conn, services!, logger!, hooks),
    );
  }

  /** Stops: sessions only waiting for their client close now, the others may finish until `deadline`. */
  stop(deadline: number): Promise<void> {
    return this.sessions.stop(deadline);
  }
}
