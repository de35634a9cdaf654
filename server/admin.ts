// What answers `postern who` and `postern kick` for a whole server, opened by its first process (the
// single process, or the primary of serve --workers): the control socket (server/control-socket.ts) and
// /admin/who, /admin/kick on the metrics HTTP server (server/admin-http.ts), both asking `here` (this
// process's sessions, or every worker's) and, with Redis, the other nodes.
import { type AdminScope, nodeName, SiteAdmin } from '../cluster/admin/who.js';
import { RedisAdmin } from '../cluster/nodes/redis-admin.js';
import { RedisLink, type RedisSettings } from '../cluster/nodes/redis-link.js';
import type { Logger } from '../observability/logger.js';
import { controlSocketPath } from './admin-config.js';
import { AdminHttp } from './admin-http.js';
import type { LoadedConfig } from './config.js';
import { ControlSocket } from './control-socket.js';

export class ServerAdmin {
  readonly http: AdminHttp;
  private readonly control: ControlSocket;
  private socketPath: string | null = null;

  constructor(
    readonly site: AdminScope,
    private readonly logger: Logger,
    config: LoadedConfig,
  ) {
    this.http = new AdminHttp(site, logger, config.admin.token);
    this.control = new ControlSocket(site, logger);
  }

  /** Opens the control socket the config names; one that cannot be opened is logged (the server serves on). */
  async open(config: LoadedConfig): Promise<void> {
    this.http.token = config.admin.token ?? null;
    const path = controlSocketPath(config);
    if (path === this.socketPath) return;
    await this.control.close();
    this.socketPath = null;
    if (path === null) return;
    try {
      await this.control.open(path);
      this.socketPath = path;
      this.logger.info({ socket: path }, 'control socket for postern who and postern kick');
    } catch (err) {
      this.logger.error(
        { err: (err as Error).message, socket: path },
        'cannot open the control socket: postern who and kick will not reach this server',
      );
    }
  }

  async close(): Promise<void> {
    this.socketPath = null;
    await this.control.close();
  }
}

/**
 * The site as the server's first process sees it: `here` and, with Redis (`others`, or for the primary
 * of workers its own link to Redis, which it uses for nothing else), the other nodes.
 */
export function siteAdmin(here: AdminScope, others: RedisAdmin | null): AdminScope {
  return others ? new SiteAdmin([here, others]) : here;
}

/** The primary of serve --workers asks the other nodes over a Redis link of its own. */
export function primaryRedisAdmin(settings: RedisSettings, logger: Logger): RedisAdmin {
  const link = new RedisLink(settings, logger, {
    up: 'postern who and kick reach the other nodes (Redis reachable)',
    down: 'postern who and kick reach only the workers of this server: Redis unreachable until it is back',
  });
  return new RedisAdmin(link, nodeName(null));
}
