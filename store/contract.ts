// The mail-store contract: what every protocol module (POP, IMAP, LMTP) sees of stored mail. It knows
// accounts, mailboxes and messages, never a protocol and never a file: no path crosses it. Two
// implementations keep it: store/maildir/ (the embedded store, Dovecot-compatible metadata) and
// store/memory/ (fast tests). test/unit/store-contract.test.ts runs one suite against both.
//
// A mailbox is opened as a view. A view holds the messages as of its last sync(), each with a UID
// (ascending, never reused under one UIDVALIDITY), a stable key, its size with CRLF line ends, its
// flags and keywords. Other sessions change the mailbox all the time (nothing is locked): a view learns
// what they did by sync(), and watch() says when that is worth doing. Each protocol numbers messages
// its own way on top of a view (POP: frozen for the session; IMAP: sequence numbers that follow the
// EXPUNGE responses it sends).
//
// What a store cannot do, it throws as a MailStoreError with a MailError code (a mailbox not found, one
// that exists already, a message expunged...); each protocol answers by the code, never by the words.
import type { Readable } from 'node:stream';
import { type AccountAddress, printable } from '../accounts/names.js';
import type { Grantee } from '../accounts/rights.js';
import type { QuotaReport } from './quota/quota.js';
import type { QuotaValues } from './quota/quota.js';

/** The five system flags of RFC 9051 section 2.3.2 (\Recent is not kept). */
export const SYSTEM_FLAGS = ['\\Seen', '\\Answered', '\\Flagged', '\\Deleted', '\\Draft'] as const;
export type SystemFlag = (typeof SYSTEM_FLAGS)[number];

/** A message as a view knows it. Flags hold system flags ("\\Seen") and keywords ("$Label1", "Work"). */
export interface MessageInfo {
  readonly uid: number;
  /** Unique within the mailbox and stable for the message's life (renames, restarts, other servers). */
  readonly key: string;
  /** Octets with every line ending as CRLF and a final line ending: RFC822.SIZE, POP's LIST size. */
  readonly size: number;
  readonly flags: ReadonlySet<string>;
  /** A POP3 UIDL another server gave the message (Dovecot's "P" field), kept so clients see no change. */
  readonly popUidl?: string;
  /** True when the stored octets already end every line with CRLF: they can be sent as they are. */
  readonly crlf?: boolean;
  /**
   * RFC 7162 MODSEQ: the mod-sequence of the message's last change (arrival or flags), at least 1. Every
   * change, whoever made it (this store, another process or server on the same storage), gets a higher one.
   */
  readonly modseq: number;
}

/** What sync() learned: what other sessions (and this one) changed since the view's last sync. */
export interface MailboxChanges {
  /** UIDs no longer in the mailbox, ascending. */
  readonly expunged: readonly number[];
  /** Messages new to this view, ascending UID. */
  readonly added: readonly MessageInfo[];
  /** Messages whose flags changed (their new state), ascending UID. */
  readonly flagsChanged: readonly MessageInfo[];
}

/** How store() changes flags: add some, remove some, or replace them all (IMAP +FLAGS, -FLAGS, FLAGS). */
export type FlagChange = { add: readonly string[] } | { remove: readonly string[] } | { replace: readonly string[] };

/** Where copied or moved messages went: each source UID and its new UID in the target. */
export interface CopyResult {
  readonly uidValidity: number;
  readonly mapping: readonly (readonly [number, number])[];
}

/** One mailbox as one session sees it. Call close() when done. */
export interface MailboxView {
  readonly uidValidity: number;
  /**
   * Where the mailbox's messages are kept, unique within the process (a Maildir folder's path): with the
   * UIDVALIDITY and a message's key it names octets that never change, so caches may key on the three.
   */
  readonly storage: string;
  /** The UID the next message added will get at least (IMAP UIDNEXT). */
  readonly uidNext: number;
  /** The messages as of the last sync, ascending UID. The array is replaced, never changed, by sync(). */
  readonly messages: readonly MessageInfo[];
  /** The message with this UID as of the last sync. */
  get(uid: number): MessageInfo | undefined;
  /** The message's bytes as stored (line ends as they are). MessageGoneError if it was expunged meanwhile. */
  open(uid: number): Promise<Readable>;
  /**
   * The whole message at once, without waiting on the event loop (the fast path for small messages), or
   * null when it is not at hand that way: open() then. The bytes may sit in a buffer the next readNow()
   * reuses: use them (or copy them) first.
   */
  readNow(uid: number): Buffer | null;
  /** The header section (up to `limit` octets), for filters and IMAP BODY[HEADER]. */
  readHeader(uid: number, limit?: number): Promise<Buffer>;
  /** When the message arrived (IMAP INTERNALDATE). */
  internalDate(uid: number): Promise<Date>;
  /**
   * When the message was saved into this mailbox (RFC 8514 SAVEDATE): a copy, or a message moved in, has
   * its own. MessageGoneError if it was expunged meanwhile.
   */
  saveDate(uid: number): Promise<Date>;
  /**
   * The mailbox's own id (RFC 8474 MAILBOXID, an objectid): the same after a rename, a restart and in every
   * process over the same store; a mailbox deleted and made again under its name gets a new one.
   */
  readonly mailboxId: string;
  /**
   * The id of a message this view knows or knew (RFC 8474 EMAILID, an objectid): stable for its life, the
   * same in every process, and kept by a copy or a move into another mailbox. A message removed since
   * keeps answering (a session may still show it until it tells its client).
   */
  emailId(message: MessageInfo): string;
  /** Changes flags; returns the messages whose flags changed. Messages gone meanwhile are skipped. */
  store(uids: readonly number[], change: FlagChange): Promise<MessageInfo[]>;
  /** Removes messages; returns the UIDs now gone (including those someone else removed first). */
  expunge(uids: readonly number[]): Promise<number[]>;
  /** Copies messages into another mailbox (flags kept). Messages gone meanwhile are skipped. */
  copy(uids: readonly number[], to: MailboxRef): Promise<CopyResult>;
  /**
   * Moves messages: each is in exactly one of the two mailboxes at every instant, so two sessions
   * moving one message at once (or a crash mid-way) never leave two copies; one that is gone by the
   * time it is moved (another session moved or removed it) is left out of the mapping.
   */
  move(uids: readonly number[], to: MailboxRef): Promise<CopyResult>;
  /**
   * Brings the view up to date and says what changed. MailboxNotFoundError when the mailbox is gone:
   * deleted or renamed since the view was opened (by this session or any other), or deleted and made
   * again under its name (a new UIDVALIDITY): the view's UIDs then name nothing.
   */
  sync(): Promise<MailboxChanges>;
  /**
   * First-seen messages (IMAP's \Recent): the mailbox keeps one high-water mark, the highest UID some
   * session has already claimed, shared by every view in every process over the same store and never
   * lowered. Returns the UIDs of this view's messages above the mark, ascending; with 'claim' the mark
   * is raised to this view's highest UID first, atomically, so that each message is claimed by exactly
   * one view. 'peek' leaves the mark as it is (a read-only look: IMAP EXAMINE and STATUS).
   */
  claimRecent(mode: 'claim' | 'peek'): Promise<number[]>;
  /** Calls `changed` (at most every few hundred ms) when the mailbox may have changed; returns the unsubscribe. */
  watch(changed: () => void): () => void;
  close(): void;
  /**
   * RFC 7162 HIGHESTMODSEQ as of the last sync (and this view's own changes since): at least 1, never
   * lowered under one UIDVALIDITY; every message's modseq and every expunge seen is at or below it.
   */
  readonly highestModseq: number;
  /**
   * UIDs expunged at a modseq above `modseq`, ascending (QRESYNC's VANISHED (EARLIER)); null when the store no
   * longer remembers back that far (it keeps a bounded number per mailbox): the caller then falls back to the
   * UIDs it cannot find (RFC 7162 section 3.2.5.2). May name UIDs expunged after the view's last sync.
   */
  expungedSince(modseq: number): readonly number[] | null;
  /**
   * The mailbox's SEARCH index (store/search-index/), when the store keeps one: it narrows a search to the
   * messages that may match; SEARCH still checks each of them, so the index never changes an answer.
   */
  readonly searchIndex?: MailboxSearchIndex;
}

/**
 * Where a SEARCH index looks for a needle: the decoded, folded text SEARCH's keys read (mime/mime-text.ts).
 * subject, from, to, cc, bcc: those fields as the header keys read them (the address keys per address);
 * header: the whole top header as TEXT and HEADER read it; body: what BODY reads; parts: the MIME part
 * headers TEXT reads too.
 */
export type SearchIndexField = 'subject' | 'from' | 'to' | 'cc' | 'bcc' | 'header' | 'body' | 'parts';

/**
 * A question to a SEARCH index: the messages whose text in one of `fields` may contain `text` (folded as the
 * evaluator folds), and intersections (and) and unions (or) of such answers.
 */
export type SearchIndexQuery =
  | { readonly kind: 'contains'; readonly fields: readonly SearchIndexField[]; readonly text: string }
  | { readonly kind: 'and'; readonly queries: readonly SearchIndexQuery[] }
  | { readonly kind: 'or'; readonly queries: readonly SearchIndexQuery[] };

/** A SEARCH index's answer: a message it holds can match only if it is a candidate; one it does not hold may match. */
export interface SearchIndexAnswer {
  indexed(uid: number): boolean;
  readonly candidates: ReadonlySet<number>;
  /**
   * The UIDs of `uids` (ascending) the index does not hold, ascending: with the candidates, all a SEARCH must
   * check. Remembered for the same list while neither changes (a SEARCH of 100,000 messages is not a walk of them).
   */
  unindexed(uids: readonly number[]): readonly number[];
}

export interface MailboxSearchIndex {
  /** The answer, or null when the index cannot answer now (being rebuilt, damaged, busy): every message is checked then. */
  narrow(query: SearchIndexQuery): Promise<SearchIndexAnswer | null>;
  /**
   * The session may search this mailbox (IMAP SELECT, EXAMINE): the index takes in the background what came
   * meanwhile, and keeps up with what this view's syncs see. A view never prepared (POP) starts no upkeep.
   */
  prepare(): void;
}

export interface MailboxRef {
  readonly account: AccountAddress;
  readonly mailbox: string;
}

export interface MailboxEntry {
  /** "INBOX", or a name with "/" between levels: "lists/info". */
  readonly name: string;
  /** True when mailboxes below it exist (IMAP \HasChildren). */
  readonly hasChildren: boolean;
  /**
   * False for a level that only exists because mailboxes below it do (another server made "a/b"
   * without "a"): it holds no messages and cannot be opened (IMAP \Noselect).
   */
  readonly selectable: boolean;
}

/** How a message is appended; its octets are kept exactly as given (a delivery's edits are delivery/'s). */
export interface AppendOptions {
  /** Flags and keywords to store with the message. */
  readonly flags?: readonly string[];
  /** When it arrived (IMAP APPEND date-time); now when absent. */
  readonly internalDate?: Date;
}

/** A message written but not yet in the mailbox: commit() adds it (and gives its UID), abort() drops it. */
export interface StagedMessage {
  commit(): Promise<AppendedMessage>;
  abort(): Promise<void>;
}

export interface AppendedMessage {
  readonly uid: number;
  readonly uidValidity: number;
  readonly key: string;
  /** Octets as stored. */
  readonly storedSize: number;
  /** Octets with CRLF line ends (MessageInfo.size). */
  readonly size: number;
}

/** RFC 4314 rights of one identifier: "owner", "anyone", "authenticated" or "user=name@domain". */
export type Acl = ReadonlyMap<string, string>;

export type { Grantee } from '../accounts/rights.js';

/** Per account: its mailboxes, their subscriptions and rights, appending, and views. */
export interface MailStore {
  /** INBOX first, then the other mailboxes sorted by name. */
  listMailboxes(account: AccountAddress): Promise<MailboxEntry[]>;
  hasMailbox(account: AccountAddress, mailbox: string): Promise<boolean>;
  /** Creates it (and the levels above it); false when it existed. */
  createMailbox(account: AccountAddress, mailbox: string): Promise<boolean>;
  /** Renames it and every mailbox below it. Renaming INBOX moves its messages into a new mailbox. */
  renameMailbox(account: AccountAddress, from: string, to: string): Promise<void>;
  /**
   * Deletes it with its messages (not INBOX). Mailboxes below it stay: it is listed as a level that
   * is not selectable (IMAP \Noselect) while they exist (RFC 9051 section 6.3.4).
   */
  deleteMailbox(account: AccountAddress, mailbox: string): Promise<void>;
  subscriptions(account: AccountAddress): Promise<string[]>;
  subscribe(account: AccountAddress, mailbox: string): Promise<void>;
  unsubscribe(account: AccountAddress, mailbox: string): Promise<void>;
  /** The mailbox's access control list. */
  acl(owner: AccountAddress, mailbox: string): Promise<Acl>;
  /** Sets (or with "" removes) one grantee's rights; returns the list after the change. */
  setRights(owner: AccountAddress, mailbox: string, grantee: Grantee, rights: string): Promise<Acl>;
  /** The rights `user` holds on a mailbox of `owner` (the owner holds all of them). */
  rights(owner: AccountAddress, mailbox: string, user: AccountAddress): Promise<string>;
  /** Writes a message, not yet visible (see StagedMessage). INBOX is made if it is missing. */
  append(account: AccountAddress, mailbox: string, input: AsyncIterable<Buffer>, options?: AppendOptions): Promise<StagedMessage>;
  /** append() and commit() in one. */
  deliver(account: AccountAddress, mailbox: string, input: AsyncIterable<Buffer>, options?: AppendOptions): Promise<AppendedMessage>;
  /**
   * Commits messages append() staged for one mailbox together (RFC 3502 MULTIAPPEND: all or none): the
   * quota is checked for all of them at once, and when they do not fit (OverQuotaError) none is stored
   * and every one is dropped. The answers are in the order given.
   */
  commitAll(staged: readonly StagedMessage[]): Promise<AppendedMessage[]>;
  /** OverQuotaError when `add` would not fit the account's quota now (APPEND asks before it reads a literal). */
  checkRoom(account: AccountAddress, add: QuotaValues): Promise<void>;
  /** Opens a view of the mailbox. MailboxNotFoundError when it does not exist. */
  open(account: AccountAddress, mailbox: string): Promise<MailboxView>;
  /** Forgets an account's mail (the account was removed). */
  removeAccount(account: AccountAddress): Promise<void>;
  /**
   * The account's quota (RFC 9208): its usage (every message of every mailbox, by stored octets) and
   * its limits (0: none). Storing past a limit throws OverQuotaError (NOQUOTA): store/quota/.
   */
  quota(account: AccountAddress): Promise<QuotaReport>;
  /** Counts the account's usage again from its messages, and keeps that count. */
  recountQuota(account: AccountAddress): Promise<QuotaReport>;
  /**
   * The metadata entries (RFC 5464) `scope.user` sees on a mailbox of `scope.owner`, or on the owner's
   * account as a whole (mailbox null: the server entries): the owner's shared ones ("/shared/comment") and
   * the user's own private ones ("/private/comment"), names in lower case. MailboxNotFoundError without it.
   */
  metadata(scope: MetadataScope): Promise<Map<string, Buffer>>;
  /**
   * Sets entries (a null value removes one) in one change: all of them or, when the entries would then be
   * more than `maxEntries` (shared and private of the scope together), none (MetadataTooManyError).
   */
  setMetadata(scope: MetadataScope, changes: ReadonlyMap<string, Buffer | null>, maxEntries: number): Promise<void>;
  /** One private entry ("/private/specialuse") of the account on those of `mailboxes` (its own) that have it. */
  entryOfMailboxes(account: AccountAddress, entry: string, mailboxes: readonly string[]): Promise<Map<string, Buffer>>;
  /** The account's Sieve scripts (ManageSieve's, `postern sieve`'s; delivery runs the active one). */
  sieveScripts(account: AccountAddress): SieveScripts;
  /** What deliveries to the account remember between runs (vacation's replies sent, duplicate's ids). */
  deliveryMemory(account: AccountAddress): DeliveryMemory;
}

/** A script as ManageSieve lists it (RFC 5804 section 2.7). */
export interface SieveScriptEntry {
  readonly name: string;
  readonly active: boolean;
  /** Octets. */
  readonly size: number;
}

/**
 * An account's Sieve scripts. Names are what RFC 5804 section 1.6 allows (NOTPOSSIBLE/PARAMS otherwise).
 * NOTFOUND for a missing script, EXISTS for a rename onto one, NOTPOSSIBLE for deleting the active one.
 */
export interface SieveScripts {
  list(): Promise<SieveScriptEntry[]>;
  /** The script's octets, or null when there is none of that name. */
  get(name: string): Promise<Buffer | null>;
  /** Stores it (replaces one of that name at once: a reader sees the old or the new, never a part). */
  put(name: string, content: Buffer): Promise<void>;
  delete(name: string): Promise<void>;
  /** The active script stays active under its new name. */
  rename(from: string, to: string): Promise<void>;
  /** Makes it the active one; null: none is active. */
  setActive(name: string | null): Promise<void>;
  /** The active script, or null. */
  active(): Promise<{ name: string; content: Buffer } | null>;
}

/** The longest Sieve script name, in characters (Pigeonhole's SIEVE_MAX_SCRIPT_NAME_LEN). */
export const MAX_SIEVE_SCRIPT_NAME = 256;

/**
 * Checks a Sieve script name as RFC 5804 section 1.6 (and Pigeonhole's sieve_script_name_is_valid) allows
 * it: not empty, at most MAX_SIEVE_SCRIPT_NAME characters, no "/", no control character (U+0000-001F,
 * U+007F-009F, U+2028, U+2029), no broken UTF-16. Throws a MailStoreError (PARAMS) otherwise, so no store
 * is reached outside an account's scripts by a name.
 */
export function checkSieveScriptName(name: string): string {
  if (name.length === 0) throw new MailStoreError(MailError.PARAMS, 'a script name cannot be empty');
  if ([...name].length > MAX_SIEVE_SCRIPT_NAME)
    throw new MailStoreError(MailError.PARAMS, `a script name must be at most ${MAX_SIEVE_SCRIPT_NAME} characters`);
  // (with the u flag, a surrogate matches only when it is alone: half of a character)
  if (/[\x00-\x1f\x7f-\x9f/\u2028\u2029\ud800-\udfff]/u.test(name))
    throw new MailStoreError(MailError.PARAMS, `"${printable(name)}" is not a valid script name: no "/" and no control characters`);
  return name;
}

/** True for a name checkSieveScriptName accepts. */
export function isSieveScriptName(name: string): boolean {
  try {
    checkSieveScriptName(name);
    return true;
  } catch {
    return false;
  }
}

/** Ids remembered for an account until they expire (vacation's "answered already", duplicate's ids). */
export interface DeliveryMemory {
  /** True when `key` is remembered and has not expired. */
  seen(key: string): Promise<boolean>;
  /** Remembers `key` for `seconds` from now. */
  remember(key: string, seconds: number): Promise<void>;
}

/** Whose metadata entries: those of `owner`'s mailbox (or server entries: mailbox null) as `user` sees them. */
export interface MetadataScope {
  readonly owner: AccountAddress;
  readonly mailbox: string | null;
  readonly user: AccountAddress;
}

/** A metadata entry name as stores keep it: "/private/..." or "/shared/...", lower case, at least one level below. */
export function isMetadataEntry(entry: string): boolean {
  return /^\/(private|shared)\/[^A-Z]/.test(entry) && !entry.endsWith('/') && !entry.includes('//');
}

/**
 * What kind of failure a store reports, as Dovecot's lib-storage `enum mail_error` says it (with the
 * names it uses, only those Postern's stores raise). Each protocol maps these codes to its answers in
 * one place (modules/imap/store-errors.ts, modules/pop/store-errors.ts, delivery/local-delivery.ts,
 * cli/mailbox.ts), never the words of a message: those say why, for the user and the log.
 */
export const MailError = {
  /** A fault the operator must look at (an I/O error, a lock another server holds too long, a bug). */
  TEMP: 'TEMP',
  /** The request is sound, but this cannot be done (deleting INBOX, renaming a mailbox below itself...). */
  NOTPOSSIBLE: 'NOTPOSSIBLE',
  /** A parameter that can never be valid: a mailbox name no mailbox can have, a flag that cannot be stored. */
  PARAMS: 'PARAMS',
  /** No room to store: the disk or the user's quota is full (ENOSPC, EDQUOT). */
  NOQUOTA: 'NOQUOTA',
  /** The mailbox does not exist (or may not be seen: the same answer, so neither can be probed). */
  NOTFOUND: 'NOTFOUND',
  /** The mailbox exists already. */
  EXISTS: 'EXISTS',
  /** The message was expunged by another session. */
  EXPUNGED: 'EXPUNGED',
  /** Past a limit of the store: a mailbox name longer than it can keep. */
  LIMIT: 'LIMIT',
  /**
   * The mailbox's storage is in a state the store refuses to use (a folder that is a link, a damaged
   * dovecot-uidlist): the operator must fix it, the error says what and where.
   */
  UNAVAILABLE: 'UNAVAILABLE',
  /** The message given cannot be stored as it is: it is empty. */
  INVALIDDATA: 'INVALIDDATA',
} as const;
export type MailError = (typeof MailError)[keyof typeof MailError];

/** What a store throws when it refuses or fails: `mailError` says what kind of failure, the message why. */
export class MailStoreError extends Error {
  constructor(
    readonly mailError: MailError,
    message: string,
  ) {
    super(message);
  }
}

/**
 * The code of anything a store threw. Its own errors carry one; an error of the system it lets through
 * (one with an errno code) is told by its errno, as Dovecot's mail_error_from_errno() does for a full disk
 * (NOQUOTA), and a name the file system cannot keep (ENAMETOOLONG) is past the store's LIMIT; anything
 * else is a fault (TEMP).
 */
export function mailErrorOf(err: unknown): MailError {
  if (err instanceof MailStoreError) return err.mailError;
  const errno = (err as NodeJS.ErrnoException | null)?.code;
  if (errno === 'ENOSPC' || errno === 'EDQUOT') return MailError.NOQUOTA;
  if (errno === 'ENAMETOOLONG') return MailError.LIMIT;
  return MailError.TEMP;
}

/** The message is no longer in the mailbox: another session expunged it (EXPUNGED). */
export class MessageGoneError extends MailStoreError {
  constructor() {
    super(MailError.EXPUNGED, 'message was removed by another session');
  }
}

/** A mailbox name that can never name a mailbox (an escape attempt, a control character...): PARAMS. */
export class MailboxNameError extends MailStoreError {
  constructor(message: string, mailError: typeof MailError.PARAMS | typeof MailError.LIMIT = MailError.PARAMS) {
    super(mailError, message);
  }
}

/** A mailbox name longer than the store can keep (LIMIT). */
export class MailboxNameTooLongError extends MailboxNameError {
  constructor(message: string) {
    super(message, MailError.LIMIT);
  }
}

/** More metadata entries than the limit allows (LIMIT): nothing was changed. */
export class MetadataTooManyError extends MailStoreError {
  constructor(message: string) {
    super(MailError.LIMIT, message);
  }
}

/** The mailbox does not exist (NOTFOUND). */
export class MailboxNotFoundError extends MailStoreError {
  constructor(readonly mailbox: string) {
    super(MailError.NOTFOUND, `there is no mailbox ${mailbox}`);
  }
}

/**
 * A change the store refuses, with the code that says what kind: the mailbox exists already (EXISTS),
 * it cannot be done (NOTPOSSIBLE: deleting INBOX, renaming a mailbox below itself), a flag that cannot be
 * stored (PARAMS). The message says why.
 */
export class MailboxOperationError extends MailStoreError {}

/**
 * The mailbox's storage is laid out in a way the store refuses to use (for Maildir: a folder inside the
 * account that is a symbolic link): UNAVAILABLE. The operator must fix it; the message says what and where.
 */
export class UnsafeMailboxError extends MailStoreError {
  constructor(
    readonly path: string,
    message: string,
  ) {
    super(MailError.UNAVAILABLE, message);
  }
}

/** The message to store is empty (INVALIDDATA). */
export class EmptyMessageError extends MailStoreError {
  constructor() {
    super(MailError.INVALIDDATA, 'the message is empty');
  }
}

/** True for the name of the account's INBOX (any case, RFC 9051 section 5.1). */
export function isInbox(mailbox: string): boolean {
  return mailbox.toUpperCase() === 'INBOX';
}

/** The hierarchy delimiter of mailbox names, in every protocol (a Maildir++ folder uses "." on disk). */
export const DELIMITER = '/';

const MAX_NAME = 200;
const MAX_LEVEL = 64;
// A level: anything printable except the delimiter, "." (Maildir++'s own separator) and the backslash.
const LEVEL = /^[^\x00-\x1f\x7f/\\.]{1,64}$/u;

/**
 * Checks a mailbox name and returns it as stores keep it ("INBOX" in capitals, whatever the case it was
 * given in, also as the first level: "inbox/x" is "INBOX/x", RFC 9051 section 5.1); throws
 * MailboxNameError for a name that can never name a mailbox (MailboxNameTooLongError for one too long).
 * Every store checks names here, so no store can be reached outside its account by a name.
 */
export function checkMailboxName(mailbox: string): string {
  if (isInbox(mailbox)) return 'INBOX';
  if (mailbox.length === 0) throw new MailboxNameError('a mailbox name cannot be empty');
  if (mailbox.length > MAX_NAME) throw new MailboxNameTooLongError(`a mailbox name must be at most ${MAX_NAME} characters`);
  if (isInbox(mailbox.slice(0, 5)) && mailbox[5] === DELIMITER) mailbox = `INBOX${mailbox.slice(5)}`;
  for (const level of mailbox.split(DELIMITER)) {
    if (level.length > MAX_LEVEL && [...level].length > MAX_LEVEL)
      throw new MailboxNameTooLongError(`a level of a mailbox name must be at most ${MAX_LEVEL} characters`);
    if (!LEVEL.test(level)) {
      throw new MailboxNameError(
        `"${printable(mailbox)}" is not a valid mailbox name: use "/" between levels, and no empty level, ".", "\\" or control characters`,
      );
    }
  }
  return mailbox;
}

/** The mailboxes above a name ("a/b/c": "a", "a/b"). */
export function parentsOf(mailbox: string): string[] {
  const levels = mailbox.split(DELIMITER);
  return levels.slice(0, -1).map((_, i) => levels.slice(0, i + 1).join(DELIMITER));
}

/** Flags as stores keep them: system flags in their RFC spelling whatever the case, keywords as given. */
export function normalizeFlag(flag: string): string {
  if (!flag.startsWith('\\')) {
    // a keyword is an IMAP atom (RFC 9051 section 4.1): no space, no specials, no controls
    if (!/^[^\s(){%*"\\\]\x00-\x1f\x7f]{1,100}$/u.test(flag))
      throw new MailboxOperationError(MailError.PARAMS, `"${printable(flag)}" is not a keyword that can be stored`);
    return flag;
  }
  const system = SYSTEM_FLAGS.find((f) => f.toLowerCase() === flag.toLowerCase());
  if (!system) throw new MailboxOperationError(MailError.PARAMS, `${flag} is not a flag that can be stored`);
  return system;
}

/** The flags after `change` is applied to `flags`. */
export function applyFlagChange(flags: ReadonlySet<string>, change: FlagChange): Set<string> {
  if ('replace' in change) return new Set(change.replace.map(normalizeFlag));
  const out = new Set(flags);
  if ('add' in change) for (const f of change.add) out.add(normalizeFlag(f));
  else for (const f of change.remove) out.delete(normalizeFlag(f));
  return out;
}

export function sameFlags(a: ReadonlySet<string>, b: ReadonlySet<string>): boolean {
  if (a.size !== b.size) return false;
  for (const f of a) if (!b.has(f)) return false;
  return true;
}
