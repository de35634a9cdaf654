// The SMTP submission module (RFC 6409; RFC 8314: 465 with implicit TLS, 587 with STARTTLS), as Dovecot's
// submission service is to Dovecot: mail clients sign in with the accounts' passwords and send. The protocol is
// the smtp-server package's; the sessions (session.ts) decide sign-in, senders and recipients, within the
// channel limits every sign-in module has (server/session-module.ts). Local recipients are delivered as LMTP
// delivers (delivery/, Sieve included), others relayed through submission.relay: the server's one Relay,
// which LMTP's Sieve redirects and XTND XMIT use too.
import { SMTPServer, type SMTPServerOptions, type SMTPServerSession } from 'smtp-server';
import { configuredDelivery } from '../../delivery/configured-delivery.js';
import type { Connection } from '../../listeners/connection.js';
import type { Logger } from '../../observability/logger.js';
import type { LoadedConfig } from '../../server/config.js';
import type { ModuleContext } from '../../server/module.js';
import { type SessionKeys, SessionModule } from '../../server/session-module.js';
import type { SessionHooks } from '../../sessions/session-pool.js';
import type { SignInPolicy } from '../../sessions/sign-in.js';
import { submissionServiceConfig, submissionServiceSection } from './config.js';
import type { SubmissionServices } from './context.js';
import { SubmissionMetrics } from './metrics.js';
import { reply } from './reply.js';
import { SubmissionSession } from './session.js';

/** Runs a session's step and gives smtp-server its answer (an error with responseCode is a refusal). */
function answer<T>(step: Promise<T>, callback: (err: Error | null, value?: T) => void): void {
  step.then(
    (value) => callback(null, value),
    (err: Error) => callback(err),
  );
}

export class SubmissionModule extends SessionModule<SubmissionSession, SubmissionServices> {
  readonly name = 'submission';
  readonly configSection = submissionServiceSection;
  private readonly open = new Map<string, SubmissionSession>();
  private sieveReady: Promise<void> = Promise.resolve();

  constructor() {
    super('submission', 'SUBMISSION', (limit) => `submissionService.${limit}`, 'submission-');
  }

  override async start(ctx: ModuleContext): Promise<void> {
    super.start(ctx);
    await this.sieveReady;
  }

  protected sessionKeys(config: LoadedConfig): SessionKeys {
    return submissionServiceConfig(config);
  }

  protected makeServices(ctx: ModuleContext, signIn: SignInPolicy, previous: SubmissionServices | null): SubmissionServices {
    const section = submissionServiceConfig(ctx.config);
    const { delivery, sieve } = configuredDelivery(ctx.config, {
      router: ctx.router,
      store: ctx.store,
      relay: ctx.submitter.relay,
      logger: ctx.logger,
      metrics: ctx.metrics,
    });
    // the site scripts are read and compiled now, at start and at each reload; what fails is logged
    this.sieveReady = sieve.ready();
    const maxSize = ctx.config.submission.maxSize;
    const options = (secure: boolean): SMTPServerOptions => ({
      secure,
      name: ctx.config.mainDomain,
      banner: 'Postern submission ready',
      size: maxSize,
      // over it smtp-server answers 552 5.3.4 itself once the data has ended
      rejectOversized: true,
      authMethods: [...section.saslMechanisms],
      // where passwords may travel is decided per connection (cleartextAuth, session.ts)
      allowInsecureAuth: true,
      authOptional: false,
      hideENHANCEDSTATUSCODES: false,
      disableReverseLookup: true,
      maxRecipients: section.maxRecipients,
      socketTimeout: section.idleTimeout * 1000,
      logger: false,
      onAuth: this.toSession((s, auth) => s.authenticate(auth)),
      onMailFrom: this.toSession((s, address) => s.mailFrom(address)),
      onRcptTo: this.toSession((s, address) => s.rcptTo(address)),
      onData: (stream, session, callback) => {
        const s = this.open.get(session.id);
        if (!s) {
          stream.resume();
          stream.on('end', () => callback(reply(451, '4.3.0 Try again later')));
          return;
        }
        answer(s.data(stream, session), callback as (err: Error | null, value?: string) => void);
      },
      onClose: (session) => {
        this.open.get(session.id)?.end();
      },
    });
    const servers = { plain: new SMTPServer(options(false)), implicit: new SMTPServer(options(true)) };
    for (const server of [servers.plain, servers.implicit]) {
      server.on('error', (err) => ctx.logger.debug({ tag: 'SUBMISSION', err: err.message }, 'connection error'));
    }
    return {
      accounts: ctx.accounts,
      submitter: ctx.submitter,
      delivery,
      signIn,
      signedIn: ctx.signedIn,
      metrics: previous?.metrics ?? new SubmissionMetrics(ctx.metrics),
      trace: ctx.trace,
      settings: {
        hostname: ctx.config.mainDomain,
        maxSize,
        loginTimeoutMs: section.loginTimeout * 1000,
        cleartextAuth: section.cleartextAuth,
      },
      servers,
    };
  }

  /** An smtp-server callback handed to the session of its connection (none: the connection is ending). */
  private toSession<A, T>(
    run: (s: SubmissionSession, arg: A) => Promise<T>,
  ): (arg: A, session: SMTPServerSession, callback: (err: Error | null, value?: T) => void) => void {
    return (arg, session, callback) => {
      const s = this.open.get(session.id);
      if (!s) return callback(reply(451, '4.3.0 Try again later'));
      answer(run(s, arg), callback);
    };
  }

  protected refusal(why: string): string {
    return `421 4.3.2 ${why}`;
  }

  protected makeSession(
    conn: Connection,
    services: SubmissionServices,
    logger: Logger,
    hooks: SessionHooks<SubmissionSession>,
  ): SubmissionSession {
    return new SubmissionSession(conn, services, logger, hooks, this.open);
  }
}
