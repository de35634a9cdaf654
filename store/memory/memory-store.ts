// The mail store in memory: the same contract as the Maildir store (store/contract.ts), for
// fast tests of the protocol modules. Each mailbox is one shared state; each view keeps its own copy of
// the message list as of its last sync, as a Maildir view does.
import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { Readable } from 'node:stream';
import { ALL_RIGHTS, identifier, normalizeRights, rightsFromAcl } from '../../accounts/rights.js';
import type { AccountAddress } from '../../accounts/names.js';
import { formatAddress } from '../../accounts/names.js';
import {
  type Acl,
  type AppendedMessage,
  type AppendOptions,
  applyFlagChange,
  checkMailboxName,
  type CopyResult,
  DELIMITER,
  EmptyMessageError,
  type FlagChange,
  type Grantee,
  isInbox,
  type MailboxChanges,
  type MailboxEntry,
  MailboxNotFoundError,
  MailboxOperationError,
  MailError,
  type MailboxRef,
  type MailboxView,
  type MailStore,
  type MessageInfo,
  MessageGoneError,
  normalizeFlag,
  parentsOf,
  sameFlags,
  type StagedMessage,
  type MetadataScope,
  MailStoreError,
  MetadataTooManyError,
} from '../contract.js';
import { crlfSize } from '../crlf-size.js';
import { OverQuotaError } from '../quota/over-quota.js';
import { NO_LIMITS, overLimit, type QuotaLimitsOf, type QuotaReport, type QuotaValues } from '../quota/quota.js';
import { emailIdOf } from '../object-ids.js';
import { MemoryDeliveryMemory, MemorySieveScripts, MemorySieveState } from './memory-sieve.js';

interface Stored {
  uid: number;
  key: string;
  bytes: Buffer;
  size: number;
  flags: Set<string>;
  internalDate: Date;
  /** Kept by copies and moves (MailboxView.emailId). */
  guid: string;
  /** When it was put into this mailbox (MailboxView.saveDate). */
  savedAt: Date;
  /** RFC 7162: the modseq of its last change. */
  modseq: number;
}

/** Expunged UIDs a mailbox remembers (with their modseq) for QRESYNC; older requests get the RFC's fallback. */
const KEEP_VANISHED = 10_000;

let keys = 0;
let mailboxes = 0;
let validity = 0;

class MemoryMailbox {
  readonly events = new EventEmitter();
  readonly messages = new Map<number, Stored>();
  readonly acl = new Map<string, string>();
  uidNext = 1;
  /** Deleted or renamed: its views' sync() says the mailbox is gone. */
  gone = false;
  /** The highest UID a view has claimed as first seen (MailboxView.claimRecent). */
  recentMark = 0;
  /** Unique in the process (MailboxView.storage). */
  readonly id = `memory-mailbox-${++mailboxes}`;
  /** Metadata entries (RFC 5464) by metadataKey(); they move with a rename. */
  metadata = new Map<string, Buffer>();
  /** RFC 7162 HIGHESTMODSEQ. */
  highestModseq = 1;
  /** Expunged UIDs by the modseq they vanished at, oldest first (at most KEEP_VANISHED). */
  readonly vanished = new Map<number, number>();
  /** Vanished UIDs with a modseq up to this one may have been forgotten. */
  vanishedFloor = 0;

  constructor(
    readonly uidValidity: number,
    /** MailboxView.mailboxId: kept by a rename. */
    readonly mailboxId = randomBytes(16).toString('hex'),
  ) {
    this.events.setMaxListeners(0);
  }

  add(bytes: Buffer, flags: Iterable<string>, internalDate: Date, guid = randomBytes(16).toString('hex')): Stored {
    const key = `m${++keys}`;
    const m: Stored = {
      uid: this.uidNext++,
      key,
      bytes,
      size: crlfSize(bytes),
      flags: new Set(flags),
      internalDate,
      guid,
      savedAt: new Date(),
      modseq: ++this.highestModseq,
    };
    this.messages.set(m.uid, m);
    this.changed();
    return m;
  }

  changed(): void {
    this.events.emit('change');
  }

  /** Removes messages (one modseq for all), remembering their UIDs for QRESYNC. */
  remove(uids: Iterable<number>): void {
    let modseq = 0;
    for (const uid of uids) {
      if (!this.messages.delete(uid)) continue;
      modseq ||= ++this.highestModseq;
      this.vanished.set(uid, modseq);
    }
    for (const [uid, at] of this.vanished) {
      if (this.vanished.size <= KEEP_VANISHED) break;
      this.vanished.delete(uid);
      this.vanishedFloor = Math.max(this.vanishedFloor, at);
    }
  }

  /** The same mailbox under a new name (messages, UIDs and rights kept); views of this one see it gone. */
  renamed(): MemoryMailbox {
    const moved = new MemoryMailbox(this.uidValidity, this.mailboxId);
    for (const [uid, m] of this.messages) moved.messages.set(uid, m);
    for (const [id, r] of this.acl) moved.acl.set(id, r);
    moved.uidNext = this.uidNext;
    moved.metadata = this.metadata;
    moved.highestModseq = this.highestModseq;
    for (const [uid, at] of this.vanished) moved.vanished.set(uid, at);
    moved.vanishedFloor = this.vanishedFloor;
    this.gone = true;
    this.changed();
    return moved;
  }
}

function info(m: Stored): MessageInfo {
  return { uid: m.uid, key: m.key, size: m.size, flags: new Set(m.flags), modseq: m.modseq };
}

async function collect(input: AsyncIterable<Buffer>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of input) chunks.push(c);
  return Buffer.concat(chunks);
}

class MemoryView implements MailboxView {
  messages: readonly MessageInfo[] = [];
  private byUid = new Map<number, MessageInfo>();
  highestModseq = 1;

  constructor(
    private readonly owner: MemoryStore,
    private readonly box: MemoryMailbox,
    private readonly account: AccountAddress,
  ) {
    this.take();
  }

  get storage(): string {
    return this.box.id;
  }

  get uidValidity(): number {
    return this.box.uidValidity;
  }

  get uidNext(): number {
    return this.box.uidNext;
  }

  /** The GUID of each message this view has shown, by key (an expunged one's id still answers). */
  private readonly guids = new Map<string, string>();

  private take(): void {
    const stored = [...this.box.messages.values()].sort((a, b) => a.uid - b.uid);
    for (const m of stored) this.guids.set(m.key, m.guid);
    this.messages = stored.map(info);
    this.byUid = new Map(this.messages.map((m) => [m.uid, m]));
    this.highestModseq = this.box.highestModseq;
  }

  expungedSince(modseq: number): readonly number[] | null {
    if (modseq < this.box.vanishedFloor) return null;
    return [...this.box.vanished]
      .filter(([, at]) => at > modseq)
      .map(([uid]) => uid)
      .sort((a, b) => a - b);
  }

  get(uid: number): MessageInfo | undefined {
    return this.byUid.get(uid);
  }

  private stored(uid: number): Stored {
    const m = this.box.messages.get(uid);
    if (!m) throw new MessageGoneError();
    return m;
  }

  async open(uid: number): Promise<Readable> {
    return Readable.from([this.stored(uid).bytes]);
  }

  readNow(uid: number): Buffer | null {
    return this.box.messages.get(uid)?.bytes ?? null;
  }

  async readHeader(uid: number, limit = 64 * 1024): Promise<Buffer> {
    const bytes = this.stored(uid).bytes;
    const end = bytes.indexOf('\n\n') >= 0 || bytes.indexOf('\r\n\r\n') >= 0 ? headerEnd(bytes) : bytes.length;
    return bytes.subarray(0, Math.min(end, limit));
  }

  async internalDate(uid: number): Promise<Date> {
    return this.stored(uid).internalDate;
  }

  async saveDate(uid: number): Promise<Date> {
    return this.stored(uid).savedAt;
  }

  get mailboxId(): string {
    return this.box.mailboxId;
  }

  emailId(message: MessageInfo): string {
    return emailIdOf(this.guids.get(message.key) ?? message.key);
  }

  async store(uids: readonly number[], change: FlagChange): Promise<MessageInfo[]> {
    const out: MessageInfo[] = [];
    let modseq = 0;
    for (const uid of uids) {
      const m = this.box.messages.get(uid);
      if (!m) continue;
      const flags = applyFlagChange(m.flags, change);
      if (sameFlags(flags, m.flags)) continue;
      m.flags = flags;
      modseq ||= ++this.box.highestModseq; // one per command (RFC 7162 section 3.1)
      m.modseq = modseq;
      out.push(info(m));
    }
    if (out.length > 0) {
      this.highestModseq = Math.max(this.highestModseq, modseq);
      // the view shows its own change at once, and its next sync() does not report it again (as the Maildir view)
      for (const changed of out) this.byUid.set(changed.uid, changed);
      this.messages = this.messages.map((m) => this.byUid.get(m.uid) ?? m);
      this.box.changed();
    }
    return out;
  }

  async expunge(uids: readonly number[]): Promise<number[]> {
    const gone: number[] = [];
    this.box.remove(uids);
    for (const uid of uids) if (this.byUid.has(uid)) gone.push(uid);
    if (gone.length > 0) {
      this.highestModseq = Math.max(this.highestModseq, this.box.highestModseq);
      this.box.changed();
    }
    return gone.sort((a, b) => a - b);
  }

  async copy(uids: readonly number[], to: MailboxRef): Promise<CopyResult> {
    const target = this.owner.mailboxOf(to.account, to.mailbox);
    const mapping: [number, number][] = [];
    await this.owner.checkRoom(to.account, this.sizeOf(uids));
    for (const uid of [...uids].sort((a, b) => a - b)) {
      const m = this.box.messages.get(uid);
      if (!m) continue;
      mapping.push([uid, target.add(m.bytes, m.flags, m.internalDate, m.guid).uid]);
    }
    return { uidValidity: target.uidValidity, mapping };
  }

  async move(uids: readonly number[], to: MailboxRef): Promise<CopyResult> {
    const target = this.owner.mailboxOf(to.account, to.mailbox);
    // within the account a move changes no usage (not checked, as in Dovecot); into another it must fit
    if (formatAddress(to.account) !== formatAddress(this.account)) await this.owner.checkRoom(to.account, this.sizeOf(uids));
    // taken out and added in one step (no await between): a second session's move finds it gone
    const mapping: [number, number][] = [];
    for (const uid of [...uids].sort((a, b) => a - b)) {
      const m = this.box.messages.get(uid);
      if (!m) continue;
      this.box.remove([uid]);
      mapping.push([uid, target.add(m.bytes, m.flags, m.internalDate, m.guid).uid]);
    }
    if (mapping.length > 0) this.box.changed();
    return { uidValidity: target.uidValidity, mapping };
  }

  /** The octets and count of those of `uids` still in the mailbox. */
  private sizeOf(uids: readonly number[]): QuotaValues {
    let storage = 0;
    let messages = 0;
    for (const uid of new Set(uids)) {
      const m = this.box.messages.get(uid);
      if (!m) continue;
      storage += m.bytes.length;
      messages++;
    }
    return { storage, messages };
  }

  async sync(): Promise<MailboxChanges> {
    if (this.box.gone) throw new MailboxNotFoundError('(the one this view was opened on)');
    const before = this.byUid;
    this.take();
    const expunged = [...before.keys()].filter((uid) => !this.byUid.has(uid)).sort((a, b) => a - b);
    const added = this.messages.filter((m) => !before.has(m.uid));
    const flagsChanged = this.messages.filter((m) => {
      const old = before.get(m.uid);
      return old !== undefined && (!sameFlags(old.flags, m.flags) || old.modseq !== m.modseq);
    });
    return { expunged, added, flagsChanged };
  }

  async claimRecent(mode: 'claim' | 'peek'): Promise<number[]> {
    const before = this.box.recentMark;
    const above = this.messages.filter((m) => m.uid > before).map((m) => m.uid);
    if (mode === 'claim' && above.length > 0) this.box.recentMark = above[above.length - 1];
    return above;
  }

  watch(changed: () => void): () => void {
    this.box.events.on('change', changed);
    return () => this.box.events.off('change', changed);
  }

  close(): void {}
}

function headerEnd(bytes: Buffer): number {
  const crlf = bytes.indexOf('\r\n\r\n');
  const lf = bytes.indexOf('\n\n');
  if (crlf >= 0 && (lf < 0 || crlf < lf)) return crlf + 4;
  return lf + 2;
}

/** A message append() staged: placed by commit() or commitAll() (all of a batch or none), or dropped. */
interface Held {
  readonly account: AccountAddress;
  readonly box: MemoryMailbox;
  readonly size: number;
  done: boolean;
  place(): AppendedMessage;
}

export class MemoryStore implements MailStore {
  /** `mainDomain`: where an ACL's "user=NAME" without a domain points; `quotaLimits`: each account's quota. */
  constructor(
    private readonly mainDomain = 'example.org',
    private readonly quotaLimits: QuotaLimitsOf = async () => NO_LIMITS,
  ) {}

  private readonly accounts = new Map<
    string,
    { mailboxes: Map<string, MemoryMailbox>; subscriptions: Set<string>; serverMetadata?: Map<string, Buffer> }
  >();

  private account(a: AccountAddress) {
    const key = formatAddress(a);
    let entry = this.accounts.get(key);
    if (!entry) {
      entry = { mailboxes: new Map([['INBOX', new MemoryMailbox(++validity)]]), subscriptions: new Set() };
      this.accounts.set(key, entry);
    }
    return entry;
  }

  /** The mailbox, or MailboxNotFoundError. */
  mailboxOf(a: AccountAddress, mailbox: string): MemoryMailbox {
    const name = checkMailboxName(mailbox);
    const box = this.account(a).mailboxes.get(name);
    if (!box) throw new MailboxNotFoundError(mailbox);
    return box;
  }

  async listMailboxes(a: AccountAddress): Promise<MailboxEntry[]> {
    const boxes = this.account(a).mailboxes;
    const names = new Set(boxes.keys());
    // levels above mailboxes that are no mailbox themselves (deleted with mailboxes below them)
    for (const name of boxes.keys()) for (const parent of parentsOf(name)) names.add(parent);
    const all = [...names];
    const rest = all.filter((n) => n !== 'INBOX').sort();
    return ['INBOX', ...rest].map((name) => ({
      name,
      hasChildren: all.some((n) => n.startsWith(`${name}${DELIMITER}`)),
      selectable: boxes.has(name),
    }));
  }

  async hasMailbox(a: AccountAddress, mailbox: string): Promise<boolean> {
    return this.account(a).mailboxes.has(checkMailboxName(mailbox));
  }

  async createMailbox(a: AccountAddress, mailbox: string): Promise<boolean> {
    const name = checkMailboxName(mailbox);
    const boxes = this.account(a).mailboxes;
    if (boxes.has(name)) return false;
    for (const parent of parentsOf(name)) if (!boxes.has(parent)) boxes.set(parent, new MemoryMailbox(++validity));
    boxes.set(name, new MemoryMailbox(++validity));
    return true;
  }

  async renameMailbox(a: AccountAddress, from: string, to: string): Promise<void> {
    const source = checkMailboxName(from);
    const target = checkMailboxName(to);
    const boxes = this.account(a).mailboxes;
    // checked in the Maildir store's order, so that both give the same code for the same request
    if (isInbox(target)) throw new MailboxOperationError(MailError.NOTPOSSIBLE, 'INBOX cannot be a new name');
    if (!boxes.has(source)) throw new MailboxNotFoundError(from);
    if (boxes.has(target)) throw new MailboxOperationError(MailError.EXISTS, `${to} exists already`);
    if (target.startsWith(`${source}${DELIMITER}`))
      throw new MailboxOperationError(MailError.NOTPOSSIBLE, `${from} cannot be moved below itself`);
    for (const parent of parentsOf(target)) if (!boxes.has(parent)) boxes.set(parent, new MemoryMailbox(++validity));
    if (source === 'INBOX') {
      // RFC 9051 section 6.3.6: the messages move to the new mailbox, INBOX stays (empty)
      const inbox = boxes.get('INBOX')!;
      const moved = new MemoryMailbox(++validity);
      for (const m of [...inbox.messages.values()].sort((x, y) => x.uid - y.uid)) moved.add(m.bytes, m.flags, m.internalDate);
      inbox.remove([...inbox.messages.keys()]);
      inbox.changed();
      boxes.set(target, moved);
      return;
    }
    for (const [name, box] of [...boxes]) {
      if (name === source || name.startsWith(`${source}${DELIMITER}`)) {
        boxes.delete(name);
        boxes.set(target + name.slice(source.length), box.renamed());
      }
    }
  }

  async deleteMailbox(a: AccountAddress, mailbox: string): Promise<void> {
    const name = checkMailboxName(mailbox);
    if (name === 'INBOX') throw new MailboxOperationError(MailError.NOTPOSSIBLE, 'INBOX cannot be deleted');
    const boxes = this.account(a).mailboxes;
    const box = boxes.get(name);
    if (!box) throw new MailboxNotFoundError(mailbox);
    // the mailboxes below it stay (it is listed as a level above them)
    box.messages.clear();
    box.gone = true;
    box.changed();
    boxes.delete(name);
  }

  async subscriptions(a: AccountAddress): Promise<string[]> {
    return [...this.account(a).subscriptions].sort();
  }

  async subscribe(a: AccountAddress, mailbox: string): Promise<void> {
    this.account(a).subscriptions.add(checkMailboxName(mailbox));
  }

  async unsubscribe(a: AccountAddress, mailbox: string): Promise<void> {
    this.account(a).subscriptions.delete(checkMailboxName(mailbox));
  }

  async acl(owner: AccountAddress, mailbox: string): Promise<Acl> {
    return new Map(this.mailboxOf(owner, mailbox).acl);
  }

  async setRights(owner: AccountAddress, mailbox: string, grantee: Grantee, rights: string): Promise<Acl> {
    const acl = this.mailboxOf(owner, mailbox).acl;
    if (!acl.has('owner')) acl.set('owner', ALL_RIGHTS);
    const normal = normalizeRights(rights);
    if (normal === '') acl.delete(identifier(grantee));
    else acl.set(identifier(grantee), normal);
    return new Map(acl);
  }

  async rights(owner: AccountAddress, mailbox: string, user: AccountAddress): Promise<string> {
    if (owner.name === user.name && owner.domain === user.domain) return ALL_RIGHTS;
    return rightsFromAcl(this.mailboxOf(owner, mailbox).acl, user, this.mainDomain);
  }

  async append(a: AccountAddress, mailbox: string, input: AsyncIterable<Buffer>, options: AppendOptions = {}): Promise<StagedMessage> {
    const box = this.mailboxOf(a, mailbox);
    const flags = (options.flags ?? []).map(normalizeFlag);
    const bytes = await collect(input);
    if (bytes.length === 0) throw new EmptyMessageError();
    await this.checkRoom(a, { storage: bytes.length, messages: 1 });
    const held: Held = {
      account: a,
      box,
      size: bytes.length,
      done: false,
      place: () => {
        const m = box.add(bytes, flags, options.internalDate ?? new Date());
        return { uid: m.uid, uidValidity: box.uidValidity, key: m.key, storedSize: m.bytes.length, size: m.size };
      },
    };
    const staged: StagedMessage = {
      commit: async () => (await this.commitAll([staged]))[0],
      abort: async () => {
        held.done = true;
      },
    };
    this.held.set(staged, held);
    return staged;
  }

  /** Each message staged by append() until it is committed or aborted. */
  private readonly held = new WeakMap<StagedMessage, Held>();

  async commitAll(staged: readonly StagedMessage[]): Promise<AppendedMessage[]> {
    const all = staged.map((m) => this.held.get(m));
    if (all.some((h) => h === undefined || h.done))
      throw new Error('a message was committed or aborted already, or staged by another store');
    const batch = all as Held[];
    for (const h of batch) h.done = true;
    if (batch.length === 0) return [];
    if (batch.some((h) => h.box !== batch[0].box)) throw new Error('messages staged for different mailboxes are committed apart');
    await this.checkRoom(batch[0].account, { storage: batch.reduce((sum, h) => sum + h.size, 0), messages: batch.length });
    return batch.map((h) => h.place());
  }

  async deliver(a: AccountAddress, mailbox: string, input: AsyncIterable<Buffer>, options?: AppendOptions): Promise<AppendedMessage> {
    return (await this.append(a, mailbox, input, options)).commit();
  }

  async open(a: AccountAddress, mailbox: string): Promise<MailboxView> {
    return new MemoryView(this, this.mailboxOf(a, mailbox), a);
  }

  /** Every message of every mailbox of the account, by its octets (the usage is what is in memory). */
  private usage(a: AccountAddress): QuotaValues {
    let storage = 0;
    let messages = 0;
    for (const box of this.account(a).mailboxes.values()) {
      for (const m of box.messages.values()) storage += m.bytes.length;
      messages += box.messages.size;
    }
    return { storage, messages };
  }

  /** OverQuotaError when `add` does not fit the account's quota. */
  async checkRoom(a: AccountAddress, add: QuotaValues): Promise<void> {
    const over = overLimit(this.usage(a), await this.quotaLimits(a), add);
    if (over) throw new OverQuotaError(over);
  }

  async quota(a: AccountAddress): Promise<QuotaReport> {
    const limits = await this.quotaLimits(a);
    return { usage: this.usage(a), limits };
  }

  async recountQuota(a: AccountAddress): Promise<QuotaReport> {
    return this.quota(a);
  }

  async removeAccount(a: AccountAddress): Promise<void> {
    this.accounts.delete(formatAddress(a));
    this.sieve.delete(formatAddress(a));
  }

  /** Each account's Sieve scripts and delivery memory (memory-sieve.ts). */
  private readonly sieve = new Map<string, MemorySieveState>();

  private sieveState(a: AccountAddress): MemorySieveState {
    const key = formatAddress(a);
    let state = this.sieve.get(key);
    if (!state) this.sieve.set(key, (state = new MemorySieveState()));
    return state;
  }

  sieveScripts(a: AccountAddress): MemorySieveScripts {
    return new MemorySieveScripts(this.sieveState(a));
  }

  deliveryMemory(a: AccountAddress): MemoryDeliveryMemory {
    return new MemoryDeliveryMemory(this.sieveState(a));
  }

  /** The entries of a scope: a mailbox's, or the owner's server entries. */
  private metadataOf(scope: MetadataScope): Map<string, Buffer> {
    if (scope.mailbox !== null) return this.mailboxOf(scope.owner, scope.mailbox).metadata;
    const account = this.account(scope.owner);
    account.serverMetadata ??= new Map();
    return account.serverMetadata;
  }

  async metadata(scope: MetadataScope): Promise<Map<string, Buffer>> {
    const out = new Map<string, Buffer>();
    const own = `priv ${formatAddress(scope.user)} `;
    for (const [key, value] of this.metadataOf(scope)) {
      if (key.startsWith('shared ')) out.set(key.slice(7), value);
      else if (key.startsWith(own)) out.set(key.slice(own.length), value);
    }
    return out;
  }

  async setMetadata(scope: MetadataScope, changes: ReadonlyMap<string, Buffer | null>, maxEntries: number): Promise<void> {
    const entries = this.metadataOf(scope);
    for (const value of changes.values())
      if (value?.includes(0))
        throw new MailStoreError(MailError.PARAMS, 'a value with a NUL octet cannot be kept (nor can Dovecot keep one)');
    // keys: "shared ENTRY", or "priv USER ENTRY" (each user's own); counted as the user sees them
    const own = `priv ${formatAddress(scope.user)} `;
    const key = (entry: string) => (entry.startsWith('/private/') ? `${own}${entry}` : `shared ${entry}`);
    const seen = (map: ReadonlyMap<string, Buffer>) => [...map.keys()].filter((k) => k.startsWith('shared ') || k.startsWith(own)).length;
    const after = new Map(entries);
    for (const [entry, value] of changes) {
      if (value === null) after.delete(key(entry));
      else after.set(key(entry), value);
    }
    const count = seen(after);
    if (count > seen(entries) && count > maxEntries) throw new MetadataTooManyError(`at most ${maxEntries} entries can be kept here`);
    entries.clear();
    for (const [k, v] of after) entries.set(k, v);
  }

  async entryOfMailboxes(a: AccountAddress, entry: string, mailboxes: readonly string[]): Promise<Map<string, Buffer>> {
    const out = new Map<string, Buffer>();
    const key = `priv ${formatAddress(a)} ${entry}`;
    for (const name of mailboxes) {
      const value = this.account(a).mailboxes.get(name)?.metadata.get(key);
      if (value) out.set(name, value);
    }
    return out;
  }
}
