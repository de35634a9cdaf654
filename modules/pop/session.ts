// One POP3 session: reads command lines, answers them strictly in order (PIPELINING, RFC 2449
// section 6.6), and streams messages with backpressure. Commands are looked up in the typed table in
// commands.ts, which says in which states each verb is allowed; errors thrown by handlers are
// rendered here, in one place.
import type { Socket } from 'node:net';
import type { AccountStore, SignInResult } from '../../accounts/account-store.js';
import { type LoginName, parseLoginName } from '../../accounts/login-name.js';
import { MailboxUnavailable, openForUser } from '../../accounts/mailbox-access.js';
import { type MailStore, UnsafeMailboxError } from '../../accounts/mail-store.js';
import { type AccountAddress, formatAddress, NameError } from '../../accounts/names.js';
import type { Routed, Router } from '../../accounts/router.js';
import type { Connection } from '../../listeners/connection.js';
import type { Logger } from '../kernel/logger.js';
import { AuthThrottle } from './auth-throttle.js';
import { BulletinDeliveryError, type Bulletins } from '../../submission/bulletins.js';
import type { Submitter } from '../../submission/submitter.js';
import type { Metrics } from '../kernel/metrics.js';
import type { TraceLog } from '../kernel/trace.js';
import { COMMANDS, type PopState } from './commands.js';
import { DotReader } from './dot-reader.js';
import { type LineEvent, LineReader } from './line-reader.js';
import { Maildrop } from './maildrop.js';
import { MessageEncoder } from './message-encoder.js';
import { badCommand, PopError } from './pop-error.js';
import type { MechanismName } from './sasl.js';

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
}

/** What a login name resolved to before the password is checked. */
export interface LoginTarget {
  name: LoginName;
  routed: Routed;
}

export interface PopServices {
  readonly accounts: AccountStore;
  readonly store: MailStore;
  readonly router: Router;
  readonly submitter: Submitter;
  readonly bulletins: Bulletins | null;
  readonly metrics: Metrics;
  readonly trace: TraceLog;
  readonly settings: PopSettings;
  readonly throttle: AuthThrottle;
}

/** What the statistics record at the end of a session counts. */
export interface SessionStats {
  retrieved: number;
  retrievedOctets: number;
  deleted: number;
  deletedOctets: number;
}

/**
 * Resolves at `deadline` (a performance.now() time), to a few microseconds: a timer to just before it,
 * then turns of the event loop. A timer alone fires on a millisecond grid measured from when it was set,
 * which would let the work done before it (reading an account record, or not) show in the answer time.
 */
function until(deadline: number): Promise<void> {
  return new Promise((resolve) => {
    const poll = () => (performance.now() >= deadline ? resolve() : setImmediate(poll));
    const early = deadline - performance.now() - 2;
    if (early > 0) setTimeout(poll, early);
    else poll();
  });
}

/** What the module learns of a session's life: sign-in (it then counts against other limits) and end. */
export interface SessionHooks {
  signedIn(session: PopSession): void;
  ended(session: PopSession): void;
}

/** The connection went away while we were writing; the command is abandoned. */
class ConnectionClosed extends Error {}

// Commands read ahead of the one being answered; past this the socket is paused (bounded memory).
const MAX_QUEUED = 64;
// Answers the client has not read yet; past this no further command runs until it reads them.
const MAX_UNREAD_OUTPUT = 256 * 1024;
// Messages up to this size are read whole and sent in one write; larger ones are streamed.
const SMALL_MESSAGE = 256 * 1024;
const EMPTY = Buffer.alloc(0);
// sendMessage()'s output buffers: a power of two, at least this size, and the last one free for reuse.
const MIN_OUTPUT_BUFFER = 16 * 1024;
let spare: Buffer | null = null;
// Commands whose arguments are secrets or digests, never logged.
const SECRET_ARGS = new Set(['PASS', 'APOP', 'AUTH']);

export class PopSession {
  state: PopState = 'AUTHORIZATION';
  /** The name from USER, waiting for PASS. */
  pendingUser: string | null = null;
  /** The signed-in account and its open maildrop, in TRANSACTION. */
  address: AccountAddress | null = null;
  maildrop: Maildrop | null = null;
  /** The open mailbox as "owner/mailbox", for logs. */
  mailboxLabel: string | null = null;
  /** The open mailbox's owner and name (for QUIT's move actions). */
  opened: { owner: AccountAddress; mailbox: string } | null = null;
  /** RFC 4314 rights on the open mailbox: "t" to delete, "s" for RETR to set Seen. */
  rights = '';
  readonly stats: SessionStats = { retrieved: 0, retrievedOctets: 0, deleted: 0, deletedOctets: 0 };
  readonly log: Logger;
  /** The RFC 1939 APOP timestamp in the greeting, unique per connection. */
  readonly greetingStamp: string;

  private readonly reader: LineReader;
  private readonly queue: LineEvent[] = [];
  /** A handler waiting for the client's next line (a SASL response). */
  private lineWaiter: ((event: LineEvent) => void) | null = null;
  private busy = false;
  private out = '';
  private closed = false;
  /** True while a multi-line answer is partly sent: an error then can only close the connection. */
  private midResponse = false;
  private badRun = 0;
  /** Flag changes still running (RETR's Seen); QUIT waits for them before UPDATE. */
  private readonly background = new Set<Promise<void>>();
  private authFailures = 0;
  private endReason = 'connection closed by client';
  private readonly startedAt = Date.now();
  /** Running until the client signs in (pop.loginTimeout). */
  private loginTimer: NodeJS.Timeout | null = null;
  /** Running while a command line has begun and not ended (pop.commandTimeout). */
  private lineTimer: NodeJS.Timeout | null = null;
  /** When the client line being answered was taken up (performance.now()); a failed sign-in is timed from it. */
  private lineTakenAt = 0;

  constructor(
    readonly conn: Connection,
    readonly services: PopServices,
    logger: Logger,
    private readonly hooks: SessionHooks,
  ) {
    this.log = logger.child({ tag: 'POP', cid: conn.id, peer: conn.peer, listener: conn.listener });
    this.greetingStamp = `<${process.pid}.${conn.id}.${Date.now()}@${services.settings.hostname}>`;
    this.reader = new LineReader(services.settings.maxLineLength, (event) => this.enqueue(event));
  }

  /** The current socket: the TLS one after STLS. */
  private get socket(): Socket {
    return this.conn.socket;
  }

  /** True when passwords may cross this connection (TLS, or what pop.cleartextAuth allows). */
  get cleartextAllowed(): boolean {
    const policy = this.settings.cleartextAuth;
    return this.conn.secure || policy === 'always' || (policy === 'loopback' && this.conn.loopback);
  }

  get settings(): PopSettings {
    return this.services.settings;
  }

  start(): void {
    this.log.info({ secure: this.conn.secure }, 'connected');
    this.services.metrics.sessionsOpen.inc();
    if (this.services.trace.enabled) this.services.trace.line(this.conn.id, '-', `connected from ${this.conn.peer} on ${this.conn.listener}`);
    this.attach();
    this.loginTimer = setTimeout(() => this.loginTimedOut(), this.settings.loginTimeoutMs);
    this.send(`+OK ${this.settings.hostname} Postern POP3 server ready ${this.greetingStamp}`);
    this.flush();
  }

  /**
   * True while the session only waits for its client (nothing of the server's own is running): such a
   * connection not signed in may be closed to make room for a new one (see PopModule.accept).
   */
  get waitingForClient(): boolean {
    return !this.closed && (!this.busy || this.lineWaiter !== null);
  }

  private readonly onData = (chunk: Buffer) => {
    this.reader.push(chunk);
    // Each octet restarts the idle timer, so a line must also be finished in time: a client sending one
    // byte every few seconds would otherwise hold its connection (and a channel) for ever.
    if (this.reader.midLine) this.lineTimer ??= setTimeout(() => this.lineTimedOut(), this.settings.commandTimeoutMs);
    else this.clearLineTimer();
  };

  private clearLineTimer(): void {
    if (this.lineTimer) clearTimeout(this.lineTimer);
    this.lineTimer = null;
  }

  private lineTimedOut(): void {
    this.lineTimer = null;
    if (this.closed || !this.reader.midLine) return;
    // Only a line the client is slow to send counts: not one waiting while the server works or the
    // socket is paused behind answers the client has not read.
    if (!this.waitingForClient || this.socket.isPaused()) {
      this.lineTimer = setTimeout(() => this.lineTimedOut(), 1000);
      return;
    }
    this.log.info({ state: this.state, limitMs: this.settings.commandTimeoutMs }, 'command line not finished in time; closing');
    this.services.metrics.timedOut.inc({ what: 'command line' });
    this.close('command line too slow', `-ERR Command line not finished within ${this.settings.commandTimeoutMs / 1000} s; closing connection`);
  }

  private loginTimedOut(): void {
    this.loginTimer = null;
    if (this.closed || this.state !== 'AUTHORIZATION') return;
    if (!this.waitingForClient) {
      this.loginTimer = setTimeout(() => this.loginTimedOut(), 1000); // a sign-in being checked finishes first
      return;
    }
    this.log.info({ limitMs: this.settings.loginTimeoutMs }, 'not signed in in time; closing');
    this.services.metrics.timedOut.inc({ what: 'sign-in' });
    this.close('sign-in took too long', `-ERR [SYS/TEMP] Not signed in within ${this.settings.loginTimeoutMs / 1000} s; closing connection`);
  }

  /** Closes a connection not signed in to make room for a new one (the oldest go first, as in Dovecot). */
  evict(): void {
    this.log.info('connection not signed in closed to make room for a new one');
    this.close('closed to make room for new connections', '-ERR [SYS/TEMP] Too many connections waiting to sign in; closing the oldest, try again later');
  }
  private readonly onTimeout = () => this.idleTimeout();
  private readonly onClose = () => this.ended();
  private readonly onError = (err: Error) => this.log.debug({ err: err.message }, 'socket error');

  private attach(): void {
    this.socket.setTimeout(this.settings.idleTimeoutMs);
    this.socket.on('data', this.onData);
    this.socket.on('timeout', this.onTimeout);
    this.socket.on('close', this.onClose);
    this.socket.on('error', this.onError);
  }

  private detach(): void {
    this.socket.setTimeout(0);
    this.socket.off('data', this.onData);
    this.socket.off('timeout', this.onTimeout);
    this.socket.off('close', this.onClose);
    this.socket.off('error', this.onError);
  }

  /**
   * STLS (RFC 2595 section 4): answers +OK, forgets every line the client sent after STLS (they were
   * sent in the clear and must never run), runs the handshake, and starts AUTHORIZATION afresh.
   */
  async startTls(): Promise<void> {
    this.queue.length = 0;
    this.reader.reset();
    this.pendingUser = null;
    this.send('+OK Begin TLS negotiation');
    this.flush();
    this.detach();
    try {
      await this.conn.startTls();
    } catch (err) {
      this.log.info({ err: (err as Error).message }, 'STLS handshake failed');
      this.endReason = 'TLS handshake failed';
      this.ended();
      return;
    }
    // Whatever arrived in the clear before the handshake is gone for good (the reader stops mid-chunk
    // on reset; this also drops anything queued while the handshake ran).
    this.queue.length = 0;
    this.reader.reset();
    this.attach();
    this.log.info({ protocol: (this.socket as import('node:tls').TLSSocket).getProtocol?.() }, 'TLS started');
  }

  // ---- output -------------------------------------------------------------------------------

  /** Queues one response line; lines go out together when the session has nothing more to do. */
  send(line: string): void {
    this.out += `${line}\r\n`;
    this.loggedResponse(line);
  }

  /** The protocol log and trace record of a response line. */
  private loggedResponse(line: string): void {
    if (this.protocolLog) this.log.protocol({ response: line.slice(0, 200) }, 'response');
    if (this.services.trace.enabled) this.services.trace.line(this.conn.id, 'S', line);
  }

  /** Queues a multi-line response body (lines already ending in CRLF) and its terminating ".". */
  sendBody(text: string): void {
    this.out += `${text}.\r\n`;
    if (this.services.trace.enabled) this.services.trace.line(this.conn.id, 'S', `[${text.length} octets of listing]`);
  }

  /** True when the log level records every command and response. */
  private get protocolLog(): boolean {
    return this.log.isLevelEnabled('protocol');
  }

  /** Records a client line in the trace, with secrets replaced. */
  private traceCommand(verb: string, line: string): void {
    if (this.services.trace.enabled) this.services.trace.line(this.conn.id, 'C', SECRET_ARGS.has(verb) ? `${verb} [redacted]` : line);
  }

  private flush(): void {
    if (this.out.length === 0 || this.closed) return;
    const data = this.out;
    this.out = '';
    this.socket.write(data);
  }

  /** Writes bytes now, after any queued lines in the same write, waiting while the client is slow to read. */
  private async write(data: Buffer): Promise<void> {
    if (this.closed) throw new ConnectionClosed();
    const pending = this.out;
    this.out = '';
    if (!this.socket.write(pending ? Buffer.concat([Buffer.from(pending), data]) : data)) await this.drained();
  }

  /**
   * Waits until the client has read what was written. A client that stops reading is given 2, 4, 8,
   * 16 and 32 seconds (pop.blockedOutputWait doubling; OpenVMS 15.1.3), then dropped and logged.
   */
  private async drained(): Promise<void> {
    const socket = this.socket;
    let wait = this.settings.blockedOutputWaitMs;
    for (let attempt = 1; attempt <= 5; attempt++, wait *= 2) {
      const outcome = await new Promise<'drain' | 'close' | 'blocked'>((resolve) => {
        const done = (what: 'drain' | 'close' | 'blocked') => {
          clearTimeout(timer);
          socket.off('drain', onDrain);
          socket.off('close', onClose);
          resolve(what);
        };
        const onDrain = () => done('drain');
        const onClose = () => done('close');
        const timer = setTimeout(() => done('blocked'), wait);
        socket.on('drain', onDrain);
        socket.on('close', onClose);
      });
      if (outcome === 'drain') return;
      if (outcome === 'close') throw new ConnectionClosed();
      this.log.debug({ attempt, waitedMs: wait }, 'output blocked; client is not reading');
    }
    this.log.info({ pending: socket.writableLength }, 'client stopped reading; connection dropped');
    this.endReason = 'client stopped reading';
    this.closed = true;
    socket.destroy();
    throw new ConnectionClosed();
  }

  /**
   * Sends message `index` as a RETR (bodyLines undefined) or TOP answer through the CRLF and dot-stuffing
   * encoder. Most mail is small: such a message is read whole and goes out with its status line and "."
   * in one write, without waiting on the event loop (undefined: all handed to the socket; a promise: the
   * client is slow to read). A large message, or one another session renamed, is streamed with
   * backpressure. The promise resolves once the last octet was handed to the socket.
   */
  sendMessage(index: number, firstLine: string, bodyLines?: number): Promise<void> | undefined {
    if (this.closed) return Promise.reject(new ConnectionClosed());
    const maildrop = this.maildrop!;
    const whole = maildrop.snapshot.size(index) <= SMALL_MESSAGE ? maildrop.snapshot.readNow(index) : null;
    if (!whole) return this.streamMessage(index, firstLine, bodyLines);
    const encoder = new MessageEncoder(bodyLines);
    const data = encoder.encode(whole);
    const end = encoder.finish();
    // Queued lines, the status line, OpenVMS identification headers (Maildrop.size() counts them).
    const head = `${this.out}${firstLine}\r\n${maildrop.idHeader ? maildrop.idHeader(index) : ''}`;
    this.out = '';
    const total = Buffer.byteLength(head) + data.length + end.length;
    // The reusable buffer (larger than needed) is only used where the write will most likely go through
    // at once: a clear connection with nothing queued. TLS never writes through (it encrypts later), and a
    // client that is behind would keep the buffer queued: those get one of exactly the right size.
    const reusable = !this.conn.secure && this.socket.writableLength === 0;
    let buffer: Buffer;
    if (reusable && spare && spare.length >= total) {
      buffer = spare;
      spare = null;
    } else {
      buffer = Buffer.allocUnsafeSlow(reusable ? Math.max(2 ** Math.ceil(Math.log2(total)), MIN_OUTPUT_BUFFER) : total);
    }
    let at = buffer.write(head);
    at += data.copy(buffer, at);
    end.copy(buffer, at);
    const drained = this.socket.write(buffer.subarray(0, total));
    // Written through at once (the socket keeps no reference): the buffer serves the next message, of
    // any session.
    if (reusable && this.socket.writableLength === 0) spare = buffer;
    this.loggedResponse(firstLine);
    this.sent(index, data.length);
    return drained ? undefined : this.drained();
  }

  /** sendMessage for a message read in chunks: large, or found again after a rename. */
  private async streamMessage(index: number, firstLine: string, bodyLines?: number): Promise<void> {
    const maildrop = this.maildrop!;
    const stream = await maildrop.snapshot.open(index);
    const idHeader = maildrop.idHeader ? Buffer.from(maildrop.idHeader(index)) : EMPTY;
    const encoder = new MessageEncoder(bodyLines);
    this.send(firstLine);
    this.midResponse = true;
    let sent = 0;
    try {
      if (idHeader.length > 0) await this.write(idHeader);
      for await (const chunk of stream) {
        const data = encoder.encode(chunk as Buffer);
        sent += data.length;
        if (data.length > 0) await this.write(data);
        if (encoder.done) break;
      }
      await this.write(encoder.finish());
    } finally {
      stream.destroy();
      this.sent(index, sent);
    }
    this.midResponse = false;
  }

  /** Counts message octets sent and traces them. */
  private sent(index: number, octets: number): void {
    this.services.metrics.octetsSent.inc(octets);
    if (this.services.trace.enabled) this.services.trace.line(this.conn.id, 'S', `[message ${index + 1}: ${octets} octets]`);
  }

  /** Lets `task` finish on its own; settled() waits for every such task. */
  inBackground(task: Promise<void>): void {
    this.background.add(task);
    void task.finally(() => this.background.delete(task));
  }

  async settled(): Promise<void> {
    await Promise.all(this.background);
  }

  // ---- input and dispatch -------------------------------------------------------------------

  private enqueue(event: LineEvent): void {
    if (this.closed) return;
    if (this.lineWaiter) {
      const waiter = this.lineWaiter;
      this.lineWaiter = null;
      waiter(event);
      return;
    }
    this.queue.push(event);
    if (this.queue.length >= MAX_QUEUED || event.kind === 'flood') this.socket.pause();
    if (!this.busy) void this.run();
  }

  private async run(): Promise<void> {
    this.busy = true;
    while (this.queue.length > 0 && !this.closed) {
      const event = this.queue.shift()!;
      if (event.kind === 'flood') {
        this.log.info('endless command line; closing');
        this.close('endless command line', '-ERR Command line too long; closing connection');
        break;
      }
      if (event.kind === 'too-long') {
        this.fail(badCommand(`Command line too long (the limit is ${this.settings.maxLineLength} octets)`));
      } else {
        const running = this.execute(event.text);
        if (running) await running;
      }
      // A client that sends commands without reading the answers must not make us buffer them all.
      if (this.out.length + this.socket.writableLength > MAX_UNREAD_OUTPUT && !this.closed) {
        this.flush();
        try {
          await this.drained();
        } catch {
          break; // the connection went away
        }
      }
    }
    this.busy = false;
    this.flush();
    if (!this.closed && this.socket.isPaused()) this.socket.resume();
  }

  /**
   * The client's next line, for a command that talks back and forth (AUTH). An over-long line is
   * answered by the caller's error; a flood closes the connection.
   */
  async nextLine(): Promise<string> {
    this.flush();
    if (this.queue.length === 0 && this.socket.isPaused()) this.socket.resume();
    const event = this.queue.length > 0 ? this.queue.shift()! : await new Promise<LineEvent>((resolve) => (this.lineWaiter = resolve));
    this.lineTakenAt = performance.now();
    if (event.kind === 'line') {
      if (this.services.trace.enabled) this.services.trace.line(this.conn.id, 'C', '[SASL response redacted]');
      return event.text;
    }
    if (event.kind === 'too-long') throw badCommand('Line too long');
    this.close('endless command line', '-ERR Command line too long; closing connection');
    throw new ConnectionClosed();
  }

  /**
   * Reads a dot-stuffed message up to its "." line (XTND XMIT), keeping at most `max` octets. Lines the
   * client sent before the +OK (it should have waited) are part of the message.
   */
  async readMessage(max: number): Promise<DotReader> {
    this.flush();
    const dot = new DotReader(max);
    while (this.queue.length > 0) {
      const event = this.queue.shift()!;
      // A line too long for a command was not kept: the message would be incomplete.
      if (event.kind !== 'line') dot.broken = true;
      else if (dot.push(event.raw) !== null) return dot;
    }
    await new Promise<void>((resolve, reject) => {
      const onClose = () => reject(new ConnectionClosed());
      this.socket.once('close', onClose);
      this.reader.readRaw((chunk) => {
        const rest = dot.push(chunk);
        if (rest === null) return null;
        this.socket.off('close', onClose);
        resolve();
        return rest;
      });
      if (this.socket.isPaused()) this.socket.resume();
    });
    return dot;
  }

  /** Runs one command line. Most commands finish at once (undefined); the rest return their promise. */
  private execute(line: string): Promise<void> | undefined {
    let result: Promise<void> | void;
    this.lineTakenAt = performance.now();
    try {
      const space = line.indexOf(' ');
      const verb = (space < 0 ? line : line.slice(0, space)).toUpperCase();
      const rest = space < 0 ? '' : line.slice(space + 1);
      if (this.protocolLog) this.log.protocol({ command: SECRET_ARGS.has(verb) ? `${verb} [redacted]` : line.slice(0, 200) }, 'command');
      this.traceCommand(verb, line);
      const command = COMMANDS.get(verb);
      this.services.metrics.countCommand(command ? verb : 'unknown');
      if (!command) throw badCommand(`Unknown command "${verb.slice(0, 20)}"`);
      if (!command.states.includes(this.state)) throw badCommand(`${verb} is not allowed ${this.state === 'AUTHORIZATION' ? 'before signing in' : 'after signing in'}`);
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
    this.flush();
    return result.then(
      () => {
        this.badRun = 0;
      },
      (err: unknown) => this.fail(err),
    );
  }

  /** Renders a handler's error as one -ERR line; anything unexpected closes the connection. */
  private fail(err: unknown): void {
    if (err instanceof ConnectionClosed || this.closed) return;
    if (err instanceof PopError && !this.midResponse) {
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
    if (this.midResponse) this.close('error while sending a message');
    else this.close('internal error', '-ERR [SYS/TEMP] Internal server error; closing connection');
  }

  // ---- sign-in ------------------------------------------------------------------------------

  /**
   * What a login name ([[~OWNER/]MAILBOX#]ADDRESS) signs in as: ADDRESS routed to its account. Null
   * when it names no account; the caller still spends the time of a password check.
   */
  async resolveLogin(login: string): Promise<LoginTarget | null> {
    const name = parseLoginName(login);
    if (!name) return null;
    try {
      const routed = await this.services.router.route(name.address);
      return routed ? { name, routed } : null;
    } catch (err) {
      if (err instanceof NameError) return null;
      throw err;
    }
  }

  /**
   * Finishes a sign-in attempt: on success opens the maildrop and enters TRANSACTION; on failure
   * answers the same -ERR [AUTH] whatever the reason (the log says which) and closes the connection
   * after maxAuthAttempts failures.
   */
  async completeSignIn(login: string, target: LoginTarget | null, result: SignInResult, mechanism: string): Promise<void> {
    this.services.metrics.signIns.inc({ result: result.ok ? 'ok' : result.reason, mechanism });
    if (!result.ok) {
      this.authFailures += 1;
      const delay = this.services.throttle.failed(this.conn.remoteAddress);
      this.log.info({ user: login.slice(0, 100), mechanism, reason: result.reason, attempt: this.authFailures, delayMs: delay }, 'sign-in refused');
      // Every failure is answered at the same moment after the client's line, whatever work its reason
      // took (an unknown name reads no account record, a wrong APOP digest costs no scrypt), plus the
      // growing delay for repeated failures.
      await until(this.lineTakenAt + this.settings.authFailureTimeMs + delay);
      if (this.authFailures >= this.settings.maxAuthAttempts) {
        throw new PopError('AUTH', 'Authentication failed; too many attempts, closing connection', false, true);
      }
      throw new PopError('AUTH', 'Authentication failed');
    }
    const account = target!.routed.account;
    // CommuniGate alerts: a correct sign-in with alerts pending is answered with the next one instead.
    const alert = result.account.alerts.length > 0 ? await this.services.accounts.takeAlert(account) : null;
    if (alert !== null) {
      this.log.info({ user: formatAddress(account), mechanism }, 'alert shown instead of signing in');
      throw new PopError(null, alert.replace(/[\r\n]+/g, ' '));
    }
    const { accounts, store, settings, bulletins } = this.services;
    if (bulletins) {
      // A bulletin that cannot be stored (a full disk) does not keep anyone from their mail: it is
      // delivered at a later sign-in.
      const n = await bulletins.deliverNew(result.account).catch((err: unknown) => {
        const delivered = err instanceof BulletinDeliveryError ? err.delivered : 0;
        this.log.error({ user: formatAddress(account), delivered, err: err instanceof BulletinDeliveryError ? err.cause : err }, 'cannot deliver bulletins now; they follow at a later sign-in');
        return delivered;
      });
      if (n > 0) {
        this.services.metrics.deliveries.inc({ source: 'bulletin' }, n);
        this.log.info({ user: formatAddress(account), bulletins: n }, 'bulletins delivered');
      }
    }
    let opened;
    try {
      opened = await openForUser(accounts, store, target!.name, target!.routed, {
        realToHeader: settings.realToHeader,
        hideTrashed: settings.deleteAction.kind === 'flag',
        limit: settings.messageMaximum,
      });
    } catch (err) {
      if (err instanceof MailboxUnavailable) {
        this.log.info({ user: formatAddress(account), login: login.slice(0, 200) }, 'mailbox unavailable');
        throw new PopError('SYS/PERM', err.message);
      }
      if (err instanceof UnsafeMailboxError) {
        this.log.error({ user: formatAddress(account), path: err.path }, err.message);
        throw new PopError('SYS/PERM', 'This mailbox cannot be opened; the server log says why');
      }
      this.log.error({ user: formatAddress(account), err }, 'cannot open the mailbox');
      throw new PopError('SYS/TEMP', 'Cannot open the mailbox now; try again later');
    }
    const snapshot = opened.snapshot;
    const idHeader = settings.idHeaders ? (i: number) => `X-POP3-Server: ${settings.hostname} Postern\r\nX-POP3-ID: ${snapshot.uidl(i)}\r\n` : null;
    const maildrop = new Maildrop(snapshot, idHeader);
    this.opened = { owner: opened.owner, mailbox: opened.mailbox };
    this.address = account;
    this.maildrop = maildrop;
    this.rights = opened.rights;
    this.mailboxLabel = `${formatAddress(opened.owner)}/${opened.mailbox}`;
    this.state = 'TRANSACTION';
    if (this.loginTimer) clearTimeout(this.loginTimer);
    this.loginTimer = null;
    this.hooks.signedIn(this);
    this.log.info(
      { user: formatAddress(account), mailbox: this.mailboxLabel, localPart: target!.routed.localPart, rights: opened.rights, mechanism, messages: maildrop.count, octets: maildrop.octets },
      'signed in',
    );
    const what = opened.owner === account && opened.mailbox.toUpperCase() === 'INBOX' ? formatAddress(account) : opened.mailbox;
    this.send(`+OK ${what} has ${maildrop.count} messages (${maildrop.octets} octets)`);
  }

  // ---- ending -------------------------------------------------------------------------------

  /** Sends `finalLine` (if any) after everything queued, then closes the connection. */
  close(reason: string, finalLine?: string): void {
    if (this.closed) return;
    if (finalLine) this.send(finalLine);
    this.flush();
    this.endReason = reason;
    this.closed = true;
    this.queue.length = 0;
    this.socket.end();
    // A client that never reads its last lines must not keep the socket forever.
    setTimeout(() => this.socket.destroy(), 5000).unref();
  }

  private idleTimeout(): void {
    this.log.info({ state: this.state }, 'idle timeout; closing without changes');
    if (this.midResponse) {
      this.endReason = 'client stopped reading';
      this.closed = true;
      this.socket.destroy();
    } else {
      this.close('idle timeout', '-ERR Idle for too long; closing connection');
    }
  }

  /** Server shutdown, first phase: a session not signed in and not working is closed now. */
  shutdown(): void {
    if (this.state === 'AUTHORIZATION' && !this.busy) this.close('server shutdown', '-ERR [SYS/TEMP] Server shutting down; try again later');
  }

  /** Server shutdown, deadline reached: cut the session without applying its deletions. */
  cut(): void {
    if (this.closed || this.state === 'UPDATE') return; // a QUIT in progress finishes its UPDATE
    this.state = 'AUTHORIZATION';
    if (this.midResponse) {
      // no -ERR in the middle of a message body: just end the connection
      this.endReason = 'server shutdown';
      this.closed = true;
      this.socket.destroy();
      return;
    }
    this.close('server shutdown', '-ERR [SYS/TEMP] Server shutting down; no changes were made');
  }

  private ended(): void {
    this.services.metrics.sessionsOpen.dec();
    const wasOpen = !this.closed;
    this.closed = true;
    if (this.loginTimer) clearTimeout(this.loginTimer);
    this.clearLineTimer();
    this.queue.length = 0;
    if (wasOpen && this.state === 'TRANSACTION') this.endReason = 'connection lost; no changes applied';
    const maildrop = this.maildrop;
    this.log.info(
      {
        user: this.address ? formatAddress(this.address) : null,
        mailbox: this.mailboxLabel,
        retrieved: this.stats.retrieved,
        retrievedOctets: this.stats.retrievedOctets,
        deleted: this.stats.deleted,
        deletedOctets: this.stats.deletedOctets,
        left: maildrop ? maildrop.snapshot.count - this.stats.deleted : null,
        durationMs: Date.now() - this.startedAt,
        end: this.endReason,
      },
      'session end',
    );
    if (this.services.trace.enabled) this.services.trace.line(this.conn.id, '-', `closed: ${this.endReason}`);
    this.hooks.ended(this);
  }
}
