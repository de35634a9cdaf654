// One POP3 session: the state (AUTHORIZATION, TRANSACTION with the signed-in user, UPDATE), the
// dispatch of each command line through the typed table in commands.ts (which says in which states a
// verb is allowed), and the one place where errors thrown by handlers become answers. The socket work
// is the shared line channel's (sessions/line-channel.ts), messages go out through message-sender.ts,
// sign-in is sign-in.ts, and what is logged goes through the shared session record.
import type { Connection } from '../../listeners/connection.js';
import type { Logger } from '../../observability/logger.js';
import { ConnectionClosed } from '../../sessions/connection-closed.js';
import { type DotReader, readDotMessage } from '../../sessions/dot-reader.js';
import { LineChannel } from '../../sessions/line-channel.js';
import { cleartextAllowed } from '../../sessions/sasl.js';
import { SignInDeadline } from '../../sessions/sign-in-deadline.js';
import type { SessionHooks } from '../../sessions/session-pool.js';
import { COMMANDS } from './commands.js';
import type { CheckSecret, PopContext, PopServices, PopSettings, PopState, SessionStats, SignedIn } from './context.js';
import { sendMessage } from './message-sender.js';
import { badCommand, PopError } from './pop-error.js';
import { SessionRecord } from '../../sessions/session-record.js';
import { unrecognisedCommand } from '../../observability/redaction.js';
import { signIn } from './sign-in.js';
import { quoteClient } from '../../sessions/client-text.js';
import { KICKED, PendingKick } from '../../sessions/kick.js';
import type { LineRead } from '../../sessions/line-input.js';

// Commands whose arguments are secrets or digests, never logged.
const SECRET_ARGS = new Set(['PASS', 'APOP', 'AUTH']);

/**
 * A command line as it may be recorded: secrets redacted, an unknown verb's line by its size only (it may be a SASL answer sent after AUTH
 * was refused).
 */
function recordedCommand(verb: string, line: string, recognised: boolean): string {
  return !recognised ? unrecognisedCommand(Buffer.byteLength(line)) : SECRET_ARGS.has(verb) ? `${verb} [redacted]` : line;
}

type State = { name: 'AUTHORIZATION' } | { name: 'TRANSACTION'; user: SignedIn } | { name: 'UPDATE'; user: SignedIn };

export class PopSession implements PopContext {
  pendingUser: string | null = null;
  readonly greetingStamp: string;
  private current: State = { name: 'AUTHORIZATION' };
  private readonly channel: LineChannel;
  private readonly record: SessionRecord;
  private badRun = 0;
  /** Flag changes still running (RETR's Seen); QUIT waits for them before UPDATE. */
  private readonly background = new Set<Promise<void>>();
  /** The sign-in attempts' shared state (failures on this connection, when the line was taken up). */
  private readonly attempt: { failures: number; lineTakenAt: number } = { failures: 0, lineTakenAt: 0 };
  /** pop.loginTimeout, until the client signs in. */
  private readonly signInDeadline: SignInDeadline;
  /** The user of a session cut at shutdown (it is back in AUTHORIZATION, applying nothing). */
  private cutUser: SignedIn | null = null;
  /** True while a command runs (the server is working, or waiting for its client's answer). */
  private working = false;
  /** Octets of a command line past which, still without its end, the line is endless: the connection is closed. */
  private readonly endlessAfter: number;

  constructor(
    readonly conn: Connection,
    readonly services: PopServices,
    logger: Logger,
    private readonly hooks: SessionHooks<PopSession>,
  ) {
    this.record = new SessionRecord(logger, conn, 'POP', services.metrics, services.trace);
    this.greetingStamp = `<${process.pid}.${conn.id}.${Date.now()}@${services.settings.hostname}>`;
    this.endlessAfter = Math.max(64 * 1024, services.settings.maxLineLength * 16);
    this.signInDeadline = new SignInDeadline(services.settings.loginTimeoutMs, this, this.record.log, services.metrics.timedOut);
    this.channel = new LineChannel(conn, services.settings, this.record.log, {
      idle: () => this.idleTimeout(),
      lineTooSlow: () => this.lineTooSlow(),
      ended: () => this.ended(),
    });
  }

  get settings(): PopSettings {
    return this.services.settings;
  }

  get log(): Logger {
    return this.record.log;
  }

  /** What the statistics record at the end counts (popper -s). */
  readonly stats: SessionStats = { retrieved: 0, retrievedOctets: 0, deleted: 0, deletedOctets: 0 };

  get state(): PopState {
    return this.current.name;
  }

  get cleartextAllowed(): boolean {
    return cleartextAllowed(this.conn, this.settings.cleartextAuth);
  }

  /** True while the session only waits for its client (it may be closed to make room, see PopModule). */
  get waitingForClient(): boolean {
    return !this.channel.closed && this.channel.waitingForClient;
  }

  signedIn(): SignedIn {
    if (this.current.name === 'AUTHORIZATION') throw new Error('not signed in'); // the command table prevents it
    return this.current.user;
  }

  start(): void {
    this.record.connected();
    this.channel.attach();
    this.signInDeadline.start();
    this.send(`+OK ${this.settings.hostname} Postern POP3 server ready ${this.greetingStamp}`);
    void this.run();
  }

  // ---- what handlers use ----------------------------------------------------------------------

  send(line: string): void {
    this.channel.queue(`${line}\r\n`);
    this.record.response(this.recordedAnswer(line));
  }

  /** True while the current command is one the server did not recognise (its answer is not recorded as sent). */
  private unrecognised = false;

  /** An unrecognised command's answer quotes it, and it may be a password sent out of turn: recorded by its status only. */
  private recordedAnswer(line: string): string {
    return this.unrecognised ? `${line.startsWith('+OK') ? '+OK' : '-ERR'} [answer to an unrecognised command, not logged]` : line;
  }

  sendBody(text: string): void {
    this.channel.queue(`${text}.\r\n`);
    this.record.sent(`[${text.length} octets of listing]`);
  }

  sendMessage(index: number, firstLine: string, bodyLines?: number): Promise<void> | undefined {
    const { metrics, trace } = this.services;
    return sendMessage(
      { channel: this.channel, maildrop: this.signedIn().maildrop, metrics, trace, logged: (line) => this.record.response(line) },
      index,
      firstLine,
      bodyLines,
    );
  }

  async nextLine(): Promise<string> {
    const read = await this.readLine();
    this.attempt.lineTakenAt = performance.now();
    if (read.kind === 'closed') throw new ConnectionClosed();
    if (read.kind === 'too-long') {
      if (read.endless) {
        this.channel.close('endless command line', '-ERR Command line too long; closing connection');
        throw new ConnectionClosed();
      }
      throw badCommand('Line too long');
    }
    this.record.saslLine();
    return read.bytes.toString('utf8');
  }

  /** The client's next line (or what was wrong with it), once what is queued went out. */
  private async readLine(): Promise<LineRead> {
    this.channel.writeQueued();
    this.channel.waitingForClient = true;
    const read = await this.channel.input.line(this.settings.maxLineLength, this.endlessAfter);
    this.channel.waitingForClient = false;
    return read;
  }

  /**
   * Reads a dot-stuffed message up to its "." line (XTND XMIT), keeping at most `max` octets. Lines the
   * client sent before the +OK (it should have waited) are part of the message.
   */
  readMessage(max: number): Promise<DotReader> {
    this.channel.writeQueued();
    return readDotMessage(this.channel.input, max);
  }

  /**
   * STLS (RFC 2595 section 4): answers +OK, forgets every line the client sent after STLS (they were
   * sent in the clear and must never run), runs the handshake, and starts AUTHORIZATION afresh.
   */
  async startTls(): Promise<void> {
    this.pendingUser = null;
    this.send('+OK Begin TLS negotiation');
    if (await this.channel.startTls('STLS'))
      this.log.info({ protocol: (this.conn.socket as import('node:tls').TLSSocket).getProtocol?.() }, 'TLS started');
  }

  async signIn(login: string, mechanism: string, check: CheckSecret): Promise<void> {
    const session = {
      services: this.services,
      settings: this.settings,
      log: this.log,
      conn: this.conn,
      lineTakenAt: this.attempt.lineTakenAt,
      failures: this.attempt.failures,
    };
    let user: SignedIn;
    try {
      user = await signIn(session, login, mechanism, check);
    } finally {
      this.attempt.failures = session.failures;
    }
    if (this.channel.closed) {
      user.maildrop.view.close();
      return;
    }
    this.current = { name: 'TRANSACTION', user };
    this.signInDeadline.stop();
    this.hooks.signedIn(this);
    const own = user.owner.name === user.address.name && user.owner.domain === user.address.domain && user.mailbox === 'INBOX';
    const what = own ? `${user.address.name}@${user.address.domain}` : user.mailbox;
    this.send(`+OK ${what} has ${user.maildrop.count} messages (${user.maildrop.octets} octets)`);
  }

  enterUpdate(): SignedIn {
    const user = this.signedIn();
    this.current = { name: 'UPDATE', user };
    return user;
  }

  close(reason: string, finalLine?: string): void {
    if (finalLine) this.record.response(this.recordedAnswer(finalLine));
    this.channel.close(reason, finalLine);
  }

  inBackground(task: Promise<void>): void {
    this.background.add(task);
    void task.finally(() => this.background.delete(task));
  }

  async settled(): Promise<void> {
    await Promise.all(this.background);
  }

  // ---- dispatch -----------------------------------------------------------------------------

  /**
   * Reads command lines and answers them strictly in order (PIPELINING, RFC 2449 section 6.6). Answers
   * stay queued while the client's next line is already there, and go out before waiting for it.
   */
  private async run(): Promise<void> {
    try {
      while (!this.channel.closed) {
        const read = this.channel.input.hasLine
          ? await this.channel.input.line(this.settings.maxLineLength, this.endlessAfter)
          : await this.readLine();
        if (read.kind === 'closed' || this.channel.closed) break;
        this.working = true;
        if (read.kind === 'line') {
          const running = this.execute(read.bytes.toString('utf8'));
          if (running !== undefined) await running;
        } else if (read.endless) {
          this.log.info('endless command line; closing');
          this.channel.close('endless command line', '-ERR Command line too long; closing connection');
        } else {
          this.fail(badCommand(`Command line too long (the limit is ${this.settings.maxLineLength} octets)`));
        }
        this.working = false;
        if (this.kicked.reason !== null) this.cutNow(KICKED, `-ERR [SYS/TEMP] ${this.kicked.reason}; no changes were made`);
        await this.channel.limitUnread();
      }
    } catch (err) {
      if (!(err instanceof ConnectionClosed)) {
        this.log.error({ err }, 'session failed');
        this.close('internal error', '-ERR [SYS/TEMP] Internal server error; closing connection');
      }
    }
    this.working = false;
    this.channel.writeQueued();
  }

  /** Runs one command line. Most commands finish at once (undefined); the rest return their promise. */
  private execute(line: string): Promise<void> | undefined {
    let result: Promise<void> | void;
    this.attempt.lineTakenAt = performance.now();
    try {
      const space = line.indexOf(' ');
      const verb = (space < 0 ? line : line.slice(0, space)).toUpperCase();
      const rest = space < 0 ? '' : line.slice(space + 1);
      const command = COMMANDS.get(verb);
      this.unrecognised = !command;
      if (this.record.recording) this.record.command(recordedCommand(verb, line, command !== undefined));
      this.services.metrics.commands.inc(command ? verb : 'unknown');
      if (!command) throw badCommand(`Unknown command ${quoteClient(verb, 20)}`);
      if (!command.states.includes(this.state))
        throw badCommand(`${verb} is not allowed ${this.state === 'AUTHORIZATION' ? 'before signing in' : 'after signing in'}`);
      let args: string[];
      if (command.args === 'rest') {
        args = [rest];
      } else {
        args = rest.trim() === '' ? [] : rest.trim().split(/ +/);
        const [min, max] = command.args;
        if (args.length < min || args.length > max) throw badCommand(`Usage: ${command.usage}`);
      }
      result = command.handler(this, args);
    } catch (err) {
      this.fail(err);
      return undefined;
    }
    if (!result) {
      this.badRun = 0;
      return undefined;
    }
    this.channel.writeQueued();
    return result.then(
      () => {
        this.badRun = 0;
      },
      (err: unknown) => this.fail(err),
    );
  }

  /** Renders a handler's error as one -ERR line; anything unexpected closes the connection. */
  private fail(err: unknown): void {
    if (err instanceof ConnectionClosed || this.channel.closed) return;
    if (err instanceof PopError && !this.channel.midResponse) {
      if (err.bad) this.badRun += 1;
      if (err.bad && this.badRun >= this.settings.maxBadCommands) {
        this.log.info({ count: this.badRun }, 'too many bad commands; closing');
        this.close('too many bad commands', `${err.line}; too many bad commands, closing connection`);
      } else if (err.close) {
        this.close(err.message, err.line);
      } else {
        this.send(err.line);
      }
      return;
    }
    this.log.error({ err }, 'command failed');
    if (this.channel.midResponse) this.channel.destroy('error while sending a message');
    else this.close('internal error', '-ERR [SYS/TEMP] Internal server error; closing connection');
  }

  // ---- ending -------------------------------------------------------------------------------

  /** True while the connection is open and not signed in (for the sign-in deadline). */
  get notSignedIn(): boolean {
    return !this.channel.closed && this.state === 'AUTHORIZATION';
  }

  closeNotSignedIn(seconds: number): void {
    this.close('sign-in took too long', `-ERR [SYS/TEMP] Not signed in within ${seconds} s; closing connection`);
  }

  /** Closes a connection not signed in to make room for a new one (the oldest go first, as in Dovecot). */
  evict(): void {
    this.log.info('connection not signed in closed to make room for a new one');
    this.close(
      'closed to make room for new connections',
      '-ERR [SYS/TEMP] Too many connections waiting to sign in; closing the oldest, try again later',
    );
  }

  private lineTooSlow(): void {
    this.log.info({ limitMs: this.settings.commandTimeoutMs }, 'command line not finished in time; closing');
    this.channel.close(
      'command line too slow',
      `-ERR Command line not finished within ${this.settings.commandTimeoutMs / 1000} s; closing connection`,
    );
  }

  private idleTimeout(): void {
    this.log.info({ state: this.state }, 'idle timeout; closing without changes');
    if (this.channel.midResponse) this.channel.destroy('client stopped reading');
    else this.close('idle timeout', '-ERR Idle for too long; closing connection');
  }

  /** Server shutdown, first phase: a session not signed in and not working is closed now. */
  shutdown(): void {
    if (this.state === 'AUTHORIZATION' && !this.working)
      this.close('server shutdown', '-ERR [SYS/TEMP] Server shutting down; try again later');
  }

  /** Server shutdown, deadline reached: cut the session without applying its deletions. */
  cut(): void {
    this.cutNow('server shutdown', '-ERR [SYS/TEMP] Server shutting down; no changes were made');
  }

  /** `postern who`: the account signed in (the password's owner, whichever mailbox it opened). */
  get signedInAccount(): string | null {
    const user = this.current.name === 'AUTHORIZATION' ? null : this.current.user;
    return user ? `${user.address.name}@${user.address.domain}` : null;
  }

  /** A kick waiting for the running command to answer. */
  private readonly kicked = new PendingKick();

  /** `postern kick`: cut as at shutdown (no deletion applied), now or once the running command has answered. */
  kick(reason: string): void {
    if (this.channel.closed || this.current.name === 'UPDATE') return; // a QUIT in progress finishes its UPDATE
    this.log.info({ user: this.signedInAccount }, 'kicked by the administrator');
    if (!this.working) this.cutNow(KICKED, `-ERR [SYS/TEMP] ${reason}; no changes were made`);
    else this.kicked.request(reason, () => this.cutNow(KICKED, null));
  }

  /** Ends the session without applying its deletions, with `line` last (none in the middle of a message body). */
  private cutNow(why: string, line: string | null): void {
    if (this.channel.closed || this.current.name === 'UPDATE') return; // a QUIT in progress finishes its UPDATE
    if (this.current.name === 'TRANSACTION') this.cutUser = this.current.user;
    this.current = { name: 'AUTHORIZATION' };
    if (this.channel.midResponse || line === null) this.channel.destroy(why);
    else this.close(why, line);
  }

  private ended(): void {
    this.signInDeadline.stop();
    const user = this.current.name === 'AUTHORIZATION' ? this.cutUser : this.current.user;
    if (this.channel.endReason === 'connection closed by client' && this.current.name === 'TRANSACTION')
      this.channel.endReason = 'connection lost; no changes applied';
    this.record.ended(
      {
        user: user ? `${user.address.name}@${user.address.domain}` : null,
        mailbox: user?.label ?? null,
        retrieved: this.stats.retrieved,
        retrievedOctets: this.stats.retrievedOctets,
        deleted: this.stats.deleted,
        deletedOctets: this.stats.deletedOctets,
        left: user ? user.maildrop.total - this.stats.deleted : null,
      },
      this.channel.endReason,
    );
    user?.maildrop.view.close();
    this.hooks.ended(this);
  }
}
