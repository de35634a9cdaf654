// This process's connections to the Redis the nodes share (redis: { url }): one for commands, one
// subscribed to the channels nodes talk on. Redis being down never stops the server: commands fail at
// once instead of queueing (the callers then fall back to what this node knows), ioredis keeps
// reconnecting, and the operator reads one line when Redis goes away and one when it is back.
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { Redis, type RedisOptions } from 'ioredis';
import type { Logger } from '../../observability/logger.js';
import { type ScriptName, SCRIPTS, scriptText } from './redis-scripts.js';

export interface RedisSettings {
  readonly url: string;
  readonly prefix: string;
}

/** The Redis URL without its password, for logs. */
export function redisAddress(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}${u.pathname === '/' ? '' : u.pathname}`;
  } catch {
    return '(unparsable URL)';
  }
}

const COMMON: RedisOptions = {
  connectTimeout: 2000,
  // reconnect forever, soon at first, then every 2 s
  retryStrategy: (attempt: number) => Math.min(attempt * 200, 2000),
  enableReadyCheck: true,
};

export class RedisLink {
  /** This process among the nodes: host, pid and a random part (a restarted process is a new node). */
  readonly node = `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`;
  readonly prefix: string;
  /** Where Redis is, without a password (for logs). */
  private readonly address: string;
  private readonly client: Redis;
  private readonly subscriber: Redis;
  private wasUp: boolean | null = null;
  private closing = false;
  private readonly upListeners: (() => void)[] = [];
  private readonly channels = new Map<string, (message: string) => void>();

  constructor(
    settings: RedisSettings,
    private readonly logger: Logger,
    /** What this process logs when Redis becomes reachable or not (the primary of workers uses it only for postern who and kick). */
    private readonly says: { readonly up: string; readonly down: string } | null = null,
  ) {
    this.prefix = settings.prefix;
    // Commands fail at once while Redis is away (no offline queue) and wait at most a second: a
    // connection is admitted by this node's own count rather than held up.
    this.client = new Redis(settings.url, { ...COMMON, enableOfflineQueue: false, maxRetriesPerRequest: 0, commandTimeout: 1000 });
    this.subscriber = new Redis(settings.url, { ...COMMON, maxRetriesPerRequest: null, autoResubscribe: true });
    for (const name of Object.keys(SCRIPTS) as ScriptName[])
      this.client.defineCommand(`postern_${name}`, { numberOfKeys: 0, lua: scriptText(name) });
    for (const r of [this.client, this.subscriber]) {
      r.on('ready', () => this.check());
      r.on('close', () => this.check());
      r.on('error', (err: Error) => this.check(err));
    }
    this.subscriber.on('message', (channel: string, message: string) => this.channels.get(channel)?.(message));
    this.address = redisAddress(settings.url);
  }

  /** True while both connections are ready. */
  get up(): boolean {
    return this.client.status === 'ready' && this.subscriber.status === 'ready';
  }

  /** `listener` runs each time Redis becomes reachable (at start too). */
  onUp(listener: () => void): void {
    this.upListeners.push(listener);
  }

  private check(err?: Error): void {
    if (this.closing) return;
    const up = this.up;
    if (up === this.wasUp) return;
    // Not known yet: a first error says it is down; a first 'close' before any answer says nothing.
    if (!up && this.wasUp === null && !err) return;
    const first = this.wasUp === null;
    this.wasUp = up;
    if (this.says) {
      if (up) this.logger.info({ redis: this.address, node: this.node }, this.says.up);
      else this.logger.error({ redis: this.address, err: err?.message }, this.says.down);
      if (up) for (const l of this.upListeners) l();
    } else if (up) {
      this.logger.info(
        { redis: this.address, node: this.node },
        first
          ? 'Redis reachable: limits and change notices are shared with the other nodes'
          : 'Redis reachable again: limits and change notices are shared with the other nodes again',
      );
      for (const l of this.upListeners) l();
    } else {
      this.logger.error(
        { redis: this.address, err: err?.message },
        'Redis unreachable: limits are counted by this node alone and change notices stay on this node until it is back',
      );
    }
  }

  /** The full name of a key or channel. */
  key(name: string): string {
    return this.prefix + name;
  }

  /** Runs one of the scripts (redis-scripts.ts); the prefix goes first. Rejects at once while Redis is down. */
  run(name: ScriptName, ...args: (string | number)[]): Promise<unknown> {
    const command = (this.client as unknown as Record<string, (...a: (string | number)[]) => Promise<unknown>>)[`postern_${name}`];
    return command.call(this.client, this.prefix, ...args);
  }

  publish(channel: string, message: string): Promise<unknown> {
    return this.client.publish(this.key(channel), message);
  }

  /** Calls `heard` with each message on the channel (from every node, this one too). */
  subscribe(channel: string, heard: (message: string) => void): void {
    this.channels.set(this.key(channel), heard);
    this.subscriber
      .subscribe(this.key(channel))
      .catch((err: Error) => this.logger.error({ err: err.message, channel }, 'cannot subscribe to a Redis channel'));
  }

  async close(): Promise<void> {
    this.closing = true;
    await Promise.all(
      [this.client, this.subscriber].map(async (r) => {
        try {
          if (r.status === 'ready') await r.quit();
          else r.disconnect();
        } catch {
          r.disconnect();
        }
      }),
    );
  }
}
