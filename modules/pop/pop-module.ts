// The POP3 module (RFC 1939, RFC 2449): serves its listeners' connections with PopSessions, within
// the channel limits (CommuniGate "Maximum Number of Channels", and per client address).
import { Bulletins } from '../../submission/bulletins.js';
import type { Connection } from '../../listeners/connection.js';
import { PerAddress } from '../../listeners/per-address.js';
import type { Logger } from '../kernel/logger.js';
import type { ModuleContext, PosternModule } from '../kernel/module.js';
import { AuthThrottle } from '../kernel/auth-throttle.js';
import { PopError } from './pop-error.js';
import { bulletinDir, popConfig, popConfigSection, popSettings } from './config.js';
import type { PopServices } from './context.js';
import { PopSession } from './session.js';

/** Sessions counted per client address, oldest first, and the oldest of them only waiting for its client. */
class Sessions extends PerAddress<PopSession> {
  oldestWaiting(address?: string): PopSession | undefined {
    for (const s of this.values(address)) if (s.waitingForClient) return s;
    return undefined;
  }
}

export class PopModule implements PosternModule {
  readonly name = 'pop';
  readonly configSection = popConfigSection;
  private services: PopServices | null = null;
  private logger: Logger | null = null;
  private limits = { total: 0, perAddress: 0, unauthenticated: 0, unauthenticatedPerAddress: 0 };
  private readonly throttle = new AuthThrottle(0);
  /** Every open session, and those not signed in yet (which count against tighter limits). */
  private readonly sessions = new Sessions();
  private readonly unauthenticated = new Sessions();
  private stopping = false;

  start(ctx: ModuleContext): void {
    this.reconfigure(ctx);
    this.stopping = false;
  }

  reconfigure(ctx: ModuleContext): void {
    const pop = popConfig(ctx.config);
    const bulletins = bulletinDir(ctx.config);
    this.throttle.baseSeconds = pop.authFailureDelay;
    this.services = {
      accounts: ctx.accounts,
      store: ctx.store,
      router: ctx.router,
      submitter: ctx.submitter,
      bulletins: bulletins ? new Bulletins(bulletins, ctx.accounts, ctx.store) : null,
      metrics: ctx.metrics,
      trace: ctx.trace,
      settings: popSettings(ctx.config),
      throttle: this.throttle,
    };
    this.logger = ctx.logger;
    this.limits = {
      total: pop.maxChannels,
      perAddress: pop.maxChannelsPerAddress,
      unauthenticated: pop.maxUnauthenticated,
      unauthenticatedPerAddress: pop.maxUnauthenticatedPerAddress,
    };
  }

  /**
   * A new connection, within the limits. Connections that have not signed in yet are held to tighter
   * limits than signed-in ones, and when one of the limits is reached the oldest such connection that
   * is only waiting for its client is closed to make room (as Dovecot's login processes do), so slow or
   * idle clients that never sign in cannot keep others out. Signed-in sessions are never closed for
   * room: past the limits, a new connection is refused.
   */
  accept(conn: Connection): void {
    const refuse = (why: string) => {
      conn.socket.end(`${new PopError('SYS/TEMP', why).line}\r\n`);
      setTimeout(() => conn.socket.destroy(), 5000).unref();
    };
    if (!this.services || !this.logger || this.stopping) return refuse('Server shutting down; try again later');
    const address = conn.remoteAddress;
    const { total, perAddress, unauthenticated, unauthenticatedPerAddress } = this.limits;
    // Each limit is checked after making room for the ones before it (closing one connection counts for all).
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
        this.services.metrics.evicted.inc({ limit });
        continue;
      }
      this.logger.info({ tag: 'POP', cid: conn.id, peer: conn.peer, limit, open: this.sessions.size }, 'connection refused: too many connections');
      this.services.metrics.refused.inc({ limit });
      return refuse('Too many connections; try again later');
    }
    this.services.metrics.connections.inc({ listener: conn.listener });
    const session = new PopSession(conn, this.services, this.logger, {
      signedIn: (s) => this.unauthenticated.delete(s.conn.remoteAddress, s),
      ended: (s) => this.release(s),
    });
    this.sessions.add(address, session);
    this.unauthenticated.add(address, session);
    session.start();
  }

  /** Stops counting a session (it ended, or it is being closed to make room). */
  private release(session: PopSession): void {
    this.sessions.delete(session.conn.remoteAddress, session);
    this.unauthenticated.delete(session.conn.remoteAddress, session);
  }

  async stop(deadline: number): Promise<void> {
    this.stopping = true;
    const open = [...this.sessions.values()];
    for (const s of open) s.shutdown();
    await this.allEnded(deadline);
    for (const s of this.sessions.values()) s.cut();
    // A QUIT already applying its deletions is allowed to finish (serve exits a little after this anyway).
    await this.allEnded(Date.now() + 3000);
    for (const s of this.sessions.values()) s.conn.socket.destroy();
  }

  private async allEnded(deadline: number): Promise<void> {
    while (this.sessions.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  }
}
