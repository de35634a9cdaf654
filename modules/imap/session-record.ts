// What an IMAP session leaves behind for the operator: log records (tag IMAP, connection id, peer), the
// protocol log of commands and answers (log.level protocol), the transcript (log.trace), metrics, and
// a record at its end. Secrets (LOGIN's and AUTHENTICATE's arguments, SASL answers) and the contents of
// literals never reach any of them.
import type { Connection } from '../../listeners/connection.js';
import type { Logger } from '../../observability/logger.js';
import type { Metrics } from '../../observability/metrics.js';
import { unrecognisedCommand } from '../../observability/redaction.js';
import type { TraceLog } from '../../observability/trace.js';
import type { Part } from './wire/command-reader.js';

// Commands whose arguments are secrets, never logged.
const SECRET_ARGS = new Set(['LOGIN', 'AUTHENTICATE']);

export interface ImapStats {
  fetched: number;
  fetchedOctets: number;
  appended: number;
  expunged: number;
}

export class ImapSessionRecord {
  readonly log: Logger;
  readonly stats: ImapStats = { fetched: 0, fetchedOctets: 0, appended: 0, expunged: 0 };
  private readonly startedAt = Date.now();
  private readonly protocolLog: boolean;

  constructor(
    logger: Logger,
    private readonly conn: Connection,
    private readonly metrics: Metrics,
    private readonly trace: TraceLog,
  ) {
    this.log = logger.child({ tag: 'IMAP', cid: conn.id, peer: conn.peer, listener: conn.listener });
    this.protocolLog = this.log.isLevelEnabled('protocol');
  }

  connected(): void {
    this.log.info({ secure: this.conn.secure }, 'connected');
    this.metrics.imapSessionsOpen.inc();
    if (this.trace.enabled) this.trace.line(this.conn.id, '-', `connected from ${this.conn.peer} on ${this.conn.listener} (IMAP)`);
  }

  /**
   * A command as it may be recorded: literals by size only, secrets redacted. One not `recognised` (its
   * tag or name did not parse, or the name is unknown: "UID LOGIN", a SASL answer sent after AUTHENTICATE
   * was refused, a literal's octets after a too-long line) by its size only: it may be anything, a
   * password included.
   */
  command(tag: string, verb: string, parts: readonly Part[], recognised: boolean): void {
    if (!this.protocolLog && !this.trace.enabled) return;
    let text: string;
    if (!recognised) text = unrecognisedCommand(parts.reduce((n, p) => n + p.bytes.length, 0));
    else if (SECRET_ARGS.has(verb)) text = `${tag} ${verb} [redacted]`;
    // control characters shown as \xNN: a bare CR in a line must not rewrite the trace as a terminal shows it
    else text = parts.map((p) => (p.kind === 'text' ? p.bytes.toString('latin1').replace(/[\x00-\x1f\x7f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`) : `{${p.bytes.length}}[literal]`)).join('');
    if (this.protocolLog) this.log.protocol({ command: text.slice(0, 200) }, 'command');
    if (this.trace.enabled) this.trace.line(this.conn.id, 'C', text.length > 2000 ? `${text.slice(0, 2000)}...` : text);
  }

  /** A line the client sent during AUTHENTICATE: a SASL answer, never recorded. */
  saslLine(): void {
    if (this.trace.enabled) this.trace.line(this.conn.id, 'C', '[SASL response redacted]');
  }

  /** Octets of message data that went out inside a response. */
  literal(octets: number): void {
    if (this.trace.enabled) this.trace.line(this.conn.id, 'S', `[${octets} octets of message data]`);
  }

  response(line: string): void {
    if (this.protocolLog) this.log.protocol({ response: line.slice(0, 200) }, 'response');
    if (this.trace.enabled) this.trace.line(this.conn.id, 'S', line.length > 2000 ? `${line.slice(0, 2000)}...` : line);
  }

  ended(user: string | null, mailbox: string | null, reason: string): void {
    this.metrics.imapSessionsOpen.dec();
    if (reason === 'command line too slow') this.metrics.timedOut.inc({ what: 'command line' });
    this.log.info({ user, mailbox, ...this.stats, durationMs: Date.now() - this.startedAt, end: reason }, 'session end');
    if (this.trace.enabled) this.trace.line(this.conn.id, '-', `closed: ${reason}`);
  }
}
