// One ManageSieve session (RFC 5804): the state (not signed in, signed in with the user's scripts), the command
// loop over whole commands (command-reader.ts: lines and literals within the limits), the dispatch through the
// typed table in commands.ts, and the one place where errors thrown by handlers become answers. The socket
// work is the shared line channel's, sign-in the shared one's (sessions/sign-in.ts), logs the session record's.
import { formatAddress } from '../../accounts/names.js';
import { KICKED, PendingKick } from '../../sessions/kick.js';
import type { Connection } from '../../listeners/connection.js';
import type { Logger } from '../../observability/logger.js';
import { unrecognisedCommand } from '../../observability/redaction.js';
import { SIEVE_EXTENSIONS } from '../../sieve/extensions.js';
import { ConnectionClosed } from '../../sessions/connection-closed.js';
import { LineChannel } from '../../sessions/line-channel.js';
import { cleartextAllowed, offeredMechanisms } from '../../sessions/sasl.js';
import type { SessionHooks } from '../../sessions/session-pool.js';
import { SessionRecord } from '../../sessions/session-record.js';
import { SignInDeadline } from '../../sessions/sign-in-deadline.js';
import { checkSignIn } from '../../sessions/sign-in.js';
import { type ReadResult, readCommand } from './command-reader.js';
import { COMMANDS } from './commands.js';
import type { ManageSieveSettings } from './config.js';
import type { CheckSecret, Command, ManageSieveContext, ManageSieveServices, ManageSieveState, SessionStats, SignedIn } from './context.js';
import { commandError, ManageSieveError, no } from './managesieve-error.js';
import { answerLine, type Arg, ParseError, type Part, parseArgs, quoteString } from './wire.js';

// Commands whose arguments are secrets (a SASL initial response) or scripts: recorded by their verb only.
const UNRECORDED_ARGS = new Set(['AUTHENTICATE', 'PUTSCRIPT', 'CHECKSCRIPT']);

export class ManageSieveSession implements ManageSieveContext {
  private user: SignedIn | null = null;
  private readonly channel: LineChannel;
  private readonly record: SessionRecord;
  private badRun = 0;
  private readonly attempt: { failures: number; lineTakenAt: number } = { failures: 0, lineTakenAt: 0 };
  private readonly signInDeadline: SignInDeadline;
  /** The last user signed in (for the end record, after UNAUTHENTICATE). */
  private lastUser: string | null = null;
  private working = false;
  private readonly endlessAfter: number;
  readonly stats: SessionStats = {
    putCount: 0,
    putBytes: 0,
    getCount: 0,
    getBytes: 0,
    checkCount: 0,
    checkBytes: 0,
    deletedCount: 0,
    renamedCount: 0,
  };

  constructor(
    readonly conn: Connection,
    readonly services: ManageSieveServices,
    logger: Logger,
    private readonly hooks: SessionHooks<ManageSieveSession>,
  ) {
    this.record = new SessionRecord(logger, conn, 'MANAGESIEVE', services.metrics, services.trace, ' (ManageSieve)');
    this.endlessAfter = Math.max(64 * 1024, services.settings.maxLineLength * 4);
    this.signInDeadline = new SignInDeadline(services.settings.loginTimeoutMs, this, this.record.log, services.metrics.timedOut);
    this.channel = new LineChannel(conn, services.settings, this.record.log, {
      idle: () => this.idleTimeout(),
      lineTooSlow: () => this.lineTooSlow(),
      ended: () => this.ended(),
    });
  }

  get settings(): ManageSieveSettings {
    return this.services.settings;
  }

  get log(): Logger {
    return this.record.log;
  }

  get state(): ManageSieveState {
    return this.user ? 'AUTH' : 'NONAUTH';
  }

  get cleartextAllowed(): boolean {
    return cleartextAllowed(this.conn, this.settings.cleartextAuth);
  }

  get waitingForClient(): boolean {
    return !this.channel.closed && this.channel.waitingForClient;
  }

  get notSignedIn(): boolean {
    return !this.channel.closed && this.user === null;
  }

  signedIn(): SignedIn {
    if (!this.user) throw new Error('not signed in'); // the command table prevents it
    return this.user;
  }

  start(): void {
    this.record.connected();
    this.channel.attach();
    this.signInDeadline.start();
    this.sendCapabilities();
    this.send('OK "Postern ManageSieve ready."');
    void this.run();
  }

  // ---- what handlers use ----------------------------------------------------------------------

  send(line: string): void {
    this.channel.queue(`${line}\r\n`);
    this.record.response(line);
  }

  sendRaw(data: string | Buffer, description: string): void {
    this.channel.queue(data);
    if (description) this.record.sent(description);
  }

  /** RFC 5804 section 1.7, in Pigeonhole's order; OWNER and UNAUTHENTICATE once signed in. */
  capabilities(): string[] {
    const caps = ['"IMPLEMENTATION" "Postern"', `"SIEVE" ${quoteString(SIEVE_EXTENSIONS.join(' '))}`];
    caps.push(`"MAXREDIRECTS" "${this.settings.maxRedirects}"`);
    if (!this.user) {
      const sasl = offeredMechanisms(this.settings.saslMechanisms, this.cleartextAllowed).map((m) => m.name);
      caps.push(`"SASL" ${quoteString(sasl.join(' '))}`);
      if (this.conn.canStartTls) caps.push('"STARTTLS"');
    }
    caps.push('"VERSION" "1.0"');
    if (this.user) caps.push(`"OWNER" ${quoteString(this.user.user)}`, '"UNAUTHENTICATE"');
    return caps;
  }

  private sendCapabilities(): void {
    for (const line of this.capabilities()) this.send(line);
  }

  async nextSaslResponse(): Promise<string> {
    this.channel.writeQueued();
    this.channel.waitingForClient = true;
    const read = await readCommand(this.channel.input, { ...this.limits(), closeOnLargeLiteral: true }, () => null);
    this.channel.waitingForClient = false;
    this.attempt.lineTakenAt = performance.now();
    this.record.saslLine();
    if (read.kind === 'closed') throw new ConnectionClosed();
    if (read.kind === 'literal-too-large' || read.kind === 'endless')
      throw new ManageSieveError(null, 'Authentication response too large', true, true);
    if (read.kind !== 'command') throw no('Invalid AUTHENTICATE client response.');
    let args: Arg[];
    try {
      args = parseArgs(read.parts);
    } catch (err) {
      if (err instanceof ParseError) throw no(`Error in AUTHENTICATE response string: ${err.message}`);
      throw err;
    }
    if (args.length === 0) throw no('Received empty AUTHENTICATE client response line.');
    if (args.length > 1 || args[0].kind !== 'string') throw no('Invalid AUTHENTICATE client response.');
    return args[0].bytes.toString('utf8');
  }

  // RFC 5804 section 2.2: OK, the handshake (what the client pipelined is dropped), then the capabilities again.
  async startTls(): Promise<void> {
    this.send('OK "Begin TLS negotiation now."');
    if (!(await this.channel.startTls('STARTTLS'))) return;
    this.log.info({ protocol: (this.conn.socket as import('node:tls').TLSSocket).getProtocol?.() }, 'TLS started');
    this.sendCapabilities();
    this.send('OK "TLS negotiation successful."');
  }

  async signIn(login: string, mechanism: string, check: CheckSecret): Promise<void> {
    const attempt = { log: this.log, conn: this.conn, lineTakenAt: this.attempt.lineTakenAt, failures: this.attempt.failures };
    let accepted: Awaited<ReturnType<typeof checkSignIn>>;
    try {
      accepted = await checkSignIn(this.services.signIn, attempt, login, mechanism, check, (last, reason) =>
        reason === 'unavailable'
          ? no('Temporary authentication failure; try again later.', 'TRYLATER')
          : last
            ? new ManageSieveError(null, 'Authentication failed; too many failed attempts, closing connection.', false, true)
            : no('Authentication failed.'),
      );
    } finally {
      this.attempt.failures = attempt.failures;
    }
    const account = accepted.routed.account;
    const user = formatAddress(account);
    const scripts = this.services.store.sieveScripts(account);
    if (this.channel.closed) return;
    this.user = { address: account, user, scripts };
    this.lastUser = user;
    this.signInDeadline.stop();
    this.hooks.signedIn(this);
    this.log.info({ user, mechanism }, 'signed in');
  }

  signOut(): void {
    this.log.info({ user: this.user?.user }, 'signed out (UNAUTHENTICATE)');
    this.user = null; // the failed attempts so far still count toward maxAuthAttempts
    this.hooks.signedOut(this);
    this.signInDeadline.start();
  }

  close(reason: string, finalLine?: string): void {
    if (finalLine) this.record.response(finalLine);
    this.channel.close(reason, finalLine);
  }

  // ---- dispatch -----------------------------------------------------------------------------

  private limits(): { maxCommand: number; endlessAfter: number } {
    return { maxCommand: this.settings.maxLineLength, endlessAfter: this.endlessAfter };
  }

  /** Where the script literal of a command is: bounded by sieve.maxScriptSize (signed in only). */
  private readonly scriptBound = (parts: readonly Part[]): number | null => {
    if (!this.user) return null;
    let args: Arg[];
    try {
      args = parseArgs(parts);
    } catch {
      return null;
    }
    const verb = args[0]?.kind === 'atom' ? args[0].text.toUpperCase() : '';
    const spec = COMMANDS.get(verb);
    return spec?.scriptArg !== undefined && spec.scriptArg === args.length - 1 ? this.settings.maxScriptSize : null;
  };

  /** Reads commands and answers them in order; answers stay queued while the next command is already there. */
  private async run(): Promise<void> {
    try {
      while (!this.channel.closed) {
        if (!this.channel.input.hasLine) this.channel.writeQueued();
        this.channel.waitingForClient = true;
        const read = await readCommand(this.channel.input, { ...this.limits(), closeOnLargeLiteral: this.user === null }, this.scriptBound);
        this.channel.waitingForClient = false;
        if (read.kind === 'closed' || this.channel.closed) break;
        this.working = true;
        this.attempt.lineTakenAt = performance.now();
        await this.execute(read);
        this.working = false;
        if (this.kicked.reason !== null) this.close(KICKED, answerLine('BYE', null, this.kicked.reason));
        await this.channel.limitUnread();
      }
    } catch (err) {
      if (!(err instanceof ConnectionClosed)) {
        this.log.error({ err }, 'session failed');
        this.close('internal error', answerLine('BYE', 'TRYLATER', 'Internal error occurred. Refer to server log for more information.'));
      }
    }
    this.working = false;
    this.channel.writeQueued();
  }

  private async execute(read: Exclude<ReadResult, { kind: 'closed' }>): Promise<void> {
    if (read.kind === 'endless') {
      this.log.info('endless command line; closing');
      this.close('endless command line', answerLine('BYE', null, 'MANAGESIEVE command line too large'));
      return;
    }
    if (read.kind === 'literal-too-large') {
      this.log.info('literal too large before signing in; closing');
      this.close('literal too large', answerLine('BYE', null, 'Literal size too large'));
      return;
    }
    if (read.kind === 'refused') {
      this.services.metrics.commands.inc(COMMANDS.has(read.verb) ? read.verb : 'unknown');
      this.fail(commandError(COMMANDS.has(read.verb) ? read.verb : '', read.text));
      return;
    }
    // the verb as the client wrote it, for the answer to a command whose arguments do not parse
    const first = read.parts[0]?.kind === 'text' ? read.parts[0].bytes.toString('latin1') : '';
    let verb = /^[A-Za-z]+(?= |$)/.exec(first)?.[0].toUpperCase() ?? '';
    try {
      const args = parseArgs(read.parts);
      verb = args[0]?.kind === 'atom' ? args[0].text.toUpperCase() : '';
      const spec = COMMANDS.get(verb);
      if (this.record.recording) this.record.command(this.recorded(verb, read.parts, spec !== undefined));
      this.services.metrics.commands.inc(spec ? verb : 'unknown');
      if (!spec) throw commandError(verb, 'Unknown command.');
      if (!spec.states.includes(this.state)) throw commandError(verb, this.user ? 'Not allowed after signing in.' : 'Authenticate first.');
      if (read.kind === 'script-too-large') {
        this.services.metrics.scripts.inc({ command: verb, result: 'quota' });
        throw no(`Script is too large (max ${this.settings.maxScriptSize} bytes).`, 'QUOTA/MAXSIZE');
      }
      const command: Command = { verb, args: args.slice(1) };
      await spec.handler(this, command);
      this.badRun = 0;
    } catch (err) {
      if (err instanceof ParseError) this.fail(commandError(verb, err.message));
      else this.fail(err);
    }
  }

  /** A command as it may be recorded: an unknown one by its size, secrets and scripts by the verb only. */
  private recorded(verb: string, parts: readonly Part[], known: boolean): string {
    const octets = parts.reduce((n, p) => n + p.bytes.length, 0);
    if (!known) return unrecognisedCommand(octets);
    if (UNRECORDED_ARGS.has(verb)) return `${verb} [${octets} octets not logged]`;
    return parts.map((p) => (p.kind === 'text' ? p.bytes.toString('utf8') : `{${p.bytes.length}}`)).join(' ');
  }

  /** Renders a handler's error as one NO (or BYE) line; anything unexpected closes the connection. */
  private fail(err: unknown): void {
    if (err instanceof ConnectionClosed || this.channel.closed) return;
    if (err instanceof ManageSieveError) {
      if (err.bad) this.badRun += 1;
      if (err.bad && this.badRun >= this.settings.maxBadCommands) {
        this.log.info({ count: this.badRun }, 'too many bad commands; closing');
        this.send(err.line);
        this.close('too many bad commands', answerLine('BYE', null, 'Too many invalid MANAGESIEVE commands.'));
      } else if (err.close) {
        this.close(err.message, err.line);
      } else {
        this.send(err.line);
      }
      return;
    }
    this.log.error({ err }, 'command failed');
    this.close('internal error', answerLine('BYE', 'TRYLATER', 'Internal error occurred. Refer to server log for more information.'));
  }

  // ---- ending -------------------------------------------------------------------------------

  closeNotSignedIn(seconds: number): void {
    this.close('sign-in took too long', answerLine('BYE', null, `Not signed in within ${seconds} s; closing connection.`));
  }

  evict(): void {
    this.log.info('connection not signed in closed to make room for a new one');
    this.close('closed to make room for new connections', answerLine('BYE', 'TRYLATER', 'Too many connections waiting to sign in.'));
  }

  private lineTooSlow(): void {
    this.log.info({ limitMs: this.settings.commandTimeoutMs }, 'command line not finished in time; closing');
    this.close('command line too slow', answerLine('BYE', null, 'Command not finished in time; closing connection.'));
  }

  private idleTimeout(): void {
    this.log.info({ state: this.state }, 'idle timeout; closing');
    this.close('idle timeout', answerLine('BYE', null, 'Disconnected for inactivity.'));
  }

  shutdown(): void {
    if (!this.working) this.close('server shutdown', answerLine('BYE', 'TRYLATER', 'Server shutting down.'));
  }

  /** `postern who`: the account signed in. */
  get signedInAccount(): string | null {
    return this.user?.user ?? null;
  }

  /** A kick waiting for the running command to answer. */
  private readonly kicked = new PendingKick();

  /** `postern kick`: BYE (RFC 5804 section 1.3) now when the session waits for its client, else after its command. */
  kick(reason: string): void {
    if (this.channel.closed) return;
    this.log.info({ user: this.signedInAccount }, 'kicked by the administrator');
    if (!this.working) this.close(KICKED, answerLine('BYE', null, reason));
    else this.kicked.request(reason, () => !this.channel.closed && this.channel.destroy(KICKED));
  }

  cut(): void {
    if (this.channel.closed) return;
    this.close('server shutdown', answerLine('BYE', 'TRYLATER', 'Server shutting down.'));
  }

  private ended(): void {
    this.signInDeadline.stop();
    this.record.ended({ user: this.user?.user ?? this.lastUser, ...this.stats }, this.channel.endReason);
    this.hooks.ended(this);
  }
}
