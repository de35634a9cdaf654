// What the stress test knows about each mailbox (shared by every client on it) and what one session
// knows of its selected mailbox, with the checks every response goes through. The rules follow
// imaptest's state tracking (dovecot/imaptest, src/mailbox-state.c; read, not copied):
// - a keyword is announced with * FLAGS before a FETCH shows it (RFC 3501 7.2.6, RFC 9051 7.3.5);
// - sequence numbers stay within EXISTS, EXISTS never shrinks without EXPUNGE, EXPUNGE n is within
//   range and never arrives while a FETCH, STORE or SEARCH by sequence number is in progress (RFC 3501
//   7.4.1 and 5.5), UIDs ascend with sequence numbers and a message's UID never changes;
// - a message's static data (UID, RFC822.SIZE, ENVELOPE, INTERNALDATE, BODY[]) is the same in every
//   fetch by every session, and BODY[] is what APPEND sent;
// - a keyword only one client changes (its "own" keyword) is seen by every other session as that
//   client last set it, once that session's NOOP began after the STORE's tagged OK.
import { createHash } from 'node:crypto';

export const SYSTEM_FLAGS = new Set(['\\Seen', '\\Answered', '\\Flagged', '\\Deleted', '\\Draft']);

export interface Violation {
  client: string;
  command: string;
  line: string;
  problem: string;
}

export class Violations {
  readonly list: Violation[] = [];
  total = 0;
  readonly byKind = new Map<string, number>();
  constructor(private readonly keep = 300) {}

  add(v: Violation): void {
    this.total++;
    const kind = kindOf(v.problem);
    this.byKind.set(kind, (this.byKind.get(kind) ?? 0) + 1);
    // Keep a few examples of every kind, then the rest up to the cap.
    if (this.list.length < this.keep && (this.byKind.get(kind)! <= 3 || this.list.length < this.keep / 2)) this.list.push(v);
  }

  /** Up to `perKind` examples of every kind of violation. */
  examples(perKind: number): Violation[] {
    const count = new Map<string, number>();
    return this.list.filter((v) => {
      const k = kindOf(v.problem);
      count.set(k, (count.get(k) ?? 0) + 1);
      return count.get(k)! <= perKind;
    });
  }

  summary(): string {
    const kinds = [...this.byKind].sort((a, b) => b[1] - a[1]).map(([k, n]) => `  ${n} x ${k}`);
    return `${this.total} violations${kinds.length ? `:\n${kinds.join('\n')}` : ''}`;
  }
}

/** A violation's kind: its problem up to the first colon, numbers as N. */
export function kindOf(problem: string): string {
  return problem.split(':')[0].replace(/\d+/g, 'N').slice(0, 100);
}

export interface StaticData {
  size?: number;
  envelope?: string;
  internalDate?: string;
  bodyHash?: string;
  /** Where the first value of each field came from, for reports. */
  origin: string;
}

/**
 * One change of an owned keyword: by its owner (true: set, false: cleared), or "replaced" when another
 * client's STORE FLAGS (replace) named the message, after which nobody knows the keyword's value until its
 * owner stores it again.
 */
export interface OwnStore {
  value: boolean | 'replaced';
  startedAt: number;
  okAt?: number;
}

export class MailboxState {
  uidValidity?: number;
  /** The highest UID any session has seen. */
  maxUid = 0;
  readonly statics = new Map<number, StaticData>();
  readonly uidOfMessageId = new Map<string, number>();
  /** EXPUNGE commands sent on this mailbox so far (by anyone). */
  expungesSent = 0;
  /** EXPUNGE commands answered so far. */
  expungesCompleted = 0;
  /** uid -> owned keyword -> its owner's stores, in order. */
  readonly ownStores = new Map<number, Map<string, OwnStore[]>>();
  /** The owned keywords handed out, one per client at most (a mailbox has 26 keyword slots). */
  readonly ownKeywords: string[] = [];

  constructor(
    readonly user: string,
    readonly password: string,
    readonly name: string,
  ) {}

  ownHistory(uid: number, keyword: string): OwnStore[] {
    let byKeyword = this.ownStores.get(uid);
    if (!byKeyword) this.ownStores.set(uid, (byKeyword = new Map()));
    let list = byKeyword.get(keyword);
    if (!list) byKeyword.set(keyword, (list = []));
    return list;
  }

  /**
   * Records another client's STORE FLAGS (replace) on `uids` (null: messages it could not name): returns its markers, to stamp at its end.
   */
  replaced(uids: number[] | null, byOwnerOf: string | null, at: number): OwnStore[] {
    const markers: OwnStore[] = [];
    for (const uid of uids ?? [...this.ownStores.keys()]) {
      for (const keyword of this.ownKeywords) {
        if (keyword === byOwnerOf) continue;
        const marker: OwnStore = { value: 'replaced', startedAt: at };
        this.pushOwn(uid, keyword, marker);
        markers.push(marker);
      }
    }
    return markers;
  }

  pushOwn(uid: number, keyword: string, store: OwnStore): void {
    const list = this.ownHistory(uid, keyword);
    list.push(store);
    if (list.length > 12) list.splice(0, list.length - 12);
  }

  /** Compares one fetched static item with what every earlier fetch saw. */
  checkStatic(
    uid: number,
    field: 'size' | 'envelope' | 'internalDate' | 'bodyHash',
    value: string | number,
    origin: string,
  ): string | null {
    let known = this.statics.get(uid);
    if (!known) this.statics.set(uid, (known = { origin }));
    const before = known[field];
    if (before === undefined) {
      (known as unknown as Record<string, unknown>)[field] = value;
      return null;
    }
    if (before === value) return null;
    const show = (x: unknown) => (typeof x === 'string' && x.length > 80 ? `${x.slice(0, 80)}…` : String(x));
    return `static data of UID ${uid} changed: ${field} was ${show(before)} (${known.origin}), now ${show(value)}`;
  }
}

export interface Message {
  uid?: number;
  /** Flags without \Recent, as the last FETCH FLAGS of this session showed them. */
  flags?: Set<string>;
  /** Bumped at every FETCH FLAGS for this message. */
  flagUpdates: number;
}

export function hash(data: Buffer): string {
  return createHash('sha1').update(data).digest('hex');
}
