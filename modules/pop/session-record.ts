// What a POP session leaves behind for the operator: log records (tag POP, connection id, peer), the
// protocol log of commands and answers (log.level protocol), the transcript (log.trace), metrics, and
// the statistics record at its end (popper -s). Secrets never reach any of them.
import type { Connection } from '../../listeners/connection.js';
import type { Logger } from '../../observability/logger.js';
import type { Metrics } from '../../observability/metrics.js';
import { unrecognisedCommand } from '../../observability/redaction.js';
import type { TraceLog } from '../../observability/trace.js';
import type { SessionStats, SignedIn } from './context.js';

// Commands whose arguments are secrets or digests, never logged.
const SECRET_ARGS = new Set(['PASS', 'APOP', 'AUTH']);

export class SessionRecord {
  readonly log: Logger;
  readonly stats: SessionStats = { retrieved: 0, retrievedOctets: 0, deleted: 0, deletedOctets: 0 };
  private readonly startedAt = Date.now();
  /** log.level protocol: every command and response line (read once: it is asked on every line). */
  private readonly protocolLog: boolean;

  constructor(
    logger: Logger,
    private readonly conn: Connection,
    private readonly metrics: Metrics,
    private readonly trace: TraceLog,
  ) {
    this.log = logger.child({ tag: 'POP', cid: conn.id, peer: conn.peer, listener: conn.listener });
    this.protocolLog = this.log.isLevelEnabled('protocol');
  }

  connected(): void {
    this.log.info({ secure: this.conn.secure }, 'connected');
    this.metrics.sessionsOpen.inc();
    if (this.trace.enabled) this.trace.line(this.conn.id, '-', `connected from ${this.conn.peer} on ${this.conn.listener}`);
  }

  /** A command line as it may be recorded: secrets redacted, an unknown verb's line by its size only (it may be a SASL answer sent after AUTH was refused). */
  command(verb: string, line: string, recognised: boolean): void {
    const text = !recognised ? unrecognisedCommand(Buffer.byteLength(line)) : SECRET_ARGS.has(verb) ? `${verb} [redacted]` : line;
    if (this.protocolLog) this.log.protocol({ command: text.slice(0, 200) }, 'command');
    if (this.trace.enabled) this.trace.line(this.conn.id, 'C', text);
  }

  /** A line the client sent during AUTH: a SASL answer, never recorded. */
  saslLine(): void {
    if (this.trace.enabled) this.trace.line(this.conn.id, 'C', '[SASL response redacted]');
  }

  response(line: string): void {
    if (this.protocolLog) this.log.protocol({ response: line.slice(0, 200) }, 'response');
    if (this.trace.enabled) this.trace.line(this.conn.id, 'S', line);
  }

  /** A multi-line listing: its size only. */
  body(octets: number): void {
    if (this.trace.enabled) this.trace.line(this.conn.id, 'S', `[${octets} octets of listing]`);
  }

  /** The statistics record at the end of the session. */
  ended(signedIn: SignedIn | null, reason: string): void {
    this.metrics.sessionsOpen.dec();
    if (reason === 'command line too slow') this.metrics.timedOut.inc({ what: 'command line' });
    this.log.info(
      {
        user: signedIn ? `${signedIn.address.name}@${signedIn.address.domain}` : null,
        mailbox: signedIn?.label ?? null,
        retrieved: this.stats.retrieved,
        retrievedOctets: this.stats.retrievedOctets,
        deleted: this.stats.deleted,
        deletedOctets: this.stats.deletedOctets,
        left: signedIn ? signedIn.maildrop.total - this.stats.deleted : null,
        durationMs: Date.now() - this.startedAt,
        end: reason,
      },
      'session end',
    );
    if (this.trace.enabled) this.trace.line(this.conn.id, '-', `closed: ${reason}`);
  }
}
