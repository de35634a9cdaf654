// What the ManageSieve command handlers see of a session (a narrow context, as the POP and IMAP modules give
// theirs), and the types the module's files share. Handlers never see the session class.
import type { AccountStore } from '../../accounts/account-store.js';
import type { AccountAddress } from '../../accounts/names.js';
import type { Connection } from '../../listeners/connection.js';
import type { Logger } from '../../observability/logger.js';
import type { TraceLog } from '../../observability/trace.js';
import type { CheckSecret, SignInPolicy } from '../../sessions/sign-in.js';
import type { MailStore, SieveScripts } from '../../store/contract.js';
import type { ManageSieveSettings } from './config.js';
import type { ManageSieveMetrics } from './metrics.js';
import type { Arg } from './wire.js';

export type ManageSieveState = 'NONAUTH' | 'AUTH';

export interface ManageSieveServices {
  readonly accounts: AccountStore;
  readonly store: MailStore;
  readonly metrics: ManageSieveMetrics;
  readonly trace: TraceLog;
  readonly settings: ManageSieveSettings;
  readonly signIn: SignInPolicy;
}

/** The signed-in user and their scripts. */
export interface SignedIn {
  readonly address: AccountAddress;
  /** "name@domain", for logs and OWNER. */
  readonly user: string;
  readonly scripts: SieveScripts;
}

/** What the end-of-session record counts (Pigeonhole's managesieve_logout_format). */
export interface SessionStats {
  putCount: number;
  putBytes: number;
  getCount: number;
  getBytes: number;
  checkCount: number;
  checkBytes: number;
  deletedCount: number;
  renamedCount: number;
}

/** A command as its handler gets it: its verb and arguments (the script literal of PUTSCRIPT among them). */
export interface Command {
  readonly verb: string;
  readonly args: readonly Arg[];
}

export interface ManageSieveContext {
  readonly state: ManageSieveState;
  readonly settings: ManageSieveSettings;
  readonly services: ManageSieveServices;
  readonly log: Logger;
  readonly conn: Connection;
  readonly stats: SessionStats;
  /** True when passwords may cross this connection (TLS, or what managesieve.cleartextAuth allows). */
  readonly cleartextAllowed: boolean;
  /** The signed-in user (handlers of AUTH commands only run when there is one). */
  signedIn(): SignedIn;
  /** Queues one line as it is (CRLF added). */
  send(line: string): void;
  /** Queues octets as they are (a script in a literal). */
  sendRaw(data: string | Buffer, description: string): void;
  /** The capability lines of this moment (RFC 5804 section 1.7). */
  capabilities(): string[];
  /** The client's next SASL response: the string on its next line (a quoted string or a literal). */
  nextSaslResponse(): Promise<string>;
  /** STARTTLS: answers OK, discards what was pipelined, runs the handshake, sends the capabilities again. */
  startTls(): Promise<void>;
  /** Signs in as `login`, checking the secret with `check`; the session is then in AUTH, or this throws. */
  signIn(login: string, mechanism: string, check: CheckSecret): Promise<void>;
  /** UNAUTHENTICATE: back to the state before signing in. */
  signOut(): void;
  /** Sends `finalLine` (if any) after everything queued, then closes. */
  close(reason: string, finalLine?: string): void;
}

export type { CheckSecret };
