// What a protocol session leaves behind for the operator: log records (the protocol's tag, connection
// id, peer), the protocol log of commands and answers (log.level protocol), the transcript (log.trace),
// the sessions-open gauge and the record at its end. The protocol decides what of a command may be
// recorded (secrets and literals never are) and what its end record counts; this writes it down.
import type { Counter, Gauge } from 'prom-client';
import type { Connection } from '../listeners/connection.js';
import type { Logger } from '../observability/logger.js';
import type { TraceLog } from '../observability/trace.js';

/** The metrics a session record keeps: the protocol's open sessions, and the connections cut for slowness. */
export interface RecordMetrics {
  readonly sessionsOpen: Gauge;
  readonly timedOut: Counter<'what'>;
}

/** Longest command or answer written to the transcript (a longer one ends in "..."). */
const TRACE_MAX = 2000;

export class SessionRecord {
  readonly log: Logger;
  private readonly startedAt = Date.now();
  /** log.level protocol: every command and response line (read once: it is asked on every line). */
  private readonly protocolLog: boolean;

  constructor(
    logger: Logger,
    private readonly conn: Connection,
    /** The log tag ("POP", "IMAP"). */
    tag: string,
    private readonly metrics: RecordMetrics,
    private readonly trace: TraceLog,
    /** Added to the transcript's "connected from" line (" (IMAP)"). */
    private readonly traceLabel = '',
  ) {
    this.log = logger.child({ tag, cid: conn.id, peer: conn.peer, listener: conn.listener });
    this.protocolLog = this.log.isLevelEnabled('protocol');
  }

  /** True when commands are recorded anywhere (so a protocol need not build the text otherwise). */
  get recording(): boolean {
    return this.protocolLog || this.trace.enabled;
  }

  connected(): void {
    this.log.info({ secure: this.conn.secure }, 'connected');
    this.metrics.sessionsOpen.inc();
    if (this.trace.enabled)
      this.trace.line(this.conn.id, '-', `connected from ${this.conn.peer} on ${this.conn.listener}${this.traceLabel}`);
  }

  /** A command as the protocol may record it (secrets redacted already). */
  command(text: string): void {
    if (this.protocolLog) this.log.protocol({ command: text.slice(0, 200) }, 'command');
    if (this.trace.enabled) this.trace.line(this.conn.id, 'C', clip(text));
  }

  /** A line the client sent during a SASL exchange: never recorded. */
  saslLine(): void {
    if (this.trace.enabled) this.trace.line(this.conn.id, 'C', '[SASL response redacted]');
  }

  response(line: string): void {
    if (this.protocolLog) this.log.protocol({ response: line.slice(0, 200) }, 'response');
    if (this.trace.enabled) this.trace.line(this.conn.id, 'S', clip(line));
  }

  /** What went out that is not recorded itself (a listing, message data), by a description of it. */
  sent(description: string): void {
    if (this.trace.enabled) this.trace.line(this.conn.id, 'S', description);
  }

  /** The record at the end of the session: `fields` (the user, what the session did), its length and why it ended. */
  ended(fields: Record<string, unknown>, reason: string): void {
    this.metrics.sessionsOpen.dec();
    if (reason === 'command line too slow') this.metrics.timedOut.inc({ what: 'command line' });
    this.log.info({ ...fields, durationMs: Date.now() - this.startedAt, end: reason }, 'session end');
    if (this.trace.enabled) this.trace.line(this.conn.id, '-', `closed: ${reason}`);
  }
}

function clip(text: string): string {
  return text.length > TRACE_MAX ? `${text.slice(0, TRACE_MAX)}...` : text;
}
