// The selected mailbox as one IMAP session's client knows it (RFC 9051 sections 2.3.1.2, 5.2 and 7.5):
// the sequence map (message numbers are positions in `uids`), and what the client has been told. The
// view (the store's) learns what other sessions did on sync(); the client learns it only through the
// untagged EXISTS, EXPUNGE and FETCH responses this class words, when the session says it may: never an
// EXPUNGE during FETCH, STORE or SEARCH (numbers must not shift under a command that uses them), so a
// message another session removed stays in the map, with what was known of it, until then.
import type { MailboxChanges, MailboxView, MessageInfo } from '../../store/contract.js';
import { MailError, mailErrorOf, sameFlags } from '../../store/contract.js';
import type { MailboxTarget } from './mailbox-names.js';
import { KnownMessages } from './known-messages.js';
import { lowerBound } from '../../lib/by-uid.js';
import { formatSet } from './wire/sequence-set.js';
import { fetchHead } from './uidonly.js';
import { UidRanges } from '../../lib/uid-ranges.js';

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
// \Recent goes after the system flags, before the keywords (as Dovecot words it); one derived set per
// shared flag set, so that flagList() words each once too.
const withRecentSets = new WeakMap<ReadonlySet<string>, ReadonlySet<string>>();

function withRecent(flags: ReadonlySet<string>): ReadonlySet<string> {
  let out = withRecentSets.get(flags);
  if (out === undefined) {
    const list = [...flags];
    out = new Set([...list.filter((f) => f.startsWith('\\')), '\\Recent', ...list.filter((f) => !f.startsWith('\\'))]);
    withRecentSets.set(flags, out);
  }
  return out;
}

/** The system flags, in the order FLAGS lists them (\Recent is not one a client may set). */
export const SYSTEM_FLAG_LIST = ['\\Answered', '\\Flagged', '\\Deleted', '\\Seen', '\\Draft'];

/** PERMANENTFLAGS for the rights held (RFC 4314 section 4: s for \Seen, t for \Deleted, w for the rest). */
function permanentFlags(rights: string, readOnly: boolean, keywords: readonly string[]): string[] {
  if (readOnly) return [];
  const out: string[] = [];
  for (const f of SYSTEM_FLAG_LIST) {
    const right = f === '\\Seen' ? 's' : f === '\\Deleted' ? 't' : 'w';
    if (rights.includes(right)) out.push(f);
  }
  if (rights.includes('w')) out.push(...keywords, '\\*');
  return out;
}

// The UIDs and the keywords of a message list (MailboxView.messages: replaced, never changed), worked out
// once and shared by every session that selects the mailbox while the list stays the same.
const uidsOfList = new WeakMap<readonly MessageInfo[], readonly number[]>();
const keywordsOfList = new WeakMap<readonly MessageInfo[], readonly string[]>();
const firstUnseenOfList = new WeakMap<readonly MessageInfo[], number>();

function uidsOf(messages: readonly MessageInfo[]): readonly number[] {
  let uids = uidsOfList.get(messages);
  if (uids === undefined) {
    uids = messages.map((m) => m.uid);
    uidsOfList.set(messages, uids);
  }
  return uids;
}

export class SelectedMailbox {
  /** UIDs in client order: message number n is uids[n - 1]. Shared with other sessions until changed (copied first). */
  uids: number[];
  private uidsShared = true;
  /** What the client was last told of each message in the map (flags). */
  private readonly known: KnownMessages;
  /** UIDs the view no longer has, not yet announced with EXPUNGE. */
  private readonly gone = new Set<number>();
  /** Set by the store's watch, or by this session's own expunges and additions: a sync is worth doing. */
  dirty = false;
  /** When the view was last synced (a sync is done at least this often, in case a change was not signalled). */
  private syncedAt = Date.now();
  private unwatch: () => void;
  /** Set when this session deleted or renamed it (the BYE then says so). */
  goneHere = false;
  /**
   * Keywords the client was told of in FLAGS (RFC 3501 section 7.2.6, RFC 9051 section 7.3.5: before any
   * response uses one). Never shrinks while the mailbox is selected, as in Dovecot.
   */
  private readonly announced: Set<string>;
  /** Flag sets (shared by many messages) already checked against `announced`. */
  private checked = new WeakSet<ReadonlySet<string>>();
  /** Messages this session sees as \Recent (RFC 3501 section 2.3.2): in the map, first seen here. Kept as UID ranges. */
  private readonly recent = new UidRanges();
  /** The RECENT count the client was last told. */
  private recentTold = 0;
  /** RFC 7162: CONDSTORE is on for the session: untagged FETCH responses carry UID and MODSEQ. */
  condstore = false;
  /** RFC 7162: QRESYNC is on for the session: expunges are announced with VANISHED, not EXPUNGE. */
  qresync = false;
  /** RFC 9586: UIDONLY is on for the session: UIDFETCH instead of FETCH, VANISHED instead of EXPUNGE. */
  uidonly = false;

  constructor(
    readonly view: MailboxView,
    readonly target: MailboxTarget,
    /** The name the client used (for LIST in SELECT's answer and STATUS/ACL replies). */
    readonly wireName: string,
    readonly readOnly: boolean,
    readonly rights: string,
    onChange: () => void,
    /** False once the client enabled IMAP4rev2 (RFC 9051 has no \Recent): nothing about it is sent. */
    private readonly showRecent = true,
  ) {
    this.uids = uidsOf(view.messages) as number[];
    this.known = new KnownMessages(view.messages);
    this.announced = new Set(this.keywords());
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

  /** `* FLAGS` and `* OK [PERMANENTFLAGS]` with every keyword announced so far (SELECT's, and each time one is added). */
  flagsLines(): string[] {
    const keywords = [...this.announced].sort();
    return [
      `* FLAGS (${[...SYSTEM_FLAG_LIST, ...keywords].join(' ')})`,
      `* OK [PERMANENTFLAGS ` +
        `(${permanentFlags(this.rights, this.readOnly, keywords).join(' ')})] ${this.readOnly ? 'Read-only mailbox' : 'Flags permitted'}`,
    ];
  }

  /**
   * The FLAGS and PERMANENTFLAGS lines to send before responses that show these messages' flags, when
   * one of them holds a keyword the client was not told of yet; none otherwise.
   */
  announce(infos: Iterable<MessageInfo>): string[] {
    let fresh = false;
    for (const m of infos) {
      if (m.flags.size === 0 || this.checked.has(m.flags)) continue;
      for (const f of m.flags) {
        if (f.startsWith('\\') || this.announced.has(f)) continue;
        this.announced.add(f);
        fresh = true;
      }
      this.checked.add(m.flags);
    }
    return fresh ? this.flagsLines() : [];
  }

  /** The FLAGS of a message as this session words them: with \Recent when it is recent here. */
  flagsOf(info: MessageInfo): string {
    return flagList(this.showRecent && this.recent.has(info.uid) ? withRecent(info.flags) : info.flags);
  }

  /** The flags SEARCH tests: \Recent included when it is recent here (RECENT, NEW, OLD). */
  searchFlags(info: MessageInfo): ReadonlySet<string> {
    return this.recent.has(info.uid) ? withRecent(info.flags) : info.flags;
  }

  /** How many messages of the map are recent in this session. */
  get recentCount(): number {
    return this.recent.size;
  }

  /**
   * Takes the messages no session has seen yet as recent here (SELECT; a read-only session, EXAMINE,
   * sees them as recent without taking them from others, RFC 3501 section 6.3.2). Returns the count.
   */
  async claimRecent(): Promise<number> {
    for (const uid of await this.view.claimRecent(this.readOnly ? 'peek' : 'claim')) if (this.known.has(uid)) this.recent.add(uid);
    this.recentTold = this.recent.size;
    return this.recent.size;
  }

  /** The message number of the first message without \Seen (SELECT's UNSEEN, RFC 3501 section 6.3.1), or 0. */
  firstUnseen(): number {
    const messages = this.view.messages;
    let index = firstUnseenOfList.get(messages);
    if (index === undefined) {
      index = messages.findIndex((m) => !m.flags.has('\\Seen'));
      firstUnseenOfList.set(messages, index);
    }
    return index + 1;
  }

  /** The keywords in use (for FLAGS and PERMANENTFLAGS). */
  keywords(): string[] {
    const messages = this.view.messages;
    const cached = keywordsOfList.get(messages);
    if (cached !== undefined) return [...cached];
    const seen = new Set<string>();
    let last: ReadonlySet<string> | null = null;
    for (const m of messages) {
      if (m.flags === last || m.flags.size === 0) continue; // flag sets are shared by many messages
      last = m.flags;
      for (const f of m.flags) if (!f.startsWith('\\')) seen.add(f);
    }
    const keywords = [...seen].sort();
    keywordsOfList.set(messages, keywords);
    return [...keywords];
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
    let changes: MailboxChanges;
    try {
      changes = await this.view.sync();
    } catch (err) {
      this.dirty = true;
      if (mailErrorOf(err) === MailError.NOTFOUND) {
        throw new SelectedMailboxGone(
          this.goneHere
            ? 'Selected mailbox was deleted, have to disconnect'
            : 'Selected mailbox was deleted or renamed by another session; sign in again',
        );
      }
      throw err;
    }
    this.syncedAt = Date.now();
    for (const uid of changes.expunged) if (this.known.has(uid)) this.gone.add(uid);
    // a keyword new to the client is announced before anything shows it (and before it can FETCH the new messages)
    const lines: string[] = this.announce(
      changes.added.length + changes.flagsChanged.length === 0 ? [] : [...changes.added, ...changes.flagsChanged],
    );
    if (expunges && this.gone.size > 0 && (this.qresync || this.uidonly)) {
      // RFC 7162 section 3.2.7: one VANISHED (UIDs) instead of an EXPUNGE per message
      lines.push(`* VANISHED ${formatSet([...this.gone])}`);
      for (const uid of this.gone) {
        this.known.delete(uid);
        this.recent.delete(uid);
      }
      this.uids = this.uids.filter((uid) => !this.gone.has(uid));
      this.uidsShared = false;
      this.gone.clear();
    }
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
          this.recent.delete(uid);
        } else keep.push(uid);
      });
      this.uids = keep;
      this.uidsShared = false;
      this.gone.clear();
    }
    const before = this.uids.length;
    for (const m of changes.added) {
      if (this.known.has(m.uid)) continue;
      if (this.uidsShared) {
        this.uids = this.uids.slice();
        this.uidsShared = false;
      }
      this.uids.push(m.uid);
      this.known.set(m.uid, m);
    }
    if (this.uids.length !== before) {
      lines.push(`* ${this.uids.length} EXISTS`);
      // new messages no other session took first are recent here (RFC 3501 section 2.3.2)
      for (const uid of await this.view.claimRecent(this.readOnly ? 'peek' : 'claim'))
        if (this.known.has(uid) && !this.gone.has(uid)) this.recent.add(uid);
    }
    // RFC 3501 section 7.3.2: sent when the number of recent messages changes (with the size, or after EXPUNGE)
    if (this.showRecent && this.recent.size !== this.recentTold) lines.push(`* ${this.recent.size} RECENT`);
    this.recentTold = this.recent.size;
    for (const m of changes.flagsChanged) {
      const old = this.known.get(m.uid);
      if (!old || this.gone.has(m.uid) || (sameFlags(old.flags, m.flags) && (!this.condstore || old.modseq === m.modseq))) continue;
      this.known.set(m.uid, m);
      // RFC 7162 section 3.1: with CONDSTORE on, UID and MODSEQ too
      if (this.condstore) lines.push(`${fetchHead(this, m.uid, true)}FLAGS ${this.flagsOf(m)} MODSEQ (${m.modseq}))`);
      else lines.push(`${fetchHead(this, m.uid, withUid)}FLAGS ${this.flagsOf(m)})`);
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
