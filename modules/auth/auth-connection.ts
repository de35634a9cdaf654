// One MTA's connection to the auth socket: the handshake both ways, then any number of sign-in requests
// at once, each with its id (Postfix's smtpd processes and Exim keep one connection and reuse it). A
// request runs its SASL mechanism (sessions/sasl.ts) with CONT lines as its challenges, and is checked
// on the same sign-in path as POP and IMAP (sessions/sign-in.ts): the auth cache, failures answered at
// one moment after the MTA's line, the throttle counted by the address the MTA names as rip=. Answers
// go out when each is ready, not in order. What Dovecot 2.3 answers by closing the connection (an
// unknown command, a broken AUTH, an unknown mechanism, a repeated id) closes it here too.
import type { AccountStore, SignInResult } from '../../accounts/account-store.js';
import type { AccountAddress } from '../../accounts/names.js';
import { formatAddress } from '../../accounts/names.js';
import type { Connection } from '../../listeners/connection.js';
import type { Logger } from '../../observability/logger.js';
import { until } from '../../sessions/answer-at.js';
import {
  type Credentials,
  credentialCheck,
  decodeSasl,
  type Mechanism,
  type MechanismName,
  requestedMechanism,
  SaslError,
} from '../../sessions/sasl.js';
import { checkSignIn, type SignInPolicy } from '../../sessions/sign-in.js';
import { acceptsVersion, clientPid, contLine, failLine, handshake, MAX_LINE_LENGTH, okLine, parseClientLine } from './wire.js';

/** What a connection needs of its module (rebuilt at a reload; a connection keeps the one it started with). */
export interface AuthServices {
  readonly accounts: AccountStore;
  readonly signIn: SignInPolicy;
  readonly mechanisms: readonly MechanismName[];
  /** How long a request waits for the MTA's next CONT (ms). */
  readonly requestTimeoutMs: number;
  /** The name in a CRAM-MD5 challenge. */
  readonly hostname: string;
  readonly logger: Logger;
}

/** Output queued past this stops the reading of new requests until the MTA reads its answers (as Dovecot). */
const OUTPUT_THROTTLE = 50 * 1024;
/** Requests of one connection in progress at once; past it new lines wait unread. */
const MAX_PENDING = 1000;

/**
 * The reason given with a temporary failure: Postfix 3.7 ignores `temp` (its client gets 535 5.7.8) but shows
 * the reason, so the user reads that trying again later may work.
 */
const TEMPORARY = 'Temporary authentication failure, try again later';

/** A request whose answer is no longer wanted: cancelled, timed out, already answered, or the MTA gone. */
class Abandoned extends Error {}

/** The sign-in was refused: FAIL, with `temp` when the directory could not answer. */
class Refused extends Error {
  constructor(readonly temporary: boolean) {
    super('refused');
  }
}

/** One sign-in in progress. */
interface Request {
  readonly id: number;
  readonly log: Logger;
  /** When the MTA's latest line for it was read (performance.now()): a failure is answered relative to it. */
  lineTakenAt: number;
  /** Set while the mechanism waits for the MTA's CONT line. */
  waiting: { resolve(data: Buffer): void; reject(err: Error): void; timer: NodeJS.Timeout } | null;
  /** Cancelled, answered or the connection gone: nothing more is sent for it. */
  done: boolean;
}

let connectionUids = 0;

export class AuthConnection {
  /** Admission's view: an MTA's connection counts as signed in from the start and is never closed for room. */
  readonly waitingForClient = false;
  private readonly log: Logger;
  private state: 'version' | 'cpid' | 'serving' | 'closed' = 'version';
  private input = '';
  private readonly requests = new Map<number, Request>();
  private paused = false;
  private stopping = false;

  constructor(
    readonly conn: Connection,
    private readonly services: AuthServices,
    private readonly ended: () => void,
  ) {
    this.log = services.logger.child({ tag: 'AUTH', cid: conn.id, peer: conn.peer });
  }

  start(): void {
    const socket = this.conn.socket;
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => this.received(chunk));
    socket.on('drain', () => this.resumeIfRoom());
    socket.on('error', (err) => this.log.debug({ err: err.message }, 'connection error'));
    socket.once('close', () => this.closed());
    connectionUids += 1;
    this.write(handshake(this.services.mechanisms, process.pid, connectionUids));
  }

  /** Admission closes it (never for room: only at a limit change it may be asked). */
  evict(): void {
    this.conn.socket.destroy();
  }

  /** Server stopping: no new requests; the connection closes once the ones in progress are answered. */
  shutdown(): void {
    this.stopping = true;
    if (this.requests.size === 0) this.conn.socket.end();
  }

  /** Past the stop deadline. */
  cut(): void {
    this.conn.socket.destroy();
  }

  private received(chunk: string): void {
    if (this.isClosed()) return;
    this.input += chunk;
    let nl: number;
    while ((nl = this.input.indexOf('\n')) >= 0 && !this.isClosed()) {
      const line = this.input.slice(0, nl).replace(/\r$/, '');
      this.input = this.input.slice(nl + 1);
      this.line(line);
    }
    if (!this.isClosed() && this.input.length > MAX_LINE_LENGTH) this.close('a line longer than the limit', { octets: this.input.length });
  }

  private isClosed(): boolean {
    return this.state === 'closed';
  }

  private line(line: string): void {
    if (Buffer.byteLength(line) > MAX_LINE_LENGTH) {
      this.close('a line longer than the limit', { octets: line.length });
      return;
    }
    if (this.state === 'version') {
      if (!acceptsVersion(line)) {
        this.close('not a client of this protocol version', { line: line.slice(0, 80) });
        return;
      }
      this.state = 'cpid';
      return;
    }
    if (this.state === 'cpid') {
      const pid = clientPid(line);
      if (pid === null) {
        this.close('unknown handshake command', { line: line.slice(0, 80) });
        return;
      }
      this.log.debug({ clientPid: pid }, 'auth client connected');
      this.state = 'serving';
      return;
    }
    const parsed = parseClientLine(line);
    switch (parsed.kind) {
      case 'broken':
        this.close(parsed.why, { line: line.slice(0, 80) });
        return;
      case 'cancel': {
        const r = this.requests.get(parsed.id);
        if (r) this.abandon(r);
        return;
      }
      case 'cont':
        this.cont(parsed.id, parsed.data);
        return;
      case 'auth':
        this.auth(parsed.id, parsed.mechanism, parsed.params, parsed.initial);
        return;
    }
  }

  private auth(id: number, requested: string, params: ReadonlyMap<string, string>, initialText: string | null): void {
    // the MTA offers only what the MECH lines named; cleartext is its business (the socket is local)
    const mechanism = requestedMechanism(requested, this.services.mechanisms, true);
    if (mechanism === null || mechanism === 'cleartext-refused') {
      this.close('unsupported authentication mechanism', { mechanism: requested.slice(0, 32) });
      return;
    }
    if (this.requests.has(id)) {
      this.close('a duplicate request id', { id });
      return;
    }
    const rip = params.get('rip') || undefined;
    const log = this.log.child({ id, service: params.get('service')!.slice(0, 32), ...(rip ? { rip: rip.slice(0, 64) } : {}) });
    if (this.stopping) {
      this.write(failLine(id, { temp: true, reason: 'Server shutting down' }));
      return;
    }
    let initial: Buffer | null = null;
    if (initialText !== null) {
      try {
        initial = decodeSasl(initialText, false);
      } catch {
        log.info({}, 'invalid base64 data in the initial response');
        this.write(failLine(id, { code: 'invalid_base64', reason: 'Invalid base64 data in initial response' }));
        return;
      }
    }
    const request: Request = { id, log, lineTakenAt: performance.now(), waiting: null, done: false };
    this.requests.set(id, request);
    this.pauseIfFull();
    void this.run(request, mechanism, initial, rip)
      .catch((err: unknown) => {
        log.error({ err }, 'sign-in request failed');
        this.answer(request, failLine(id, { temp: true }));
      })
      .finally(() => this.finished(request));
  }

  /** The MTA's answer to a challenge. */
  private cont(id: number, data: string): void {
    const r = this.requests.get(id);
    if (!r) {
      this.write(failLine(id, { reason: 'Authentication request timed out' }));
      return;
    }
    const waiting = r.waiting;
    if (!waiting) {
      r.log.info({}, 'unexpected continuation');
      this.write(failLine(id, { reason: 'Unexpected continuation' }));
      this.abandon(r);
      return;
    }
    let decoded: Buffer;
    try {
      decoded = decodeSasl(data, false);
    } catch {
      r.log.info({}, 'invalid base64 data in a continued response');
      this.write(failLine(id, { code: 'invalid_base64', reason: 'Invalid base64 data in continued response' }));
      this.abandon(r);
      return;
    }
    clearTimeout(waiting.timer);
    r.waiting = null;
    r.lineTakenAt = performance.now();
    waiting.resolve(decoded);
  }

  /** One request from its AUTH line to its answer. */
  private async run(r: Request, mechanism: Mechanism, initial: Buffer | null, rip: string | undefined): Promise<void> {
    let credentials: Credentials;
    try {
      credentials = await mechanism.run((challenge) => this.challenge(r, challenge), initial, this.services.hostname);
    } catch (err) {
      if (err instanceof Abandoned) return;
      if (!(err instanceof SaslError)) throw err;
      // malformed (PLAIN without its NULs, an empty name) or refused (another authorization identity)
      r.log.info({ mechanism: mechanism.name, reason: err.message }, 'sign-in refused');
      await until(r.lineTakenAt + this.services.signIn.authFailureTimeMs);
      this.answer(r, failLine(r.id));
      return;
    }
    const login = credentials.login;
    let refusal: SignInResult | null = null;
    const check = credentialCheck(this.services.accounts, credentials);
    try {
      const accepted = await checkSignIn(
        this.services.signIn,
        { log: r.log, conn: this.conn, lineTakenAt: r.lineTakenAt, failures: 0, clientAddress: rip },
        login,
        mechanism.name,
        async (account: AccountAddress | null) => (refusal = await check(account)),
        // a directory that could not answer: named by checkSignIn, or by the check's own verdict
        (_last: boolean, reason?: string) =>
          new Refused(reason === 'unavailable' || (refusal as { reason?: string } | null)?.reason === 'unavailable'),
      );
      const user = formatAddress(accepted.routed.account);
      r.log.info({ user, mechanism: mechanism.name }, 'signed in');
      this.answer(r, okLine(r.id, user));
    } catch (err) {
      if (err instanceof Refused) {
        this.answer(r, failLine(r.id, err.temporary ? { user: login, temp: true, reason: TEMPORARY } : { user: login }));
        return;
      }
      // the accounts could not be read (a damaged account.json, a directory down): try again later
      r.log.error({ user: login.slice(0, 100), err }, 'cannot check the sign-in');
      await until(r.lineTakenAt + this.services.signIn.authFailureTimeMs);
      this.answer(r, failLine(r.id, { user: login, temp: true, reason: TEMPORARY }));
    }
  }

  /** Sends a challenge (CONT) and resolves with the MTA's answer to it. */
  private challenge(r: Request, data: Buffer): Promise<Buffer> {
    if (r.done) return Promise.reject(new Abandoned());
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        r.log.info({ seconds: this.services.requestTimeoutMs / 1000 }, 'request timed out waiting for the continuation');
        this.abandon(r);
      }, this.services.requestTimeoutMs);
      r.waiting = { resolve, reject, timer };
      this.write(contLine(r.id, data));
    });
  }

  private answer(r: Request, line: string): void {
    if (r.done) return;
    r.done = true;
    this.write(line);
  }

  /** Forgets a request: nothing more is sent for it. */
  private abandon(r: Request): void {
    r.done = true;
    this.requests.delete(r.id);
    if (r.waiting) {
      clearTimeout(r.waiting.timer);
      r.waiting.reject(new Abandoned());
      r.waiting = null;
    }
  }

  private finished(r: Request): void {
    r.done = true;
    if (this.requests.get(r.id) === r) this.requests.delete(r.id);
    this.resumeIfRoom();
    if (this.stopping && this.requests.size === 0) this.conn.socket.end();
  }

  private write(text: string): void {
    if (this.state === 'closed') return;
    this.conn.socket.write(text);
    this.pauseIfFull();
  }

  private pauseIfFull(): void {
    if (this.paused || (this.conn.socket.writableLength < OUTPUT_THROTTLE && this.requests.size < MAX_PENDING)) return;
    this.paused = true;
    this.conn.socket.pause();
  }

  private resumeIfRoom(): void {
    if (!this.paused || this.conn.socket.writableLength > OUTPUT_THROTTLE / 3 || this.requests.size >= MAX_PENDING / 2) return;
    this.paused = false;
    this.conn.socket.resume();
  }

  /** A line Dovecot answers by closing: logged, and the connection closed. */
  private close(why: string, fields: Record<string, unknown>): void {
    this.log.info({ ...fields }, `closing the connection: ${why}`);
    this.state = 'closed';
    this.conn.socket.destroy();
  }

  private closed(): void {
    this.state = 'closed';
    if (this.requests.size > 0) this.log.info({ pending: this.requests.size }, 'the client closed the connection with requests pending');
    for (const r of [...this.requests.values()]) this.abandon(r);
    this.ended();
  }
}
