// Word that a mailbox folder changed, passed between the sessions that have it open: this process's
// own sessions at once, and, when the server shares its mail tree with other nodes, their sessions
// too (cluster/nodes/redis-notices.ts carries them over Redis). A file watch cannot do this on a
// network filesystem: the kernel sees only the changes made on its own machine.
import { resolve } from 'node:path';

/** Tells sessions that a folder changed, and hears about changes made by others. */
export interface ChangeNotices {
  /**
   * This process changed the folder at `path` (messages added, removed, flags changed). This process's
   * listeners are called before it returns (a folder tells its own change from another's that way).
   */
  changed(path: string): void;
  /** Calls `heard` when anyone (this process included) says the folder at `path` changed; returns the unsubscribe. */
  listen(path: string, heard: () => void): () => void;
}

/** Notices within one process: what a shared carrier builds on. Folders are named by their absolute path. */
export class LocalNotices implements ChangeNotices {
  private readonly listeners = new Map<string, Set<() => void>>();

  changed(path: string): void {
    this.heard(path);
  }

  /** Tells this process's listeners of `path` (a change made here, or one heard from elsewhere). */
  heard(path: string): void {
    const set = this.listeners.get(resolve(path));
    if (!set) return;
    for (const l of [...set]) l();
  }

  listen(path: string, heard: () => void): () => void {
    const key = resolve(path);
    let set = this.listeners.get(key);
    if (!set) this.listeners.set(key, (set = new Set()));
    set.add(heard);
    return () => {
      set.delete(heard);
      if (set.size === 0 && this.listeners.get(key) === set) this.listeners.delete(key);
    };
  }
}
