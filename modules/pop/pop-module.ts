// The POP3 module (RFC 1939, RFC 2449): serves its listeners' connections with PopSessions, within
// the channel limits (sessions/session-pool.ts).
import { Bulletins } from '../../delivery/bulletins.js';
import type { Connection } from '../../listeners/connection.js';
import type { Logger } from '../../observability/logger.js';
import type { ModuleContext, PosternModule } from '../../server/module.js';
import { SessionPool } from '../../sessions/session-pool.js';
import { signInCounter } from '../../sessions/sign-in.js';
import { PopError } from './pop-error.js';
import { bulletinDir, popConfig, popConfigSection, popSettings } from './config.js';
import type { PopServices } from './context.js';
import { PopMetrics } from './metrics.js';
import { PopSession } from './session.js';

export class PopModule implements PosternModule {
  readonly name = 'pop';
  readonly configSection = popConfigSection;
  private services: PopServices | null = null;
  private logger: Logger | null = null;
  /** The module's metrics, on the registry the server gave it. */
  private metrics: PopMetrics | null = null;
  /** Every open session, and those not signed in yet (which count against tighter limits). */
  private readonly sessions = new SessionPool<PopSession>('pop', 'POP', (limit) => limit);

  start(ctx: ModuleContext): void {
    this.reconfigure(ctx);
    this.sessions.start(ctx.shared);
  }

  reconfigure(ctx: ModuleContext): void {
    const pop = popConfig(ctx.config);
    const bulletins = bulletinDir(ctx.config);
    const throttle = this.sessions.throttle;
    throttle.baseSeconds = pop.authFailureDelay;
    if (this.metrics?.shared !== ctx.metrics) this.metrics = new PopMetrics(ctx.metrics);
    const settings = popSettings(ctx.config);
    this.services = {
      accounts: ctx.accounts,
      store: ctx.store,
      router: ctx.router,
      submitter: ctx.submitter,
      bulletins: bulletins ? new Bulletins(bulletins, ctx.accounts, ctx.store) : null,
      metrics: this.metrics,
      trace: ctx.trace,
      settings,
      signIn: {
        router: ctx.router,
        throttle,
        signIns: signInCounter(ctx.metrics),
        mechanismLabel: '',
        authFailureTimeMs: settings.authFailureTimeMs,
        maxAuthAttempts: settings.maxAuthAttempts,
      },
    };
    this.logger = ctx.logger;
    this.sessions.limits = {
      total: pop.maxChannels,
      perAddress: pop.maxChannelsPerAddress,
      unauthenticated: pop.maxUnauthenticated,
      unauthenticatedPerAddress: pop.maxUnauthenticatedPerAddress,
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
      (why) => conn.refuse(new PopError('SYS/TEMP', why).line),
      (hooks) => new PopSession(conn, services!, logger!, hooks),
    );
  }

  /** Stops; a QUIT already applying its deletions is allowed to finish (serve exits a little after this anyway). */
  stop(deadline: number): Promise<void> {
    return this.sessions.stop(deadline);
  }
}
