// One IMAP session (RFC 9051 section 3): the state (not authenticated, authenticated, selected,
// logout), the loop that reads one whole command at a time (wire/command-reader.ts) and runs it through
// the typed table in commands.ts (which says in which states a verb is allowed), the untagged updates
// sent after each command as the RFC allows, and the one place where errors thrown by handlers become
// tagged NO or BAD answers. Socket work is the shared line channel's (sessions/line-channel.ts); what is
// logged goes through the shared session record.
import type { Readable } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import type { AccountAddress } from '../../accounts/names.js';
import { formatAddress } from '../../accounts/names.js';
import { KICKED, PendingKick } from '../../sessions/kick.js';
import type { Connection } from '../../listeners/connection.js';
import type { Logger } from '../../observability/logger.js';
import { ConnectionClosed } from '../../sessions/connection-closed.js';
import { LineChannel } from '../../sessions/line-channel.js';
import { cleartextAllowed } from '../../sessions/sasl.js';
import { SignInDeadline } from '../../sessions/sign-in-deadline.js';
import type { SessionHooks } from '../../sessions/session-pool.js';
import { capabilities, ENABLEABLE } from './capabilities.js';
import { COMMANDS } from './commands.js';
import type { ImapSettings } from './config.js';
import type { CheckSecret, Command, ImapContext, ImapServices, ImapState } from './context.js';
import { bad, ImapError } from './imap-error.js';
import { holdNonexistentAnswer } from './refusal-timing.js';
import { type SelectedMailbox, SelectedMailboxGone } from './selected.js';
import { SessionRecord } from '../../sessions/session-record.js';
import { unrecognisedCommand } from '../../observability/redaction.js';
import { signIn, TooManyFailures } from './sign-in.js';
import { storeErrorAnswer } from './store-errors.js';
import { literalAt, type Part, type PendingLiteral, readCommand, type ReaderHooks } from './wire/command-reader.js';
import { quoteClient, responseText } from '../../sessions/client-text.js';
import { Cursor } from './wire/cursor.js';

const APPEND_START = /^[^ ]+ APPEND /i;

/**
 * Octets of one literal a client may send before it signs in (LOGIN's password, say). A larger one
 * announced is answered `* BYE` at once and the connection closed, as Dovecot's login process does:
 * a client that has not signed in may not make the server wait for, or skip, a large literal.
 */
export const MAX_LITERAL_BEFORE_SIGN_IN = 8192;

/** Verbs whose arguments are secrets: never logged, never quoted in an error. */
const SECRET_VERBS = new Set(['LOGIN', 'AUTHENTICATE']);

/**
 * How the current command's answer is recorded: as sent; with its tag hidden (a command refused before
 * it was whole: the tag may be the start of anything); or not at all beyond its status (a command whose
 * tag or name did not parse, or whose name is unknown: it may be a password sent out of turn, and the
 * answer may quote it).
 */
type AnswerRecord = 'as-sent' | 'tag-hidden' | 'hidden';

export class ImapSession implements ImapContext {
  private current: ImapState = 'not-authenticated';
  private account: AccountAddress | null = null;
  private mailbox: SelectedMailbox | null = null;
  private readonly channel: LineChannel;
  private readonly record: SessionRecord;
  /** What the record at the session's end counts. */
  private readonly stats = { fetched: 0, fetchedOctets: 0, appended: 0, expunged: 0 };
  private readonly enabledSet = new Set<string>();
  private badRun = 0;
  private failures = 0;
  private lineTakenAt = 0;
  /** imap.loginTimeout, until the client signs in. */
  private readonly signInDeadline: SignInDeadline;
  /** Resolves a waitForChange() when the selected mailbox changes. */
  private changeWaiter: (() => void) | null = null;
  /** True while a command runs (for shutdown and eviction). */
  private working = false;
  private readonly hooksForReader: ReaderHooks;

  constructor(
    readonly conn: Connection,
    readonly services: ImapServices,
    logger: Logger,
    private readonly hooks: SessionHooks<ImapSession>,
  ) {
    this.record = new SessionRecord(logger, conn, 'IMAP', services.metrics, services.trace, ' (IMAP)');
    this.signInDeadline = new SignInDeadline(services.settings.loginTimeoutMs, this, this.record.log, services.metrics.timedOut);
    this.channel = new LineChannel(conn, services.settings, this.record.log, {
      idle: () => this.idleTimeout(),
      lineTooSlow: () => this.lineTooSlow(),
      ended: () => this.ended(),
    });
    this.hooksForReader = {
      continueLiteral: () => {
        this.channel.queue('+ Ready for literal data\r\n');
        void this.channel.flush().catch(() => {});
      },
      streams: (parts) => APPEND_START.test(parts[0].bytes.subarray(0, 64).toString('latin1')) && appendWantsMessage(parts),
    };
  }

  get settings(): ImapSettings {
    return this.services.settings;
  }

  get log(): Logger {
    return this.record.log;
  }

  get state(): ImapState {
    return this.current;
  }

  get enabled(): ReadonlySet<string> {
    return this.enabledSet;
  }

  get rev2(): boolean {
    return this.enabledSet.has('IMAP4REV2');
  }

  get utf8Names(): boolean {
    return this.rev2 || this.enabledSet.has('UTF8=ACCEPT');
  }

  get cleartextAllowed(): boolean {
    return cleartextAllowed(this.conn, this.settings.cleartextAuth);
  }

  /**
   * True while the session only waits for its client (it may be closed to make room). Before sign-in
   * that is any time a read waits for the client, within a command too (a literal being read or
   * skipped): only checking a password is work of the server's own.
   */
  get waitingForClient(): boolean {
    if (this.channel.closed) return false;
    if (!this.working || this.awaitingClient) return true;
    return this.current === 'not-authenticated' && this.channel.input.starved;
  }

  /** True while a command waits for its client's next line (AUTHENTICATE's answer, IDLE's DONE). */
  private awaitingClient = false;

  user(): AccountAddress {
    if (!this.account) throw new Error('not signed in'); // the command table prevents it
    return this.account;
  }

  selected(): SelectedMailbox {
    if (!this.mailbox) throw new Error('no mailbox selected'); // the command table prevents it
    return this.mailbox;
  }

  capabilities(): string {
    return capabilities(this);
  }

  enable(extension: string): boolean {
    const name = extension.toUpperCase();
    if (!ENABLEABLE.has(name) || this.enabledSet.has(name)) return false;
    this.enabledSet.add(name);
    return true;
  }

  start(): void {
    this.record.connected();
    this.channel.attach();
    this.signInDeadline.start();
    this.send(`* OK [CAPABILITY ${this.capabilities()}] ${this.settings.hostname} Postern IMAP4rev2 server ready`);
    void this.run();
  }

  // ---- what handlers use ----------------------------------------------------------------------

  send(line: string): void {
    this.channel.queue(`${line}\r\n`);
    this.record.response(line);
  }

  sendRaw(data: Buffer | string): void {
    this.channel.queue(data);
  }

  async sendStream(source: Readable, convert?: (chunk: Buffer) => Buffer): Promise<void> {
    await this.channel.pipe(source, convert);
  }

  async flush(): Promise<void> {
    await this.channel.flush();
  }

  async continuation(text: string): Promise<string> {
    this.channel.queue(`+ ${text}\r\n`);
    this.record.response(`+ ${text}`);
    await this.channel.flush();
    return this.nextLine();
  }

  async nextLine(): Promise<string> {
    this.channel.waitingForClient = true;
    this.awaitingClient = true;
    const line = await this.channel.input.line(this.settings.maxCommand);
    this.awaitingClient = false;
    this.channel.waitingForClient = false;
    this.lineTakenAt = performance.now();
    if (line.kind === 'closed') throw new ConnectionClosed();
    if (line.kind === 'too-long') throw bad('Line too long');
    this.record.saslLine();
    return line.bytes.toString('utf8');
  }

  /**
   * The current command's streamed literal: 'unread' until the handler reads it, then the octets not
   * read yet, 'done' once the command's last line was read too.
   */
  private literalState: 'unread' | 'done' | number = 'done';
  private get literalLeft(): number {
    return typeof this.literalState === 'number' ? this.literalState : 0;
  }
  private set literalLeft(n: number) {
    this.literalState = n;
  }

  literalData(literal: PendingLiteral): AsyncIterable<Buffer> {
    if (literal.sync) this.hooksForReader.continueLiteral();
    const input = this.channel.input;
    this.literalLeft = literal.size;
    return {
      [Symbol.asyncIterator]: () => ({
        next: async (): Promise<IteratorResult<Buffer>> => {
          if (this.literalLeft <= 0) return { done: true, value: undefined };
          let got: Buffer | null = null;
          // one piece at a time: the store writes it before asking for the next
          await input.bytes(Math.min(this.literalLeft, 64 * 1024), (chunk) => {
            got = got ? Buffer.concat([got, chunk]) : chunk;
          });
          this.literalLeft -= got!.length;
          return { done: false, value: got! };
        },
      }),
    };
  }

  async refuseLiteral(literal: PendingLiteral): Promise<void> {
    const state = this.literalState;
    this.literalState = 'done';
    if (state === 'done') return;
    if (state === 'unread' && literal.sync) return; // the client waits for "+", which it never gets: it sends nothing
    // the rest arrives anyway and must not be read as commands, nor the further {n+} messages of a MULTIAPPEND
    let left: number | null = state === 'unread' ? literal.size : state;
    while (left !== null) {
      if (left > 0) await this.channel.input.bytes(left, () => {});
      const line = await this.channel.input.line(this.settings.maxCommand);
      if (line.kind === 'closed') throw new ConnectionClosed();
      const next = line.kind === 'line' ? literalAt(line.bytes) : null;
      left = next && !next.sync ? next.size : null;
    }
  }

  async continueCommand(): Promise<{ args: Cursor; literal: PendingLiteral | null }> {
    this.literalState = 'done';
    const line = await this.channel.input.line(this.settings.maxCommand);
    if (line.kind === 'closed') throw new ConnectionClosed();
    if (line.kind === 'too-long') throw bad(`Command too long (the limit is ${this.settings.maxCommand} octets)`);
    const next = literalAt(line.bytes);
    if (!next) return { args: new Cursor([{ kind: 'text', bytes: line.bytes }]), literal: null };
    const literal = { size: next.size, sync: next.sync, binary: next.binary };
    this.literalState = 'unread';
    this.streamedLiteral = literal;
    return { args: new Cursor([{ kind: 'text', bytes: line.bytes.subarray(0, next.at) }]), literal };
  }

  /** The literal the current command streams now (APPEND's message; MULTIAPPEND's next one after continueCommand). */
  private streamedLiteral: PendingLiteral | null = null;

  async startTls(): Promise<void> {
    this.send(`${this.currentTag} OK Begin TLS negotiation now`);
    if (await this.channel.startTls('STARTTLS'))
      this.log.info({ protocol: (this.conn.socket as TLSSocket).getProtocol?.() }, 'TLS started');
  }

  get compressed(): boolean {
    return this.channel.compressionCounts !== null;
  }

  // RFC 4978 section 3: the client waits for the answer before it sends anything compressed; octets already
  // here were sent too early (as Dovecot does, the command is refused and they are read as they are).
  startCompression(): void {
    if (this.channel.input.pending) throw bad('The client did not wait for the COMPRESS answer before sending more data');
    this.send(`${this.currentTag} OK DEFLATE active`);
    this.channel.startCompression();
  }

  async signIn(login: string, mechanism: string, check: CheckSecret): Promise<void> {
    const attempt = { services: this.services, log: this.log, conn: this.conn, lineTakenAt: this.lineTakenAt, failures: this.failures };
    let outcome: Awaited<ReturnType<typeof signIn>>;
    try {
      outcome = await signIn(attempt, login, mechanism, check);
    } finally {
      this.failures = attempt.failures;
    }
    if (this.channel.closed) return;
    this.account = outcome.account;
    this.current = 'authenticated';
    this.signInDeadline.stop();
    this.hooks.signedIn(this);
    for (const alert of outcome.alerts) this.send(`* OK [ALERT] ${alert}`);
  }

  select(selected: SelectedMailbox | null): void {
    this.mailbox?.close();
    this.mailbox = selected;
    this.current = selected ? 'selected' : this.account ? 'authenticated' : 'not-authenticated';
  }

  async sendUpdates(expunges: boolean, force = false): Promise<void> {
    const mailbox = this.mailbox;
    if (!mailbox) return;
    let lines: string[];
    try {
      lines = await mailbox.update(expunges, this.currentUid, force);
    } catch (err) {
      // deleted or renamed under the session: BYE, as Dovecot does (the error then goes unanswered)
      if (err instanceof SelectedMailboxGone) this.close('selected mailbox deleted or renamed', `* BYE ${err.message}`);
      throw err;
    }
    for (const line of lines) this.send(line);
  }

  waitForChange(ms: number): Promise<'changed' | 'timeout'> {
    if (this.mailbox?.dirty) return Promise.resolve('changed');
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.changeWaiter = null;
        resolve('timeout');
      }, ms);
      this.changeWaiter = () => {
        clearTimeout(timer);
        this.changeWaiter = null;
        resolve('changed');
      };
    });
  }

  readonly mailboxChanged = () => this.changeWaiter?.();

  logout(): void {
    this.current = 'logout';
  }

  fetched(octets: number): void {
    this.stats.fetched += 1;
    if (octets === 0) return; // (a FETCH of flags and envelopes from memory: 200 a session in the mixed load)
    this.stats.fetchedOctets += octets;
    this.services.metrics.octetsSent.inc(octets);
    this.record.sent(`[${octets} octets of message data]`);
  }

  counted(what: 'appended' | 'expunged', n: number): void {
    this.stats[what] += n;
  }

  // ---- the command loop -------------------------------------------------------------------------

  private currentTag = '*';
  private currentUid = false;

  private async run(): Promise<void> {
    try {
      await this.channel.flush();
      while (!this.channel.closed) {
        this.channel.waitingForClient = true;
        const limits = {
          maxCommand: this.settings.maxCommand,
          maxLiteral: this.current === 'not-authenticated' ? MAX_LITERAL_BEFORE_SIGN_IN : undefined,
        };
        const read = await readCommand(this.channel.input, limits, this.hooksForReader);
        this.channel.waitingForClient = false;
        if (read.kind === 'closed' || this.channel.closed) break;
        this.lineTakenAt = performance.now();
        this.working = true;
        if (read.kind === 'literal-too-large') {
          this.services.metrics.commands.inc('refused');
          this.log.info({ octets: read.size, limit: MAX_LITERAL_BEFORE_SIGN_IN }, 'literal too large before sign-in; closing');
          this.close(
            'literal too large before sign-in',
            `* BYE Literal size too large before signing in (the limit is ${MAX_LITERAL_BEFORE_SIGN_IN} octets); closing connection`,
          );
          break;
        }
        if (read.kind === 'refused') {
          this.services.metrics.commands.inc('refused');
          this.answerRecord = 'tag-hidden';
          this.answerBad(read.tag ?? '*', `[${read.code}] ${read.text}`);
        } else {
          await this.execute(read.parts, read.literal);
        }
        this.working = false;
        if (this.kicked.reason !== null && this.current !== 'logout') {
          this.close(KICKED, `* BYE ${this.kicked.reason}`);
          break;
        }
        if (this.current === 'logout') {
          this.close('logged out');
          break;
        }
        await this.channel.flush();
      }
    } catch (err) {
      if (!(err instanceof ConnectionClosed)) {
        this.log.error({ err }, 'session failed');
        this.close('internal error', '* BYE Internal server error; the server log says more');
      }
    }
  }

  private async execute(parts: Part[], literal: PendingLiteral | null): Promise<void> {
    const args = new Cursor(parts);
    let tag = '*';
    let verb = '';
    this.answerRecord = 'hidden';
    try {
      tag = parseTag(args);
      this.currentTag = tag;
      args.sp();
      verb = args.atom('a command name').toUpperCase();
      if (verb === 'UID') {
        args.sp();
        verb = `UID ${args.atom('a command after UID').toUpperCase()}`;
      }
    } catch (err) {
      if (this.record.recording) this.record.command(recordedCommand(tag, verb, parts, false));
      this.services.metrics.commands.inc('unknown');
      this.literalState = 'unread';
      if (literal) await this.refuseLiteral(literal).catch(() => {});
      this.answerBad(tag, err instanceof ImapError ? err.message : 'Malformed command');
      return;
    }
    const spec = COMMANDS.get(verb);
    if (this.record.recording) this.record.command(recordedCommand(tag, verb, parts, spec !== undefined));
    if (spec) this.answerRecord = 'as-sent';
    args.secret = SECRET_VERBS.has(verb);
    this.services.metrics.commands.inc(spec ? verb : 'unknown');
    const uid = verb.startsWith('UID ');
    this.currentUid = uid;
    this.literalState = literal ? 'unread' : 'done';
    this.streamedLiteral = literal;
    try {
      if (!spec) throw bad(`Unknown command ${quoteClient(verb, 30)}`);
      if (!spec.states.includes(this.current)) throw bad(wrongState(verb, this.current));
      if (literal && !spec.streamsLiteral) throw bad('Unexpected literal');
      const command: Command = { tag, verb, uid, args, literal };
      const text = await spec.handler(this, command);
      if (this.channel.closed) return;
      if (this.mailbox && spec.updates !== 'none') await this.sendUpdates(spec.updates === 'all' || uid, spec.forceSync);
      if (this.current === 'logout') this.answer(tag, 'OK', 'LOGOUT completed');
      else if (text !== null) this.answer(tag, 'OK', text ?? `${verb} completed`);
      this.badRun = 0;
    } catch (err) {
      if (this.streamedLiteral && !(err instanceof ConnectionClosed)) await this.refuseLiteral(this.streamedLiteral).catch(() => {});
      await holdNonexistentAnswer(err, this.lineTakenAt);
      this.fail(tag, err);
    }
  }

  private answerRecord: AnswerRecord = 'as-sent';

  /** The tagged answer to the current command; its text never carries a raw client octet (wire/client-text.ts). */
  private answer(tag: string, status: 'OK' | 'NO' | 'BAD', text: string): void {
    const line = `${tag} ${status} ${responseText(text)}`;
    this.channel.queue(`${line}\r\n`);
    if (this.answerRecord === 'as-sent') this.record.response(line);
    else if (this.answerRecord === 'tag-hidden') this.record.response(`[tag] ${line.slice(tag.length + 1)}`);
    else this.record.response(`[tag] ${status} [answer to an unrecognised command, not logged]`);
  }

  private answerBad(tag: string, text: string): void {
    this.badRun += 1;
    this.answer(tag, 'BAD', text);
    if (this.badRun >= this.settings.maxBadCommands) {
      this.log.info({ count: this.badRun }, 'too many bad commands; closing');
      this.close('too many bad commands', '* BYE Too many bad commands; closing connection');
    }
  }

  /** Renders a handler's error as a tagged NO or BAD; anything unexpected is a NO [SERVERBUG] and logged. */
  private fail(tag: string, err: unknown): void {
    if (err instanceof ConnectionClosed || this.channel.closed) return;
    const answer =
      err instanceof ImapError ? err : storeErrorAnswer(err, this.log, { user: this.account ? formatAddress(this.account) : null });
    if (answer.status === 'BAD') {
      this.answerBad(tag, answer.text);
      return;
    }
    this.badRun = 0;
    this.answer(tag, 'NO', answer.text);
    if (answer instanceof TooManyFailures) this.close('too many failed sign-ins', '* BYE Too many failed sign-ins; closing connection');
  }

  // ---- ending -------------------------------------------------------------------------------

  close(reason: string, finalLine?: string): void {
    if (finalLine) this.record.response(finalLine);
    this.channel.close(reason, finalLine);
  }

  /** True while the connection is open and not signed in (for the sign-in deadline). */
  get notSignedIn(): boolean {
    return !this.channel.closed && this.current === 'not-authenticated';
  }

  closeNotSignedIn(seconds: number): void {
    this.close('sign-in took too long', `* BYE Not signed in within ${seconds} s; closing connection`);
  }

  private lineTooSlow(): void {
    this.log.info({ limitMs: this.settings.commandTimeoutMs }, 'command line not finished in time; closing');
    this.close(
      'command line too slow',
      `* BYE Command line not finished within ${this.settings.commandTimeoutMs / 1000} s; closing connection`,
    );
  }

  evict(): void {
    this.log.info('connection not signed in closed to make room for a new one');
    this.close(
      'closed to make room for new connections',
      '* BYE Too many connections waiting to sign in; closing the oldest, try again later',
    );
  }

  private idleTimeout(): void {
    this.log.info({ state: this.current }, 'idle timeout; closing');
    this.close('idle timeout', '* BYE Idle for too long; closing connection');
  }

  /** Server shutdown, first phase: a session not working on a command is closed now. */
  shutdown(): void {
    if (this.waitingForClient) this.close('server shutdown', '* BYE Server shutting down; reconnect later');
  }

  /** `postern who`: the account signed in. */
  get signedInAccount(): string | null {
    return this.account ? formatAddress(this.account) : null;
  }

  /** A kick waiting for the running command to answer. */
  private readonly kicked = new PendingKick();

  /** `postern kick`: `* BYE` (RFC 9051 section 7.1.5) now when the session waits for its client, else after its command. */
  kick(reason: string): void {
    if (this.channel.closed) return;
    this.log.info({ user: this.signedInAccount }, 'kicked by the administrator');
    if (this.waitingForClient) this.close(KICKED, `* BYE ${reason}`);
    else this.kicked.request(reason, () => !this.channel.closed && this.channel.destroy(KICKED));
  }

  /** Server shutdown, deadline reached. */
  cut(): void {
    if (this.channel.closed) return;
    this.close('server shutdown', '* BYE Server shutting down; reconnect later');
  }

  private ended(): void {
    this.signInDeadline.stop();
    const user = this.account ? formatAddress(this.account) : null;
    const mailbox = this.mailbox ? this.mailbox.target.display : null;
    const compression = this.channel.compressionCounts;
    this.record.ended({ user, mailbox, ...this.stats, ...(compression && { compression }) }, this.channel.endReason);
    this.mailbox?.close();
    this.mailbox = null;
    this.changeWaiter?.();
    this.hooks.ended(this);
  }
}

/**
 * A command as it may be recorded: literals by size only, secrets redacted. One not `recognised` (its
 * tag or name did not parse, or the name is unknown: "UID LOGIN", a SASL answer sent after AUTHENTICATE
 * was refused, a literal's octets after a too-long line) by its size only: it may be anything, a
 * password included.
 */
function recordedCommand(tag: string, verb: string, parts: readonly Part[], recognised: boolean): string {
  if (!recognised) return unrecognisedCommand(parts.reduce((n, p) => n + p.bytes.length, 0));
  if (SECRET_VERBS.has(verb)) return `${tag} ${verb} [redacted]`;
  // control characters shown as \xNN: a bare CR in a line must not rewrite the trace as a terminal shows it
  return parts
    .map((p) =>
      p.kind === 'text'
        ? p.bytes.toString('latin1').replace(/[\x00-\x1f\x7f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`)
        : `{${p.bytes.length}}[literal]`,
    )
    .join('');
}

/** tag = 1*<any ASTRING-CHAR except "+"> (RFC 9051 section 9). */
function parseTag(args: Cursor): string {
  const tag = args.until(' ');
  // 8-bit octets are refused, not re-encoded: the answer's tag would not be the octets the client sent
  if (tag.length === 0 || /[\x00-\x20\x7f-\xff(){%*"\\+]/.test(tag)) args.fail('a tag (letters and digits, then a space)');
  return tag;
}

function wrongState(verb: string, state: ImapState): string {
  if (state === 'not-authenticated') return `${verb} is not allowed before signing in`;
  if (state === 'authenticated') return `${verb} needs a selected mailbox (SELECT or EXAMINE first)`;
  return `${verb} is not allowed now`;
}

/**
 * True when the literal announced after `parts` is APPEND's message (not the mailbox name given as a
 * literal): what comes before it parses as "tag APPEND mailbox [(flags)] [date] ", the mailbox an atom,
 * a quoted string or a literal.
 */
const APPEND_OPTIONS = '(?: \\([^)]*\\))?(?: "[^"]*")? (?:[Uu][Tt][Ff]8 \\()?$';
const APPEND_ONE_LINE = new RegExp(`^[^ ]+ APPEND (?:"(?:[^"\\\\]|\\\\.)*"|[^ ({"]+)${APPEND_OPTIONS}`, 'i');
const APPEND_AFTER_NAME = new RegExp(`^${APPEND_OPTIONS}`);

function appendWantsMessage(parts: readonly Part[]): boolean {
  if (parts.length === 1) return APPEND_ONE_LINE.test(parts[0].bytes.toString('latin1'));
  return (
    parts.length === 3 &&
    parts[1].kind === 'literal' &&
    /^[^ ]+ APPEND $/i.test(parts[0].bytes.toString('latin1')) &&
    APPEND_AFTER_NAME.test(parts[2].bytes.toString('latin1'))
  );
}
