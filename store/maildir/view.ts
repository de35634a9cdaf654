// A view of one Maildir folder for one session (MailboxView in ../store/contract.ts), over the folder
// state it shares with every other view of the folder in this process (folder.ts).
import { closeSync, openSync, readFileSync, readSync } from 'node:fs';
import { type FileHandle, open, stat, unlink } from 'node:fs/promises';
import { Readable } from 'node:stream';
import {
  applyFlagChange,
  type CopyResult,
  type FlagChange,
  type MailboxChanges,
  type MailboxRef,
  type MailboxView,
  type MailboxSearchIndex,
  MailboxNotFoundError,
  type MessageInfo,
  MessageGoneError,
  sameFlags,
} from '../contract.js';
import { flagsOf, keywordsWithoutLetter, lettersOf } from './flags.js';
import type { FolderState, MaildirFolder } from './folder.js';
import { firstSeenMark } from './first-seen.js';
import type { LiveMessage } from './modseq.js';
import { addKeywords } from './keywords.js';
import { MessageFileStream } from './message-stream.js';
import { renameInto } from './move.js';
import { copyToTmp, place, type Placing } from './place.js';
import { READ_NO_FOLLOW } from './real-folders.js';
import { inPlaceNow, noteInPlaceCall, timedInPlace } from '../../lib/in-place.js';
import { type MaildirQuota, sizeInName } from './maildirsize.js';
import type { AccountAddress } from '../../accounts/names.js';
import { arrivalTime } from './filename.js';
import { emailIdOf } from '../object-ids.js';

// readNow()'s buffer, shared by all views: the process is single-threaded and every caller uses the
// bytes before it reads the next message. Messages larger than this are read into their own buffer.
const readBuffer = Buffer.allocUnsafe(256 * 1024 + 1);

const SYSTEM_BY_LETTER: Record<string, string> = { D: '\\Draft', F: '\\Flagged', R: '\\Answered', S: '\\Seen', T: '\\Deleted' };
const LETTER_OF: Record<string, string> = Object.fromEntries(Object.entries(SYSTEM_BY_LETTER).map(([l, f]) => [f.toLowerCase(), l]));

/** The letter when `change` adds exactly one system flag, else undefined. */
function systemLetter(change: FlagChange): string | undefined {
  return 'add' in change && change.add.length === 1 ? LETTER_OF[change.add[0].toLowerCase()] : undefined;
}

/** Finds the folder a copy goes to (the store does: it knows accounts and names). */
export type FolderOf = (to: MailboxRef) => Promise<MaildirFolder>;

/** The quota of the view's own account, and of the account a copy or move goes to. */
export interface ViewQuota {
  readonly own: MaildirQuota;
  of(account: AccountAddress): MaildirQuota;
}

/** The octets a message file counts for in the quota: the S= of its name, else its size on disk. */
async function quotaSize(key: string, path: string): Promise<number> {
  return sizeInName(key) ?? (await stat(path)).size;
}

const NO_CHANGES: MailboxChanges = { expunged: [], added: [], flagsChanged: [] };

/** readHeader's first read, and the step it grows by (doubling). */
const HEADER_STEP = 64 * 1024;

/**
 * open() reads a message up to this size whole, at once, and gives its octets as one chunk: a search of
 * 100,000 messages through the thread pool (lib/in-place.ts off after slow reads) made four round trips and
 * two 128 KiB buffers per message with the chunked stream (message-stream.ts), which is for large messages.
 */
const WHOLE_OPEN_MAX = 256 * 1024;

/** One read(2) into buffer[at...] at file position `at`: in place when lib/in-place.ts allows, else through the pool. */
async function readAt(handle: FileHandle, buffer: Buffer, at: number): Promise<number> {
  if (inPlaceNow()) return timedInPlace(() => readSync(handle.fd, buffer, at, buffer.length - at, at));
  return (await handle.read(buffer, at, buffer.length - at, at)).bytesRead;
}

/**
 * The file's octets from the start: until its end, or (`until` given) until until(buffer, before, length) finds
 * where to stop (-1: read on) or `limit` octets. The first buffer holds `first` octets and doubles as needed.
 */
async function readFrom(
  handle: FileHandle,
  first: number,
  limit: number,
  until?: (data: Buffer, from: number, length: number) => number,
): Promise<Buffer> {
  let buffer = Buffer.allocUnsafe(Math.max(1, Math.min(limit, first)));
  let length = 0;
  for (;;) {
    const n = await readAt(handle, buffer, length);
    const from = Math.max(0, length - 3);
    length += n;
    const end = until ? until(buffer, from, length) : -1;
    if (end >= 0) return buffer.subarray(0, end);
    if (n === 0 || length >= limit) return buffer.subarray(0, length);
    if (length === buffer.length) {
      const grown = Buffer.allocUnsafe(Math.min(limit, buffer.length * 2));
      buffer.copy(grown, 0, 0, length);
      buffer = grown;
    }
  }
}

/** A buffer as a stream of one chunk. */
function oneChunk(data: Buffer): Readable {
  const stream = new Readable({ read() {} });
  stream.push(data);
  stream.push(null);
  return stream;
}

/** Where the header of data[0, length) ends (after its blank line, CRLF or LF), looking from `from`; -1: not within. */
function headerEndIn(data: Buffer, from: number, length: number): number {
  for (let i = data.indexOf(0x0a, from); i >= 0 && i < length; i = data.indexOf(0x0a, i + 1)) {
    if (i + 1 < length && data[i + 1] === 0x0a) return i + 2;
    if (i + 2 < length && data[i + 1] === 0x0d && data[i + 2] === 0x0a) return i + 3;
  }
  return -1;
}

/** What a view asks of its mailbox's SEARCH index (store/search-index/search-indexes.ts ViewSearchIndex). */
export interface ViewIndex extends MailboxSearchIndex {
  /** The mailbox changed: the index is brought up to date in the background (once the view was prepared or searched). */
  changed(): void;
}

export class MaildirView implements MailboxView {
  private state: FolderState;
  /** This view's own flag changes since its last sync. */
  private readonly own = new Map<number, MessageInfo>();
  private list: readonly MessageInfo[] | null = null;
  /** The highest modseq this view's own changes were given. */
  private ownHighest = 0;

  constructor(
    private readonly folder: MaildirFolder,
    state: FolderState,
    private readonly folderOf: FolderOf,
    private readonly quota?: ViewQuota,
    searchIndexOf?: (view: MailboxView) => ViewIndex,
  ) {
    this.state = state;
    this.searchIndex = searchIndexOf?.(this);
  }

  readonly searchIndex?: ViewIndex;

  get storage(): string {
    return this.folder.path;
  }

  get uidValidity(): number {
    return this.state.uidValidity;
  }

  get uidNext(): number {
    return Math.max(this.state.uidNext, this.folder.uidNext);
  }

  get messages(): readonly MessageInfo[] {
    if (this.own.size === 0) return this.state.messages;
    this.list ??= this.state.messages.map((m) => this.own.get(m.uid) ?? m);
    return this.list;
  }

  get(uid: number): MessageInfo | undefined {
    return this.own.get(uid) ?? this.state.byUid.get(uid);
  }

  private info(uid: number): MessageInfo {
    const m = this.get(uid);
    if (!m) throw new MessageGoneError();
    return m;
  }

  async open(uid: number): Promise<Readable> {
    const m = this.info(uid);
    const handle = await this.folder.withFile(m.key, (p) => open(p, READ_NO_FOLLOW));
    if (m.size > WHOLE_OPEN_MAX) return new MessageFileStream(handle);
    try {
      // one read of the whole file (never larger than its CRLF size, so one more octet finds the end at once)
      return oneChunk(await readFrom(handle, m.size + 1, Infinity));
    } finally {
      await handle.close();
    }
  }

  readNow(uid: number): Buffer | null {
    const m = this.get(uid);
    if (!m || this.folder.renaming(m.key) !== undefined) return null; // our own rename is under way: open() waits for it
    const e = this.folder.entry(m.key);
    if (!e || !inPlaceNow()) return null;
    // A small message is read in place into one reused buffer while lib/in-place.ts allows it (the read
    // timed: slow ones turn in-place calls off for a while): from the page cache that takes microseconds,
    // where the thread pool's round trips (open, fstat, read, close) and a fresh buffer per message cost far
    // more. The file is never larger than its CRLF size.
    const started = performance.now();
    let fd: number;
    try {
      fd = openSync(`${this.folder.path}/${e.sub}/${e.name}`, READ_NO_FOLLOW);
    } catch (err) {
      noteInPlaceCall(performance.now() - started);
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ELOOP') return null; // moved or removed: open() finds out which
      throw err;
    }
    try {
      if (m.size >= readBuffer.length) return readFileSync(fd);
      let length = 0;
      for (;;) {
        const n = readSync(fd, readBuffer, length, readBuffer.length - length, length);
        length += n;
        // Exactly the CRLF size: a CRLF message, complete. Otherwise read until the end of the file.
        if (n === 0 || length === m.size || length === readBuffer.length) break;
      }
      // Larger than its CRLF size: not what the name said (rewritten in place); read it as it is now.
      if (length > m.size) return readFileSync(fd);
      return readBuffer.subarray(0, length);
    } finally {
      closeSync(fd);
      noteInPlaceCall(performance.now() - started);
    }
  }

  async readHeader(uid: number, limit = 64 * 1024): Promise<Buffer> {
    const m = this.info(uid);
    return this.folder.withFile(m.key, async (path) => {
      const handle = await open(path, READ_NO_FOLLOW);
      try {
        // read in steps from 64 KiB (or the whole message when it is smaller), doubling, until the blank line
        // or `limit`: a large bound costs nothing to the usual header of a few KiB
        const header = await readFrom(handle, Math.min(HEADER_STEP, m.size + 1), limit, headerEndIn);
        // a header of a large buffer is copied out, so that the buffer can go
        return header.buffer.byteLength > 2 * header.length + 4096 ? Buffer.from(header) : header;
      } finally {
        await handle.close();
      }
    });
  }

  async internalDate(uid: number): Promise<Date> {
    return this.folder.withFile(this.info(uid).key, async (path) => (await stat(path)).mtime);
  }

  /**
   * The time the file's name was made, when it was written into this folder (a copy and a move get a new
   * name): it stays through renames (flag changes), which change the file's ctime, Dovecot's fallback when
   * its index cache has no save date. A name without a time: the ctime.
   */
  async saveDate(uid: number): Promise<Date> {
    const key = this.info(uid).key;
    const { secs } = arrivalTime(key);
    if (secs > 0) {
      if (!this.folder.entry(key)) throw new MessageGoneError();
      return new Date(secs * 1000);
    }
    return this.folder.withFile(key, async (path) => (await stat(path)).ctime);
  }

  /** Dovecot's mailbox GUID (the uidlist's G header field); a uidlist without one: from the UIDVALIDITY. */
  get mailboxId(): string {
    return this.folder.mailboxGuid ?? `V${this.uidValidity}`;
  }

  emailId(message: MessageInfo): string {
    return emailIdOf(this.folder.messageGuid(message.key));
  }

  async store(uids: readonly number[], change: FlagChange): Promise<MessageInfo[]> {
    const quick = systemLetter(change);
    if (quick) return this.storeLetter(uids, quick);
    // keywords the change adds get their letters first (under the uidlist lock, as Dovecot does)
    const named = 'remove' in change ? [] : [...applyFlagChange(new Set(), change)];
    if (keywordsWithoutLetter(named, this.folder.keywords).length > 0) {
      await this.folder.locked(async () => {
        await addKeywords(this.folder.path, this.folder.keywords, keywordsWithoutLetter(named, this.folder.keywords));
        await this.folder.refreshKeywords();
      });
    }
    const changed: MessageInfo[] = [];
    const recorded: LiveMessage[] = [];
    for (const uid of uids) {
      const m = this.get(uid);
      if (!m || !this.folder.entry(m.key)) continue;
      // the change applies to the flags the file has when the rename runs (another session may have
      // changed them meanwhile: its change is kept)
      let after: ReadonlySet<string> | null = null;
      let now = '';
      try {
        now = await this.folder.updateLetters(m.key, (letters) => {
          const current = flagsOf(letters, this.folder.keywords);
          const flags = applyFlagChange(current, change);
          if (sameFlags(flags, current)) return null;
          after = flags;
          return lettersOf(flags, this.folder.keywords, letters);
        });
      } catch (err) {
        if (err instanceof MessageGoneError) continue;
        throw err;
      }
      if (after === null) continue;
      const updated: MessageInfo = { ...m, flags: after };
      changed.push(updated);
      recorded.push({ uid, letters: now });
    }
    return this.recordOwn(changed, recorded);
  }

  /** Gives this view's flag changes their modseq (modseq.ts) and shows them in the view at once. */
  private async recordOwn(changed: MessageInfo[], letters: LiveMessage[]): Promise<MessageInfo[]> {
    if (changed.length === 0) return changed;
    const modseqs = await this.folder.modseqs.record(this.uidValidity, letters, []);
    this.ownHighest = Math.max(this.ownHighest, this.folder.modseqs.highest);
    for (let i = 0; i < changed.length; i++) {
      changed[i] = { ...changed[i], modseq: modseqs.get(changed[i].uid) || this.folder.modseqs.highest };
      this.own.set(changed[i].uid, changed[i]);
    }
    this.list = null;
    return changed;
  }

  /**
   * store() of one system flag added (RETR's \Seen, on every first download): the letter goes into the
   * name where it sorts, without working out every flag of the message.
   */
  private async storeLetter(uids: readonly number[], letter: string): Promise<MessageInfo[]> {
    const changed: MessageInfo[] = [];
    const recorded: LiveMessage[] = [];
    for (const uid of uids) {
      const m = this.get(uid);
      if (!m || !this.folder.entry(m.key)) continue;
      let letters: string | null = null;
      try {
        await this.folder.updateLetters(m.key, (current) => {
          if (current.includes(letter)) return null;
          letters = [...current, letter].sort().join('');
          return letters;
        });
      } catch (err) {
        if (err instanceof MessageGoneError) continue;
        throw err;
      }
      if (letters === null) continue;
      changed.push({ ...m, flags: flagsOf(letters, this.folder.keywords) });
      recorded.push({ uid, letters });
    }
    return this.recordOwn(changed, recorded);
  }

  async expunge(uids: readonly number[]): Promise<number[]> {
    const gone: number[] = [];
    // what this view removed leaves the quota's usage (what someone else removed first, they count)
    const removed = { storage: 0, messages: 0 };
    try {
      for (const uid of [...uids].sort((a, b) => a - b)) {
        const m = this.get(uid);
        if (!m) continue;
        try {
          const size = await this.folder.withFile(m.key, async (path) => {
            const octets = this.quota ? await quotaSize(m.key, path) : 0;
            await this.folder.unlinkOwn(path);
            return octets;
          });
          removed.storage += size;
          removed.messages++;
        } catch (err) {
          if (!(err instanceof MessageGoneError)) throw err;
        }
        this.folder.removed(m.key);
        gone.push(uid);
      }
    } finally {
      await this.quota?.own.changed({ storage: -removed.storage, messages: -removed.messages });
    }
    if (gone.length > 0) {
      await this.folder.modseqs.record(this.uidValidity, [], gone);
      this.ownHighest = Math.max(this.ownHighest, this.folder.modseqs.highest);
    }
    return gone;
  }

  async copy(uids: readonly number[], to: MailboxRef): Promise<CopyResult> {
    const target = await this.folderOf(to);
    await target.state(); // its uidlist and keywords, made if missing
    const items: (Placing & { uid: number })[] = [];
    try {
      for (const uid of [...uids].sort((a, b) => a - b)) {
        const m = this.get(uid);
        if (!m) continue;
        try {
          const written = await this.folder.withFile(m.key, (path) => copyToTmp(path, target.path, m.key));
          const date = await this.internalDate(uid).catch(() => undefined);
          items.push({ uid, written, flags: m.flags, internalDate: date, guid: this.folder.messageGuid(m.key) });
        } catch (err) {
          if (!(err instanceof MessageGoneError)) throw err;
        }
      }
    } catch (err) {
      for (const item of items) await unlink(item.written.tmp).catch(() => {});
      throw err;
    }
    // the copies count as their source does (its S=), in the target account's quota
    const add = {
      storage: items.reduce((sum, item) => sum + (sizeInName(item.written.base) ?? item.written.size), 0),
      messages: items.length,
    };
    const placing = async () => ({ result: await place(target, items), added: add });
    let placed: Awaited<ReturnType<typeof place>>;
    try {
      placed = this.quota ? await this.quota.of(to.account).withRoom(add, placing) : (await placing()).result;
    } catch (err) {
      for (const item of items) await unlink(item.written.tmp).catch(() => {});
      throw err;
    }
    return { uidValidity: placed.uidValidity, mapping: items.map((item, i) => [item.uid, placed.uids[i]] as const) };
  }

  /**
   * Each message is renamed into the target (move.ts): never in two places, even across a crash or a
   * race with another session; one gone meanwhile is left out. Only across file systems is it copied,
   * then removed here.
   */
  async move(uids: readonly number[], to: MailboxRef): Promise<CopyResult> {
    const target = await this.folderOf(to);
    await target.state(); // its uidlist and keywords, made if missing
    const items: { uid: number; key: string }[] = [];
    for (const uid of [...uids].sort((a, b) => a - b)) {
      const m = this.get(uid);
      if (m) items.push({ uid, key: m.key });
    }
    const renamed = await this.renameCounted(target, items, to.account);
    if (renamed.elsewhere.length === 0) return { uidValidity: renamed.uidValidity, mapping: renamed.mapping };
    const copied = await this.copy(renamed.elsewhere, to);
    await this.expunge(copied.mapping.map(([uid]) => uid));
    const mapping = [...renamed.mapping, ...copied.mapping].sort((a, b) => a[0] - b[0]);
    return { uidValidity: copied.uidValidity, mapping };
  }

  /**
   * renameInto, with the quota: a move within the account changes nothing (as Dovecot, it is not checked);
   * into another account's mailbox it must fit that account's quota, and leaves this one's.
   */
  private async renameCounted(target: MaildirFolder, items: { uid: number; key: string }[], account: AccountAddress) {
    const quota = this.quota;
    const theirs = quota?.of(account);
    if (!quota || !theirs || theirs.root === quota.own.root) return renameInto(this.folder, target, items);
    const sizes = new Map<number, number>();
    for (const item of items) {
      try {
        sizes.set(item.uid, await this.folder.withFile(item.key, (path) => quotaSize(item.key, path)));
      } catch (err) {
        if (!(err instanceof MessageGoneError)) throw err;
      }
    }
    const add = { storage: [...sizes.values()].reduce((a, b) => a + b, 0), messages: sizes.size };
    let moved = { storage: 0, messages: 0 };
    try {
      return await theirs.withRoom(add, async () => {
        const result = await renameInto(this.folder, target, items);
        const uids = result.mapping.map(([uid]) => uid);
        moved = { storage: uids.reduce((sum, uid) => sum + (sizes.get(uid) ?? 0), 0), messages: uids.length };
        return { result, added: moved };
      });
    } finally {
      await quota.own.changed({ storage: -moved.storage, messages: -moved.messages });
    }
  }

  async sync(): Promise<MailboxChanges> {
    const changes = await this.syncState();
    if (changes.added.length > 0 || changes.expunged.length > 0) this.searchIndex?.changed();
    return changes;
  }

  private async syncState(): Promise<MailboxChanges> {
    let next: FolderState;
    try {
      next = await this.folder.state();
    } catch (err) {
      // the folder is gone: deleted or renamed (by any session, the CLI, Dovecot)
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new MailboxNotFoundError('(the one this view was opened on)');
      throw err;
    }
    // deleted and made again under the same name: the UIDs this view knows name nothing there
    if (next.uidValidity !== this.state.uidValidity) throw new MailboxNotFoundError('(the one this view was opened on)');
    // nothing changed since the last sync (the folder hands out the same state while it is unchanged)
    if (next === this.state && this.own.size === 0) return NO_CHANGES;
    // the folder knows which messages changed between the two states: only they (and this view's own) are compared
    const between = this.folder.changedBetween(this.state.serial, next.serial);
    if (between !== null) return this.syncSome(next, between);
    const before = new Map(this.messages.map((m) => [m.uid, m]));
    this.state = next;
    this.own.clear();
    this.list = null;
    const expunged = [...before.keys()].filter((uid) => !this.state.byUid.has(uid));
    const added: MessageInfo[] = [];
    const flagsChanged: MessageInfo[] = [];
    for (const m of this.state.messages) {
      const old = before.get(m.uid);
      if (!old) added.push(m);
      else if (!sameFlags(old.flags, m.flags) || old.modseq !== m.modseq) flagsChanged.push(m);
    }
    return { expunged, added, flagsChanged };
  }

  /** sync() to `next`, where only the messages with `uids` (and this view's own changes) may differ. */
  private syncSome(next: FolderState, uids: Set<number>): MailboxChanges {
    for (const uid of this.own.keys()) uids.add(uid);
    const expunged: number[] = [];
    const added: MessageInfo[] = [];
    const flagsChanged: MessageInfo[] = [];
    for (const uid of [...uids].sort((a, b) => a - b)) {
      const old = this.get(uid);
      const now = next.byUid.get(uid);
      if (old === undefined) {
        if (now !== undefined) added.push(now);
      } else if (now === undefined) expunged.push(uid);
      else if (!sameFlags(old.flags, now.flags) || old.modseq !== now.modseq) flagsChanged.push(now);
    }
    this.state = next;
    this.own.clear();
    this.list = null;
    return { expunged, added, flagsChanged };
  }

  watch(changed: () => void): () => void {
    return this.folder.watch(changed);
  }

  async claimRecent(mode: 'claim' | 'peek'): Promise<number[]> {
    const messages = this.messages;
    if (messages.length === 0) return [];
    const mark = await firstSeenMark(this.folder.path, this.uidValidity, messages[messages.length - 1].uid, mode === 'claim', () =>
      this.highestInCur(),
    );
    const above: number[] = [];
    for (let i = messages.length - 1; i >= 0 && messages[i].uid > mark; i--) above.push(messages[i].uid);
    return above.reverse();
  }

  /** The highest UID of a message whose file is in cur/ (where the mark of a folder without one starts: first-seen.ts). */
  private highestInCur(): number {
    const messages = this.messages;
    for (let i = messages.length - 1; i >= 0; i--) if (this.folder.entry(messages[i].key)?.sub === 'cur') return messages[i].uid;
    return 0;
  }

  get highestModseq(): number {
    return Math.max(this.state.highestModseq, this.ownHighest);
  }

  expungedSince(modseq: number): readonly number[] | null {
    return this.folder.modseqs.expungedSince(modseq);
  }

  close(): void {}
}
