// The POP3 module (RFC 1939, RFC 2449): serves its listeners' connections with PopSessions, within
// the channel limits (CommuniGate "Maximum Number of Channels", and per client address).
import { Bulletins } from '../../accounts/bulletins.js';
import type { Connection } from '../../listeners/connection.js';
import type { LoadedConfig } from '../kernel/config.js';
import type { Logger } from '../kernel/logger.js';
import type { ModuleContext, PosternModule } from '../kernel/module.js';
import { AuthThrottle } from './auth-throttle.js';
import { PopError } from './pop-error.js';
import { type PopServices, PopSession, type PopSettings } from './session.js';

export function popSettings(config: LoadedConfig): PopSettings {
  return {
    idleTimeoutMs: config.pop.idleTimeout * 1000,
    maxAuthAttempts: config.pop.maxAuthAttempts,
    userPass: config.pop.userPass,
    maxLineLength: config.pop.maxLineLength,
    maxBadCommands: config.pop.maxBadCommands,
    cleartextAuth: config.pop.cleartextAuth,
    saslMechanisms: config.pop.saslMechanisms,
    blockedOutputWaitMs: config.pop.blockedOutputWait * 1000,
    hostname: config.mainDomain,
    realToHeader: config.pop.realToHeader,
    maxSubmissionSize: config.submission.maxSize,
    messageMaximum: config.pop.messageMaximum,
    deleteAction: parseDeleteAction(config.pop.deleteAction),
    moveReadTo: config.pop.moveReadTo,
    idHeaders: config.pop.idHeaders,
  };
}

function parseDeleteAction(value: string): PopSettings['deleteAction'] {
  if (value === 'flag') return { kind: 'flag' };
  if (value.startsWith('move:')) return { kind: 'move', mailbox: value.slice(5) };
  return { kind: 'expunge' };
}

export class PopModule implements PosternModule {
  readonly name = 'pop';
  private services: PopServices | null = null;
  private logger: Logger | null = null;
  private limits = { total: 0, perAddress: 0 };
  private readonly throttle = new AuthThrottle(0);
  private readonly sessions = new Set<PopSession>();
  private readonly perAddress = new Map<string, number>();
  private stopping = false;

  start(ctx: ModuleContext): void {
    this.reconfigure(ctx);
    this.stopping = false;
  }

  reconfigure(ctx: ModuleContext): void {
    this.throttle.baseSeconds = ctx.config.pop.authFailureDelay;
    this.services = {
      accounts: ctx.accounts,
      store: ctx.store,
      router: ctx.router,
      submitter: ctx.submitter,
      bulletins: ctx.config.pop.bulletinDir ? new Bulletins(ctx.config.pop.bulletinDir, ctx.accounts, ctx.store) : null,
      metrics: ctx.metrics,
      trace: ctx.trace,
      settings: popSettings(ctx.config),
      throttle: this.throttle,
    };
    this.logger = ctx.logger;
    this.limits = { total: ctx.config.pop.maxChannels, perAddress: ctx.config.pop.maxChannelsPerAddress };
  }

  accept(conn: Connection): void {
    const refuse = (why: string) => {
      conn.socket.end(`${new PopError('SYS/TEMP', why).line}\r\n`);
      setTimeout(() => conn.socket.destroy(), 5000).unref();
    };
    if (!this.services || !this.logger || this.stopping) return refuse('Server shutting down; try again later');
    const fromAddress = this.perAddress.get(conn.remoteAddress) ?? 0;
    if (this.sessions.size >= this.limits.total || fromAddress >= this.limits.perAddress) {
      const which = this.sessions.size >= this.limits.total ? 'maxChannels' : 'maxChannelsPerAddress';
      this.logger.info({ tag: 'POP', cid: conn.id, peer: conn.peer, limit: which, open: this.sessions.size }, 'connection refused: too many connections');
      this.services.metrics.refused.inc({ limit: which });
      return refuse('Too many connections; try again later');
    }
    this.services.metrics.connections.inc({ listener: conn.listener });
    const session = new PopSession(conn, this.services, this.logger, (s) => this.ended(s));
    this.sessions.add(session);
    this.perAddress.set(conn.remoteAddress, fromAddress + 1);
    session.start();
  }

  private ended(session: PopSession): void {
    if (!this.sessions.delete(session)) return;
    const n = (this.perAddress.get(session.conn.remoteAddress) ?? 1) - 1;
    if (n > 0) this.perAddress.set(session.conn.remoteAddress, n);
    else this.perAddress.delete(session.conn.remoteAddress);
  }

  async stop(deadline: number): Promise<void> {
    this.stopping = true;
    for (const s of this.sessions) s.shutdown();
    await this.allEnded(deadline);
    for (const s of this.sessions) s.cut();
    // A QUIT already applying its deletions is allowed to finish (serve exits a little after this anyway).
    await this.allEnded(Date.now() + 3000);
    for (const s of this.sessions) s.conn.socket.destroy();
  }

  private async allEnded(deadline: number): Promise<void> {
    while (this.sessions.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  }
}
