// The channel of one IMAP session: the socket (the TLS one after STARTTLS), the client's bytes as the
// command reader pulls them (wire/input.ts), output written with backpressure, and the timers that cut
// clients that go silent or trickle a line. It knows nothing of IMAP's commands.
import type { Socket } from 'node:net';
import type { Readable } from 'node:stream';
import type { Connection } from '../../listeners/connection.js';
import { waitForDrain } from '../../listeners/drain.js';
import { listenTo } from '../../listeners/socket-events.js';
import type { Logger } from '../../observability/logger.js';
import { ImapInput } from './wire/input.js';

/** The connection went away while we were writing or waiting; the command is abandoned. */
export class ConnectionClosed extends Error {}

export interface ChannelSettings {
  readonly idleTimeoutMs: number;
  readonly commandTimeoutMs: number;
  readonly blockedOutputWaitMs: number;
}

export interface ChannelOwner {
  /** Nothing came from the client for idleTimeout. */
  idle(): void;
  /** A command line began and did not end within commandTimeout while the session waited for it. */
  lineTooSlow(): void;
  /** The socket closed. */
  ended(): void;
}

// Answers the client has not read yet; past this the session waits before running its next command.
const MAX_UNREAD_OUTPUT = 256 * 1024;

export class ImapChannel {
  readonly input: ImapInput;
  private out: (string | Buffer)[] = [];
  private outLength = 0;
  closed = false;
  /** True while the session waits for the client's next command (not working on one). */
  waitingForCommand = true;
  endReason = 'connection closed by client';
  private lineTimer: NodeJS.Timeout | null = null;

  constructor(
    readonly conn: Connection,
    private readonly settings: ChannelSettings,
    private readonly log: Logger,
    private readonly owner: ChannelOwner,
  ) {
    this.input = new ImapInput(conn.socket);
  }

  get socket(): Socket {
    return this.conn.socket;
  }

  private readonly onData = (chunk: Buffer) => {
    this.input.push(chunk);
    if (this.input.midLine) this.lineTimer ??= setTimeout(() => this.lineTimedOut(), this.settings.commandTimeoutMs);
    else this.clearLineTimer();
  };
  private readonly onTimeout = () => this.owner.idle();
  private readonly onClose = () => this.end();
  private readonly onError = (err: Error) => this.log.debug({ err: err.message }, 'socket error');

  /** Stops listening to the socket (set while attached). */
  private unlisten: (() => void) | null = null;

  attach(): void {
    this.unlisten = listenTo(this.socket, this.settings.idleTimeoutMs, { data: this.onData, timeout: this.onTimeout, close: this.onClose, error: this.onError });
  }

  private detach(): void {
    this.unlisten?.();
    this.unlisten = null;
  }

  private clearLineTimer(): void {
    if (this.lineTimer) clearTimeout(this.lineTimer);
    this.lineTimer = null;
  }

  private lineTimedOut(): void {
    this.lineTimer = null;
    if (this.closed || !this.input.midLine) return;
    if (!this.waitingForCommand || this.socket.isPaused()) {
      this.lineTimer = setTimeout(() => this.lineTimedOut(), 1000);
      return;
    }
    this.owner.lineTooSlow();
  }

  /**
   * STARTTLS (RFC 9051 section 6.2.1): forgets what the client pipelined after the command (it was sent
   * in the clear and must never run), runs the handshake, reads again. False when the handshake failed.
   */
  async startTls(): Promise<boolean> {
    this.input.reset();
    await this.flush();
    this.detach();
    try {
      await this.conn.startTls();
    } catch (err) {
      this.log.info({ err: (err as Error).message }, 'STARTTLS handshake failed');
      this.endReason = 'TLS handshake failed';
      this.end();
      return false;
    }
    this.input.reset();
    this.input.setSource(this.socket);
    this.attach();
    return true;
  }

  // ---- output -------------------------------------------------------------------------------

  queue(data: string | Buffer): void {
    this.out.push(data);
    this.outLength += data.length;
    if (this.outLength > 64 * 1024) this.writeQueued();
  }

  private writeQueued(): boolean {
    if (this.out.length === 0 || this.closed) return true;
    const parts = this.out;
    this.out = [];
    this.outLength = 0;
    let data: string | Buffer;
    if (parts.length === 1) data = parts[0];
    else if (parts.every((p) => typeof p === 'string')) data = parts.join('');
    else data = Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p, 'utf8') : p)));
    return this.socket.write(data);
  }

  /** Writes what is queued; waits while the client has more than MAX_UNREAD_OUTPUT unread. */
  async flush(): Promise<void> {
    this.writeQueued();
    if (this.socket.writableLength > MAX_UNREAD_OUTPUT && !this.closed) await this.drained();
  }

  /**
   * Streams `source` into the socket after what is queued, each chunk passed through `convert`,
   * respecting backpressure. The source is read directly (it reads ahead while we write).
   */
  async pipe(source: Readable, convert: (chunk: Buffer) => Buffer = (c) => c): Promise<void> {
    this.writeQueued();
    try {
      for await (const chunk of source) {
        if (this.closed) throw new ConnectionClosed();
        if (!this.socket.write(convert(chunk as Buffer))) await this.drained();
      }
    } finally {
      source.destroy();
    }
  }

  /**
   * Waits until the client has read what was written. A client that stops reading is given 2, 4, 8,
   * 16 and 32 seconds (blockedOutputWait doubling), then dropped and logged.
   */
  async drained(): Promise<void> {
    const outcome = await waitForDrain(this.socket, this.settings.blockedOutputWaitMs, this.log);
    if (outcome === 'drained') return;
    if (outcome === 'blocked') {
      this.log.info({ pending: this.socket.writableLength }, 'client stopped reading; connection dropped');
      this.destroy('client stopped reading');
    }
    throw new ConnectionClosed();
  }

  // ---- ending -------------------------------------------------------------------------------

  /** Sends `finalLine` (if any) after everything queued, then closes the connection. */
  close(reason: string, finalLine?: string): void {
    if (this.closed) return;
    if (finalLine) this.queue(`${finalLine}\r\n`);
    this.writeQueued();
    this.endReason = reason;
    this.closed = true;
    this.socket.end();
    this.input.end();
    setTimeout(() => this.socket.destroy(), 5000).unref();
  }

  destroy(reason: string): void {
    this.endReason = reason;
    this.closed = true;
    this.input.end();
    this.socket.destroy();
  }

  /** The socket closed: the owner hears of it once. */
  private end(): void {
    this.closed = true;
    this.clearLineTimer();
    this.input.end();
    if (this.ended) return;
    this.ended = true;
    this.owner.ended();
  }

  private ended = false;
}
