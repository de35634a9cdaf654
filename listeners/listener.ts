// A listener binds one socket from the config and hands each accepted connection to its module.
// One class for every mode; the mode decides how a connection is prepared before the module sees it:
//   tls: none      clear text; the module may offer STLS (RFC 2595) with the shared certificate
//   tls: implicit  the TLS handshake runs first, and the module sees an encrypted connection (port 995)
//   path           a unix socket instead of address and port (a local MTA's LMTP), clear text
// With proxyProtocol, each connection first sends a PROXY header (HAProxy) naming the real client.
import cluster from 'node:cluster';
import { chmod, lstat, mkdir, stat, unlink } from 'node:fs/promises';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { dirname } from 'node:path';
import { Connection, handshake, type TlsSource } from './connection.js';
import { PerAddress } from './per-address.js';
import { readProxyHeader } from './proxy-header.js';
import { TrustedProxies } from './trusted-proxies.js';

/** One listener's entry in the config (listeners[i]). */
export interface ListenerConfig {
  /** A name for logs and errors, unique among listeners. */
  name: string;
  /** The module that serves its connections. */
  module: string;
  address: string;
  /** TCP port (absent with `path`). */
  port?: number;
  /** A unix socket instead of address and port. */
  path?: string;
  tls: 'none' | 'implicit';
  /** Each connection starts with a PROXY protocol header from a load balancer (HAProxy) naming the client. */
  proxyProtocol: boolean;
  /** Who may send that header (addresses, CIDR ranges); absent: this machine and the private networks. */
  proxyFrom?: string[];
}

/** What a listener logs (the kernel's logger fits). */
export interface ListenerLog {
  info(details: Record<string, unknown>, message: string): void;
  error(details: Record<string, unknown>, message: string): void;
}

/** Binding failed; the message names the listener, the port, the reason and the fix. */
export class ListenError extends Error {}

export type ConnectionHandler = (conn: Connection) => void;

// Why a bind failed, and which key fixes it: the port for a privileged or busy port, the address for
// one that is not this machine's or does not resolve.
const REASONS: Record<string, { why: string; fix: 'port' | 'address' }> = {
  EACCES: { why: 'permission denied (ports below 1024 need root or the CAP_NET_BIND_SERVICE capability)', fix: 'port' },
  EADDRINUSE: { why: 'the port is already in use (is another mail server running?)', fix: 'port' },
  EADDRNOTAVAIL: { why: "the address is not one of this machine's", fix: 'address' },
  ENOTFOUND: { why: 'no such host name', fix: 'address' },
  EAI_AGAIN: { why: 'the host name cannot be resolved now', fix: 'address' },
  EAFNOSUPPORT: { why: 'this machine does not support that kind of address (IPv6 turned off?)', fix: 'address' },
  EINVAL: { why: 'not an address this machine can listen on', fix: 'address' },
};

// TLS handshakes in progress on one implicit-TLS listener: in all, and from one client address (the
// same bound holds connections waiting for their PROXY header).
const MAX_HANDSHAKES = 256;
const MAX_HANDSHAKES_PER_ADDRESS = 16;
/** A balancer sends the header at once; a connection without one in this time is closed. */
const PROXY_HEADER_TIMEOUT_MS = 10_000;

export class Listener {
  private server: Server | null = null;
  private readonly handshaking = new PerAddress<Socket>();
  private readonly awaitingHeader = new Set<Socket>();
  private readonly trustedProxies: TrustedProxies;

  constructor(
    readonly config: ListenerConfig,
    /** Where the listener stands in the config's list, for error messages. */
    private readonly index: number,
    private readonly handler: ConnectionHandler,
    private readonly log: ListenerLog,
    private readonly tls: TlsSource,
  ) {
    this.trustedProxies = new TrustedProxies(config.proxyFrom);
  }

  get name(): string {
    return this.config.name;
  }

  /** The bound port (differs from config.port when that is 0); 0 for a unix socket. */
  get port(): number {
    const addr = this.server?.address();
    return addr && typeof addr === 'object' ? addr.port : (this.config.port ?? 0);
  }

  async start(portOffset = 0): Promise<void> {
    if (this.config.path !== undefined) return this.startUnix(this.config.path);
    const configured = this.config.port ?? 0;
    const port = configured === 0 ? 0 : configured + portOffset;
    try {
      this.server = await this.bind(this.config.address, port);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? '';
      // A machine without IPv6 cannot bind "::"; every IPv4 address is the next best thing.
      if (this.config.address === '::' && (code === 'EAFNOSUPPORT' || code === 'EADDRNOTAVAIL')) {
        this.log.info({ listener: this.name }, 'IPv6 is not available; listening on IPv4 only');
        this.server = await this.bind('0.0.0.0', port).catch((e: unknown) => this.explain(e, '0.0.0.0', port));
      } else {
        this.explain(err, this.config.address, port);
      }
    }
    this.log.info(
      { listener: this.name, module: this.config.module, address: this.config.address, port: this.port, tls: this.config.tls },
      'listening',
    );
  }

  /**
   * A unix socket (a local MTA delivering over LMTP): a socket file left by a server that is gone is
   * replaced, anything else at the path is left alone and reported. Mode 0666, as Dovecot's LMTP socket:
   * the folder's permissions decide who may connect.
   */
  private async startUnix(path: string): Promise<void> {
    // the workers of one server share the socket their primary made ready (clearSocketPath) and listens on
    if (!cluster.isWorker) await clearSocketPath(path, this.name, this.index);
    else await checkSocketFolder(path, this.name, this.index);
    this.server = await new Promise<Server>((resolve, reject) => {
      const server = createServer({ highWaterMark: 256 * 1024 }, (socket) => this.accept(socket));
      server.once('error', reject);
      server.listen({ path, backlog: 511 }, () => {
        server.off('error', reject);
        server.on('error', (err) => this.log.error({ listener: this.name, err }, 'listener error'));
        resolve(server);
      });
    }).catch((err: NodeJS.ErrnoException) => {
      throw new ListenError(
        `cannot listen on ${path} for listener "${this.name}": ` +
          `${err.code === 'EACCES' ? 'permission denied (can this user write to that folder?)' : (err.code ?? err.message)}. ` +
          `Change listeners[${this.index}].path in the config.`,
      );
    });
    await chmod(path, 0o666);
    this.log.info({ listener: this.name, module: this.config.module, path }, 'listening');
  }

  private bind(address: string, port: number): Promise<Server> {
    return new Promise((resolve, reject) => {
      // A larger write high-water mark lets a big RETR keep the socket full instead of waking for every
      // 16 KiB drained; it limits, it does not allocate.
      const server = createServer({ noDelay: true, highWaterMark: 256 * 1024 }, (socket) => this.accept(socket));
      server.once('error', reject);
      server.listen({ host: address, port, backlog: 511 }, () => {
        server.off('error', reject);
        server.on('error', (err) => this.log.error({ listener: this.name, err }, 'listener error'));
        resolve(server);
      });
    });
  }

  private explain(err: unknown, address: string, port: number): never {
    const code = (err as NodeJS.ErrnoException).code ?? '';
    const reason = REASONS[code] ?? { why: (err as Error).message, fix: 'port' };
    const where = address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`;
    const fix =
      reason.fix === 'address'
        ? `Change listeners[${this.index}].address in the config to one of this machine's addresses ("::" or "0.0.0.0" for all of them, ` +
          `127.0.0.1 for this machine only).`
        : `Change listeners[${this.index}].port in the config, or start with --port-offset N to add N to every port (--port-offset ` +
          `10000 makes ${port} ${port + 10000}).`;
    throw new ListenError(`cannot listen on ${where} for listener "${this.name}": ${reason.why}. ${fix}`);
  }

  private accept(socket: Socket): void {
    socket.on('error', () => {}); // the module logs what matters; an early reset must not crash the process
    if (this.config.path !== undefined) {
      this.handler(new Connection(socket, this.name, null, false, 'local'));
      return;
    }
    if (!this.config.proxyProtocol) {
      this.prepare(socket, undefined);
      return;
    }
    // Only a balancer may say who the client is.
    if (!this.trustedProxies.allows(socket.remoteAddress)) {
      this.log.info({ listener: this.name, peer: socket.remoteAddress }, 'connection refused: not from a balancer in proxyFrom');
      socket.destroy();
      return;
    }
    // Behind a balancer every connection comes from its address: the header is awaited under a limit
    // of its own, and the per-address limits start once the client's address is known.
    if (this.awaitingHeader.size >= MAX_HANDSHAKES) {
      this.log.info(
        { listener: this.name, peer: socket.remoteAddress },
        'connection refused: too many connections waiting for their PROXY header',
      );
      socket.destroy();
      return;
    }
    this.awaitingHeader.add(socket);
    readProxyHeader(socket, PROXY_HEADER_TIMEOUT_MS).then(
      (client) => {
        this.awaitingHeader.delete(socket);
        this.prepare(socket, client ?? undefined);
      },
      (err: Error) => {
        this.awaitingHeader.delete(socket);
        this.log.info({ listener: this.name, peer: socket.remoteAddress, err: err.message }, 'connection closed: no valid PROXY header');
        socket.destroy();
      },
    );
  }

  /** A connection from `client` (the socket's peer when undefined): TLS first on an implicit listener. */
  private prepare(socket: Socket, client: { address: string; port: number } | undefined): void {
    if (this.config.tls === 'none') {
      this.handler(new Connection(socket, this.name, this.tls, false, client));
      return;
    }
    const context = this.tls.context;
    const address = client?.address ?? socket.remoteAddress ?? 'unknown';
    // Handshakes run before the module's channel limits apply: bound them here, or idle sockets could
    // pile up for the whole handshake timeout.
    if (!context || this.handshaking.size >= MAX_HANDSHAKES || this.handshaking.count(address) >= MAX_HANDSHAKES_PER_ADDRESS) {
      this.log.info({ listener: this.name, peer: address }, 'connection refused: too many TLS handshakes in progress');
      socket.destroy();
      return;
    }
    this.handshaking.add(address, socket);
    const done = () => this.handshaking.delete(address, socket);
    handshake(socket, context).then(
      (secure) => {
        done();
        this.handler(new Connection(secure, this.name, this.tls, true, client));
      },
      (err: Error) => {
        done();
        this.log.info({ listener: this.name, peer: address, err: err.message }, 'TLS handshake failed');
      },
    );
  }

  /** Stops accepting new connections; open connections go on. */
  async stop(): Promise<void> {
    const server = this.server;
    this.server = null;
    // close() stops accepting at once; its callback would wait for every open connection, which is
    // the module's business (sessions may finish until the shutdown deadline).
    server?.close();
  }
}

/**
 * Makes `path` ready for a unix-socket listener: a socket file left by a server that is gone is removed;
 * a live socket, or anything that is not a socket, is an error naming the listener and the key.
 */
export async function clearSocketPath(path: string, name: string, index: number): Promise<void> {
  await mkdir(dirname(path), { recursive: true, mode: 0o755 }).catch(() => {});
  await checkSocketFolder(path, name, index);
  const existing = await lstat(path).catch(() => null);
  if (existing && !existing.isSocket())
    throw new ListenError(
      `cannot listen on ${path} for listener "${name}": something that is not a socket is there. Remove it, or change ` +
        `listeners[${index}].path in the config.`,
    );
  if (existing) {
    const answer = await socketAnswers(path);
    if (answer === 'listening')
      throw new ListenError(
        `cannot listen on ${path} for listener "${name}": another server is listening there. Stop it, or change ` +
          `listeners[${index}].path in the config.`,
      );
    if (answer !== 'nobody')
      throw new ListenError(
        `cannot listen on ${path} for listener "${name}": a socket is there and connecting to it failed (${answer}), so it may be in ` +
          `use. Remove it if it is not, or change listeners[${index}].path in the config.`,
      );
    await unlink(path);
  }
}

/**
 * The socket is made, then given mode 0666 by its path: in a folder someone else may write to (others
 * or the group without the sticky bit that keeps them from renaming our files, or a folder another user
 * owns) they could put a link there in between and have another file's mode changed. Refused, naming
 * the key.
 */
export async function checkSocketFolder(path: string, name: string, index: number): Promise<void> {
  const folder = dirname(path);
  const info = await stat(folder).catch(() => null); // the folder a link points to is the one that counts
  if (!info) return; // listening will say what is wrong with it
  const uid = process.getuid?.() ?? 0;
  const fix = `Use a folder only this user can write to (like /run/postern), or change listeners[${index}].path in the config.`;
  if (info.uid !== 0 && info.uid !== uid) {
    throw new ListenError(
      `cannot listen on ${path} for listener "${name}": the folder ${folder} belongs to another user (uid ${info.uid}), who could ` +
        `replace the socket. ${fix}`,
    );
  }
  if ((info.mode & 0o022) !== 0 && (info.mode & 0o1000) === 0) {
    throw new ListenError(
      `cannot listen on ${path} for listener "${name}": other users can write to the folder ${folder} ` +
        `(mode ${(info.mode & 0o7777).toString(8)}), so they could replace the socket. ${fix}`,
    );
  }
}

/** Whether a server accepts connections on the unix socket at `path`: only a refused connection says nobody does. */
export function socketAnswers(path: string): Promise<'listening' | 'nobody' | string> {
  return new Promise((resolve) => {
    const s = connect({ path });
    s.once('connect', () => {
      s.destroy();
      resolve('listening');
    });
    s.once('error', (err: NodeJS.ErrnoException) => resolve(err.code === 'ECONNREFUSED' ? 'nobody' : (err.code ?? err.message)));
  });
}
