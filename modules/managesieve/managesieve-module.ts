// The ManageSieve module (RFC 5804): serves its listeners' connections with ManageSieveSessions within the
// channel limits, as the POP and IMAP modules do (server/session-module.ts): connections still signing in
// are counted apart, and at a limit the oldest one only waiting for its client to sign in is closed.
import type { Connection } from '../../listeners/connection.js';
import type { Logger } from '../../observability/logger.js';
import type { LoadedConfig } from '../../server/config.js';
import type { ModuleContext } from '../../server/module.js';
import { type SessionKeys, SessionModule } from '../../server/session-module.js';
import type { SessionHooks } from '../../sessions/session-pool.js';
import type { SignInPolicy } from '../../sessions/sign-in.js';
import { managesieveConfig, managesieveConfigSection, managesieveSettings } from './config.js';
import type { ManageSieveServices } from './context.js';
import { ManageSieveMetrics } from './metrics.js';
import { ManageSieveSession } from './session.js';
import { answerLine } from './wire.js';

export class ManageSieveModule extends SessionModule<ManageSieveSession, ManageSieveServices> {
  readonly name = 'managesieve';
  readonly configSection = managesieveConfigSection;

  constructor() {
    super('managesieve', 'MANAGESIEVE', (limit) => `managesieve.${limit}`, 'managesieve-');
  }

  protected sessionKeys(config: LoadedConfig): SessionKeys {
    return managesieveConfig(config);
  }

  protected makeServices(ctx: ModuleContext, signIn: SignInPolicy, previous: ManageSieveServices | null): ManageSieveServices {
    return {
      accounts: ctx.accounts,
      store: ctx.store,
      metrics: previous?.metrics ?? new ManageSieveMetrics(ctx.metrics),
      trace: ctx.trace,
      settings: managesieveSettings(ctx.config),
      signIn,
    };
  }

  protected refusal(why: string): string {
    return answerLine('BYE', 'TRYLATER', why);
  }

  protected makeSession(
    conn: Connection,
    services: ManageSieveServices,
    logger: Logger,
    hooks: SessionHooks<ManageSieveSession>,
  ): ManageSieveSession {
    return new ManageSieveSession(conn, services, logger, hooks);
  }
}
