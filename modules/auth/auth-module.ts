// The auth module: Dovecot's authentication protocol on a listener `module: auth` (a unix socket such as
// /var/spool/postfix/private/auth, or a port), so that Postfix (`smtpd_sasl_type = dovecot`,
// `smtpd_sasl_path`) and Exim's dovecot authenticator sign their SMTP clients in against Postern's
// accounts, as they would against Dovecot's auth service. The MTA's connections are counted like LMTP's
// (auth.maxChannels, with the other workers and nodes); failed sign-ins are throttled by the address the
// MTA passes as rip=, counted with the other processes under the pool "auth".
import { Admission, mtaLimits } from '../../listeners/admission.js';
import type { Connection } from '../../listeners/connection.js';
import type { Metrics } from '../../observability/metrics.js';
import type { ModuleContext, PosternModule } from '../../server/module.js';
import { AuthThrottle } from '../../sessions/auth-throttle.js';
import { cleartextAllowed } from '../../sessions/sasl.js';
import { signInCounter } from '../../sessions/sign-in.js';
import { AuthConnection, type AuthServices } from './auth-connection.js';
import { type AuthConfig, authConfig, authConfigSection } from './config.js';

export class AuthModule implements PosternModule {
  readonly name = 'auth';
  readonly configSection = authConfigSection;
  private services: (AuthServices & { readonly metrics: Metrics; readonly settings: AuthConfig }) | null = null;
  /** auth.maxChannels: an MTA's connection counts as signed in from the start, never closed to make room. */
  private readonly admission = new Admission<AuthConnection>('auth');
  /** Failed sign-ins from one client address (rip=) slow down its next answers. */
  private readonly throttle = new AuthThrottle(0);
  private stopping = false;

  start(ctx: ModuleContext): void {
    if (ctx.shared) {
      this.admission.share(ctx.shared.admission);
      this.throttle.share('auth', ctx.shared.throttle);
    }
    this.reconfigure(ctx);
    this.stopping = false;
  }

  /** A reloaded config (SIGHUP): connections made from now on use it. */
  reconfigure(ctx: ModuleContext): void {
    const settings = authConfig(ctx.config);
    this.throttle.baseSeconds = settings.authFailureDelay;
    this.services = {
      accounts: ctx.accounts,
      signIn: {
        router: ctx.router,
        throttle: this.throttle,
        signIns: signInCounter(ctx.metrics),
        mechanismLabel: 'auth-',
        authFailureTimeMs: settings.authFailureTime * 1000,
        // an MTA's connection carries many clients' sign-ins: it is never closed for their failures
        maxAuthAttempts: Number.MAX_SAFE_INTEGER,
      },
      mechanisms: settings.saslMechanisms,
      requestTimeoutMs: settings.requestTimeout * 1000,
      hostname: ctx.config.mainDomain,
      logger: ctx.logger,
      metrics: ctx.metrics,
      settings,
    };
    this.admission.limits = mtaLimits(settings.maxChannels);
  }

  accept(conn: Connection): void {
    const services = this.services;
    if (!services || this.stopping) {
      conn.socket.destroy();
      return;
    }
    if (!cleartextAllowed(conn, services.settings.cleartextAuth)) {
      // the passwords an MTA passes on would cross the network unencrypted
      services.logger.info(
        { tag: 'AUTH', cid: conn.id, peer: conn.peer, listener: conn.listener },
        'connection refused: passwords would travel unencrypted (use a unix socket, a loopback address, ' +
          'a tls: implicit listener, or auth.cleartextAuth: always)',
      );
      conn.socket.destroy();
      return;
    }
    void this.admission.welcome({
      conn,
      tag: 'AUTH',
      label: (limit) => `auth.${limit}`,
      metrics: services.metrics,
      log: services.logger,
      stopping: () => this.stopping,
      refuse: () => conn.socket.destroy(),
      session: () => {
        const c: AuthConnection = new AuthConnection(conn, services, () => this.admission.release(c));
        return c;
      },
      start: (c) => c.start(),
    });
  }

  /**
   * Stops: idle connections close now; requests in progress are answered until `deadline`, then the
   * connections are cut (the MTA answers its client 454 and retries with the next server start).
   */
  async stop(deadline: number): Promise<void> {
    this.stopping = true;
    for (const c of this.admission.values()) c.shutdown();
    await this.admission.allEnded(deadline);
    for (const c of this.admission.values()) c.cut();
    await this.admission.allEnded(Date.now() + 1000);
  }
}
