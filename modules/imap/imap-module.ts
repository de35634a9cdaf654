// The IMAP module (RFC 9051, IMAP4rev1 RFC 3501 for clients that do not ENABLE IMAP4rev2): serves its
// listeners' connections with ImapSessions, within the channel limits, as the POP module does: signed-in
// sessions and connections still signing in are counted apart, and at a limit the oldest connection only
// waiting for its client to sign in is closed to make room (sessions/session-pool.ts).
import type { Connection } from '../../listeners/connection.js';
import type { Logger } from '../../observability/logger.js';
import type { ModuleContext, PosternModule } from '../../server/module.js';
import { SessionPool } from '../../sessions/session-pool.js';
import { signInCounter } from '../../sessions/sign-in.js';
import { imapConfig, imapConfigSection, imapSettings } from './config.js';
import type { ImapServices } from './context.js';
import { ImapMetrics } from './metrics.js';
import { ImapSession } from './session.js';

export class ImapModule implements PosternModule {
  readonly name = 'imap';
  readonly configSection = imapConfigSection;
  private services: ImapServices | null = null;
  private logger: Logger | null = null;
  /** The module's metrics, on the registry the server gave it. */
  private metrics: ImapMetrics | null = null;
  private readonly sessions = new SessionPool<ImapSession>('imap', 'IMAP', (limit) => `imap.${limit}`);

  start(ctx: ModuleContext): void {
    this.reconfigure(ctx);
    this.sessions.start(ctx.shared);
  }

  reconfigure(ctx: ModuleContext): void {
    const imap = imapConfig(ctx.config);
    const throttle = this.sessions.throttle;
    throttle.baseSeconds = imap.authFailureDelay;
    if (this.metrics?.shared !== ctx.metrics) this.metrics = new ImapMetrics(ctx.metrics);
    const settings = imapSettings(ctx.config);
    const signIn = {
      router: ctx.router,
      throttle,
      signIns: signInCounter(ctx.metrics),
      mechanismLabel: 'imap-',
      authFailureTimeMs: settings.authFailureTimeMs,
      maxAuthAttempts: settings.maxAuthAttempts,
    };
    this.services = {
      accounts: ctx.accounts,
      store: ctx.store,
      router: ctx.router,
      metrics: this.metrics,
      trace: ctx.trace,
      settings,
      signIn,
    };
    this.logger = ctx.logger;
    this.sessions.limits = {
      total: imap.maxChannels,
      perAddress: imap.maxChannelsPerAddress,
      unauthenticated: imap.maxUnauthenticated,
      unauthenticatedPerAddress: imap.maxUnauthenticatedPerAddress,
    };
  }

  accept(conn: Connection): void {
    const services = this.services;
    const logger = this.logger;
    const serving = services && logger ? { metrics: services.metrics.shared, log: logger } : null;
    this.sessions.accept(
      conn,
      serving,
      (why) => conn.refuse(`* BYE [UNAVAILABLE] ${why}`),
      (hooks) => new ImapSession(conn, services!, logger!, hooks),
    );
  }

  stop(deadline: number): Promise<void> {
    return this.sessions.stop(deadline);
  }
}
