// The file watch of one Maildir folder (inotify on Linux): new/, cur/ and the folder itself. Besides
// waking the sessions that watch the folder, it tells the folder whether its listing is still true
// without asking the file system: every change to new/ or cur/ by anyone on this machine shows up
// here, named, and this process announces its own renames and removals before it makes them. A
// listing read while the watch ran, followed only by this process's own (announced) changes, is
// therefore current, and a look needs no stat of new/ and cur/ and no readdir. What the watch cannot
// see (another machine's change on a shared file system) comes as a change notice; the folder also
// looks at the disk at least every VERIFY_MS whatever the watch says.
import { type FSWatcher, watch } from 'node:fs';
import { join } from 'node:path';

type Sub = 'new' | 'cur';

/** Entries of the folder itself whose changes say nothing about its messages. */
function unrelated(name: string): boolean {
  return (
    name.endsWith('.lock') ||
    name.endsWith('.tmp') ||
    name.startsWith('postern-') ||
    name.startsWith('dovecot.index') ||
    name.startsWith('dovecot.list.index') ||
    name.startsWith('dovecot-uidlist.')
  );
}

/** Own changes still expected past this many are forgotten (and the listing read again). */
const MAX_EXPECTED = 10_000;

let epochs = 0;

export class FolderWatch {
  private watchers: FSWatcher[] = [];
  /** This process's own changes to new/ and cur/ not yet seen by the watch: "sub/name" -> how many. */
  private readonly expected = new Map<string, number>();
  /** Non-zero while the watch runs; a new value every time it starts. */
  epoch = 0;
  /** Changes to new/ or cur/ (or to the folder) that were not this process's own: grows, never reset. */
  foreign = 0;
  /** Set by a change to dovecot-uidlist / dovecot-keywords seen by the watch (or not watched: always). */
  uidlistChanged = true;
  keywordsChanged = true;

  constructor(
    private readonly path: string,
    /** A change the sessions should hear of (not this process's own: those are told by notices). */
    private readonly onChange: () => void,
    /** False when own changes are not told to this process's sessions otherwise: the watch tells them. */
    private readonly ownToldElsewhere: boolean,
  ) {}

  get running(): boolean {
    return this.epoch !== 0;
  }

  start(): void {
    if (this.running) return;
    const watchers: FSWatcher[] = [];
    try {
      for (const sub of ['new', 'cur'] as const)
        watchers.push(watch(join(this.path, sub), { persistent: false }, (_e, name) => this.onEntry(sub, name)));
      watchers.push(watch(this.path, { persistent: false }, (_e, name) => this.onFolder(name)));
    } catch {
      // a folder that cannot be watched is still looked at on every sync
      for (const w of watchers) w.close();
      return;
    }
    for (const w of watchers) w.on('error', () => this.stop());
    this.watchers = watchers;
    this.epoch = ++epochs;
    this.uidlistChanged = true;
    this.keywordsChanged = true;
  }

  stop(): void {
    for (const w of this.watchers) w.close();
    this.watchers = [];
    this.epoch = 0;
    this.expected.clear();
    this.uidlistChanged = true;
    this.keywordsChanged = true;
  }

  /** Announces a change this process is about to make to the file at `path` (in new/ or cur/). */
  expect(path: string): void {
    const key = this.keyOf(path);
    if (key === null || !this.running) return;
    if (this.expected.size >= MAX_EXPECTED) {
      this.expected.clear();
      this.foreign++;
    }
    this.expected.set(key, (this.expected.get(key) ?? 0) + 1);
  }

  /** The announced change did not happen (the rename or unlink failed). */
  unexpect(path: string): void {
    const key = this.keyOf(path);
    if (key === null) return;
    const n = this.expected.get(key) ?? 0;
    if (n <= 1) this.expected.delete(key);
    else this.expected.set(key, n - 1);
  }

  /** "sub/name" of a path in this folder's new/ or cur/, else null. */
  private keyOf(path: string): string | null {
    const slash = path.lastIndexOf('/');
    const dir = path.slice(0, slash);
    if (dir === `${this.path}/new`) return `new/${path.slice(slash + 1)}`;
    if (dir === `${this.path}/cur`) return `cur/${path.slice(slash + 1)}`;
    return null;
  }

  private onEntry(sub: Sub, name: string | Buffer | null): void {
    const key = name === null ? null : `${sub}/${name.toString()}`;
    const n = key === null ? 0 : (this.expected.get(key) ?? 0);
    if (n > 0) {
      if (n === 1) this.expected.delete(key!);
      else this.expected.set(key!, n - 1);
      if (!this.ownToldElsewhere) this.onChange();
      return;
    }
    this.foreign++;
    this.onChange();
  }

  private onFolder(name: string | Buffer | null): void {
    const entry = name?.toString() ?? null;
    if (entry === 'dovecot-uidlist') this.uidlistChanged = true;
    else if (entry === 'dovecot-keywords') this.keywordsChanged = true;
    else if (entry !== null && unrelated(entry)) return;
    else {
      // new/ or cur/ themselves, the folder, a child mailbox, anything else: look at the disk again
      this.foreign++;
      this.uidlistChanged = true;
      this.keywordsChanged = true;
    }
    this.onChange();
  }
}
