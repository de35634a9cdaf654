// The channel of one POP3 session: the socket (the TLS one after STLS), command lines read with bounded
// memory and answered strictly in order (PIPELINING, RFC 2449 section 6.6), output written with
// backpressure, and the timers that cut clients that go silent or send a line too slowly. It knows
// nothing of POP's commands: it hands each line to its owner and writes what it is given.
import type { Socket } from 'node:net';
import type { Connection } from '../../listeners/connection.js';
import { waitForDrain } from '../../listeners/drain.js';
import { listenTo } from '../../listeners/socket-events.js';
import type { Logger } from '../../observability/logger.js';
import { DotReader } from './dot-reader.js';
import { type LineEvent, LineReader } from './line-reader.js';

/** The connection went away while we were writing or waiting; the command is abandoned. */
export class ConnectionClosed extends Error {}

export interface ChannelSettings {
  maxLineLength: number;
  idleTimeoutMs: number;
  commandTimeoutMs: number;
  blockedOutputWaitMs: number;
}

/** What the channel asks of its owner (the session). */
export interface ChannelOwner {
  /** Runs one command line; a promise when it does not finish at once. */
  execute(line: string): Promise<void> | undefined;
  /** A command line was longer than the limit (it was dropped). */
  tooLong(): void;
  /** Nothing came from the client for idleTimeout. */
  idle(): void;
  /** The socket closed. */
  ended(): void;
}

// Commands read ahead of the one being answered; past this the socket is paused (bounded memory).
const MAX_QUEUED = 64;
// Answers the client has not read yet; past this no further command runs until it reads them.
const MAX_UNREAD_OUTPUT = 256 * 1024;

export class PopChannel {
  private readonly reader: LineReader;
  private readonly queue: LineEvent[] = [];
  /** A handler waiting for the client's next line (a SASL response). */
  private lineWaiter: ((event: LineEvent) => void) | null = null;
  private running = false;
  private out = '';
  /** True once the connection is closing or closed: nothing more is read or written. */
  closed = false;
  /** True while a multi-line answer is partly sent: an error then can only close the connection. */
  midResponse = false;
  /** Why the session ended, for its statistics record. */
  endReason = 'connection closed by client';
  /** Running while a command line has begun and not ended (commandTimeout). */
  private lineTimer: NodeJS.Timeout | null = null;

  constructor(
    readonly conn: Connection,
    private readonly settings: ChannelSettings,
    private readonly log: Logger,
    private readonly owner: ChannelOwner,
  ) {
    this.reader = new LineReader(settings.maxLineLength, (event) => this.enqueue(event));
  }

  /** The current socket: the TLS one after STLS. */
  get socket(): Socket {
    return this.conn.socket;
  }

  /** True while a command runs (the server is working, or waiting for its client's answer). */
  get busy(): boolean {
    return this.running;
  }

  /** True while nothing of the server's own is running: the session only waits for its client. */
  get waitingForClient(): boolean {
    return !this.closed && (!this.running || this.lineWaiter !== null);
  }

  private readonly onData = (chunk: Buffer) => {
    this.reader.push(chunk);
    // Each octet restarts the idle timer, so a line must also be finished in time: a client sending one
    // byte every few seconds would otherwise hold its connection (and a channel) for ever.
    if (this.reader.midLine) this.lineTimer ??= setTimeout(() => this.lineTimedOut(), this.settings.commandTimeoutMs);
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
    if (this.closed || !this.reader.midLine) return;
    // Only a line the client is slow to send counts: not one waiting while the server works or the
    // socket is paused behind answers the client has not read.
    if (!this.waitingForClient || this.socket.isPaused()) {
      this.lineTimer = setTimeout(() => this.lineTimedOut(), 1000);
      return;
    }
    this.log.info({ limitMs: this.settings.commandTimeoutMs }, 'command line not finished in time; closing');
    this.close('command line too slow', `-ERR Command line not finished within ${this.settings.commandTimeoutMs / 1000} s; closing connection`);
  }

  /**
   * STLS (RFC 2595 section 4): forgets every line the client sent after STLS (they were sent in the
   * clear and must never run), runs the handshake and reads again. False when the handshake failed
   * (the connection is then gone).
   */
  async startTls(): Promise<boolean> {
    this.queue.length = 0;
    this.reader.reset();
    this.flush();
    this.detach();
    try {
      await this.conn.startTls();
    } catch (err) {
      this.log.info({ err: (err as Error).message }, 'STLS handshake failed');
      this.endReason = 'TLS handshake failed';
      this.end();
      return false;
    }
    // Whatever arrived in the clear before the handshake is gone for good (the reader stops mid-chunk
    // on reset; this also drops anything queued while the handshake ran).
    this.queue.length = 0;
    this.reader.reset();
    this.attach();
    return true;
  }

  // ---- output -------------------------------------------------------------------------------

  /** Queues text; it goes out with the next flush or write. */
  queueText(text: string): void {
    this.out += text;
  }

  /** Takes what is queued (to send it ahead of other bytes in one write). */
  takeQueued(): string {
    const text = this.out;
    this.out = '';
    return text;
  }

  flush(): void {
    if (this.out.length === 0 || this.closed) return;
    const data = this.out;
    this.out = '';
    this.socket.write(data);
  }

  /** Writes bytes now, after any queued text in the same write, waiting while the client is slow to read. */
  async write(data: Buffer): Promise<void> {
    if (this.closed) throw new ConnectionClosed();
    const pending = this.takeQueued();
    if (!this.socket.write(pending ? Buffer.concat([Buffer.from(pending), data]) : data)) await this.drained();
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

  // ---- input ------------------------------------------------------------------------------

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
    if (!this.running) void this.run();
  }

  private async run(): Promise<void> {
    this.running = true;
    while (this.queue.length > 0 && !this.closed) {
      const event = this.queue.shift()!;
      if (event.kind === 'flood') {
        this.log.info('endless command line; closing');
        this.close('endless command line', '-ERR Command line too long; closing connection');
        break;
      }
      if (event.kind === 'too-long') this.owner.tooLong();
      else {
        const running = this.owner.execute(event.text);
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
    this.running = false;
    this.flush();
    if (!this.closed && this.socket.isPaused()) this.socket.resume();
  }

  /**
   * The client's next line, for a command that talks back and forth (AUTH). An over-long line is the
   * caller's error to answer; a flood closes the connection.
   */
  async nextLine(): Promise<LineEvent> {
    this.flush();
    if (this.queue.length === 0 && this.socket.isPaused()) this.socket.resume();
    const event = this.queue.length > 0 ? this.queue.shift()! : await new Promise<LineEvent>((resolve) => (this.lineWaiter = resolve));
    if (event.kind === 'flood') {
      this.close('endless command line', '-ERR Command line too long; closing connection');
      throw new ConnectionClosed();
    }
    return event;
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

  // ---- ending -------------------------------------------------------------------------------

  /** Sends `finalLine` (if any) after everything queued, then closes the connection. */
  close(reason: string, finalLine?: string): void {
    if (this.closed) return;
    if (finalLine) this.out += `${finalLine}\r\n`;
    this.flush();
    this.endReason = reason;
    this.closed = true;
    this.queue.length = 0;
    this.socket.end();
    // A client that never reads its last lines must not keep the socket forever.
    setTimeout(() => this.socket.destroy(), 5000).unref();
  }

  /** Ends the connection at once, without a last line (one could land inside a message body). */
  destroy(reason: string): void {
    this.endReason = reason;
    this.closed = true;
    this.socket.destroy();
  }

  private end(): void {
    this.closed = true;
    this.queue.length = 0;
    this.clearLineTimer();
    this.owner.ended();
  }
}
