// A process joining the nodes that share a Redis (redis: in the config): its Redis connections, the
// limits kept there (with `own`, this node's count, while Redis is away) and the change notices, and
// the way out at stop.
import type { Logger } from '../../observability/logger.js';
import type { SharedLimits } from '../shared-limits.js';
import { RedisLink, type RedisSettings } from './redis-link.js';
import { RedisLimits } from './redis-limits.js';
import { RedisNotices } from './redis-notices.js';
import { RedisAdmin } from './redis-admin.js';

export interface NodeMembership {
  readonly limits: RedisLimits;
  readonly notices: RedisNotices;
  /** postern who and kick over the nodes (this process answers once it serves: admin.answerFrom). */
  readonly admin: RedisAdmin;
  /** Sends what is pending, gives this node's places back and closes the connections. */
  leave(): Promise<void>;
}

export function joinNodes(settings: RedisSettings, dataDir: string, own: SharedLimits, logger: Logger, node: string): NodeMembership {
  const redis = new RedisLink(settings, logger);
  const limits = new RedisLimits(redis, own, logger);
  const notices = new RedisNotices(redis, dataDir);
  return {
    limits,
    notices,
    admin: new RedisAdmin(redis, node),
    async leave() {
      await notices.close();
      await limits.leave();
      await redis.close();
    },
  };
}
