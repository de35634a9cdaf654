// The contract between a protocol module and message storage. The POP module sees only these
// interfaces; the Maildir implementation lives in accounts/maildir/.
import type { Readable } from 'node:stream';
import type { AccountAddress } from './names.js';

/**
 * A fixed view of one mailbox, taken when a session opens it. Message indexes are 0-based and never
 * change for the life of the snapshot, whatever other sessions (POP, IMAP) do to the mailbox meanwhile.
 * Nothing is locked: a message another session removed makes open() reject with MessageGoneError.
 */
export interface MailboxSnapshot {
  /** How many messages the snapshot holds. */
  readonly count: number;
  /** Sum of size(i) over all messages. */
  readonly totalSize: number;
  /**
   * The message's POP octet count: its bytes with every line ending as CRLF and a final line ending
   * added if missing. That is exactly what RETR sends before dot-stuffing.
   */
  size(index: number): number;
  /** A unique id (1-70 chars of 0x21-0x7E), stable across sessions, flag changes and restarts. */
  uidl(index: number): string;
  /** The message's raw bytes as stored. Rejects with MessageGoneError if the message was removed. */
  open(index: number): Promise<Readable>;
  /**
   * The whole message read at once, without waiting on the event loop: the fast path for small
   * messages. Null when the message is not where the snapshot last saw it; open() follows it.
   * The bytes may live in a buffer the next readNow() reuses: use them (or copy them) before that.
   */
  readNow(index: number): Buffer | null;
  /** True when the message has the Seen flag, as far as this snapshot knows (markSeen would do nothing). */
  seen(index: number): boolean;
  /** Sets the Seen flag (visible to IMAP servers on the same store). A removed message is ignored. */
  markSeen(index: number): Promise<void>;
  /** Removes the given messages (POP UPDATE state). A message already gone counts as removed. */
  commit(indexes: readonly number[]): Promise<CommitResult>;
  /** Sets the Trashed flag instead of removing (IMAP still sees the messages, marked \\Deleted). */
  flagTrashed(indexes: readonly number[]): Promise<CommitResult>;
  /** Moves the messages into another mailbox's folder (from MailStore.ensureFolder), flags kept. */
  moveTo(indexes: readonly number[], folder: string): Promise<CommitResult>;
}

export interface CommitResult {
  /** Messages removed now or found already removed by someone else. */
  removed: number;
  /** Messages that could not be removed (an I/O error); they stay in the mailbox. */
  failed: number;
}

/** The message is no longer in the mailbox: another session deleted it. */
export class MessageGoneError extends Error {
  constructor() {
    super('message was removed by another session');
  }
}

/**
 * The mailbox's storage is laid out in a way the store refuses to use (for Maildir: a folder inside the
 * account that is a symbolic link). The operator must fix it; the message says what and where.
 */
export class UnsafeMailboxError extends Error {
  constructor(
    readonly path: string,
    message: string,
  ) {
    super(message);
  }
}

/** True for the name of the account's INBOX (any case, RFC 3501 section 5.1). */
export function isInbox(mailbox: string): boolean {
  return mailbox.toUpperCase() === 'INBOX';
}

/** A mailbox name that can never name a mailbox (an escape attempt, a control character...). */
export class MailboxNameError extends Error {}

export interface DeliveryResult {
  /** The stored file's name (for logs). */
  id: string;
  /** Octets on disk. */
  size: number;
  /** POP octet count (see MailboxSnapshot.size). */
  popSize: number;
}

export interface OpenOptions {
  /** Direct Mailbox Addressing: only messages whose `header` lists `name`. */
  realTo?: { header: string; name: string };
  /** Leave out messages flagged Trashed. */
  hideTrashed?: boolean;
  /** At most this many messages, the oldest; 0 = all. */
  limit?: number;
}

/** A message stored but not yet visible: commit() shows it, abort() removes it. */
export interface StagedDelivery {
  commit(): Promise<DeliveryResult>;
  abort(): Promise<void>;
}

export interface MailStore {
  /**
   * Opens a snapshot of `mailbox` ("INBOX" or a name like "lists/info") of the account. With
   * `realTo`, only messages whose `realTo.header` lists `realTo.name` are in it (Direct Mailbox Addressing).
   */
  openMailbox(account: AccountAddress, mailbox: string, options?: OpenOptions): Promise<MailboxSnapshot>;
  /** The folder of a mailbox, created when missing (a move target). */
  ensureFolder(account: AccountAddress, mailbox: string): Promise<string>;
  /** True when the mailbox exists. */
  hasMailbox(account: AccountAddress, mailbox: string): Promise<boolean>;
  /**
   * Stores one RFC 5322 message read from `input`; resolves only once it is safely on disk.
   * `extraHeader` ("Name: value") is added at the top of the header.
   */
  deliver(account: AccountAddress, mailbox: string, input: AsyncIterable<Buffer>, extraHeader?: string): Promise<DeliveryResult>;
  /** Like deliver, but the message stays invisible until commit() (all-or-nothing submissions). */
  stage(account: AccountAddress, mailbox: string, input: AsyncIterable<Buffer>, extraHeader?: string): Promise<StagedDelivery>;
  /** The folder holding a mailbox (checked name; it may not exist). */
  folder(account: AccountAddress, mailbox: string): string;
}
