// What the main thread and the upkeep's worker thread (upkeep-worker.ts) say to each other. A job is a
// snapshot of one mailbox as the main thread sees it: its folder, UIDVALIDITY, and each message's UID and
// size, as typed arrays (moved to the thread, not copied: a mailbox of 100,000 messages as objects with
// their file names took 250 ms of the event loop to post, and as much to build). The thread then asks for
// the files of the messages it will read, a transaction's worth at a time (MailboxFiles.pathsOf: from the
// folder's listing in memory, so a rename by a session since the snapshot is already there). The thread
// answers with progress, log lines and the job's end. Plain data only (structured clone).
import type { IndexJournal } from './index-file.js';

/** The mailbox as it is now: what the index must hold, ascending UID. */
export interface MailboxSnapshot {
  readonly uidValidity: number;
  readonly uids: Uint32Array;
  /** Each message's size with CRLF line ends (MessageInfo.size). */
  readonly sizes: Float64Array;
}

/** A snapshot, and where the files of its messages are when the thread asks (null: none now). */
export interface MailboxFiles {
  readonly snapshot: MailboxSnapshot;
  pathsOf(uids: readonly number[]): (string | null)[];
}

/** One mailbox's upkeep: rows added for the messages the index has not looked at, rows of expunged ones dropped. */
export interface UpkeepJob extends MailboxSnapshot {
  readonly id: number;
  readonly folder: string;
  readonly journal: IndexJournal;
  /** Empty the index first (postern index rebuild). */
  readonly rebuild: boolean;
  /** Messages a thread died reading among others: each read alone (upkeep-suspects.ts). */
  readonly suspects?: readonly number[];
  /** Messages a thread died reading alone: recorded as not indexed, never read. */
  readonly skipped?: readonly number[];
}

export type ToWorker =
  | { readonly type: 'job'; readonly job: UpkeepJob }
  | { readonly type: 'paths'; readonly id: number; readonly paths: (string | null)[] }
  /** The folder `prefix` and those below it are about to be renamed or deleted: their job ends, their files close. */
  | { readonly type: 'release'; readonly id: number; readonly prefix: string }
  | { readonly type: 'stop' };

export type FromWorker =
  | { readonly type: 'paths?'; readonly id: number; readonly uids: number[] }
  | { readonly type: 'progress'; readonly id: number; readonly done: number; readonly total: number }
  | { readonly type: 'log'; readonly level: 'info' | 'warn'; readonly details: Record<string, unknown>; readonly message: string }
  | { readonly type: 'done'; readonly id: number; readonly error?: { readonly message: string; readonly code?: string } }
  | { readonly type: 'released'; readonly id: number }
  | { readonly type: 'stopped' };
