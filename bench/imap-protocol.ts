// The messages between the orchestrator and an IMAP load generator process (imap-load.ts), over the
// IPC channel of child_process.fork; the same shape as protocol.ts for POP3. One job per process.
import type { CpuSeconds, Credentials, Failures, SourceAddresses, Target } from './protocol.js';

export type ImapJob =
  /** Sessions per second: connect, greeting, LOGIN, SELECT INBOX, LOGOUT, in `concurrency` loops. */
  | {
      kind: 'imap-sessions';
      target: Target;
      login: Credentials;
      concurrency: number;
      warmupMs: number;
      durationMs: number;
      sources: SourceAddresses;
    }
  /** One session: SELECT INBOX, then FETCH n BODY[] for every message in order, one at a time, then LOGOUT. */
  | { kind: 'imap-fetch-bodies'; target: Target; login: Credentials }
  /** One session on a large mailbox: timed LOGIN, SELECT INBOX and `fetches` x UID FETCH 1:* (UID FLAGS). */
  | { kind: 'imap-select-time'; target: Target; login: Credentials; fetches: number; timeoutMs: number }
  /**
   * Opens `count` sessions (LOGIN, SELECT INBOX, IDLE; with `compress`, COMPRESS DEFLATE after LOGIN) and
   * keeps them idling until told to release them.
   */
  | {
      kind: 'imap-hold';
      target: Target;
      logins: Credentials[];
      count: number;
      openConcurrency: number;
      sources: SourceAddresses;
      compress?: boolean;
    }
  /**
   * The mixed load (imap-mix.ts): `clients` loops, client i signed in as logins[i % logins.length], each
   * running one whole session after another (LOGIN, SELECT, FETCH, STORE, EXPUNGE, APPEND, LIST/STATUS,
   * LOGOUT); every command answered inside the measured window counts as one operation.
   */
  /**
   * Opens `count` sessions in IDLE like imap-hold, the first `watchers` of them on `watched`'s INBOX, and
   * notes when each watcher is told of a new message (its first "* n EXISTS" after it idles).
   */
  | {
      kind: 'imap-watch';
      target: Target;
      logins: Credentials[];
      watched: Credentials;
      count: number;
      watchers: number;
      openConcurrency: number;
      sources: SourceAddresses;
    }
  | {
      kind: 'imap-mix';
      target: Target;
      logins: Credentials[];
      clients: number;
      warmupMs: number;
      durationMs: number;
      sources: SourceAddresses;
      seed: number;
    };

export interface ImapSessionsResult {
  kind: 'imap-sessions';
  tls: string | null;
  sessions: number;
  seconds: number;
  failures: Failures;
  cpu: CpuSeconds;
}

export interface ImapFetchBodiesResult {
  kind: 'imap-fetch-bodies';
  messages: number;
  /** Octets received in the FETCH answers (untagged FETCH with the literal, and the tagged OK). */
  octets: number;
  /** From the first FETCH to the LOGOUT answer. */
  seconds: number;
  failures: Failures;
  cpu: CpuSeconds;
}

export interface ImapSelectTimeResult {
  kind: 'imap-select-time';
  /** Connect to greeting, LOGIN, SELECT (command to tagged OK), connect to SELECT OK; ms. */
  greetingMs: number;
  loginMs: number;
  selectMs: number;
  connectToSelectMs: number;
  /** "* 100000 EXISTS" from the SELECT answer. */
  exists: number | null;
  /** Each UID FETCH 1:* (UID FLAGS): ms, untagged FETCH responses and octets. */
  fetches: { ms: number; responses: number; octets: number }[];
  failures: Failures;
  cpu: CpuSeconds;
}

export interface ImapHoldResult {
  kind: 'imap-hold';
  opened: number;
  seconds: number;
  failures: Failures;
  cpu: CpuSeconds;
}

export interface ImapMixResult {
  kind: 'imap-mix';
  /** Commands answered OK inside the window (LOGIN and LOGOUT included). */
  operations: number;
  /** Commands answered NO inside the window (a message another client expunged first, say). */
  refused: number;
  /** Whole sessions ended inside the window. */
  sessions: number;
  seconds: number;
  /** Operations by command verb. */
  byVerb: Record<string, number>;
  /** NO answers by command verb. */
  refusedByVerb: Record<string, number>;
  failures: Failures;
  cpu: CpuSeconds;
}

export interface ImapWatchResult {
  kind: 'imap-watch';
  opened: number;
  watchersOpened: number;
  /** Wall-clock times (ms since the epoch, sub-ms) at which each watcher was told, in no order. */
  toldAt: number[];
  failures: Failures;
  cpu: CpuSeconds;
}

export type ImapJobResult =
  | ImapSessionsResult
  | ImapFetchBodiesResult
  | ImapSelectTimeResult
  | ImapHoldResult
  | ImapMixResult
  | ImapWatchResult;

/** Generator -> orchestrator. */
export type ImapReport =
  | { kind: 'window'; phase: 'start' | 'end' }
  | { kind: 'held'; result: ImapHoldResult }
  | { kind: 'result'; result: ImapJobResult }
  | { kind: 'error'; message: string };

/** Orchestrator -> generator. */
export type ImapCommand = { kind: 'run'; job: ImapJob } | { kind: 'release' };
