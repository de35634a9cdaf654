// The protocol modules served in the test's own process: no `postern serve`, no port. The modules get a
// ModuleContext built as the kernel builds it (server/kernel.ts), over the in-memory mail store and a real
// account directory in a temporary folder, and each connection is a pair of in-memory sockets
// (test/helpers/socket-pair.ts) handed to the module as a listener hands it a TCP connection. So a session
// greets, signs in and answers exactly as in the real server, in milliseconds. RawPop and RawImap connect
// to a listener here as to a port: `RawImap.connect(server.portOf('imap'))`.
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import type { Socket } from 'node:net';
import { inject } from 'vitest';
import { MODULE_TABLE } from '../../modules/table.js';
import { AccountStore } from '../../accounts/account-store.js';
import { LocalDomains } from '../../accounts/names.js';
import { certificateFiles, TlsProvider } from '../../certs/tls-provider.js';
import { Bulletins } from '../../delivery/bulletins.js';
import { LocalDelivery } from '../../delivery/local-delivery.js';
import { Connection, handshake } from '../../listeners/connection.js';
import { bulletinDir } from '../../modules/pop/config.js';
import { createLogger } from '../../observability/logger.js';
import { Metrics } from '../../observability/metrics.js';
import { TraceLog } from '../../observability/trace.js';
import { certificateSettings, type ListenerConfig, type LoadedConfig, validateConfig } from '../../server/config.js';
import type { ModuleContext, PosternModule } from '../../server/module.js';
import { moduleServices } from '../../server/module-services.js';
import { SignedInSessions } from '../../sessions/signed-in.js';
import { ModuleRegistry } from '../../server/registry.js';
import { MemoryStore } from '../../store/memory/memory-store.js';
import { quotaLimitsOf } from '../../store/quota/limits.js';
import { Submitter } from '../../submission/submitter.js';
import type { Endpoint } from './pop-client.js';
import { LogBook, type LogRecord, testConfig } from './server.js';
import { PairSocket } from './socket-pair.js';

export interface InProcessServer {
  /** The temporary folder: the config's folder, with dataDir ./data (accounts; the mail is in memory). */
  dir: string;
  dataDir: string;
  config: LoadedConfig;
  /** The listener named pop3, as TestServer.port. */
  port: Endpoint;
  /** A listener of the config, by name: what RawPop and RawImap connect to. */
  portOf(listener: string): Endpoint;
  /** What the modules were given. */
  ctx: ModuleContext;
  /** Every log record written so far. */
  logs: LogRecord[];
  /** Resolves with the first log record matching, waiting up to `ms`. */
  waitForLog(match: (r: LogRecord) => boolean, ms?: number): Promise<LogRecord>;
  /** As `postern account add NAME --password-stdin [--apop-secret SECRET]`. */
  addAccount(name: string, password: string, apopSecret?: string): Promise<void>;
  /** As `postern deliver ADDRESS` (the message on standard input). */
  deliver(address: string, message: string | Buffer): Promise<void>;
  /** Stops the modules as the kernel does at SIGTERM (sessions get their BYE), then removes the folder. */
  stop(): Promise<void>;
}

export interface InProcessOptions {
  /** Config keys merged over the test defaults (test/helpers/server.ts testConfig). */
  config?: Record<string, unknown>;
}

/** One listener of the config, served by handing each new pair of sockets to its module. */
class InProcessListener {
  constructor(
    private readonly config: ListenerConfig,
    private readonly module: PosternModule,
    private readonly tls: TlsProvider,
  ) {}

  /** The client's side of a new connection (encrypted on an implicit-TLS listener). */
  async dial(): Promise<Socket> {
    if (this.config.proxyProtocol)
      throw new Error(`listener ${this.config.name}: PROXY headers are for the end-to-end tests (a real listener)`);
    const [server, client] = PairSocket.pair();
    server.on('error', () => {}); // as listeners/listener.ts: the module logs what matters
    if (this.config.path !== undefined) {
      this.module.accept(new Connection(server.asSocket(), this.config.name, null, false, 'local'));
      return client.asSocket();
    }
    if (this.config.tls === 'none') {
      this.module.accept(new Connection(server.asSocket(), this.config.name, this.tls, false));
      return client.asSocket();
    }
    void handshake(server.asSocket(), this.tls.context!).then(
      (secure) => this.module.accept(new Connection(secure, this.config.name, this.tls, true)),
      () => {},
    );
    const secure = tlsConnect({ socket: client.asSocket(), rejectUnauthorized: false });
    await new Promise<void>((resolve, reject) => {
      secure.once('secureConnect', resolve);
      secure.once('error', reject);
    });
    return secure;
  }
}

export async function startInProcess(options: InProcessOptions = {}): Promise<InProcessServer> {
  const dir = await mkdtemp(join(tmpdir(), 'postern-inprocess-'));
  const config = validateConfig(testConfig(options.config), join(dir, 'postern.yaml'), MODULE_TABLE);
  await mkdir(config.dataDir, { recursive: true, mode: 0o750 });

  const book = new LogBook();
  const logger = createLogger(config.log.level, {
    write: (line: string) => book.add(JSON.parse(line) as LogRecord),
    flush: async () => {},
  });

  // As Kernel.start(), with the in-memory store in place of the Maildir one (server/module-services.ts).
  const domains = new LocalDomains(config.mainDomain, config.domains);
  const { ctx: services, submission } = moduleServices(
    config,
    logger,
    null,
    (accounts) => new MemoryStore(config.mainDomain, quotaLimitsOf(config.quota, accounts)),
  );
  const { accounts, store, router } = services;
  const submitter = new Submitter(submission);
  const metrics = new Metrics();
  const trace = new TraceLog();
  const tls = new TlsProvider();
  const ctx: ModuleContext = { ...services, submitter, metrics, trace, signedIn: new SignedInSessions() };
  // the certificate of this test run (test/helpers/global-setup.ts) where the server keeps the one it generates
  const files = certificateFiles(certificateSettings(config));
  if (files.generated) {
    const pair = inject('testCertificate');
    await mkdir(dirname(files.cert), { recursive: true, mode: 0o700 });
    await writeFile(files.key, pair.key, { mode: 0o600 });
    await writeFile(files.cert, pair.cert, { mode: 0o644 });
  }
  await tls.load(certificateSettings(config));
  trace.open(config.log.trace);
  await accounts.prepareDecoy();
  const registry = await ModuleRegistry.load(MODULE_TABLE);
  for (const module of registry.all()) await module.start(ctx);
  const listeners = new Map(config.listeners.map((l) => [l.name, new InProcessListener(l, registry.get(l.module)!, tls)]));

  // The command line's stores: an account directory of its own, without the server's cache (cli/context.ts).
  const admin = new AccountStore(config.dataDir, domains);
  const delivery = new LocalDelivery(router, store, {
    mainDomain: config.mainDomain,
    realToHeader: config.realToHeader,
    maxSize: config.delivery.maxSize,
  });
  let stopped = false;

  const portOf = (name: string): Endpoint => {
    const listener = listeners.get(name);
    if (!listener) throw new Error(`no listener named ${name}`);
    return listener;
  };
  return {
    dir,
    dataDir: config.dataDir,
    config,
    port: listeners.get('pop3') ?? { dial: () => Promise.reject(new Error('no listener named pop3')) },
    portOf,
    ctx,
    logs: book.records,
    waitForLog: (match, ms = 5000) => book.waitFor(match, ms),
    async addAccount(name, password, apopSecret) {
      const address = domains.parse(name);
      const bulletins = bulletinDir(config);
      const mark = bulletins ? await new Bulletins(bulletins, admin, store).highest() : null;
      await admin.add(address, password, apopSecret ?? null, mark);
    },
    async deliver(address, message) {
      const recipient = await delivery.recipient(address);
      const { mailbox } = await delivery.mailbox(recipient, 'INBOX');
      async function* input(): AsyncGenerator<Buffer> {
        yield Buffer.from(message);
      }
      await delivery.deliver(recipient, mailbox, input());
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      const deadline = Date.now() + config.shutdownTimeout * 1000;
      await Promise.all(registry.all().map((m) => m.stop(deadline)));
      await metrics.close();
      trace.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
