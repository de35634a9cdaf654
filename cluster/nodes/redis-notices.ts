// Change notices between nodes over Redis pub/sub: a change made here is told to this process's
// sessions at once and published (a burst of changes to one folder goes out as one message); a notice
// from another node is told to the sessions here that have that folder open. Folders are named by
// their path under dataDir, so nodes that mount the tree elsewhere still agree. While Redis is down,
// notices stay on this node; sessions elsewhere still see the change at their next look
// (imap.idleCheckInterval during IDLE, the next command otherwise).
import { join, relative, resolve, sep } from 'node:path';
import { Redis } from 'ioredis';
import { type ChangeNotices, LocalNotices } from '../../store/maildir/change-notices.js';
import type { RedisLink, RedisSettings } from './redis-link.js';

const COALESCE_MS = 20;

export class RedisNotices implements ChangeNotices {
  private readonly local = new LocalNotices();
  private readonly root: string;
  private readonly pending = new Set<string>();
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly link: RedisLink,
    dataDir: string,
  ) {
    this.root = resolve(dataDir);
    link.subscribe('changes', (message) => this.heard(message));
  }

  changed(path: string): void {
    this.local.changed(path);
    const folder = folderName(this.root, path);
    if (folder === null) return;
    this.pending.add(folder);
    this.timer ??= setTimeout(() => this.flush(), COALESCE_MS);
  }

  private flush(): void {
    this.timer = null;
    const folders = [...this.pending];
    this.pending.clear();
    if (!this.link.up) return;
    this.link.publish('changes', noticeText(this.link.node, folders)).catch(() => {});
  }

  private heard(message: string): void {
    let parsed: { node?: unknown; folders?: unknown };
    try {
      parsed = JSON.parse(message) as typeof parsed;
    } catch {
      return;
    }
    if (parsed.node === this.link.node || !Array.isArray(parsed.folders)) return;
    for (const f of parsed.folders) if (typeof f === 'string') this.local.heard(join(this.root, ...f.split('/')));
  }

  listen(path: string, heard: () => void): () => void {
    return this.local.listen(path, heard);
  }

  /** Sends what is still waiting (the process is stopping). */
  async close(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    const folders = [...this.pending];
    this.pending.clear();
    if (folders.length > 0 && this.link.up) await this.link.publish('changes', noticeText(this.link.node, folders)).catch(() => {});
  }
}

/** A folder's name in notices: its path under dataDir with "/" between parts; null when it is not under it. */
function folderName(root: string, path: string): string | null {
  const rel = relative(root, resolve(path));
  if (rel === '' || rel.startsWith('..')) return null;
  return rel.split(sep).join('/');
}

function noticeText(node: string, folders: readonly string[]): string {
  return JSON.stringify({ node, folders });
}

/**
 * Publishes once that `paths` changed, for a process that is not a node (postern deliver): connects,
 * publishes, quits, within about two seconds. Resolves to false when Redis could not be told (the
 * sessions elsewhere then see the message at their next look); never throws.
 */
export async function publishChanges(settings: RedisSettings, dataDir: string, paths: readonly string[]): Promise<boolean> {
  const root = resolve(dataDir);
  const folders = [...new Set(paths.map((p) => folderName(root, p)).filter((f): f is string => f !== null))];
  if (folders.length === 0) return true;
  // no ready check (it waits while Redis loads its data), and a deadline over the whole exchange
  const r = new Redis(settings.url, {
    lazyConnect: true,
    enableReadyCheck: false,
    connectTimeout: 1500,
    commandTimeout: 1000,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    enableOfflineQueue: false,
  });
  r.on('error', () => {});
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), 2000)));
  const told = (async () => {
    try {
      await r.connect();
      await r.publish(`${settings.prefix}changes`, noticeText(`deliver-${process.pid}`, folders));
      return true;
    } catch {
      return false;
    }
  })();
  const result = await Promise.race([told, deadline]);
  clearTimeout(timer);
  if (result) await r.quit().catch(() => r.disconnect());
  else r.disconnect();
  return result;
}
