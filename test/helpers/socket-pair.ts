// Two connected in-memory sockets, for serving a protocol module in the test's own process: what one
// side writes the other reads, with the parts of net.Socket the server's channels use (the idle
// timer, pause and resume, writableLength under backpressure, the peer's address) and TCP's way of
// ending: end() is a FIN (the other side ends too, as allowHalfOpen is off), destroy() closes both.
import { Duplex } from 'node:stream';
import type { Socket } from 'node:net';

/** A loopback address and a port of its own for each pair, as a client on this machine has. */
const LOOPBACK = '127.0.0.1';
let nextPort = 40000;

export class PairSocket extends Duplex {
  private peer!: PairSocket;
  /** The peer's write waiting for this side to read (backpressure: the peer's writableLength grows). */
  private pendingWrite: (() => void) | null = null;
  private idleMs = 0;
  private idleTimer: NodeJS.Timeout | null = null;
  readonly remoteAddress = LOOPBACK;
  readonly remoteFamily = 'IPv4';
  readonly localAddress = LOOPBACK;
  remotePort = 0;
  localPort = 0;
  readonly connecting = false;

  constructor() {
    // the buffers the listeners give their sockets (listeners/listener.ts), as the kernel's would hold
    super({ allowHalfOpen: false, highWaterMark: 256 * 1024 });
  }

  /** [the server's side, the client's side]; the client's side has a port of its own, as an ephemeral TCP port. */
  static pair(): [PairSocket, PairSocket] {
    const server = new PairSocket();
    const client = new PairSocket();
    server.peer = client;
    client.peer = server;
    server.remotePort = client.localPort = nextPort++;
    return [server, client];
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (err?: Error | null) => void): void {
    this.touch();
    const peer = this.peer;
    // a peer that is gone: as TCP after the peer's reset, the write fails and the socket closes
    if (peer.destroyed) {
      callback(Object.assign(new Error('write EPIPE'), { code: 'EPIPE' }));
      return;
    }
    if (peer.readableEnded) {
      callback();
      return;
    }
    peer.touch();
    if (peer.push(chunk)) callback();
    else peer.pendingWrite = () => callback();
  }

  override _read(): void {
    const resume = this.pendingWrite;
    this.pendingWrite = null;
    resume?.();
  }

  /** end(): the peer reads its end of stream (a FIN). */
  override _final(callback: (err?: Error | null) => void): void {
    if (!this.peer.destroyed) this.peer.push(null);
    callback();
  }

  /** destroy(): the peer reads its end of stream and closes too (a FIN, or a reset: the server's channels see a close either way). */
  override _destroy(err: Error | null, callback: (err?: Error | null) => void): void {
    this.clearIdle();
    const peer = this.peer;
    const resume = peer.pendingWrite;
    peer.pendingWrite = null;
    resume?.();
    if (!peer.destroyed && !peer.readableEnded) peer.push(null);
    callback(err);
  }

  /** As net.Socket says it (smtp-server writes only to an 'open' socket). */
  get readyState(): 'open' | 'readOnly' | 'writeOnly' | 'closed' {
    if (this.readable && this.writable) return 'open';
    if (this.readable) return 'readOnly';
    return this.writable ? 'writeOnly' : 'closed';
  }

  /** net.Socket's idle timer: 'timeout' after `ms` without a read or a write; 0 turns it off. */
  setTimeout(ms: number, callback?: () => void): this {
    this.idleMs = ms;
    if (callback) this.once('timeout', callback);
    this.clearIdle();
    this.touch();
    return this;
  }

  setNoDelay(): this {
    return this;
  }

  setKeepAlive(): this {
    return this;
  }

  ref(): this {
    return this;
  }

  unref(): this {
    return this;
  }

  private touch(): void {
    if (this.idleMs <= 0 || this.destroyed) return;
    if (this.idleTimer) this.idleTimer.refresh();
    else {
      this.idleTimer = setTimeout(() => this.emit('timeout'), this.idleMs);
      this.idleTimer.unref();
    }
  }

  private clearIdle(): void {
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = null;
  }

  /** As the server's code types it. */
  asSocket(): Socket {
    return this as unknown as Socket;
  }
}
