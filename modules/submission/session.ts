// One SMTP submission connection (RFC 6409): smtp-server speaks the protocol (EHLO, STARTTLS, AUTH, MAIL, RCPT,
// DATA, PIPELINING, SIZE, 8BITMIME, SMTPUTF8, ENHANCEDSTATUSCODES), this session decides each step:
//   AUTH  through the sign-in every protocol shares (sessions/sign-in.ts: throttle, failure time, auth cache),
//         offered only where passwords may travel (cleartextAuth: after STARTTLS, on 465, or on loopback)
//   MAIL  the sender checked against the account (submission.senders), the hourly limit counted
//   RCPT  a local address routed as LMTP routes it (550 5.1.1 when nothing takes it); another domain's
//         needs submission.relay
//   DATA  From/Sender checked, Received (and Date, Message-ID when missing) added, then sent
//         (submission/envelope.ts says in which order, and what is answered when some recipients fail)
// The session registers in ctx.signedIn once signed in; a kick answers 421 and closes.
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { SMTPServer, SMTPServerAddress, SMTPServerAuthentication, SMTPServerDataStream, SMTPServerSession } from 'smtp-server';
import { type AccountAddress, formatAddress } from '../../accounts/names.js';
import { DeliveryError, type LocalRecipient } from '../../delivery/local-delivery.js';
import { RawMessage, rfc5322Date } from '../../delivery/message-header.js';
import type { Connection } from '../../listeners/connection.js';
import type { Logger } from '../../observability/logger.js';
import { cleartextAllowed } from '../../sessions/sasl.js';
import type { PooledSession, SessionHooks } from '../../sessions/session-pool.js';
import { SessionRecord } from '../../sessions/session-record.js';
import { type CheckSecret, checkSignIn, type SignInAttempt } from '../../sessions/sign-in.js';
import { SignInDeadline } from '../../sessions/sign-in-deadline.js';
import { EnvelopeRefused, sendEnvelope } from '../../submission/envelope.js';
import { SubmissionError } from '../../submission/submitter.js';
import type { SubmissionServices } from './context.js';
import { reply, type SmtpReply } from './reply.js';

/** What this session drives of smtp-server's connection object (not in the package's types). */
interface SmtpConnection {
  readonly session: SMTPServerSession;
  readonly secure: boolean;
  send(code: number, data?: string | string[], context?: unknown): void;
  close(): void;
  handler_AUTH(command: Buffer, callback: () => void): void;
  handler_STARTTLS(command: Buffer, callback: () => void): void;
}

/** A reply text that starts with an enhanced status code of its own (RFC 3463) is sent with that one alone. */
const OWN_ENHANCED_CODE = /^[245]\.\d{1,3}\.\d{1,3} /;

/** Reads the message, keeping nothing past `max` octets (smtp-server then answers 552 5.3.4 itself). */
async function readMessage(stream: SMTPServerDataStream, max: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let octets = 0;
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    octets += chunk.length;
    if (octets <= max) chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

export class SubmissionSession implements PooledSession, SignInAttempt {
  private readonly record: SessionRecord;
  private readonly deadline: SignInDeadline;
  private smtp: SmtpConnection | null = null;
  private account: AccountAddress | null = null;
  private unregister: (() => void) | null = null;
  /** The transaction's recipients, from MAIL on. */
  private local: LocalRecipient[] = [];
  private remote: string[] = [];
  /** A sign-in being checked, or a message being sent: not only waiting for the client. */
  private busy = false;
  private sending = false;
  /** A kick or a shutdown that came while a message was being sent: done once it is answered. */
  private closeAfterSending: string | null = null;
  private lastUser: string | null = null;
  private readonly stats = { messages: 0, recipients: 0 };
  private ended = false;
  lineTakenAt = 0;
  failures = 0;

  constructor(
    readonly conn: Connection,
    private readonly services: SubmissionServices,
    logger: Logger,
    private readonly hooks: SessionHooks<SubmissionSession>,
    /** The module's open sessions by connection id, through which smtp-server's callbacks reach this one. */
    private readonly open: Map<string, SubmissionSession>,
  ) {
    this.record = new SessionRecord(logger, conn, 'SUBMISSION', services.metrics, services.trace, ' (submission)');
    this.deadline = new SignInDeadline(services.settings.loginTimeoutMs, this, this.record.log, services.metrics.timedOut);
  }

  get log(): Logger {
    return this.record.log;
  }

  get id(): string {
    return this.conn.id;
  }

  get waitingForClient(): boolean {
    return !this.busy;
  }

  get notSignedIn(): boolean {
    return this.account === null && !this.ended;
  }

  /** Hands the connection to the smtp-server of its kind (TLS from the first byte, or clear with STARTTLS). */
  start(): void {
    const server = this.conn.secure ? this.services.servers.implicit : this.services.servers.plain;
    this.open.set(this.conn.id, this);
    this.record.connected();
    this.deadline.start();
    server.connect(this.conn.socket, { id: this.conn.id, remoteAddress: this.conn.remoteAddress } as never);
    const smtp = [...server.connections].at(-1) as unknown as SmtpConnection;
    this.smtp = smtp;
    this.adapt(smtp, server);
  }

  /**
   * What smtp-server does not decide per connection: AUTH is offered only where passwords may travel
   * (cleartextAuth), STARTTLS uses the server's certificate (the listener's, reloaded with it), and a reply
   * text with an enhanced code of its own keeps it.
   */
  private adapt(smtp: SmtpConnection, server: SMTPServer): void {
    const send = smtp.send.bind(smtp);
    smtp.send = (code, data, context) => {
      if (Array.isArray(data) && code === 250) data = data.filter((line) => this.advertised(line));
      if (typeof data === 'string' && OWN_ENHANCED_CODE.test(data)) send(code, data, false);
      else send(code, data, context);
      this.record.response(`${code} ${Array.isArray(data) ? data.join(' / ') : (data ?? '')}`);
    };
    const auth = smtp.handler_AUTH.bind(smtp);
    smtp.handler_AUTH = (command, callback) => {
      this.record.command('AUTH [redacted]');
      if (!this.mayAuthenticate()) {
        // RFC 4954 section 4 (and RFC 3207 section 4: AUTH is offered after STARTTLS)
        smtp.send(538, '5.7.11 Encryption required for requested authentication mechanism: use STARTTLS first');
        callback();
        return;
      }
      auth(command, callback);
    };
    const startTls = smtp.handler_STARTTLS.bind(smtp);
    smtp.handler_STARTTLS = (command, callback) => {
      this.record.command('STARTTLS');
      const context = this.conn.tlsContext;
      if (!context) {
        smtp.send(454, '4.7.0 TLS not available now');
        callback();
        return;
      }
      // the context smtp-server's STARTTLS takes (its own is a built-in test certificate)
      (server as unknown as { secureContext: Map<string, unknown> }).secureContext.set('*', context);
      startTls(command, callback);
    };
  }

  /** Whether an EHLO line is offered on this connection now. */
  private advertised(line: string): boolean {
    if (/^AUTH\b/i.test(line)) return this.mayAuthenticate();
    if (/^STARTTLS$/i.test(line)) return this.conn.tlsContext !== null;
    return true;
  }

  private mayAuthenticate(): boolean {
    const secure = this.smtp?.secure ?? this.conn.secure;
    return cleartextAllowed({ secure, loopback: this.conn.loopback }, this.services.settings.cleartextAuth);
  }

  // RFC 4954 section 4: AUTH (PLAIN RFC 4616, LOGIN, CRAM-MD5 RFC 2195), answered 235 or 535 5.7.8
  async authenticate(auth: SMTPServerAuthentication): Promise<{ user: string }> {
    this.lineTakenAt = performance.now();
    this.busy = true;
    try {
      const s = this.services;
      if (auth.method === 'PLAIN' && auth.authzid && auth.authcid && auth.authzid.toLowerCase() !== auth.authcid.toLowerCase()) {
        throw reply(535, '5.7.8 Signing in as another user (an authorization identity) is not supported');
      }
      const login = auth.username ?? '';
      this.lastUser = login.slice(0, 100);
      const check: CheckSecret =
        auth.method === 'CRAM-MD5'
          ? (a) => s.accounts.signInWithSecret(a, (secret) => auth.validatePassword(secret))
          : (a) => s.accounts.signIn(a, auth.password ?? '');
      // a directory that cannot answer (reason 'unavailable', once directories are in): RFC 4954's 454 4.7.0
      const { routed } = await checkSignIn(s.signIn, this, login, auth.method, check, (last, reason?: string) => {
        if (reason === 'unavailable') return reply(454, '4.7.0 Temporary authentication failure; try again later');
        const refused = reply(535, '5.7.8 Authentication credentials invalid');
        if (last) this.closeSoon('4.7.0 Too many failed sign-ins; closing the connection');
        return refused;
      });
      const account = routed.account;
      const user = formatAddress(account);
      this.account = account;
      this.lastUser = user;
      this.deadline.stop();
      this.hooks.signedIn(this);
      this.unregister = s.signedIn.add({
        id: this.conn.id,
        account: user,
        protocol: 'submission',
        remoteAddress: this.conn.remoteAddress,
        since: Date.now(),
        kick: (reason) => this.kick(reason),
      });
      this.log.info({ user, mechanism: auth.method, secure: this.smtp?.secure ?? this.conn.secure }, 'signed in');
      return { user };
    } finally {
      this.busy = false;
    }
  }

  // RFC 5321 section 4.1.1.2, RFC 6409 section 6.1: the sender is the signed-in account's to use
  async mailFrom(address: SMTPServerAddress): Promise<void> {
    this.local = [];
    this.remote = [];
    const account = this.account;
    if (!account) throw reply(530, '5.7.0 Authentication required');
    this.record.command(`MAIL FROM:<${address.address}>`);
    const from = address.address.toLowerCase();
    if (from !== '' && !(await this.services.submitter.mayUseSender(account, from))) {
      this.log.info({ user: formatAddress(account), from: from.slice(0, 200) }, 'sender refused');
      throw reply(553, `5.7.1 <${from}>: Sender address rejected: not owned by ${formatAddress(account)}`);
    }
    try {
      await this.services.submitter.admit(account, this.log);
    } catch (err) {
      if (err instanceof SubmissionError) throw reply(450, `4.7.1 ${err.message}`);
      throw err;
    }
  }

  // RFC 5321 section 4.1.1.3: a local recipient routed now; another domain's through the relay
  async rcptTo(address: SMTPServerAddress): Promise<void> {
    const to = address.address;
    this.record.command(`RCPT TO:<${to}>`);
    const at = to.lastIndexOf('@');
    const domain =
      at < 0
        ? null
        : to
            .slice(at + 1)
            .toLowerCase()
            .replace(/\.$/, '');
    const s = this.services;
    if (domain === null || s.accounts.domains.has(domain)) {
      try {
        this.local.push(await s.delivery.recipient(to));
      } catch (err) {
        if (err instanceof DeliveryError && err.permanent) throw reply(550, `5.1.1 <${to}>: no such user here`);
        this.log.error({ to, err: (err as Error).message }, 'cannot route a recipient');
        throw reply(451, `4.3.0 <${to}>: cannot look the recipient up now; try again later`);
      }
      return;
    }
    if (!s.submitter.relay) throw reply(550, `5.7.1 <${to}>: no relay is configured for other domains (submission.relay)`);
    this.remote.push(to);
  }

  // RFC 5321 section 4.1.1.4, RFC 6409 section 8: the message completed and sent
  async data(stream: SMTPServerDataStream, session: SMTPServerSession): Promise<string> {
    const account = this.account!;
    const user = formatAddress(account);
    const s = this.services;
    this.busy = true;
    this.sending = true;
    try {
      const raw = await readMessage(stream, s.settings.maxSize);
      if (stream.sizeExceeded) {
        this.log.info({ user, maxSize: s.settings.maxSize }, 'message refused: too large');
        s.metrics.messages.inc({ result: 'refused' });
        return '';
      }
      const mailFrom = session.envelope.mailFrom === false ? '' : session.envelope.mailFrom.address;
      const message = RawMessage.parse(raw);
      let froms: string[];
      try {
        froms = await s.submitter.identityFields(account, message);
      } catch (err) {
        if (!(err instanceof SubmissionError)) throw err;
        this.log.info({ user, err: err.message }, 'message refused: From or Sender');
        s.metrics.messages.inc({ result: 'refused' });
        throw reply(550, `5.7.1 ${err.message}`);
      }
      const now = new Date();
      const id = `${now.getTime().toString(36)}.${randomBytes(6).toString('hex')}`;
      // RFC 6409 section 8.1-8.3: what a submission server may add when the client left it out
      if (froms.length === 0) message.append('From', user);
      if (!message.has('Date')) message.append('Date', rfc5322Date(now));
      if (!message.has('Message-ID')) message.append('Message-ID', `<${id}@${s.settings.hostname}>`);
      // RFC 5321 section 4.4; RFC 3848: ESMTPSA, ESMTPA ...
      const helo = (session.hostNameAppearsAs || 'unknown').replace(/[^\x21-\x7e]/g, '').slice(0, 100);
      message.prepend(
        'Received',
        `from ${helo} ([${this.conn.remoteAddress}]) by ${s.settings.hostname} (Postern) with ${session.transmissionType} id ${id} ` +
          `(authenticated as ${user}); ${rfc5322Date(now)}`,
      );
      const logFields = { user, id, from: mailFrom };
      try {
        const sent = await sendEnvelope(
          { delivery: s.delivery, relay: s.submitter.relay, hostname: s.settings.hostname, log: this.log },
          { account, mailFrom, local: this.local, remote: this.remote },
          message.toBuffer(),
          logFields,
        );
        this.stats.messages += 1;
        this.stats.recipients += sent.delivered.length;
        s.metrics.messages.inc({ result: sent.notDelivered.length === 0 ? 'sent' : 'partly' });
        this.log.info({ ...logFields, delivered: sent.delivered.length, notDelivered: sent.notDelivered.length }, 'message submitted');
        if (sent.notDelivered.length === 0) return `2.0.0 Ok: sent as ${id}`;
        const where = sent.reported ? 'a delivery report is in your INBOX' : 'see the server log';
        return `2.0.0 Ok: sent as ${id}, but not to ${sent.notDelivered.map((n) => `<${n.recipient}>`).join(', ')} (${where})`;
      } catch (err) {
        if (!(err instanceof EnvelopeRefused)) throw err;
        s.metrics.messages.inc({ result: err.temporary ? 'failed' : 'refused' });
        this.log.info({ ...logFields, err: err.message, temporary: err.temporary }, 'message not sent');
        throw refusal(err);
      }
    } catch (err) {
      if ((err as SmtpReply).responseCode !== undefined) throw err;
      if ((err as { code?: string }).code === 'ECONNECTION') {
        this.log.info({ user }, 'the client left before the end of the message; nothing was sent');
        throw err;
      }
      this.log.error({ user, err }, 'cannot send a submitted message');
      s.metrics.messages.inc({ result: 'failed' });
      throw reply(451, '4.3.0 Local error: nothing was sent; try again later');
    } finally {
      this.busy = false;
      this.sending = false;
      this.local = [];
      this.remote = [];
      if (this.closeAfterSending !== null) this.closeSoon(this.closeAfterSending);
    }
  }

  /** Ends the session for `postern kick` (421, then closed); a message being sent is answered first. */
  kick(reason: string): void {
    this.log.info({ user: this.lastUser, reason }, 'kicked');
    const text = `4.3.2 ${reason.replace(/[\r\n]+/g, ' ')}`;
    if (this.sending) this.closeAfterSending = text;
    else this.closeWith(text);
  }

  /** Closes after the reply being sent now. */
  private closeSoon(text: string): void {
    setImmediate(() => this.closeWith(text));
  }

  private closeWith(text: string): void {
    const smtp = this.smtp;
    if (!smtp || this.ended) return;
    smtp.send(421, text);
    smtp.close();
  }

  /** Admission closes a session still waiting to sign in, to make room. */
  evict(): void {
    this.closeWith('4.7.0 Too many connections waiting to sign in; closing');
  }

  closeNotSignedIn(seconds: number): void {
    this.closeWith(`4.4.2 Not signed in within ${seconds} seconds; closing`);
  }

  /**
   * Server shutdown: nothing is kept of a transaction before its data has ended (the client sends it again), so
   * every session is answered 421 now, except one whose message is being sent: it is answered first.
   */
  shutdown(): void {
    if (this.sending) this.closeAfterSending = '4.3.2 Server shutting down; try again later';
    else this.closeWith('4.3.2 Server shutting down; try again later');
  }

  cut(): void {
    this.conn.socket.destroy();
  }

  /** smtp-server closed the connection (the client left, QUIT, a timeout, a kick). */
  end(): void {
    if (this.ended) return;
    this.ended = true;
    this.open.delete(this.conn.id);
    this.deadline.stop();
    this.unregister?.();
    this.hooks.ended(this);
    this.record.ended({ user: this.lastUser, ...this.stats }, 'closed');
  }
}

/** The answer for a message nothing was done with: 4xx when it may work later. */
function refusal(err: EnvelopeRefused): SmtpReply {
  const status = err.status;
  if (status.startsWith('4')) return reply(status === '4.2.2' || status === '4.3.1' ? 452 : 451, `${status} ${err.message}`);
  return reply(status === '5.2.2' || status === '5.3.4' ? 552 : status === '5.0.0' ? 554 : 550, `${status} ${err.message}`);
}
