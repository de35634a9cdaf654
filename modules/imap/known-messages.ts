// What a session's client was last told of each message in its sequence map (selected.ts), kept as the
// view's message list at SELECT (an array the store never changes, shared by every session on the same
// folder state) plus what changed since: SELECT of a 100,000-message mailbox then copies nothing, and the
// memory a session holds grows with the changes it was told of, not with the mailbox.
import { indexOfUid as indexOf } from '../../lib/by-uid.js';
import type { MessageInfo } from '../../store/contract.js';

export class KnownMessages {
  /** Told since SELECT (replacing the base's), or added since. */
  private readonly changed = new Map<number, MessageInfo>();
  /** UIDs of the base no longer in the map. */
  private readonly removed = new Set<number>();

  /** `base`: the messages at SELECT, ascending UID; never changed (MailboxView.messages). */
  constructor(private readonly base: readonly MessageInfo[]) {}

  get(uid: number): MessageInfo | undefined {
    const m = this.changed.get(uid);
    if (m !== undefined) return m;
    if (this.removed.has(uid)) return undefined;
    const i = indexOf(this.base, uid);
    return i < 0 ? undefined : this.base[i];
  }

  has(uid: number): boolean {
    return this.get(uid) !== undefined;
  }

  set(uid: number, info: MessageInfo): void {
    this.changed.set(uid, info);
    this.removed.delete(uid);
  }

  delete(uid: number): void {
    this.changed.delete(uid);
    if (indexOf(this.base, uid) >= 0) this.removed.add(uid);
  }
}
