// The selected mailbox as one IMAP session's client knows it (RFC 9051 sections 2.3.1.2, 5.2 and 7.5):
// the sequence map (message numbers are positions in `uids`), and what the client has been told. The
// view (the store's) learns what other sessions did on sync(); the client learns it only through the
// untagged EXISTS, EXPUNGE and FETCH responses this class words, when the session says it may: never an
// EXPUNGE during FETCH, STORE or SEARCH (numbers must not shift under a command that uses them), so a
// message another session removed stays in the map, with what was known of it, until then.
import type { MailboxView, MessageInfo } from '../../accounts/store/contract.js';
import { MailboxNotFoundError, sameFlags } from '../../accounts/store/contract.js';
import type { MailboxTarget } from './mailbox-names.js';
import { lowerBound } from './wire/sequence-set.js';

// Flag sets are shared by many messages (the store keeps one per distinct set): word each once.
const worded = new WeakMap<ReadonlySet<string>, string>();

export function flagList(flags: ReadonlySet<string>): string {
  let text = worded.get(flags);
  if (text === undefined) {
    text = `(${[...flags].join(' ')})`;
    worded.set(flags, text);
  }
  return text;
}

/**
 * The selected mailbox was deleted or renamed (by this session, another one, the CLI, Dovecot): its
 * UIDs and numbers name nothing any more. The session says BYE with this text and closes, as Dovecot does.
 */
export class SelectedMailboxGone extends Error {}

export class SelectedMailbox {
  /** UIDs in client order: message number n is uids[n - 1]. */
  uids: number[];
  /** What the client was last told of each message in the map (flags). */
  private readonly known = new Map<number, MessageInfo>();
  /** UIDs the view no longer has, not yet announced with EXPUNGE. */
  private readonly gone = new Set<number>();
  /** Set by the store's watch, or by this session's own expunges and additions: a sync is worth doing. */
  dirty = false;
  /** When the view was last synced (a sync is done at least this often, in case a change was not signalled). */
  private syncedAt = Date.now();
  private unwatch: () => void;
  /** Set when this session deleted or renamed it (the BYE then says so). */
  goneHere = false;

  constructor(
    readonly view: MailboxView,
    readonly target: MailboxTarget,
    /** The name the client used (for LIST in SELECT's answer and STATUS/ACL replies). */
    readonly wireName: string,
    readonly readOnly: boolean,
    readonly rights: string,
    onChange: () => void,
  ) {
    this.uids = view.messages.map((m) => m.uid);
    for (const m of view.messages) this.known.set(m.uid, m);
    this.unwatch = view.watch(() => {
      this.dirty = true;
      onChange();
    });
  }

  get exists(): number {
    return this.uids.length;
  }

  /** What the client knows of a message (its flags as last told), even one removed since. */
  info(uid: number): MessageInfo | undefined {
    return this.view.get(uid) ?? this.known.get(uid);
  }

  /** True when another session removed it and the client has not been told yet. */
  isGone(uid: number): boolean {
    return this.gone.has(uid);
  }

  /** The message number of a UID in the map, or 0. */
  seqOf(uid: number): number {
    const i = lowerBound(this.uids, uid);
    return this.uids[i] === uid ? i + 1 : 0;
  }

  /** Records flags the client has just been told (a FETCH response with FLAGS). */
  told(info: MessageInfo): void {
    if (this.known.has(info.uid)) this.known.set(info.uid, info);
  }

  /** The keywords in use (for FLAGS and PERMANENTFLAGS). */
  keywords(): string[] {
    const seen = new Set<string>();
    let last: ReadonlySet<string> | null = null;
    for (const m of this.view.messages) {
      if (m.flags === last || m.flags.size === 0) continue; // flag sets are shared by many messages
      last = m.flags;
      for (const f of m.flags) if (!f.startsWith('\\')) seen.add(f);
    }
    return [...seen].sort();
  }

  /**
   * Syncs the view and returns the untagged responses the client may be sent now. With
   * `expunges` false (FETCH, STORE, SEARCH), messages removed meanwhile stay in the map, unannounced.
   */
  async update(expunges: boolean, withUid: boolean, force = false): Promise<string[]> {
    // Without a signal from the watch or a change of our own, the mailbox is only looked at once a
    // second: a command costs no file system round trips (flags this session set are known already).
    const quiet = !force && !this.dirty && Date.now() - this.syncedAt < 1000;
    if (quiet && !(expunges && this.gone.size > 0)) return [];
    // cleared before the look, so that a change signalled while it runs is looked at again
    this.dirty = false;
    let changes;
    try {
      changes = await this.view.sync();
    } catch (err) {
      this.dirty = true;
      if (err instanceof MailboxNotFoundError) {
        throw new SelectedMailboxGone(this.goneHere ? 'Selected mailbox was deleted, have to disconnect' : 'Selected mailbox was deleted or renamed by another session; sign in again');
      }
      throw err;
    }
    this.syncedAt = Date.now();
    for (const uid of changes.expunged) if (this.known.has(uid)) this.gone.add(uid);
    const lines: string[] = [];
    if (expunges && this.gone.size > 0) {
      // announced now
      // ascending, each number as it is after the ones before it were removed (as Dovecot sends them)
      let removed = 0;
      const keep: number[] = [];
      this.uids.forEach((uid, i) => {
        if (this.gone.has(uid)) {
          lines.push(`* ${i + 1 - removed} EXPUNGE`);
          removed += 1;
          this.known.delete(uid);
        } else keep.push(uid);
      });
      this.uids = keep;
      this.gone.clear();
    }
    const before = this.uids.length;
    for (const m of changes.added) {
      if (this.known.has(m.uid)) continue;
      this.uids.push(m.uid);
      this.known.set(m.uid, m);
    }
    if (this.uids.length !== before) lines.push(`* ${this.uids.length} EXISTS`);
    for (const m of changes.flagsChanged) {
      const old = this.known.get(m.uid);
      if (!old || this.gone.has(m.uid) || sameFlags(old.flags, m.flags)) continue;
      this.known.set(m.uid, m);
      lines.push(`* ${this.seqOf(m.uid)} FETCH (${withUid ? `UID ${m.uid} ` : ''}FLAGS ${flagList(m.flags)})`);
    }
    return lines;
  }

  /** Flags this session changed itself: the FETCH lines (not for .SILENT) come from the caller. */
  changedHere(infos: readonly MessageInfo[]): void {
    for (const m of infos) if (this.known.has(m.uid)) this.known.set(m.uid, m);
  }

  close(): void {
    this.unwatch();
    this.view.close();
  }
}
