// The ManageSieve module (RFC 5804): serves its listeners' connections with ManageSieveSessions within the
// channel limits, as the POP and IMAP modules do (sessions/session-pool.ts): connections still signing in are
// counted apart, and at a limit the oldest one only waiting for its client to sign in is closed.
import type { Connection } from '../../listeners/connection.js';
import type { Logger } from '../../observability/logger.js';
import type { ModuleContext, PosternModule } from '../../server/module.js';
import { SessionPool } from '../../sessions/session-pool.js';
import { signInCounter } from '../../sessions/sign-in.js';
import { managesieveConfig, managesieveConfigSection, managesieveSettings } from './config.js';
import type { ManageSieveServices } from './context.js';
import { ManageSieveMetrics } from './metrics.js';
import { ManageSieveSession } from './session.js';
import { answerLine } from './wire.js';

export class ManageSieveModule implements PosternModule {
  readonly name = 'managesieve';
  readonly configSection = managesieveConfigSection;
  private services: ManageSieveServices | null = null;
  private logger: Logger | null = null;
  private metrics: ManageSieveMetrics | null = null;
  private readonly sessions = new SessionPool<ManageSieveSession>('managesieve', 'MANAGESIEVE', (limit) => `managesieve.${limit}`);

  start(ctx: ModuleContext): void {
    this.reconfigure(ctx);
    this.sessions.start(ctx.shared);
  }

  reconfigure(ctx: ModuleContext): void {
    const section = managesieveConfig(ctx.config);
    const throttle = this.sessions.throttle;
    throttle.baseSeconds = section.authFailureDelay;
    if (this.metrics?.shared !== ctx.metrics) this.metrics = new ManageSieveMetrics(ctx.metrics);
    const settings = managesieveSettings(ctx.config);
    this.services = {
      accounts: ctx.accounts,
      store: ctx.store,
      metrics: this.metrics,
      trace: ctx.trace,
      settings,
      signIn: {
        router: ctx.router,
        throttle,
        signIns: signInCounter(ctx.metrics),
        mechanismLabel: 'managesieve-',
        authFailureTimeMs: settings.authFailureTimeMs,
        maxAuthAttempts: settings.maxAuthAttempts,
      },
    };
    this.logger = ctx.logger;
    this.sessions.limits = {
      total: section.maxChannels,
      perAddress: section.maxChannelsPerAddress,
      unauthenticated: section.maxUnauthenticated,
      unauthenticatedPerAddress: section.maxUnauthenticatedPerAddress,
    };
  }

  accept(conn: Connection): void {
    const services = this.services;
    const logger = this.logger;
    const serving = services && logger ? { metrics: services.metrics.shared, log: logger } : null;
    this.sessions.accept(
      conn,
      serving,
      (why) => conn.refuse(answerLine('BYE', 'TRYLATER', why)),
      (hooks) => new ManageSieveSession(conn, services!, logger!, hooks),
    );
  }

  stop(deadline: number): Promise<void> {
    return this.sessions.stop(deadline);
  }
}
