// COMPRESS=DEFLATE (RFC 4978) as a transport under a session's line channel: what the client sends is
// inflated before the channel reads it, what the channel writes is deflated before it reaches the socket
// (the TLS one, when TLS runs: compression goes inside it, RFC 4978 section 6). It looks to the channel
// like the socket it replaces (write, writableLength, 'drain', pause/resume, the idle timer, end,
// destroy, 'data'/'close'/'error'), so backpressure, timeouts and the end of the session work as before.
// Any protocol can use it (IMAP's COMPRESS today); it knows no protocol's words.
//
// Memory (RFC 4978 section 4 lets each side choose its deflate window; the other side's must be
// accepted whole): the inflater keeps the client's full 32 KiB window for the whole session; the
// deflater has a small window and exists only while there is output (given back 1 s after the last
// answer), so thousands of idle compressed sessions stay cheap (README "COMPRESS" has the figures).
// Bounds: the inflater stops when the line input pauses (it holds at most one chunk more), so a small
// compressed stream that inflates to gigabytes is read at the pace the session consumes it, and the
// session's line and literal limits count inflated octets.
import { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import { constants, createDeflateRaw, createInflateRaw, type DeflateRaw, type InflateRaw } from 'node:zlib';

/**
 * zlib settings. Deflate: a 2 KiB window (windowBits 11), a small hash (memLevel 3), level 6 as Dovecot's
 * default; output chunks of 4 KiB. Inflate: the client's window may be 32 KiB (windowBits 15).
 */
export const DEFLATE_OUTPUT = { level: 6, windowBits: 11, memLevel: 3, chunkSize: 4096 } as const;
export const INFLATE_INPUT = { windowBits: 15, chunkSize: 4096 } as const;

/** How long a deflater is kept after its last flush, for the next answer to refer back to this one. */
const DEFLATER_IDLE_MS = 1000;

/** Octets in the deflater past which write() asks the writer to wait for 'drain'. */
const HIGH_WATER = 16 * 1024;

/** What crossed the wire and what it stood for, for the session's end record. */
export interface CompressionCounts {
  /** Compressed octets received from the client / inflated octets handed to the session. */
  readonly received: number;
  readonly inflated: number;
  /** Octets the session wrote / compressed octets sent to the client. */
  readonly written: number;
  readonly sent: number;
}

/** The compressed transport on `socket`. `invalid` is called once if the client's octets are not DEFLATE data. */
export class DeflateTransport extends EventEmitter {
  private readonly inflater: InflateRaw;
  private readonly counts = { received: 0, inflated: 0, written: 0, sent: 0 };
  /** Set when write() answered false: 'drain' follows once output can be taken again. */
  private needDrain = false;
  private flushScheduled: NodeJS.Immediate | null = null;
  private ending = false;
  private freed = false;

  constructor(
    private readonly socket: Socket,
    private readonly invalid: (err: Error) => void,
  ) {
    super();
    this.inflater = createInflateRaw(INFLATE_INPUT);

    // client -> inflater -> 'data' (the channel); the socket pauses while the inflater is full, and the
    // inflater fills only while its reader (the line input) is paused.
    socket.on('data', this.onSocketData);
    this.inflater.on('drain', this.onInflaterDrain);
    this.inflater.on('data', this.onInflated);
    this.inflater.on('error', this.onInflateError);

    // channel -> deflater -> socket; the deflater's output pauses while the socket is full.
    socket.on('drain', this.onSocketDrain);

    socket.on('timeout', this.onTimeout);
    socket.on('error', this.onError);
    socket.on('close', this.onClose);
    socket.resume();
  }

  get compressionCounts(): CompressionCounts {
    return { ...this.counts };
  }

  // ---- input --------------------------------------------------------------------------------

  private readonly onSocketData = (chunk: Buffer) => {
    this.counts.received += chunk.length;
    if (!this.inflater.write(chunk)) this.socket.pause();
  };
  private readonly onInflaterDrain = () => {
    if (!this.freed) this.socket.resume();
  };
  private readonly onInflated = (chunk: Buffer) => {
    this.counts.inflated += chunk.length;
    this.emit('data', chunk);
  };
  private readonly onInflateError = (err: Error) => {
    if (this.freed) return;
    this.socket.off('data', this.onSocketData);
    this.invalid(err);
  };

  /** Stops handing over inflated octets (the line input holds enough): the inflater and then the socket stop. */
  pause(): this {
    this.inflater.pause();
    return this;
  }

  resume(): this {
    if (!this.freed) this.inflater.resume();
    return this;
  }

  isPaused(): boolean {
    return this.inflater.isPaused();
  }

  // ---- output -------------------------------------------------------------------------------

  /**
   * The deflater, made when there is output. Node's zlib clears a 64 KiB hash table for every deflater
   * whatever memLevel asks (its zlib hashes with CRC32 over 15 bits), so an idle session must not keep
   * one: DEFLATER_IDLE_MS after its last flush it is given back, and the next answer starts a new one.
   * That is still one DEFLATE stream: after a sync flush the output ends on a byte boundary with no final
   * block, and a new deflater's blocks only point back into what they themselves sent (RFC 1951 3.2.5).
   */
  private deflater: DeflateRaw | null = null;
  private releaseTimer: NodeJS.Timeout | null = null;

  private output(): DeflateRaw {
    if (this.deflater) return this.deflater;
    const deflater = createDeflateRaw(DEFLATE_OUTPUT);
    deflater.on('data', this.onDeflated);
    deflater.on('error', this.onError);
    if (this.socket.writableNeedDrain) deflater.pause();
    this.deflater = deflater;
    return deflater;
  }

  /**
   * Deflates `data`. Everything written in one turn of the event loop (an answer, however many lines)
   * goes out with one Z_SYNC_FLUSH after it, so the client can read it all; false when the writer
   * should wait for 'drain'.
   */
  write(data: string | Buffer): boolean {
    if (this.ending || this.freed) return false;
    const length = typeof data === 'string' ? Buffer.byteLength(data) : data.length;
    this.counts.written += length;
    this.output().write(data, this.checkDrain);
    this.flushScheduled ??= setImmediate(this.syncFlush);
    if (this.canTakeMore) return true;
    this.needDrain = true;
    return false;
  }

  /** Octets in the deflater, both sides. */
  private get inDeflater(): number {
    return this.deflater ? this.deflater.writableLength + this.deflater.readableLength : 0;
  }

  /**
   * As a socket says it: the deflater holds little and the socket is below its high-water mark. (The
   * socket signals 'drain' only after it said full, so what it holds below its mark is not waited for,
   * just as the channel does not wait for it on a socket of its own.)
   */
  private get canTakeMore(): boolean {
    return this.inDeflater <= HIGH_WATER && !this.socket.writableNeedDrain;
  }

  private readonly syncFlush = () => {
    this.flushScheduled = null;
    if (this.ending || this.freed || !this.deflater) return;
    this.deflater.flush(constants.Z_SYNC_FLUSH, this.flushed);
  };

  private readonly flushed = () => {
    this.checkDrain();
    if (this.releaseTimer) this.releaseTimer.refresh();
    else this.releaseTimer = setTimeout(this.releaseIdle, DEFLATER_IDLE_MS).unref();
  };

  /** Gives the deflater back when it holds nothing and nothing was written since its last flush. */
  private readonly releaseIdle = () => {
    const deflater = this.deflater;
    if (!deflater || this.ending || this.freed) return;
    if (this.flushScheduled || this.inDeflater > 0) {
      this.releaseTimer?.refresh();
      return;
    }
    this.deflater = null;
    deflater.off('data', this.onDeflated);
    deflater.destroy();
  };

  private readonly onDeflated = (chunk: Buffer) => {
    this.counts.sent += chunk.length;
    if (!this.socket.write(chunk)) this.deflater?.pause();
    else this.checkDrain();
  };

  private readonly onSocketDrain = () => {
    this.deflater?.resume();
    this.checkDrain();
  };

  /** After output moved: 'drain' for a writer told to wait, or one waiting (the channel's drained()). */
  private readonly checkDrain = () => {
    if (!(this.needDrain || this.listenerCount('drain') > 0) || !this.canTakeMore || this.freed) return;
    this.needDrain = false;
    this.emit('drain');
  };

  /** Octets written and not yet handed to the kernel: in the deflater (both sides) and in the socket. */
  get writableLength(): number {
    return this.inDeflater + this.socket.writableLength;
  }

  // ---- the socket's timer and end -----------------------------------------------------------

  /** The idle timer runs on the socket: compressed octets moving are activity too. */
  setTimeout(ms: number): this {
    this.socket.setTimeout(ms);
    return this;
  }

  private readonly onTimeout = () => this.emit('timeout');
  private readonly onError = (err: Error) => this.emit('error', err);
  private readonly onClose = () => {
    this.free();
    this.emit('close', false);
  };

  /** Ends the deflate stream (its final block, after what was written), then the socket. */
  end(): this {
    if (this.ending || this.freed) return this;
    this.ending = true;
    if (this.flushScheduled) clearImmediate(this.flushScheduled);
    this.flushScheduled = null;
    const deflater = this.output();
    deflater.once('end', () => this.socket.end());
    deflater.end();
    return this;
  }

  destroy(): this {
    this.socket.destroy();
    this.free();
    return this;
  }

  /** Gives zlib's memory back (at once, not when the collector finds the streams). */
  private free(): void {
    if (this.freed) return;
    this.freed = true;
    if (this.flushScheduled) clearImmediate(this.flushScheduled);
    this.flushScheduled = null;
    this.socket.off('data', this.onSocketData);
    this.socket.off('drain', this.onSocketDrain);
    if (this.releaseTimer) clearTimeout(this.releaseTimer);
    this.inflater.destroy();
    this.deflater?.destroy();
    this.deflater = null;
  }
}
