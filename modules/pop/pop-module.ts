// The POP3 module (RFC 1939, RFC 2449): serves its listeners' connections with PopSessions.
import type { Connection } from '../../listeners/connection.js';
import type { LoadedConfig } from '../kernel/config.js';
import type { Logger } from '../kernel/logger.js';
import type { ModuleContext, PosternModule } from '../kernel/module.js';
import { type PopServices, PopSession, type PopSettings } from './session.js';

export function popSettings(config: LoadedConfig): PopSettings {
  return {
    idleTimeoutMs: config.pop.idleTimeout * 1000,
    maxAuthAttempts: config.pop.maxAuthAttempts,
    userPass: config.pop.userPass,
    maxLineLength: config.pop.maxLineLength,
    maxBadCommands: config.pop.maxBadCommands,
    hostname: config.mainDomain,
  };
}

export class PopModule implements PosternModule {
  readonly name = 'pop';
  private services: PopServices | null = null;
  private logger: Logger | null = null;
  private readonly sessions = new Set<PopSession>();
  private stopping = false;

  start(ctx: ModuleContext): void {
    this.services = { accounts: ctx.accounts, store: ctx.store, settings: popSettings(ctx.config) };
    this.logger = ctx.logger;
    this.stopping = false;
  }

  /** Open sessions, for tests and metrics. */
  get sessionCount(): number {
    return this.sessions.size;
  }

  accept(conn: Connection): void {
    if (!this.services || !this.logger || this.stopping) {
      conn.socket.end('-ERR [SYS/TEMP] Server shutting down; try again later\r\n');
      return;
    }
    const session = new PopSession(conn, this.services, this.logger, (s) => this.sessions.delete(s));
    this.sessions.add(session);
    session.start();
  }

  async stop(deadline: number): Promise<void> {
    this.stopping = true;
    for (const s of this.sessions) s.shutdown();
    await this.allEnded(deadline);
    for (const s of this.sessions) s.cut();
    // A QUIT already applying its deletions is allowed to finish.
    await this.allEnded(Date.now() + 5000);
    for (const s of this.sessions) s.conn.socket.destroy();
  }

  private async allEnded(deadline: number): Promise<void> {
    while (this.sessions.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  }
}
