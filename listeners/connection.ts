// One accepted connection, as a listener hands it to a module. The socket changes once if the
// client starts TLS (STLS): modules always use `connection.socket`, never a copy of it.
import type { Socket } from 'node:net';
import { TLSSocket } from 'node:tls';
import type { SecureContext } from 'node:tls';

/** Where TLS connections get their certificate (the kernel's TlsProvider); null until one is loaded. */
export interface TlsSource {
  readonly context: SecureContext | null;
}

/** How long a client may take to finish a TLS handshake. */
export const HANDSHAKE_TIMEOUT_MS = 30_000;

export class Connection {
  readonly id = nextConnectionId();
  readonly peer: string;
  readonly remoteAddress: string;
  /** True for a loopback client (127.0.0.0/8, ::1). */
  readonly loopback: boolean;
  private current: Socket;
  private tlsStarted: boolean;

  constructor(
    socket: Socket,
    /** The listener's name from the config. */
    readonly listener: string,
    /** Where STLS gets its certificate; null when the listener cannot offer TLS. */
    private readonly tls: TlsSource | null,
    secure: boolean,
    /** 'local' for a unix socket's client (this machine; no address); the client a PROXY header named; absent: the socket's peer. */
    origin?: 'local' | { readonly address: string; readonly port: number },
  ) {
    this.current = socket;
    this.tlsStarted = secure;
    if (origin === 'local') {
      this.remoteAddress = 'local';
      this.peer = 'local';
      this.loopback = true;
    } else {
      const socketPeer = normalizeAddress(socket.remoteAddress ?? 'unknown');
      this.remoteAddress = origin ? normalizeAddress(origin.address) : socketPeer;
      this.peer = formatPeer(this.remoteAddress, origin?.port ?? socket.remotePort);
      // A header may name any address: this machine only when the balancer is on it too.
      this.loopback = isLoopback(this.remoteAddress) && isLoopback(socketPeer);
    }
  }

  /** The socket to read and write (the TLS socket once TLS has started). */
  get socket(): Socket {
    return this.current;
  }

  /** True once the connection is encrypted. */
  get secure(): boolean {
    return this.tlsStarted;
  }

  /** Sends one line (a refusal: too many connections, shutting down) and closes; destroyed after 5 s if the client does not read. */
  refuse(line: string): void {
    this.current.end(`${line}\r\n`);
    setTimeout(() => this.current.destroy(), 5000).unref();
  }

  /** True when STLS can be offered: not yet encrypted and a certificate is loaded. */
  get canStartTls(): boolean {
    return !this.tlsStarted && this.tls?.context != null;
  }

  /**
   * The certificate a TLS handshake on this connection would use now, for a module whose protocol library
   * runs STARTTLS itself (SMTP submission through smtp-server); null when there is none.
   */
  get tlsContext(): SecureContext | null {
    return this.tls?.context ?? null;
  }

  /**
   * Runs the server side of a TLS handshake on the current socket (RFC 2595 STLS). Resolves when
   * the handshake is done; rejects (and destroys the socket) when it fails or times out.
   */
  async startTls(): Promise<void> {
    const context = this.tls?.context;
    if (!context || this.tlsStarted) throw new Error('TLS cannot be started on this connection');
    this.tlsStarted = true;
    this.current = await handshake(this.current, context);
  }
}

/** Wraps `raw` in a server-side TLS socket and waits for the handshake. */
export function handshake(raw: Socket, secureContext: SecureContext): Promise<TLSSocket> {
  return new Promise((resolve, reject) => {
    const secure = new TLSSocket(raw, { isServer: true, secureContext });
    const fail = (err: Error) => {
      clearTimeout(timer);
      secure.destroy();
      raw.destroy();
      reject(err);
    };
    const timer = setTimeout(() => fail(new Error('TLS handshake timed out')), HANDSHAKE_TIMEOUT_MS);
    secure.once('error', fail);
    secure.once('secure', () => {
      clearTimeout(timer);
      secure.off('error', fail);
      secure.on('error', () => {}); // the module listens for what it needs
      resolve(secure);
    });
  });
}

let counter = 0;
const prefix = Date.now().toString(36).slice(-4);

export function nextConnectionId(): string {
  counter += 1;
  return `${prefix}${counter.toString(36).padStart(4, '0')}`;
}

function normalizeAddress(address: string): string {
  return address.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address;
}

export function isLoopback(address: string): boolean {
  return address === '::1' || address.startsWith('127.');
}

export function formatPeer(address: string, port: number | undefined): string {
  return address.includes(':') ? `[${address}]:${port ?? 0}` : `${address}:${port ?? 0}`;
}
