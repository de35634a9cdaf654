// The POP3 module (RFC 1939, RFC 2449): serves its listeners' connections with PopSessions, within
// the channel limits (listeners/admission.ts).
import { Bulletins } from '../../delivery/bulletins.js';
import { Admission } from '../../listeners/admission.js';
import type { Connection } from '../../listeners/connection.js';
import type { Logger } from '../../observability/logger.js';
import type { ModuleContext, PosternModule } from '../../server/module.js';
import { AuthThrottle } from '../../sessions/auth-throttle.js';
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
  private readonly throttle = new AuthThrottle(0);
  /** The module's metrics, on the registry the server gave it. */
  private metrics: PopMetrics | null = null;
  /** Every open session, and those not signed in yet (which count against tighter limits). */
  private readonly sessions = new Admission<PopSession>('pop');
  private stopping = false;

  start(ctx: ModuleContext): void {
    this.reconfigure(ctx);
    this.stopping = false;
    if (ctx.shared) {
      this.sessions.share(ctx.shared.admission);
      this.throttle.share('pop', ctx.shared.throttle);
    }
  }

  reconfigure(ctx: ModuleContext): void {
    const pop = popConfig(ctx.config);
    const bulletins = bulletinDir(ctx.config);
    this.throttle.baseSeconds = pop.authFailureDelay;
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
      signIn: { router: ctx.router, throttle: this.throttle, signIns: signInCounter(ctx.metrics), mechanismLabel: '', authFailureTimeMs: settings.authFailureTimeMs, maxAuthAttempts: settings.maxAuthAttempts },
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
    const refuse = (why: string) => conn.refuse(new PopError('SYS/TEMP', why).line);
    const services = this.services;
    const logger = this.logger;
    if (!services || !logger || this.stopping) return refuse('Server shutting down; try again later');
    void this.sessions.welcome({
      conn,
      tag: 'POP',
      label: (limit) => limit,
      metrics: services.metrics.shared,
      log: logger,
      stopping: () => this.stopping,
      refuse,
      session: () =>
        new PopSession(conn, services, logger, {
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
    // A QUIT already applying its deletions is allowed to finish (serve exits a little after this anyway).
    await this.sessions.allEnded(Date.now() + 3000);
    for (const s of this.sessions.values()) s.conn.socket.destroy();
  }
}
