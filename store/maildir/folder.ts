// One Maildir folder as this process knows it, shared by every view of it: the messages of new/ and
// cur/ with the UIDs dovecot-uidlist gives them, assigning UIDs to files that have none exactly as
// Dovecot does (see uidlist.ts, dotlock.ts, and filename.ts for the order). Nothing is locked but the
// uidlist while UIDs are given; flag changes are renames anyone may do at any time.
//
// What is read is cached and checked cheaply: the uidlist by inode and size (it only ever grows by
// whole lines or is replaced by a rename, so a grown file is read on from where it stopped), the
// listing by the modification times of new/ and cur/ (not trusted within 2 s of a change: a second
// change in the same tick of a coarse clock would not show), dovecot-keywords by its mtime. While the
// folder is watched (a session has it selected), the file watch vouches for the listing instead and a
// look asks the file system nothing (folder-watch.ts); this process's own renames, removals and new
// messages are applied to the listing as they are made.
import { randomBytes } from 'node:crypto';
import type { BigIntStats } from 'node:fs';
import {
  closeQuick,
  closeQuietly,
  fsyncFd,
  openQuick,
  READ_IN_PLACE,
  lstatQuick,
  readRangeQuick,
  renameQuick,
  statIfThere,
  writeAllQuick,
} from '../../lib/quick-fs.js';
import { readdir, rename as renameFile, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { ChangeNotices } from './change-notices.js';
import { type MessageInfo, MessageGoneError, UnsafeMailboxError } from '../contract.js';
import { acquireDotlock, LockTimeoutError } from './dotlock.js';
import { type ArrivalKey, arrivalKey, compareArrival, uidlFor } from './filename.js';
import { flagsOf } from './flags.js';
import { indexOfUid, lowerBound, uidInsertionPoint as insertionPoint } from '../../lib/by-uid.js';
import { isWriteFault } from '../../lib/write-fault.js';
import { FolderWatch } from './folder-watch.js';
import { KeywordTable, readKeywords } from './keywords.js';
import { MailboxLinkError, reportOnce, type StoreLog } from './real-folders.js';
import { SizeCache } from './size-cache.js';
import {
  field,
  formatRecord,
  formatUidlist,
  nextUid,
  parseHeader,
  parseRecords,
  type UidlistHeader,
  UidlistError,
  type UidlistRecord,
} from './uidlist.js';
import { inheritOwner } from './owner.js';
import { startMark } from './first-seen.js';
import { nextUidValidity } from './uidvalidity.js';
import { ModseqLog } from './modseq.js';
import { readRange as readAll, writeSynced } from './whole-files.js';

type Sub = 'new' | 'cur';

/** How a folder learns of changes made by others. */
export interface FolderWatching {
  /** Change notices between this process's sessions and other nodes'. */
  readonly notices?: ChangeNotices;
  /** Watch new/ and cur/ with the kernel's file watch (off on a tree shared over a network: it sees only this machine). */
  readonly fileWatch: boolean;
}

/** Where a message's file is now. */
export interface FileEntry {
  readonly sub: Sub;
  readonly name: string;
  /** The flag letters after ":2," ("" in new/). */
  readonly letters: string;
  /** W= in the name: its CRLF size, when there. */
  readonly popSize: number | undefined;
}

/** The W= field of a file name (its CRLF size), without a regular expression: this runs per message. */
function wField(name: string, end: number, key = ',W='): number | undefined {
  const at = name.lastIndexOf(key, end);
  if (at < 0) return undefined;
  let value = 0;
  let i = at + 3;
  for (; i < end; i++) {
    const c = name.charCodeAt(i);
    if (c < 48 || c > 57) break;
    value = value * 10 + (c - 48);
  }
  return i > at + 3 && (i === end || name[i] === ',') ? value : undefined;
}

/**
 * The listing's entry for the file `name` in `sub`, with its base as the uidlist has it: everything
 * before the first ":" (",S=" and ",W=" included).
 */
function fileEntry(sub: Sub, name: string): [string, FileEntry] {
  const colon = name.indexOf(':');
  const base = colon < 0 ? name : name.slice(0, colon);
  const letters = colon >= 0 && name.startsWith('2,', colon + 1) ? name.slice(colon + 3) : NO_LETTERS;
  return [base, { sub, name, letters, popSize: wField(name, colon < 0 ? name.length : colon) }];
}

// Flag sets are shared by every message with the same letters (most have "" or "S"): a mailbox of
// 100,000 messages would otherwise make 100,000 sets. They are never changed (ReadonlySet).
const NO_LETTERS = '';

export interface FolderState {
  readonly uidValidity: number;
  readonly uidNext: number;
  /** Messages with a file, ascending UID. */
  readonly messages: readonly MessageInfo[];
  readonly byUid: UidIndex;
  /** The highest modseq as of this state (RFC 7162; modseq.ts). */
  readonly highestModseq: number;
  /** Tells states apart (MaildirFolder.changedBetween()). */
  readonly serial: number;
}

/** Messages by UID, over the ascending list itself (no map of 100,000 entries made per state). */
export class UidIndex {
  /**
   * The UIDs side by side, made at the first lookup: halving over them touches a few cache lines where halving
   * over the messages reads a message object at each step (a SEARCH checking 334 candidates of 100,000 spent
   * most of its check there). A state's list never changes once the state is made.
   */
  private uids: Uint32Array | null = null;

  constructor(private readonly messages: readonly MessageInfo[]) {}

  private indexOf(uid: number): number {
    let uids = this.uids;
    if (uids === null || uids.length !== this.messages.length) {
      uids = new Uint32Array(this.messages.length);
      for (let i = 0; i < uids.length; i++) uids[i] = this.messages[i].uid;
      this.uids = uids;
    }
    const i = lowerBound(uids, uid);
    return i < uids.length && uids[i] === uid ? i : -1;
  }

  get(uid: number): MessageInfo | undefined {
    const i = this.indexOf(uid);
    return i < 0 ? undefined : this.messages[i];
  }

  has(uid: number): boolean {
    return this.indexOf(uid) >= 0;
  }
}

let stateSerial = 0;
/** At most this many changed messages are patched into a folder state (more: it is built whole, which is then cheaper). */
const PATCH_LIMIT = 2000;
/** How many states' changes a folder keeps for its views' syncs. */
const KEPT_STEPS = 64;

/** dovecot-uidlist is damaged: Postern will not write it (Dovecot would rebuild it, with new UIDs). */
export class UidlistDamagedError extends UnsafeMailboxError {}

/** How long a session waits for dovecot-uidlist.lock before it gives up (Dovecot holds it briefly). */
const LOCK_TIMEOUT_MS = 30_000;
const LOCK_STALE_MS = 120_000;
/** A listing younger than this may miss a change made within the same clock tick. */
const RACY_MS = 2000;
const UIDLIST = 'dovecot-uidlist';

/** lstatQuick, with ENOENT thrown as lstat throws it when there is nothing there. */
async function lstatThere(path: string): Promise<BigIntStats> {
  const st = await lstatQuick(path);
  if (st === undefined) throw Object.assign(new Error(`ENOENT: no such file or directory, lstat '${path}'`), { code: 'ENOENT', path });
  return st;
}

interface UidlistCache {
  ino: bigint;
  size: number;
  /** Octets read as whole lines. */
  consumed: number;
  header: UidlistHeader;
  records: UidlistRecord[];
  byBase: Map<string, UidlistRecord>;
}

interface Listing {
  stamp: string;
  /** Tells listings read from disk apart (a listing read again with the same files keeps its own). */
  readonly serial: number;
  files: Map<string, FileEntry>;
  /** Raised by every change this process makes to `files` in place. */
  version: number;
}

let listingSerial = 0;

/** True when both listings have the same files under the same names. */
function sameFiles(a: ReadonlyMap<string, FileEntry>, b: ReadonlyMap<string, FileEntry>): boolean {
  if (a.size !== b.size) return false;
  for (const [base, file] of b) {
    const old = a.get(base);
    if (old === undefined || old.name !== file.name || old.sub !== file.sub) return false;
  }
  return true;
}

/** However sure the file watch is, the disk is looked at after this long (a watch can miss events). */
const VERIFY_MS = 1000;
/** How long a folder stays watched after its last session left it. */
const LINGER_MS = 10_000;

export class MaildirFolder {
  private uidlist: UidlistCache | null = null;
  private listing: Listing | null = null;
  private listedAt = 0;
  private keywordTable = new KeywordTable([], 0);
  private built: {
    key: string;
    state: FolderState;
    infos: Map<string, MessageInfo>;
    keywordsMtime: number;
    /** The listing (its serial) and the uidlist (its inode and records) the state was built from. */
    serial: number;
    uidlist: UidlistCache | null;
    records: number;
  } | null = null;
  /** Bases this process changed in the listing since the last build (what patch() looks at again). */
  private dirtyBases = new Set<string>();
  private sizes: SizeCache | null = null;
  /** This process's flag renames in flight, by base: reads and further renames of the message wait. */
  private readonly renames = new Map<string, Promise<unknown>>();
  private fileWatch: FolderWatch | null = null;
  /** The listing the file watch vouches for: read (or checked) while the watch ran, nothing foreign since. */
  private covered: { listing: Listing; epoch: number; foreign: number; at: number } | null = null;
  private readonly watching = new Set<() => void>();
  private unlisten: (() => void) | null = null;
  private notifyTimer: NodeJS.Timeout | null = null;
  private noticeTimer: NodeJS.Immediate | null = null;
  /** The end of the last turn at the uidlist lock taken by this process. */
  private lockTurn: Promise<void> = Promise.resolve();
  /** Set when another node said the folder changed: the next listing reads the folders, whatever their mtimes say. */
  private relist = false;
  /** The mod-sequences of the folder's messages (RFC 7162), shared with every process through postern-modseq. */
  readonly modseqs: ModseqLog;

  constructor(
    /** The folder: the Maildir root for INBOX, root/.Name for the others. */
    readonly path: string,
    /** The account's Maildir root, where dovecot-uidvalidity lives. */
    private readonly root: string,
    private readonly log?: StoreLog,
    private readonly watching_: FolderWatching = { fileWatch: true },
  ) {
    this.modseqs = new ModseqLog(path, log);
  }

  /** Tells the other sessions (and nodes) that this process changed the folder. */
  private changedHere(): void {
    // this process's own listing is up to date already: the notice it hears back needs no new readdir
    this.announcingOwn = true;
    try {
      this.watching_.notices?.changed(this.path);
    } finally {
      this.announcingOwn = false;
    }
  }

  /** True while this process tells its own sessions of a change it made. */
  private announcingOwn = false;

  get keywords(): KeywordTable {
    return this.keywordTable;
  }

  /** The next UID as far as the uidlist last read says. */
  get uidNext(): number {
    return this.uidlist ? nextUid({ header: this.uidlist.header, records: this.uidlist.records }) : 1;
  }

  /** The mailbox GUID of the uidlist as last read (its header's G field: Dovecot's too), or null. */
  get mailboxGuid(): string | null {
    return this.uidlist?.header.guid || null;
  }

  /** Dovecot's GUID of the message with this base name: the G field of its uidlist record, else the base itself. */
  messageGuid(base: string): string {
    const record = this.uidlist?.byBase.get(base);
    return (record && field(record, 'G')) || base;
  }

  /** The UIDVALIDITY of the uidlist as last read (0 before there is one). */
  get uidValidity(): number {
    return this.uidlist?.header.uidValidity ?? 0;
  }

  // ---- reading -----------------------------------------------------------------------------

  /** The uidlist as it is on disk now (cached by inode and size); null when there is none. */
  /**
   * Reads and writes of the uidlist cache take turns: the cache is read on from where it stopped, so
   * two reads (or a read and an append of our own) running at once would add the same lines twice.
   */
  private uidlistTurn: Promise<unknown> = Promise.resolve();
  private inUidlistTurn<T>(work: () => Promise<T>): Promise<T> {
    const turn = this.uidlistTurn.then(work, work);
    this.uidlistTurn = turn.catch(() => {});
    return turn;
  }

  private readUidlist(): Promise<UidlistCache | null> {
    return this.inUidlistTurn(() => this.readUidlistNow());
  }

  private async readUidlistNow(): Promise<UidlistCache | null> {
    const path = join(this.path, UIDLIST);
    const st = await statIfThere(path); // in place when allowed (lib/quick-fs.ts): each delivery asks, under the lock
    if (st === undefined) return (this.uidlist = null);
    const size = Number(st.size);
    const cached = this.uidlist;
    if (cached && cached.ino === st.ino && cached.size === size) return cached;
    try {
      if (cached && cached.ino === st.ino && size > cached.consumed) {
        // appended to: read on from the last whole line
        const more = await readUidlistRange(path, cached.consumed, size);
        const whole = more.lastIndexOf(10) + 1;
        const records = parseRecords(more.toString('utf8', 0, whole), cached.records.at(-1)?.uid ?? 0);
        for (const r of records) {
          cached.records.push(r);
          cached.byBase.set(r.base, r);
        }
        cached.consumed += whole;
        cached.size = size;
        return cached;
      }
      const data = await readUidlistRange(path, 0, size);
      const nl = data.indexOf(10);
      if (nl < 0) throw new UidlistError('uidlist without a complete header line');
      const header = parseHeader(data.toString('utf8', 0, nl));
      const whole = data.lastIndexOf(10) + 1;
      const records = parseRecords(data.toString('utf8', nl + 1, whole), 0);
      const byBase = new Map<string, UidlistRecord>();
      for (const r of records) byBase.set(r.base, r);
      return (this.uidlist = { ino: st.ino, size, consumed: whole, header, records, byBase });
    } catch (err) {
      if (err instanceof UidlistError) {
        throw new UidlistDamagedError(
          path,
          `${path} is damaged (${err.message}); Postern leaves it alone. Dovecot rebuilds a damaged uidlist (the messages then get new ` +
            `UIDs); to do that without Dovecot, move the file away`,
        );
      }
      throw err;
    }
  }

  /** The stamp of new/ and cur/; both must be real folders. */
  private async stamp(): Promise<{ stamp: string; newest: number }> {
    // in place while lib/in-place.ts allows: every POP sign-in and IMAP command not vouched for by the watch looks
    const [n, c] = await Promise.all([lstatThere(join(this.path, 'new')), lstatThere(join(this.path, 'cur'))]);
    if (!n.isDirectory()) throw new MailboxLinkError(join(this.path, 'new'));
    if (!c.isDirectory()) throw new MailboxLinkError(join(this.path, 'cur'));
    const newest = Math.max(Number(n.mtimeMs), Number(c.mtimeMs));
    return { stamp: `${n.mtimeNs}:${n.ino}/${c.mtimeNs}:${c.ino}`, newest };
  }

  /**
   * The files of new/ and cur/ by base. What is not a plain file is left out and logged once. A message
   * another session moves from new/ to cur/ while we read may be seen in both: the cur/ name wins.
   */
  private async list(fresh = false): Promise<Listing> {
    if (this.relist) fresh = true;
    this.relist = false;
    if (!fresh && this.vouched()) {
      // the watch's events of changes made before now are handled first (they are queued in this turn)
      await new Promise<void>((resolve) => setImmediate(resolve));
      if (!this.relist && this.vouched()) return this.listing!;
    }
    const watch = this.fileWatch;
    const epoch = watch?.epoch ?? 0;
    const foreign = watch?.foreign ?? 0;
    const own = this.ownChanges;
    const listing = await this.listFromDisk(fresh);
    // The watch ran since before the stamp was taken and saw nothing but our own changes meanwhile, and
    // none of those ran while the folders were read (a rename done meanwhile was applied to the listing
    // being replaced: the new one may show the old name, and only the disk can tell).
    if (epoch !== 0 && watch!.epoch === epoch && watch!.foreign === foreign && this.ownChanges === own)
      this.covered = { listing, epoch, foreign, at: Date.now() };
    else this.covered = null;
    return listing;
  }

  /** True when the file watch vouches that the listing is current. */
  private vouched(): boolean {
    const c = this.covered;
    const watch = this.fileWatch;
    return (
      c !== null &&
      watch !== null &&
      c.listing === this.listing &&
      c.epoch === watch.epoch &&
      c.foreign === watch.foreign &&
      Date.now() - c.at < VERIFY_MS
    );
  }

  private async listFromDisk(fresh: boolean): Promise<Listing> {
    const { stamp, newest } = await this.stamp();
    if (!fresh && this.listing && this.listing.stamp === stamp && this.listedAt - newest > RACY_MS) return this.listing;
    const listedAt = Date.now();
    const files = new Map<string, FileEntry>();
    for (const sub of ['new', 'cur'] as const) {
      for (const entry of await readdir(join(this.path, sub), { withFileTypes: true })) {
        const name = entry.name;
        if (name.startsWith('.')) continue;
        if (!entry.isFile()) {
          reportOnce(
            this.log,
            join(this.path, sub, name),
            entry.isSymbolicLink() ? 'a symbolic link' : entry.isDirectory() ? 'a folder' : 'not a plain file',
          );
          continue;
        }
        const [base, file] = fileEntry(sub, name);
        if (sub === 'new' && files.get(base)?.sub === 'cur') continue;
        files.set(base, file);
      }
    }
    this.listedAt = listedAt;
    const previous = this.listing;
    if (previous && sameFiles(previous.files, files)) {
      // nothing changed (the folders were read again within the racy time of a change already known):
      // the listing stays the one the folder state was built from, which then needs no rebuild
      previous.stamp = stamp;
      return previous;
    }
    return (this.listing = { stamp, serial: ++listingSerial, files, version: 0 });
  }

  /**
   * True when a file of the listing has no UID yet. Once a listing was found to hold none, only the files
   * this process changed since are looked at again (while the listing and the uidlist read stay the same).
   */
  private hasUnknown(listing: Listing, uidlist: UidlistCache): boolean {
    const checked = this.allKnown;
    if (checked !== null && checked.listing === listing && checked.uidlist === uidlist) {
      for (const base of this.unchecked) if (listing.files.has(base) && !uidlist.byBase.has(base)) return true;
      this.unchecked.clear();
      return false;
    }
    this.unchecked.clear();
    for (const base of listing.files.keys()) if (!uidlist.byBase.has(base)) return true;
    this.allKnown = { listing, uidlist };
    return false;
  }

  /** The listing and uidlist last found to give every file a UID; the bases changed in the listing since. */
  private allKnown: { listing: Listing; uidlist: UidlistCache } | null = null;
  private readonly unchecked = new Set<string>();

  /** Reads dovecot-keywords again if it changed (one look at a time: an older read never wins). */
  refreshKeywords(): Promise<void> {
    const turn = this.keywordsTurn.then(() => this.refreshKeywordsNow());
    this.keywordsTurn = turn.catch(() => {});
    return turn;
  }

  private keywordsTurn: Promise<void> = Promise.resolve();

  private async refreshKeywordsNow(): Promise<void> {
    let mtime = 0;
    try {
      // (in place when allowed: each delivery asks; most folders have no keywords file)
      const st = await statIfThere(join(this.path, 'dovecot-keywords'));
      if (st) mtime = Number(st.mtimeMs / 1000n);
    } catch {
      // none that can be read
    }
    if (mtime !== this.keywordTable.mtime) this.keywordTable = await readKeywords(this.path);
  }

  /**
   * The folder now: files that have no UID yet get one (under the uidlist lock), then the messages with
   * a file and a UID, oldest first.
   */
  state(): Promise<FolderState> {
    // One look serves every session that asks meanwhile (5,000 IDLE sessions woken by one delivery make
    // one or two looks, not 5,000). A caller that arrives while a look runs may have been told of a
    // change that look began too early to see: it gets the next look, shared by all who arrive meanwhile.
    if (!this.looking) {
      const look = this.look();
      this.looking = look;
      const clear = () => {
        if (this.looking === look) this.looking = null;
      };
      look.then(clear, clear);
      return look;
    }
    this.nextLook ??= this.looking.then(
      () => this.startNextLook(),
      () => this.startNextLook(),
    );
    return this.nextLook;
  }

  private looking: Promise<FolderState> | null = null;
  private nextLook: Promise<FolderState> | null = null;

  private startNextLook(): Promise<FolderState> {
    this.nextLook = null;
    return this.state();
  }

  private async look(): Promise<FolderState> {
    const watch = this.fileWatch;
    let listing: Listing;
    let read: UidlistCache | null;
    if (watch && this.vouched()) {
      listing = await this.list();
      // the uidlist and dovecot-keywords are looked at when the watch saw them change (or stopped vouching)
      const vouched = this.vouched();
      const uidlistToo = !vouched || watch.uidlistChanged;
      const keywordsToo = !vouched || watch.keywordsChanged;
      if (uidlistToo) watch.uidlistChanged = false;
      if (keywordsToo) watch.keywordsChanged = false;
      [read] = await Promise.all([uidlistToo ? this.readUidlist() : this.uidlist, keywordsToo ? this.refreshKeywords() : undefined]);
    } else {
      if (watch) watch.uidlistChanged = watch.keywordsChanged = false;
      [listing, read] = await Promise.all([this.list(), this.readUidlist(), this.refreshKeywords()]);
    }
    let uidlist = read;
    if (uidlist === null || this.hasUnknown(listing, uidlist)) {
      try {
        await this.assignUids();
      } catch (err) {
        // Another server holds the uidlist for long, or the disk is full: the messages that have UIDs
        // are shown now, the others once their UIDs can be written (nothing is lost meanwhile, and the
        // user can still sign in to read and delete mail on a full disk).
        if (!isWriteFault(err) && (!(err instanceof LockTimeoutError) || uidlist === null)) throw err;
        this.log?.warn({ path: this.path, err: (err as Error).message }, 'new messages are shown once their UIDs can be written');
      }
      uidlist = this.uidlist;
    }
    return this.build();
  }

  // ---- giving UIDs -----------------------------------------------------------------------------

  /**
   * Runs `work` holding dovecot-uidlist.lock, with the uidlist re-read under it. Sessions of this
   * process take turns here first, so they never poll the lock file for each other.
   */
  locked<T>(work: () => Promise<T> | T): Promise<T> {
    const turn = this.lockTurn.then(async () => {
      const lock = await acquireDotlock(join(this.path, `${UIDLIST}.lock`), {
        timeoutMs: LOCK_TIMEOUT_MS,
        staleMs: LOCK_STALE_MS,
        guarded: join(this.path, UIDLIST),
      });
      try {
        await Promise.all([this.readUidlist(), this.refreshKeywords()]);
        return await work();
      } finally {
        await lock.release();
      }
    });
    this.lockTurn = turn.then(
      () => {},
      () => {},
    );
    return turn;
  }

  /** Gives UIDs to every file without one, in Dovecot's order, and writes them into the uidlist. */
  private async assignUids(): Promise<void> {
    await this.locked(async () => {
      const listing = await this.list(true);
      const known = this.uidlist?.byBase;
      const keys: (ArrivalKey & { base: string })[] = [];
      for (const [base, entry] of listing.files) {
        if (known?.has(base)) continue;
        const key = arrivalKey(entry.name) as ArrivalKey & { base: string };
        key.base = base;
        keys.push(key);
      }
      if (this.uidlist !== null && keys.length === 0) return;
      keys.sort(compareArrival);
      // A mailbox that gets its uidlist only now was served before this version, or by another agent:
      // every message already there keeps the UIDL it had (its base name) in a P field, so clients that
      // leave mail on the server download nothing again (an empty P means the base name, in Dovecot).
      const firstTime = this.uidlist === null;
      await this.appendRecords(
        keys.map((k) => {
          // Postern's UIDL was the name's unique part (before any ",S=" field), or a hash of it
          const comma = k.base.indexOf(',');
          const uidl = uidlFor(comma < 0 ? k.base : k.base.slice(0, comma));
          return { base: k.base, fields: firstTime ? [uidl === k.base ? 'P' : `P${uidl}`] : [] };
        }),
      );
    });
  }

  /**
   * Adds records for `entries` with the next UIDs (the caller holds the lock and re-read the uidlist);
   * returns their UIDs. A missing uidlist is made, with a new UIDVALIDITY.
   */
  appendRecords(entries: readonly { base: string; fields: readonly string[] }[]): Promise<number[]> {
    return this.inUidlistTurn(() => this.appendRecordsNow(entries));
  }

  private async appendRecordsNow(entries: readonly { base: string; fields: readonly string[] }[]): Promise<number[]> {
    const path = join(this.path, UIDLIST);
    const current = this.uidlist;
    let uid = current ? nextUid({ header: current.header, records: current.records }) : 1;
    const records: UidlistRecord[] = entries.map((e) => ({ uid: uid++, base: e.base, fields: [...e.fields] }));
    if (current && records.length === 0) return [];
    if (current && current.consumed === current.size) {
      // appended as whole lines, in one write: Dovecot reads on from where it stopped
      const text = records.map(formatRecord).join('');
      await appendSynced(path, Buffer.from(text));
      const grown = Buffer.byteLength(text);
      current.size += grown;
      current.consumed += grown;
      for (const r of records) {
        current.records.push(r);
        current.byBase.set(r.base, r);
      }
    } else if (current) {
      // the file ends in a line a crashed writer left half written: rewrite it whole, without it
      await this.writeWholeUidlist({ ...current.header, nextUidHint: Math.max(current.header.nextUidHint, uid) }, [
        ...current.records,
        ...records,
      ]);
    } else {
      const header: UidlistHeader = {
        uidValidity: await nextUidValidity(this.root),
        nextUidHint: uid,
        guid: randomBytes(16).toString('hex'),
        extra: [],
      };
      await this.writeWholeUidlist(header, records);
    }
    this.changedHere();
    return records.map((r) => r.uid);
  }

  /**
   * Writes the whole uidlist through dovecot-uidlist.tmp, renamed over it (the lock is held), and keeps
   * what it wrote as the cache (a 100,000-line uidlist is not read back).
   */
  private async writeWholeUidlist(header: UidlistHeader, records: readonly UidlistRecord[]): Promise<void> {
    const path = join(this.path, UIDLIST);
    const tmp = `${path}.tmp`;
    const data = Buffer.from(formatUidlist({ header, records }));
    await writeSynced(tmp, 'w', data, 0o600);
    await inheritOwner(tmp, { created: true });
    await renameFile(tmp, path);
    const st = await stat(path, { bigint: true });
    const byBase = new Map<string, UidlistRecord>();
    for (const r of records) byBase.set(r.base, r);
    this.uidlist = { ino: st.ino, size: data.length, consumed: data.length, header, records: [...records], byBase };
  }

  /** Makes the uidlist of an empty new mailbox (so that its UIDVALIDITY is fixed now, as Dovecot does). */
  async create(): Promise<void> {
    await this.locked(async () => {
      if (this.uidlist === null) await this.appendRecords([]);
    });
    // a folder made here: whatever comes is recent to the first session that takes it (first-seen.ts)
    if (this.uidlist) await startMark(this.path, this.uidlist.header.uidValidity);
  }

  // ---- the messages ------------------------------------------------------------------------------

  private async build(): Promise<FolderState> {
    const uidlist = this.uidlist;
    const listing = this.listing!;
    const key = `${uidlist?.ino}:${uidlist?.size}|${listing.serial}|${listing.version}|${this.keywordTable.mtime}|${listing.files.size}`;
    if (this.built && this.built.key === key) return this.built.state;
    const dirty = this.dirtyBases;
    this.dirtyBases = new Set();
    try {
      return (await this.patch(key, dirty)) ?? (await this.buildWhole(key));
    } catch (err) {
      // a patch may have changed the kept infos half way: the next look builds the state whole
      this.built = null;
      throw err;
    }
  }

  /**
   * The folder state as the last one with only `dirty` (the bases this process renamed, removed or
   * added in the listing since) and the uidlist's new records looked at again: the cost of a look then
   * grows with the changes, not with the mailbox. Null when the last state cannot be patched (the listing
   * was read again, the uidlist replaced, the keyword names changed, too many changes): build it whole.
   */
  private async patch(key: string, dirty: ReadonlySet<string>): Promise<FolderState | null> {
    const built = this.built;
    const uidlist = this.uidlist;
    const listing = this.listing!;
    if (
      !built ||
      !uidlist ||
      built.serial !== listing.serial ||
      built.uidlist !== uidlist ||
      built.records > uidlist.records.length ||
      built.keywordsMtime !== this.keywordTable.mtime ||
      built.state.uidValidity !== uidlist.header.uidValidity ||
      dirty.size + uidlist.records.length - built.records > PATCH_LIMIT
    )
      return null;
    const bases = new Set(dirty);
    for (let i = built.records; i < uidlist.records.length; i++) bases.add(uidlist.records[i].base);
    const messages = built.state.messages.slice();
    const infos = built.infos;
    const touched = new Set<number>();
    const live: MaildirInfo[] = [];
    const removed = new Set<number>();
    const flagSets = new Map<string, ReadonlySet<string>>();
    for (const base of bases) {
      const old = infos.get(base) as MaildirInfo | undefined;
      const record = uidlist.byBase.get(base);
      const file = listing.files.get(base);
      if (old && record && file && old.uid === record.uid && old.name === file.name) continue;
      const made = record && file ? await this.makeInfo(record, file, flagSets) : undefined;
      if (old) {
        const at = indexOfUid(messages, old.uid);
        if (made && made.uid === old.uid) {
          messages[at] = { ...made, modseq: old.modseq };
          infos.set(base, messages[at]);
          live.push(made);
          touched.add(old.uid);
          continue;
        }
        if (at >= 0) messages.splice(at, 1);
        infos.delete(base);
        removed.add(old.uid);
        touched.add(old.uid);
      }
      if (made) {
        const at = insertionPoint(messages, made.uid);
        if (messages[at]?.uid === made.uid) continue; // another base with this UID (a damaged uidlist): the first kept
        messages.splice(at, 0, made);
        infos.set(base, made);
        removed.delete(made.uid);
        live.push(made);
        touched.add(made.uid);
      }
    }
    await this.modseqs.reconcileSome(uidlist.header.uidValidity, live, [...removed]);
    const recorded = this.modseqs.takeTouched();
    if (recorded === 'all') {
      // the modseq file was read whole (replaced by another process, or made anew): every modseq is looked at
      await this.modseqs.reconcile(uidlist.header.uidValidity, messages as MaildirInfo[], false);
      this.setModseqs(messages, infos, null, touched);
      this.modseqs.takeTouched();
    } else {
      for (const uid of recorded) touched.add(uid);
      this.setModseqs(messages, infos, touched, touched);
    }
    const state = this.keep(key, { uidlist, listing }, messages, infos);
    this.remember(state, built.state.serial, touched);
    return state;
  }

  /** Gives the messages (those with `uids`, or all) the modseqs recorded for them; adds the UIDs changed to `changed`. */
  private setModseqs(
    messages: MessageInfo[],
    infos: Map<string, MessageInfo>,
    uids: ReadonlySet<number> | null,
    changed: Set<number>,
  ): void {
    const update = (i: number) => {
      const modseq = this.modseqs.modseqOf(messages[i].uid) || 1;
      if (messages[i].modseq === modseq) return;
      messages[i] = { ...messages[i], modseq };
      infos.set(messages[i].key, messages[i]);
      changed.add(messages[i].uid);
    };
    if (uids === null) for (let i = 0; i < messages.length; i++) update(i);
    else
      for (const uid of uids) {
        const i = indexOfUid(messages, uid);
        if (i >= 0) update(i);
      }
  }

  /** The new folder state of `messages`, kept with what it was built from (`key`: see build()). */
  private keep(
    key: string,
    from: { uidlist: UidlistCache | null; listing: Listing },
    messages: readonly MessageInfo[],
    infos: Map<string, MessageInfo>,
  ): FolderState {
    const uidlist = from.uidlist;
    const state: FolderState = {
      uidValidity: uidlist?.header.uidValidity ?? 0,
      uidNext: uidlist ? nextUid({ header: uidlist.header, records: uidlist.records }) : 1,
      messages,
      byUid: new UidIndex(messages),
      highestModseq: this.modseqs.highest,
      serial: ++stateSerial,
    };
    const records = uidlist?.records.length ?? 0;
    this.built = { key, state, infos, keywordsMtime: this.keywordTable.mtime, serial: from.listing.serial, uidlist, records };
    return state;
  }

  /** The last states' changes (the UIDs that differ from the state before), for views to sync by (changedSince()). */
  private readonly steps = new Map<number, { from: number; uids: readonly number[] }>();

  private remember(state: FolderState, from: number, uids: ReadonlySet<number>): void {
    this.steps.set(state.serial, { from, uids: [...uids] });
    if (this.steps.size > KEPT_STEPS) this.steps.delete(this.steps.keys().next().value!);
  }

  /**
   * The UIDs that may differ between the state with serial `from` and the one with serial `to` (a later
   * one), or null when they are not known (a view then compares the two states whole).
   */
  changedBetween(from: number, to: number): Set<number> | null {
    const uids = new Set<number>();
    for (let at = to, hops = 0; at !== from; hops++) {
      const step = this.steps.get(at);
      if (!step || hops > KEPT_STEPS || uids.size > PATCH_LIMIT * 4) return null;
      for (const uid of step.uids) uids.add(uid);
      at = step.from;
    }
    return uids;
  }

  private async makeInfo(record: UidlistRecord, file: FileEntry, flagSets: Map<string, ReadonlySet<string>>): Promise<MaildirInfo> {
    let flags = flagSets.get(file.letters);
    if (!flags) {
      flags = flagsOf(file.letters, this.keywordTable);
      flagSets.set(file.letters, flags);
    }
    const p = record.fields.length === 0 ? undefined : field(record, 'P');
    const colon = file.name.indexOf(':');
    const stored = file.popSize === undefined ? undefined : wField(file.name, colon < 0 ? file.name.length : colon, ',S=');
    return {
      uid: record.uid,
      key: record.base,
      size: file.popSize ?? (await this.sizeOf(record)),
      // S= equal to W=: not one bare LF in the file (each would count one more in W=)
      crlf: stored !== undefined && stored === file.popSize,
      flags,
      popUidl: p === undefined ? undefined : p === '' ? record.base : p,
      name: file.name,
      letters: file.letters,
      modseq: 0,
    };
  }

  private async buildWhole(key: string): Promise<FolderState> {
    const uidlist = this.uidlist;
    const listing = this.listing!;
    // infos of unchanged files are kept (cheap syncs of big mailboxes), unless the keyword names changed
    const previous = this.built?.keywordsMtime === this.keywordTable.mtime ? this.built.infos : undefined;
    const infos = new Map<string, MessageInfo>();
    const messages: MessageInfo[] = [];
    const flagSets = new Map<string, ReadonlySet<string>>();
    // The uidlist keeps the records of expunged messages until someone rewrites it (Dovecot compresses it
    // now and then): when they outnumber the files, the files' own records are walked, in UID order.
    let records: readonly UidlistRecord[] = uidlist?.records ?? [];
    if (uidlist && records.length > 2 * listing.files.size + 64) {
      const live: UidlistRecord[] = [];
      for (const base of listing.files.keys()) {
        const r = uidlist.byBase.get(base);
        if (r) live.push(r);
      }
      records = live.sort((a, b) => a.uid - b.uid);
    }
    for (const record of records) {
      if (uidlist!.byBase.get(record.base) !== record) continue; // an earlier duplicate
      const file = listing.files.get(record.base);
      if (!file) continue; // expunged
      const old = previous?.get(record.base);
      const info =
        old && old.uid === record.uid && (old as MaildirInfo).name === file.name ? old : await this.makeInfo(record, file, flagSets);
      infos.set(record.base, info);
      messages.push(info);
    }
    // each message's modseq as recorded (a change found now is recorded with a new one first)
    await this.modseqs.reconcile(uidlist?.header.uidValidity ?? 0, messages as MaildirInfo[], true);
    this.setModseqs(messages, infos, null, new Set());
    this.modseqs.takeTouched(); // all of them were looked at
    if (this.sizes) await this.sizes.save(new Set(infos.keys()));
    return this.keep(key, { uidlist, listing }, messages, infos);
  }

  /** The CRLF size of a name without W=: W in the record, or measured once and kept in postern-sizes.json. */
  private async sizeOf(record: UidlistRecord): Promise<number> {
    const w = field(record, 'W');
    if (w !== undefined && /^\d+$/.test(w)) return Number(w);
    this.sizes ??= await SizeCache.load(this.path);
    return this.withFile(record.base, (path) => this.sizes!.sizeOf(record.base, path)).catch((err: unknown) => {
      if (err instanceof MessageGoneError) return 0;
      throw err;
    });
  }

  /** Where the message with this base is, as far as this process knows (undefined: not seen). */
  entry(base: string): FileEntry | undefined {
    return this.listing?.files.get(base);
  }

  /** True while this process renames the message (a read then waits for the rename). */
  renaming(base: string): Promise<unknown> | undefined {
    return this.renames.get(base);
  }

  /**
   * Runs `op` on the message's file, following renames by other sessions; MessageGoneError when it was
   * removed, or replaced by a symbolic link (never followed).
   */
  async withFile<T>(base: string, op: (path: string) => Promise<T>): Promise<T> {
    const pending = this.renames.get(base);
    if (pending !== undefined) await pending.catch(() => {});
    return this.atCurrentPath(base, op);
  }

  /** withFile without waiting for this process's renames (a rename itself runs through it). */
  private async atCurrentPath<T>(base: string, op: (path: string) => Promise<T>): Promise<T> {
    let tried: FileEntry | undefined;
    for (let attempt = 0; attempt < 5; attempt++) {
      const e = this.entry(base) ?? (await this.list(true)).files.get(base);
      if (!e || (tried && e.sub === tried.sub && e.name === tried.name)) throw new MessageGoneError();
      tried = e;
      try {
        // (a template, not join(): this runs for every message read)
        return await op(`${this.path}/${e.sub}/${e.name}`);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'ELOOP') throw new MessageGoneError();
        if (code !== 'ENOENT') throw err;
        await this.list(true); // moved by someone: look again
      }
    }
    throw new MessageGoneError();
  }

  /**
   * Gives the message the flag letters `letters` by renaming it into cur/ (keeping its base). Renames of
   * one message by this process run one after another.
   */
  setLetters(base: string, letters: string): Promise<void> {
    return this.updateLetters(base, () => letters).then(() => {});
  }

  /**
   * Changes the message's flag letters to what `change` makes of the letters its file has when this
   * process's turn at it comes (null: leave them), and resolves with the letters it has then. Two
   * sessions changing one message at once thus both see their change kept: each applies it to the
   * other's result, never to a name read before (which lost one of them).
   */
  updateLetters(base: string, change: (current: string) => string | null): Promise<string> {
    const previous = this.renames.get(base);
    const task = (async () => {
      if (previous !== undefined) await previous.catch(() => {});
      return this.atCurrentPath(base, async (from) => {
        const e = this.entry(base)!;
        const letters = change(e.letters);
        if (letters === null || (e.sub === 'cur' && e.letters === letters)) return e.letters;
        const name = `${base}:2,${letters}`;
        await this.renameOwn(from, `${this.path}/cur/${name}`);
        this.updateListing(base, (files) => files.set(base, { sub: 'cur', name, letters, popSize: e.popSize }));
        this.changedHere();
        return letters;
      });
    })();
    this.renames.set(base, task);
    const clear = () => {
      if (this.renames.get(base) === task) this.renames.delete(base);
    };
    task.then(clear, clear);
    return task;
  }

  /** Forgets a file this process removed. */
  removed(base: string): void {
    this.updateListing(base, (files) => files.delete(base));
    this.changedHere();
  }

  /** Notes a file this process put into new/ or cur/ (its UID is in the uidlist already). */
  added(path: string): void {
    const slash = path.lastIndexOf('/');
    const sub = path.slice(slash - 3, slash);
    if (path.slice(0, slash - 4) !== this.path || (sub !== 'new' && sub !== 'cur')) return;
    const [base, file] = fileEntry(sub, path.slice(slash + 1));
    this.updateListing(base, (files) => files.set(base, file));
  }

  /** Raised when this process starts or finishes a change to new/ or cur/ (see list()). */
  private ownChanges = 0;

  private updateListing(base: string, change: (files: Map<string, FileEntry>) => unknown): void {
    this.ownChanges++;
    if (!this.listing) return;
    change(this.listing.files);
    this.dirtyBases.add(base);
    this.unchecked.add(base);
    this.listing.version++;
  }

  /**
   * Renames a message file of this folder to `to` (in this folder, or in `into`), telling the file
   * watches that the change is this process's own, so that it does not make them read the folders again.
   */
  async renameOwn(from: string, to: string, into: MaildirFolder = this): Promise<void> {
    this.ownChanges++;
    into.ownChanges++;
    this.fileWatch?.expect(from);
    into.fileWatch?.expect(to);
    try {
      await renameQuick(from, to);
    } catch (err) {
      this.fileWatch?.unexpect(from);
      into.fileWatch?.unexpect(to);
      throw err;
    }
  }

  /** Removes a message file of this folder (as renameOwn: the watch knows it is this process's doing). */
  async unlinkOwn(path: string): Promise<void> {
    this.ownChanges++;
    this.fileWatch?.expect(path);
    try {
      // through the pool even where quick calls are made in place: a message file's unlink costs the kernel
      // more than the hand-off (ext4 frees its blocks; measured in the mixed load: 6.3% of the event loop in
      // place against 1.4% through the pool, with EXPUNGE in every session)
      await unlink(path);
    } catch (err) {
      this.fileWatch?.unexpect(path);
      throw err;
    }
  }

  // ---- watching -------------------------------------------------------------------------------

  /**
   * Calls `changed` (debounced) when new/, cur/ or the uidlist change, as the file watch sees it (on
   * this machine) and as change notices say (from this process's sessions and other nodes'); returns
   * the unsubscribe.
   */
  watch(changed: () => void): () => void {
    this.watching.add(changed);
    if (this.lingering) {
      clearTimeout(this.lingering);
      this.lingering = null;
    } else if (this.watching.size === 1) this.startWatching();
    return () => {
      if (!this.watching.delete(changed) || this.watching.size > 0 || this.lingering) return;
      // kept a little longer: the next session on this folder (a client that signs in every few
      // minutes, or many one after another) then finds the listing vouched for by the watch
      this.lingering = setTimeout(() => {
        this.lingering = null;
        if (this.watching.size === 0) this.stopWatching();
      }, LINGER_MS);
      this.lingering.unref();
    };
  }

  /** How many messages the folder's last listing holds (what keeping this folder's state costs, roughly). */
  get listedMessages(): number {
    return this.listing?.files.size ?? 0;
  }

  /** Stops the watch now if no session uses it (the store forgets this folder). */
  release(): void {
    if (!this.lingering) return;
    clearTimeout(this.lingering);
    this.lingering = null;
    if (this.watching.size === 0) this.stopWatching();
  }

  private lingering: NodeJS.Timeout | null = null;

  private startWatching(): void {
    const tell = () => {
      if (this.notifyTimer) clearTimeout(this.notifyTimer);
      if (this.noticeTimer) clearImmediate(this.noticeTimer);
      this.notifyTimer = null;
      this.noticeTimer = null;
      for (const w of this.watching) w();
    };
    // a file watch fires several times for one change (new/, cur/, the uidlist): gathered over 100 ms
    const fire = () => {
      if (this.notifyTimer || this.noticeTimer) return;
      this.notifyTimer = setTimeout(tell, 100);
    };
    // a notice is one word per change, said when the change is done: told at once (after what else
    // this turn of the event loop changes), so an IDLE hears of it, and a session's next command sees it
    const soon = () => {
      if (this.noticeTimer) return;
      this.noticeTimer = setImmediate(tell);
    };
    const notices = this.watching_.notices;
    if (notices) {
      this.unlisten = notices.listen(this.path, () => {
        if (!this.announcingOwn) this.relist = true; // another machine's change may not show in the mtimes yet
        soon();
      });
    }
    if (this.watching_.fileWatch) {
      this.fileWatch ??= new FolderWatch(this.path, fire, notices !== undefined);
      this.fileWatch.start();
    }
  }

  private stopWatching(): void {
    this.fileWatch?.stop();
    this.covered = null;
    this.unlisten?.();
    this.unlisten = null;
  }
}

/** MessageInfo with the file name it was made from (to tell a renamed message). */
interface MaildirInfo extends MessageInfo {
  readonly name: string;
  /** The flag letters of the name (what modseq.ts records). */
  readonly letters: string;
}

/**
 * Appends `data` to the file and fsyncs it (as whole-files.ts writeSynced with 'a'): opened, written and
 * closed in place when allowed, synced off the event loop (lib/quick-fs.ts; each delivery appends its uidlist line).
 */
async function appendSynced(path: string, data: Buffer): Promise<void> {
  const fd = await openQuick(path, 'a');
  try {
    await writeAllQuick(fd, data);
    await fsyncFd(fd);
  } catch (err) {
    await closeQuietly(fd);
    throw err;
  }
  await closeQuick(fd);
}

/**
 * A range of the uidlist: read in place when small and allowed (a delivery to a folder this process has not kept reads
 * its uidlist whole), through the thread pool when large (a 100,000-line uidlist must not hold the event loop).
 */
async function readUidlistRange(path: string, from: number, to: number): Promise<Buffer> {
  return to - from <= READ_IN_PLACE ? readRangeQuick(path, from, to) : readAll(path, from, to);
}
