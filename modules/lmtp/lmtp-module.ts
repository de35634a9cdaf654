// The LMTP module (RFC 2033): an MTA (Postfix `lmtp:inet:host:24` or `lmtp:unix:/run/postern/lmtp`,
// Exim's lmtp transport) hands mail to Postern over a socket, as it would to Dovecot's LMTP. The protocol
// is the smtp-server package's LMTP mode (LHLO, PIPELINING, 8BITMIME, ENHANCEDSTATUSCODES, SIZE, a reply
// per recipient after the data); delivery is Postern's own: the router and X-Real-To of `postern deliver`
// at RCPT, and the same atomic store per recipient after DATA.
//   RCPT:  250 for an address that routes here, 550 5.1.1 for one that does not, 451 when routing fails
//   DATA:  per recipient 250 (stored), 552 (over delivery.maxSize), 452 (no space: the MTA retries),
//          552 5.2.2 over the account's quota (452 4.2.2 with quota.fullTempfail, as Dovecot's
//          quota_full_tempfail), 451 (another I/O error: the MTA retries), 550 5.7.1 with the reason for a
//          Sieve ereject (RFC 5429 section 2.1.1), 451 when a Sieve redirect cannot go out yet
// Each recipient's Sieve scripts run before its message is stored (delivery/sieve-filter.ts).
import type { Socket } from 'node:net';
import { SMTPServer, type SMTPServerAddress, type SMTPServerDataStream, type SMTPServerSession } from 'smtp-server';
import { Admission, type AdmittedSession, mtaLimits } from '../../listeners/admission.js';
import type { Connection } from '../../listeners/connection.js';
import { DeliveryError, ioFailure, type LocalDelivery, type LocalRecipient } from '../../delivery/local-delivery.js';
import { configuredDelivery } from '../../delivery/configured-delivery.js';
import type { Relay } from '../../submission/relay.js';
import type { Logger } from '../../observability/logger.js';
import type { Metrics } from '../../observability/metrics.js';
import type { ModuleContext, PosternModule } from '../../server/module.js';
import { lmtpConfig, lmtpConfigSection } from './config.js';
import { Spool, type SpooledMessage } from './spool.js';
import { join } from 'node:path';

/** An SMTP-style error smtp-server turns into a reply line: code, then our enhanced code and text. */
function reply(code: number, text: string): Error & { responseCode: number } {
  return Object.assign(new Error(text), { responseCode: code });
}

/**
 * A recipient refused by its Sieve script's ereject (RFC 5429 section 2.1.1): 550 5.7.1 and the reason (one
 * line: the reason's line breaks become spaces). The reply text carries its own enhanced code (see keepOwnEnhancedCodes).
 */
function erejectReply(r: LocalRecipient, reason: string): Error & { responseCode: number } {
  const text = reason.replace(/[\r\n]+/g, ' ').trim() || 'rejected';
  return reply(550, `5.7.1 <${r.address}>: ${text}`);
}

/**
 * smtp-server gives every reply the enhanced code of its number (550: 5.1.1, "bad mailbox"); a reply whose
 * text starts with an enhanced code of its own (ereject's 5.7.1) is sent with that one alone.
 */
function keepOwnEnhancedCodes(server: SMTPServer): void {
  const connection = [...server.connections].at(-1) as unknown as {
    send(code: number, data: unknown, context?: unknown): void;
  };
  if (!connection) return;
  const send = connection.send.bind(connection);
  connection.send = (code, data, context) =>
    typeof data === 'string' && /^[245]\.\d{1,3}\.\d{1,3} /.test(data) ? send(code, data, false) : send(code, data, context);
}

/** The reply for a recipient whose delivery failed. */
function failureReply(r: LocalRecipient, err: unknown): Error & { responseCode: number } {
  if (!(err instanceof DeliveryError)) return reply(451, `<${r.address}>: local error (${(err as Error).message}); try again later`);
  if (err.kind === 'too-large') return reply(552, `<${r.address}>: ${err.message}`);
  // smtp-server gives 552 the enhanced code 5.2.2 and 452 4.2.2: mailbox full (RFC 3463)
  if (err.kind === 'over-quota') return reply(err.permanent ? 552 : 452, `<${r.address}>: ${err.message}`);
  if (err.permanent) return reply(550, `<${r.address}>: ${err.message}`);
  if (err.kind === 'full') return reply(452, `<${r.address}>: ${err.message}; try again later`);
  return reply(451, `<${r.address}>: ${err.message}; try again later`);
}

/** An MTA's connection, as admission counts it. */
interface LmtpChannel extends AdmittedSession {
  readonly conn: Connection;
}

interface Services {
  delivery: LocalDelivery;
  relay: Relay | null;
  logger: Logger;
  metrics: Metrics;
  server: SMTPServer;
}

export class LmtpModule implements PosternModule {
  readonly name = 'lmtp';
  readonly configSection = lmtpConfigSection;
  private services: Services | null = null;
  private spool: Spool | null = null;
  /**
   * lmtp.maxChannels, counted with the other workers and nodes when they share limits. An MTA's
   * connection counts as signed in from the start: it is never closed to make room, only refused.
   */
  private readonly admission = new Admission<LmtpChannel>('lmtp');
  /** Each open connection's socket, with the smtp-server that serves it. */
  private readonly open = new Map<Socket, SMTPServer>();
  /**
   * The recipients of each session's transaction, one per accepted RCPT command (RFC 2033 section 4.2:
   * one reply each after the data, in order), started afresh by MAIL. smtp-server's envelope folds a
   * repeated address into one entry, so it cannot be used for the count.
   */
  private readonly recipients = new WeakMap<SMTPServerSession, LocalRecipient[]>();
  /** Transactions between their data and their last reply (stop() waits for them). */
  private readonly delivering = new Set<Promise<unknown>>();
  private stopping = false;

  async start(ctx: ModuleContext): Promise<void> {
    if (ctx.shared) this.admission.share(ctx.shared.admission);
    this.spool = new Spool(join(ctx.config.dataDir, 'spool'));
    await this.spool.prepare();
    this.reconfigure(ctx);
    await this.sieveReady;
    this.stopping = false;
    this.cut = false;
  }

  reconfigure(ctx: ModuleContext): void {
    const lmtp = lmtpConfig(ctx.config);
    // redirect, vacation and reject go out through submission.relay: the one relay the server built from it
    // (server/module-services.ts), replaced at each reload
    const relay = ctx.submitter.relay;
    const { delivery, sieve } = configuredDelivery(ctx.config, {
      router: ctx.router,
      store: ctx.store,
      relay,
      logger: ctx.logger,
      metrics: ctx.metrics,
    });
    // the site scripts are read and compiled now, at start and at each reload; what fails is logged
    this.sieveReady = sieve.ready();
    const server = new SMTPServer({
      lmtp: true,
      name: ctx.config.mainDomain,
      banner: 'Postern LMTP ready',
      size: delivery.maxSize > 0 ? delivery.maxSize : undefined,
      // over it, smtp-server itself answers each recipient "552 5.3.4" (message too big); our own 552
      // would get its default enhanced code 5.2.2, "mailbox full", which tells the sender the wrong thing
      rejectOversized: true,
      disabledCommands: ['AUTH', 'STARTTLS'],
      hideSTARTTLS: true,
      hideENHANCEDSTATUSCODES: false,
      authOptional: true,
      disableReverseLookup: true,
      maxRecipients: lmtp.maxRecipients,
      socketTimeout: lmtp.idleTimeout * 1000,
      logger: false,
      onMailFrom: (_address, session, callback) => {
        this.recipients.set(session, []);
        callback();
      },
      onRcptTo: (address, session, callback) => {
        this.rcpt(address, session).then(
          () => callback(),
          (err: Error) => callback(err),
        );
      },
      onData: (stream, session, callback) => {
        const running = this.data(stream, session);
        this.delivering.add(running);
        void running.finally(() => this.delivering.delete(running)).catch(() => {});
        running.then(
          (replies) => callback(null, replies as never),
          (err: Error) => callback(err),
        );
      },
    });
    server.on('error', (err) => ctx.logger.debug({ tag: 'LMTP', err: err.message }, 'connection error'));
    this.services = { delivery, relay, logger: ctx.logger, metrics: ctx.metrics, server };
    this.admission.limits = mtaLimits(lmtp.maxChannels);
  }

  accept(conn: Connection): void {
    const services = this.services;
    const socket = conn.socket;
    if (!services || this.stopping) {
      conn.refuse('421 4.3.2 Server shutting down; try again later');
      return;
    }
    void this.admission.welcome({
      conn,
      tag: 'LMTP',
      label: (limit) => `lmtp.${limit}`,
      metrics: services.metrics,
      log: services.logger,
      stopping: () => this.stopping,
      refuse: (why) => conn.refuse(`421 4.3.2 ${why}`),
      session: () => ({ conn, waitingForClient: false, evict: () => socket.destroy() }),
      start: (channel) => {
        this.open.set(socket, services.server);
        socket.once('close', () => {
          this.open.delete(socket);
          this.admission.release(channel);
        });
        services.server.connect(socket, { id: String(conn.id), remoteAddress: conn.remoteAddress });
        keepOwnEnhancedCodes(services.server);
      },
    });
  }

  /** RFC 2033 section 4.2: each RCPT is answered at once, so an unknown user is refused before the data. */
  private async rcpt(address: SMTPServerAddress, session: SMTPServerSession): Promise<void> {
    const { delivery, logger } = this.services!;
    try {
      const r = await delivery.recipient(address.address);
      const list = this.recipients.get(session) ?? [];
      list.push(r);
      this.recipients.set(session, list);
    } catch (err) {
      const permanent = err instanceof DeliveryError && err.permanent;
      logger.info({ tag: 'LMTP', cid: session.id, to: address.address, err: (err as Error).message }, 'recipient refused');
      if (permanent) throw reply(550, `<${address.address}>: no such user here`);
      throw reply(451, `<${address.address}>: ${(err as Error).message}; try again later`);
    }
  }

  /** After the data: the message spooled once, then stored for each recipient in turn, one reply each. */
  private async data(stream: SMTPServerDataStream, session: SMTPServerSession): Promise<(string | Error)[]> {
    const { delivery, logger, metrics } = this.services!;
    const recipients = this.recipients.get(session) ?? [];
    this.recipients.delete(session);
    const from = session.envelope.mailFrom === false ? '' : session.envelope.mailFrom.address;
    let spooled: SpooledMessage;
    try {
      spooled = await this.spool!.write(stream, delivery.maxSize);
    } catch (err) {
      logger.error({ tag: 'LMTP', cid: session.id, from, err: (err as Error).message }, 'cannot spool the message');
      const failed = ioFailure(err, 'cannot store the message');
      return recipients.map((r) => failureReply(r, failed));
    }
    try {
      if (spooled.tooLarge) {
        logger.info({ tag: 'LMTP', cid: session.id, from, octets: spooled.size, maxSize: delivery.maxSize }, 'message refused: too large');
        const tooLarge = new DeliveryError(`the message is larger than the limit of ${delivery.maxSize} octets`, true, 'too-large');
        return recipients.map((r) => failureReply(r, tooLarge));
      }
      const replies: (string | Error)[] = [];
      // A repeated recipient (Postfix keeps one per original address) is stored once and answered each time.
      const done = new Map<string, string | Error>();
      for (const r of recipients) {
        const key = `${r.account.name}@${r.account.domain}|${r.extraHeader ?? ''}`;
        const earlier = done.get(key);
        if (earlier !== undefined) {
          replies.push(earlier);
          continue;
        }
        if (this.cut) {
          replies.push(reply(421, `<${r.address}>: server shutting down; try again later`));
          continue;
        }
        try {
          // RFC 5321 section 4.4: the final delivery adds Return-Path with the envelope sender
          const done = await delivery.deliverFiltered(r, spooled.read(), { returnPath: from, logFields: { tag: 'LMTP', cid: session.id } });
          if (done.rejected !== null) {
            logger.info({ tag: 'LMTP', cid: session.id, from, to: r.address, reason: done.rejected }, 'refused by Sieve (ereject)');
            replies.push(erejectReply(r, done.rejected));
          } else {
            if (done.mailboxes.length > 0) metrics.deliveries.inc({ source: 'lmtp' });
            const where = done.filtered ? { mailboxes: done.mailboxes } : {};
            logger.info({ tag: 'LMTP', cid: session.id, from, to: r.address, octets: done.octets, ...where }, 'delivered');
            replies.push(`<${r.address}> delivered`);
          }
        } catch (err) {
          logger.info({ tag: 'LMTP', cid: session.id, from, to: r.address, err: (err as Error).message }, 'not delivered');
          replies.push(failureReply(r, err));
        }
        done.set(key, replies[replies.length - 1]);
      }
      return replies;
    } finally {
      await spooled.remove();
    }
  }

  /**
   * Stops: connections between transactions are closed at once with 421 (the MTA retries elsewhere or
   * later); a transaction in progress may finish until `deadline`, then it is cut (nothing half-stored:
   * each message is stored atomically, and the MTA retries the recipients it got no reply for).
   */
  async stop(deadline: number): Promise<void> {
    this.stopping = true;
    // between transactions: a greeted connection with no MAIL yet (one not greeted has no envelope yet)
    const idleOnes = () =>
      [...new Set(this.open.values())]
        .flatMap((server) => [...server.connections])
        .filter((c) => c.session.envelope !== undefined && !c.session.envelope.mailFrom && !c._dataStream);
    while (this.open.size > 0 && Date.now() < deadline) {
      for (const c of idleOnes()) closeWith421(c);
      await new Promise((r) => setTimeout(r, 50));
    }
    // past the deadline: recipients not stored yet are not tried (the MTA retries them), the rest is cut
    this.cut = true;
    for (const socket of this.open.keys()) socket.destroy();
    await Promise.allSettled([...this.delivering]);
  }

  private cut = false;
  private sieveReady: Promise<void> = Promise.resolve();
}

function closeWith421(c: { send(code: number, text: string): void; close(): void }): void {
  c.send(421, 'Server shutting down; try again later');
  c.close();
}
