// The channel of one protocol session: the socket (the TLS one after STLS or STARTTLS), the client's
// bytes as the session pulls them (line-input.ts, with the framings of each protocol as layers on it),
// output queued and written with backpressure, and the timers that cut clients that go silent or send a
// line too slowly. After COMPRESS the socket is the compressed transport over it (compression.ts). It
// knows nothing of any protocol's commands or answers: its owner says them.
import type { Socket } from 'node:net';
import type { Readable } from 'node:stream';
import type { Connection } from '../listeners/connection.js';
import { waitForDrain } from '../listeners/drain.js';
import { listenTo } from '../listeners/socket-events.js';
import type { Logger } from '../observability/logger.js';
import { type CompressionCounts, DeflateTransport } from './compression.js';
import { ConnectionClosed } from './connection-closed.js';
import { LineInput } from './line-input.js';

export interface ChannelSettings {
  readonly idleTimeoutMs: number;
  readonly commandTimeoutMs: number;
  /** First wait for a client that stopped reading; doubled four times before dropping it (OpenVMS). */
  readonly blockedOutputWaitMs: number;
}

/** What the channel asks of its owner (the session). */
export interface ChannelOwner {
  /** Nothing came from the client for idleTimeout. */
  idle(): void;
  /** A command line began and did not end within commandTimeout while the session waited for it. */
  lineTooSlow(): void;
  /** The socket closed (heard once). */
  ended(): void;
}

// Answers the client has not read yet; past this the session waits before running its next command.
const MAX_UNREAD_OUTPUT = 256 * 1024;
// Queued output past this is written at once, without waiting for the command's end.
const WRITE_AT = 64 * 1024;

export class LineChannel {
  readonly input: LineInput;
  private out: (string | Buffer)[] = [];
  private outLength = 0;
  /** True once the connection is closing or closed: nothing more is read or written. */
  closed = false;
  /** True while the session waits for its client (its next command, or a line a command asked for). */
  waitingForClient = true;
  /** True while a multi-line answer is partly sent: an error then can only close the connection. */
  midResponse = false;
  /** Why the session ended, for its end record. */
  endReason = 'connection closed by client';
  /** Running while a command line has begun and not ended (commandTimeout). */
  private lineTimer: NodeJS.Timeout | null = null;
  private ended = false;

  constructor(
    readonly conn: Connection,
    private readonly settings: ChannelSettings,
    private readonly log: Logger,
    private readonly owner: ChannelOwner,
  ) {
    this.input = new LineInput(conn.socket);
  }

  /** COMPRESS=DEFLATE's transport once it started (compression.ts); null before. */
  private compression: DeflateTransport | null = null;

  /**
   * The current socket: the TLS one after STLS or STARTTLS; after COMPRESS the compressed transport,
   * which answers everything the channel, its drain wait and its event hold ask of a socket.
   */
  get socket(): Socket {
    return (this.compression as unknown as Socket | null) ?? this.conn.socket;
  }

  private readonly onData = (chunk: Buffer) => {
    this.input.push(chunk);
    // Each octet restarts the idle timer, so a line must also be finished in time: a client sending one
    // byte every few seconds would otherwise hold its connection (and a channel) for ever.
    if (this.input.midLine) this.lineTimer ??= setTimeout(() => this.lineTimedOut(), this.settings.commandTimeoutMs);
    else this.clearLineTimer();
  };
  private readonly onTimeout = () => this.owner.idle();
  private readonly onClose = () => this.end();
  private readonly onError = (err: Error) => this.log.debug({ err: err.message }, 'socket error');

  /** Stops listening to the socket (set while attached). */
  private unlisten: (() => void) | null = null;

  attach(): void {
    this.unlisten = listenTo(this.socket, this.settings.idleTimeoutMs, {
      data: this.onData,
      timeout: this.onTimeout,
      close: this.onClose,
      error: this.onError,
    });
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
    // Only a line the client is slow to send counts: not one waiting while the server works or the
    // socket is paused behind answers the client has not read.
    if (!this.waitingForClient || this.socket.isPaused()) {
      this.lineTimer = setTimeout(() => this.lineTimedOut(), 1000);
      return;
    }
    this.owner.lineTooSlow();
  }

  /**
   * STLS (RFC 2595 section 4), STARTTLS (RFC 9051 section 6.2.1): forgets what the client sent after
   * the command (it was sent in the clear and must never run), runs the handshake, reads again. False
   * when the handshake failed (the connection is then gone). `command` names it in the log.
   */
  async startTls(command: string): Promise<boolean> {
    this.input.reset();
    await this.flush();
    this.detach();
    try {
      await this.conn.startTls();
    } catch (err) {
      this.log.info({ err: (err as Error).message }, `${command} handshake failed`);
      this.endReason = 'TLS handshake failed';
      this.end();
      return false;
    }
    // Whatever arrived in the clear before the handshake is gone for good.
    this.input.reset();
    this.input.setSource(this.socket);
    this.attach();
    return true;
  }

  /**
   * COMPRESS=DEFLATE (RFC 4978 section 3): what is queued (the command's tagged OK) is the last output
   * sent as it is; from here on both directions are compressed. The caller makes sure nothing the client
   * sent after the command waits unread (it would have been sent uncompressed or too early).
   */
  startCompression(): void {
    if (this.compression || this.closed) return;
    this.writeQueued();
    this.detach();
    this.compression = new DeflateTransport(this.conn.socket, (err) => {
      this.log.info({ err: err.message }, 'compressed input is not DEFLATE data; connection closed');
      this.destroy('invalid compressed data');
    });
    this.input.setSource(this.compression);
    this.attach();
  }

  /** What compression saved, for the session's end record; null when it never started. */
  get compressionCounts(): CompressionCounts | null {
    return this.compression?.compressionCounts ?? null;
  }

  // ---- output -------------------------------------------------------------------------------

  /** Queues output; it goes out with the next write or flush (or now, when much is queued). */
  queue(data: string | Buffer): void {
    this.out.push(data);
    this.outLength += data.length;
    if (this.outLength > WRITE_AT) this.writeQueued();
  }

  /** Takes the text queued (to send it ahead of other bytes in one write); anything else queued is written now. */
  takeQueued(): string {
    if (!this.out.every((p) => typeof p === 'string')) {
      this.writeQueued();
      return '';
    }
    const text = this.out.length === 1 ? this.out[0] : this.out.join('');
    this.out = [];
    this.outLength = 0;
    return text as string;
  }

  /** Hands what is queued to the socket; false when the socket is full (the caller may wait with drained()). */
  writeQueued(): boolean {
    if (this.out.length === 0 || this.closed) return true;
    const parts = this.out;
    this.out = [];
    this.outLength = 0;
    let data: string | Buffer;
    if (parts.length === 1) data = parts[0];
    else if (parts.every((p) => typeof p === 'string')) data = parts.join('');
    else data = joinParts(parts);
    return this.socket.write(data);
  }

  /** Writes what is queued; waits while the client has more than MAX_UNREAD_OUTPUT unread. */
  async flush(): Promise<void> {
    this.writeQueued();
    if (this.socket.writableLength > MAX_UNREAD_OUTPUT && !this.closed) await this.drained();
  }

  /**
   * Waits, when what is queued and what the client has not read pass MAX_UNREAD_OUTPUT, until the
   * client reads: a client that sends commands without reading the answers must not make us buffer
   * them all. Below that, queued answers stay queued (to go out together).
   */
  async limitUnread(): Promise<void> {
    if (this.outLength + this.socket.writableLength <= MAX_UNREAD_OUTPUT || this.closed) return;
    this.writeQueued();
    await this.drained();
  }

  /** Writes bytes now, after what is queued in the same write, waiting while the client is slow to read. */
  async write(data: Buffer): Promise<void> {
    if (this.closed) throw new ConnectionClosed();
    this.out.push(data);
    this.outLength += data.length;
    if (!this.writeQueued()) await this.drained();
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
   * 16 and 32 seconds (blockedOutputWait doubling; OpenVMS 15.1.3), then dropped and logged.
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
    // A client that never reads its last lines must not keep the socket forever.
    setTimeout(() => this.socket.destroy(), 5000).unref();
  }

  /** Ends the connection at once, without a last line (one could land inside a message body). */
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
}

/**
 * Text and octets as one buffer, each copied once: a FETCH of 200 cached ENVELOPEs queues 400 strings
 * between 200 buffers, and a buffer made of each string first, then all of them copied again, was a
 * tenth of that command's time.
 */
function joinParts(parts: readonly (string | Buffer)[]): Buffer {
  let length = 0;
  for (const p of parts) length += typeof p === 'string' ? Buffer.byteLength(p, 'utf8') : p.length;
  const out = Buffer.allocUnsafe(length);
  let at = 0;
  for (const p of parts) at += typeof p === 'string' ? out.write(p, at, 'utf8') : p.copy(out, at);
  return out;
}
