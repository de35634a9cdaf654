// The IMAP module (RFC 9051, IMAP4rev1 RFC 3501 for clients that do not ENABLE IMAP4rev2): serves its
// listeners' connections with ImapSessions, within the channel limits, as the POP module does: signed-in
// sessions and connections still signing in are counted apart, and at a limit the oldest connection only
// waiting for its client to sign in is closed to make room (server/session-module.ts).
import type { Connection } from '../../listeners/connection.js';
import type { Logger } from '../../observability/logger.js';
import type { LoadedConfig } from '../../server/config.js';
import type { ModuleContext } from '../../server/module.js';
import { type SessionKeys, SessionModule } from '../../server/session-module.js';
import type { SessionHooks } from '../../sessions/session-pool.js';
import type { SignInPolicy } from '../../sessions/sign-in.js';
import { imapConfig, imapConfigSection, imapSettings } from './config.js';
import type { ImapServices } from './context.js';
import { ImapMetrics } from './metrics.js';
import { ImapSession } from './session.js';

export class ImapModule extends SessionModule<ImapSession, ImapServices> {
  readonly name = 'imap';
  readonly configSection = imapConfigSection;

  constructor() {
    super('imap', 'IMAP', (limit) => `imap.${limit}`, 'imap-');
  }

  protected sessionKeys(config: LoadedConfig): SessionKeys {
    return imapConfig(config);
  }

  protected makeServices(ctx: ModuleContext, signIn: SignInPolicy, previous: ImapServices | null): ImapServices {
    return {
      accounts: ctx.accounts,
      store: ctx.store,
      router: ctx.router,
      metrics: previous?.metrics ?? new ImapMetrics(ctx.metrics),
      trace: ctx.trace,
      settings: imapSettings(ctx.config),
      signIn,
    };
  }

  protected refusal(why: string): string {
    return `* BYE [UNAVAILABLE] ${why}`;
  }

  protected makeSession(conn: Connection, services: ImapServices, logger: Logger, hooks: SessionHooks<ImapSession>): ImapSession {
    return new ImapSession(conn, services, logger, hooks);
  }
}
