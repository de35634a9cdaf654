// What the main thread and the upkeep's worker thread (upkeep-worker.ts) say to each other: a job is a
// snapshot of one mailbox as the main thread sees it (its folder, UIDVALIDITY, and each message's UID, size
// and file), so the worker reads the files and writes the index without asking the main thread anything;
// the worker answers with progress, log lines and the job's end. Plain data only (structured clone).
import type { IndexJournal } from './index-file.js';

/** One message of the snapshot: its file as the main thread last saw it (a flag change may rename it meanwhile). */
export interface JobMessage {
  readonly uid: number;
  /** Its size with CRLF line ends (MessageInfo.size). */
  readonly size: number;
  /** The file's path (folder/cur/base:2,flags or folder/new/base). */
  readonly path: string;
}

/** The mailbox as it is now: what the index must hold, ascending UID. */
export interface MailboxSnapshot {
  readonly uidValidity: number;
  readonly messages: readonly JobMessage[];
}

/** One mailbox's upkeep: rows added for the messages the index has not looked at, rows of expunged ones dropped. */
export interface UpkeepJob extends MailboxSnapshot {
  readonly id: number;
  readonly folder: string;
  readonly journal: IndexJournal;
  /** Empty the index first (postern index rebuild). */
  readonly rebuild: boolean;
}

export type ToWorker = { readonly type: 'job'; readonly job: UpkeepJob } | { readonly type: 'stop' };

export type FromWorker =
  | { readonly type: 'progress'; readonly id: number; readonly done: number; readonly total: number }
  | { readonly type: 'log'; readonly level: 'info' | 'warn'; readonly details: Record<string, unknown>; readonly message: string }
  | { readonly type: 'done'; readonly id: number; readonly error?: { readonly message: string; readonly code?: string } }
  | { readonly type: 'stopped' };
