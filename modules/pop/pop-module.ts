// The POP3 module (RFC 1939, RFC 2449): serves its listeners' connections with PopSessions, within
// the channel limits (server/session-module.ts).
import { Bulletins } from '../../delivery/bulletins.js';
import type { Connection } from '../../listeners/connection.js';
import type { Logger } from '../../observability/logger.js';
import type { LoadedConfig } from '../../server/config.js';
import type { ModuleContext } from '../../server/module.js';
import { type SessionKeys, SessionModule } from '../../server/session-module.js';
import type { SessionHooks } from '../../sessions/session-pool.js';
import type { SignInPolicy } from '../../sessions/sign-in.js';
import { bulletinDir, popConfig, popConfigSection, popSettings } from './config.js';
import type { PopServices } from './context.js';
import { PopMetrics } from './metrics.js';
import { PopError } from './pop-error.js';
import { PopSession } from './session.js';

export class PopModule extends SessionModule<PopSession, PopServices> {
  readonly name = 'pop';
  readonly configSection = popConfigSection;

  constructor() {
    super('pop', 'POP', (limit) => limit, '');
  }

  protected sessionKeys(config: LoadedConfig): SessionKeys {
    return popConfig(config);
  }

  protected makeServices(ctx: ModuleContext, signIn: SignInPolicy, previous: PopServices | null): PopServices {
    const bulletins = bulletinDir(ctx.config);
    return {
      accounts: ctx.accounts,
      store: ctx.store,
      router: ctx.router,
      submitter: ctx.submitter,
      bulletins: bulletins ? new Bulletins(bulletins, ctx.accounts, ctx.store) : null,
      metrics: previous?.metrics ?? new PopMetrics(ctx.metrics),
      trace: ctx.trace,
      settings: popSettings(ctx.config),
      signIn,
    };
  }

  protected refusal(why: string): string {
    return new PopError('SYS/TEMP', why).line;
  }

  protected makeSession(conn: Connection, services: PopServices, logger: Logger, hooks: SessionHooks<PopSession>): PopSession {
    return new PopSession(conn, services, logger, hooks);
  }
}
