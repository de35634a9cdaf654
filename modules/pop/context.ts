// What the POP3 command handlers see of a session (a narrow context, as dovecot's pop3-commands.h
// gives its handlers), and the types every part of the module shares. Handlers never see the session
// class: commands.ts -> handlers -> this file, and session.ts -> commands.ts, without a circle.
import type { AccountStore } from '../../accounts/account-store.js';
import type { AccountAddress } from '../../accounts/names.js';
import type { Router } from '../../accounts/router.js';
import type { MailStore } from '../../store/contract.js';
import type { Connection } from '../../listeners/connection.js';
import type { Bulletins } from '../../delivery/bulletins.js';
import type { Submitter } from '../../submission/submitter.js';
import type { Logger } from '../../observability/logger.js';
import type { TraceLog } from '../../observability/trace.js';
import type { CheckSecret, SignInPolicy } from '../../sessions/sign-in.js';
import type { DotReader } from '../../sessions/dot-reader.js';
import type { Maildrop } from './maildrop.js';
import type { PopMetrics } from './metrics.js';
import type { MechanismName } from '../../sessions/sasl.js';

export type PopState = 'AUTHORIZATION' | 'TRANSACTION' | 'UPDATE';

export interface PopSettings {
  idleTimeoutMs: number;
  maxAuthAttempts: number;
  userPass: boolean;
  maxLineLength: number;
  maxBadCommands: number;
  cleartextAuth: 'never' | 'loopback' | 'always';
  saslMechanisms: readonly MechanismName[];
  /** First wait for a client that stopped reading; doubled four times before dropping it (OpenVMS). */
  blockedOutputWaitMs: number;
  /** How long a connection may take to sign in. */
  loginTimeoutMs: number;
  /** How long a command line may take to arrive once its first octet has. */
  commandTimeoutMs: number;
  /** The least time a failed sign-in takes, from the client's last line (so known and unknown names look alike). */
  authFailureTimeMs: number;
  /** The host name shown in the greeting. */
  hostname: string;
  /** Header listing individual names for Direct Mailbox Addressing. */
  realToHeader: string;
  /** Largest message XTND XMIT accepts. */
  maxSubmissionSize: number;
  /** Most messages shown per session; 0 = all. */
  messageMaximum: number;
  /** What QUIT does with messages marked deleted. */
  deleteAction: { kind: 'expunge' } | { kind: 'flag' } | { kind: 'move'; mailbox: string };
  /** Where QUIT moves messages retrieved and not deleted; null = leave them. */
  moveReadTo: string | null;
  /** Add X-POP3-Server and X-POP3-ID to RETR and TOP. */
  idHeaders: boolean;
  /** Dovecot's pop3_uidl_format: the UIDL of a message without one of its own (a P field). */
  uidlFormat: string;
}

export interface PopServices {
  readonly accounts: AccountStore;
  readonly store: MailStore;
  readonly router: Router;
  readonly submitter: Submitter;
  readonly bulletins: Bulletins | null;
  readonly metrics: PopMetrics;
  readonly trace: TraceLog;
  readonly settings: PopSettings;
  readonly signIn: SignInPolicy;
}

/** The signed-in user and the mailbox the session opened (TRANSACTION and UPDATE). */
export interface SignedIn {
  readonly address: AccountAddress;
  readonly owner: AccountAddress;
  readonly mailbox: string;
  /** "owner/mailbox", for logs. */
  readonly label: string;
  /** RFC 4314 rights on the mailbox: "t" to delete, "s" for RETR to set Seen. */
  readonly rights: string;
  readonly maildrop: Maildrop;
}

/** What the statistics record at the end of a session counts. */
export interface SessionStats {
  retrieved: number;
  retrievedOctets: number;
  deleted: number;
  deletedOctets: number;
}

export type { CheckSecret };

export interface PopContext {
  readonly state: PopState;
  readonly settings: PopSettings;
  readonly services: PopServices;
  readonly log: Logger;
  readonly conn: Connection;
  /** The RFC 1939 APOP timestamp in the greeting, unique per connection. */
  readonly greetingStamp: string;
  /** True when passwords may cross this connection (TLS, or what pop.cleartextAuth allows). */
  readonly cleartextAllowed: boolean;
  readonly stats: SessionStats;
  /** The name from USER, waiting for PASS. */
  pendingUser: string | null;
  /** The signed-in user (handlers of TRANSACTION commands only run when there is one). */
  signedIn(): SignedIn;
  /** Queues one response line. */
  send(line: string): void;
  /** Queues a multi-line body (lines ending in CRLF) and its terminating ".". */
  sendBody(text: string): void;
  /** Sends message `index` (RETR, or TOP with `bodyLines`); a promise only when it must wait. */
  sendMessage(index: number, firstLine: string, bodyLines?: number): Promise<void> | undefined;
  /** The client's next line (a SASL answer). */
  nextLine(): Promise<string>;
  /** Reads a dot-stuffed message (XTND XMIT). */
  readMessage(max: number): Promise<DotReader>;
  /** STLS: answers, discards what was pipelined, runs the handshake, starts over. */
  startTls(): Promise<void>;
  /** Signs in as `login`, checking the secret with `check`; enters TRANSACTION or throws PopError. */
  signIn(login: string, mechanism: string, check: CheckSecret): Promise<void>;
  /** QUIT: UPDATE begins; nothing can cut the session from here on. */
  enterUpdate(): SignedIn;
  /** Sends `finalLine` (if any) after everything queued, then closes. */
  close(reason: string, finalLine?: string): void;
  /** Lets `task` finish on its own (RETR's Seen); settled() waits for every such task. */
  inBackground(task: Promise<void>): void;
  settled(): Promise<void>;
}
