// The IMAP module (RFC 9051, IMAP4rev1 RFC 3501 for clients that do not ENABLE IMAP4rev2): serves its
// listeners' connections with ImapSessions, within the channel limits, as the POP module does: signed-in
// sessions and connections still signing in are counted apart, and at a limit the oldest connection only
// waiting for its client to sign in is closed to make room.
import type { Connection } from '../../listeners/connection.js';
import { PerAddress } from '../../listeners/per-address.js';
import { AuthThrottle } from '../kernel/auth-throttle.js';
import type { Logger } from '../kernel/logger.js';
import type { ModuleContext, PosternModule } from '../kernel/module.js';
import { imapConfig, imapConfigSection, imapSettings } from './config.js';
import type { ImapServices } from './context.js';
import { ImapSession } from './session.js';

class Sessions extends PerAddress<ImapSession> {
  oldestWaiting(address?: string): ImapSession | undefined {
    for (const s of this.values(address)) if (s.waitingForClient) return s;
    return undefined;
  }
}

export class ImapModule implements PosternModule {
  readonly name = 'imap';
  readonly configSection = imapConfigSection;
  private services: ImapServices | null = null;
  private logger: Logger | null = null;
  private limits = { total: 0, perAddress: 0, unauthenticated: 0, unauthenticatedPerAddress: 0 };
  private readonly throttle = new AuthThrottle(0);
  private readonly sessions = new Sessions();
  private readonly unauthenticated = new Sessions();
  private stopping = false;

  start(ctx: ModuleContext): void {
    this.reconfigure(ctx);
    this.stopping = false;
  }

  reconfigure(ctx: ModuleContext): void {
    const imap = imapConfig(ctx.config);
    this.throttle.baseSeconds = imap.authFailureDelay;
    this.services = { accounts: ctx.accounts, store: ctx.store, router: ctx.router, metrics: ctx.metrics, trace: ctx.trace, settings: imapSettings(ctx.config), throttle: this.throttle };
    this.logger = ctx.logger;
    this.limits = { total: imap.maxChannels, perAddress: imap.maxChannelsPerAddress, unauthenticated: imap.maxUnauthenticated, unauthenticatedPerAddress: imap.maxUnauthenticatedPerAddress };
  }

  accept(conn: Connection): void {
    const refuse = (why: string) => {
      conn.socket.end(`* BYE [UNAVAILABLE] ${why}\r\n`);
      setTimeout(() => conn.socket.destroy(), 5000).unref();
    };
    if (!this.services || !this.logger || this.stopping) return refuse('Server shutting down; try again later');
    const address = conn.remoteAddress;
    const { total, perAddress, unauthenticated, unauthenticatedPerAddress } = this.limits;
    const limits: [() => boolean, string, string | undefined][] = [
      [() => this.unauthenticated.count(address) >= unauthenticatedPerAddress, 'maxUnauthenticatedPerAddress', address],
      [() => this.sessions.count(address) >= perAddress, 'maxChannelsPerAddress', address],
      [() => this.unauthenticated.size >= unauthenticated, 'maxUnauthenticated', undefined],
      [() => this.sessions.size >= total, 'maxChannels', undefined],
    ];
    for (const [reached, limit, from] of limits) {
      if (!reached()) continue;
      const oldest = this.unauthenticated.oldestWaiting(from);
      if (oldest) {
        this.release(oldest);
        oldest.evict();
        this.services.metrics.evicted.inc({ limit: `imap.${limit}` });
        continue;
      }
      this.logger.info({ tag: 'IMAP', cid: conn.id, peer: conn.peer, limit, open: this.sessions.size }, 'connection refused: too many connections');
      this.services.metrics.refused.inc({ limit: `imap.${limit}` });
      return refuse('Too many connections; try again later');
    }
    this.services.metrics.connections.inc({ listener: conn.listener });
    const session = new ImapSession(conn, this.services, this.logger, {
      signedIn: (s) => this.unauthenticated.delete(s.conn.remoteAddress, s),
      ended: (s) => this.release(s),
    });
    this.sessions.add(address, session);
    this.unauthenticated.add(address, session);
    session.start();
  }

  private release(session: ImapSession): void {
    this.sessions.delete(session.conn.remoteAddress, session);
    this.unauthenticated.delete(session.conn.remoteAddress, session);
  }

  async stop(deadline: number): Promise<void> {
    this.stopping = true;
    for (const s of [...this.sessions.values()]) s.shutdown();
    await this.allEnded(deadline);
    for (const s of this.sessions.values()) s.cut();
    await this.allEnded(Date.now() + 3000);
    for (const s of this.sessions.values()) s.conn.socket.destroy();
  }

  private async allEnded(deadline: number): Promise<void> {
    while (this.sessions.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  }
}
