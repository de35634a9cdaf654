// The IMAP module (RFC 9051, IMAP4rev1 RFC 3501 for clients that do not ENABLE IMAP4rev2): serves its
// listeners' connections with ImapSessions, within the channel limits, as the POP module does: signed-in
// sessions and connections still signing in are counted apart, and at a limit the oldest connection only
// waiting for its client to sign in is closed to make room.
import { Admission } from '../../listeners/admission.js';
import type { Connection } from '../../listeners/connection.js';
import { AuthThrottle } from '../../sessions/auth-throttle.js';
import { signInCounter } from '../../sessions/sign-in.js';
import type { Logger } from '../../observability/logger.js';
import type { ModuleContext, PosternModule } from '../../server/module.js';
import { imapConfig, imapConfigSection, imapSettings } from './config.js';
import type { ImapServices } from './context.js';
import { ImapMetrics } from './metrics.js';
import { ImapSession } from './session.js';

export class ImapModule implements PosternModule {
  readonly name = 'imap';
  readonly configSection = imapConfigSection;
  private services: ImapServices | null = null;
  private logger: Logger | null = null;
  private readonly throttle = new AuthThrottle(0);
  /** The module's metrics, on the registry the server gave it. */
  private metrics: ImapMetrics | null = null;
  private readonly sessions = new Admission<ImapSession>('imap');
  private stopping = false;

  start(ctx: ModuleContext): void {
    this.reconfigure(ctx);
    this.stopping = false;
    if (ctx.shared) {
      this.sessions.share(ctx.shared.admission);
      this.throttle.share('imap', ctx.shared.throttle);
    }
  }

  reconfigure(ctx: ModuleContext): void {
    const imap = imapConfig(ctx.config);
    this.throttle.baseSeconds = imap.authFailureDelay;
    if (this.metrics?.shared !== ctx.metrics) this.metrics = new ImapMetrics(ctx.metrics);
    const settings = imapSettings(ctx.config);
    const signIn = { router: ctx.router, throttle: this.throttle, signIns: signInCounter(ctx.metrics), mechanismLabel: 'imap-', authFailureTimeMs: settings.authFailureTimeMs, maxAuthAttempts: settings.maxAuthAttempts };
    this.services = { accounts: ctx.accounts, store: ctx.store, router: ctx.router, metrics: this.metrics, trace: ctx.trace, settings, signIn };
    this.logger = ctx.logger;
    this.sessions.limits = { total: imap.maxChannels, perAddress: imap.maxChannelsPerAddress, unauthenticated: imap.maxUnauthenticated, unauthenticatedPerAddress: imap.maxUnauthenticatedPerAddress };
  }

  accept(conn: Connection): void {
    const refuse = (why: string) => conn.refuse(`* BYE [UNAVAILABLE] ${why}`);
    const services = this.services;
    const logger = this.logger;
    if (!services || !logger || this.stopping) return refuse('Server shutting down; try again later');
    void this.sessions.welcome({
      conn,
      tag: 'IMAP',
      label: (limit) => `imap.${limit}`,
      metrics: services.metrics.shared,
      log: logger,
      stopping: () => this.stopping,
      refuse,
      session: () =>
        new ImapSession(conn, services, logger, {
          signedIn: (s) => this.sessions.signedIn(s),
          ended: (s) => this.sessions.release(s),
        }),
      start: (session) => session.start(),
    });
  }

  async stop(deadline: number): Promise<void> {
    this.stopping = true;
    for (const s of this.sessions.values()) s.shutdown();
    await this.sessions.allEnded(deadline);
    for (const s of this.sessions.values()) s.cut();
    await this.sessions.allEnded(Date.now() + 3000);
    for (const s of this.sessions.values()) s.conn.socket.destroy();
  }
}
