// What IMAP command handlers see of a session (a narrow context, as dovecot's pop3-commands.h gives its
// handlers), and the types the module's parts share. Handlers never see the session class:
// commands.ts -> handlers -> this file, and session.ts -> commands.ts, without a circle.
import type { Readable } from 'node:stream';
import type { AccountStore } from '../../accounts/account-store.js';
import type { AccountAddress } from '../../accounts/names.js';
import type { Router } from '../../accounts/router.js';
import type { MailStore } from '../../store/contract.js';
import type { Connection } from '../../listeners/connection.js';
import type { CheckSecret, SignInPolicy } from '../../sessions/sign-in.js';
import type { Logger } from '../../observability/logger.js';
import type { TraceLog } from '../../observability/trace.js';
import type { ImapSettings } from './config.js';
import type { ImapMetrics } from './metrics.js';
import type { SelectedMailbox } from './selected.js';
import type { PendingLiteral } from './wire/command-reader.js';
import type { Cursor } from './wire/cursor.js';

export type ImapState = 'not-authenticated' | 'authenticated' | 'selected' | 'logout';

export interface ImapServices {
  readonly accounts: AccountStore;
  readonly store: MailStore;
  readonly router: Router;
  readonly metrics: ImapMetrics;
  readonly trace: TraceLog;
  readonly settings: ImapSettings;
  readonly signIn: SignInPolicy;
}

export type { CheckSecret };

/** One command as the dispatcher hands it to a handler. */
export interface Command {
  readonly tag: string;
  /** "FETCH", "UID FETCH" ... */
  readonly verb: string;
  /** True for the UID forms. */
  readonly uid: boolean;
  readonly args: Cursor;
  /** APPEND's message literal, announced and not read yet. */
  readonly literal: PendingLiteral | null;
}

export interface ImapContext {
  readonly state: ImapState;
  readonly services: ImapServices;
  readonly settings: ImapSettings;
  readonly log: Logger;
  readonly conn: Connection;
  /** True when passwords may cross this connection (TLS, or what imap.cleartextAuth allows). */
  readonly cleartextAllowed: boolean;
  /** ENABLEd extensions ("IMAP4REV2"). */
  readonly enabled: ReadonlySet<string>;
  /** True after ENABLE IMAP4rev2: UTF-8 names, ESEARCH answers, no \Recent. */
  readonly rev2: boolean;
  /** True after ENABLE IMAP4rev2 or UTF8=ACCEPT (RFC 9755): mailbox names in UTF-8 both ways. */
  readonly utf8Names: boolean;
  /** The signed-in user (handlers of authenticated commands only run when there is one). */
  user(): AccountAddress;
  /** The selected mailbox (handlers of selected-state commands only run when there is one). */
  selected(): SelectedMailbox;
  capabilities(): string;
  enable(extension: string): boolean;
  /** Queues an untagged response or any other line (without CRLF). */
  send(line: string): void;
  /** Queues bytes as they are (a response with literals). */
  sendRaw(data: Buffer | string): void;
  /** Streams bytes after what is queued (a message literal), each chunk through `convert`. */
  sendStream(source: Readable, convert?: (chunk: Buffer) => Buffer): Promise<void>;
  /** Writes what is queued (before waiting for the client). */
  flush(): Promise<void>;
  /** Sends "+ text" and waits for the client's next line (AUTHENTICATE, IDLE's DONE). */
  continuation(text: string): Promise<string>;
  /** The client's next line, after a continuation already sent (IDLE waits for DONE with this). */
  nextLine(): Promise<string>;
  /** Reads the announced literal's octets as a stream (APPEND), sending "+ Ready" first when it is synchronising. */
  literalData(literal: PendingLiteral): AsyncIterable<Buffer>;
  /** Drops an announced literal the command refuses (a non-synchronising one arrives anyway). */
  refuseLiteral(literal: PendingLiteral): Promise<void>;
  /**
   * Reads the line after a streamed literal: the rest of the command, and the next message literal it
   * announces (MULTIAPPEND, RFC 3502), left unread as the first one was; null at the command's end.
   */
  continueCommand(): Promise<{ args: Cursor; literal: PendingLiteral | null }>;
  startTls(): Promise<void>;
  /** True once COMPRESS=DEFLATE runs on this connection (RFC 4978). */
  readonly compressed: boolean;
  /** Sends the tagged OK, then compresses both directions (BAD when the client sent more after COMPRESS). */
  startCompression(): void;
  signIn(login: string, mechanism: string, check: CheckSecret): Promise<void>;
  /** Opens a mailbox as the selected one (the previous one is closed first, without expunging). */
  select(selected: SelectedMailbox | null): void;
  /**
   * Sends the untagged updates the client may get now, after syncing the selected mailbox (`force`: even if nothing signalled a change).
   */
  sendUpdates(expunges: boolean, force?: boolean): Promise<void>;
  /** Waits until the selected mailbox may have changed or `ms` pass (IDLE). */
  waitForChange(ms: number): Promise<'changed' | 'timeout'>;
  logout(): void;
  /** Counts a message sent by FETCH (for the session-end record and metrics). */
  fetched(octets: number): void;
  /** Counts messages appended or expunged by this session. */
  counted(what: 'appended' | 'expunged', n: number): void;
  /** The watch callback a SelectedMailbox of this session calls. */
  readonly mailboxChanged: () => void;
}
