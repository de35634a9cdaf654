// The kernel: builds the account and mail stores and the TLS certificate, starts the registered
// modules, binds the listeners from the config and routes each listener's connections to its module.
// reload() applies a new config live (SIGHUP, as CommuniGate applies listener changes): listeners
// added or removed, certificates re-read, open sessions untouched.
import { type ChangeNotices, LocalNotices } from '../store/maildir/change-notices.js';
import { MaildirStore } from '../store/maildir/store.js';
import { quotaLimitsOf } from '../store/quota/limits.js';
import { TlsProvider } from '../certs/tls-provider.js';
import { Listener } from '../listeners/listener.js';
import { Metrics } from '../observability/metrics.js';
import { TraceLog } from '../observability/trace.js';
import { Submitter } from '../submission/submitter.js';
import { SignedInSessions } from '../sessions/signed-in.js';
import { moduleServices, type ModuleServices } from './module-services.js';
import { certificateSettings, ConfigError, type ListenerConfig, type LoadedConfig } from './config.js';
import type { Logger } from '../observability/logger.js';
import type { ModuleContext } from './module.js';
import type { SharedLimits } from '../cluster/shared-limits.js';
import type { ModuleRegistry } from './registry.js';

export interface KernelOptions {
  /** Added to every non-zero listener port (--port-offset). */
  portOffset?: number;
  /** The limits counted with other processes: the other workers (serve --workers), the other nodes (Redis). */
  shared?: SharedLimits;
  /** Change notices between sessions, and with other nodes (Redis); default: this process's sessions. */
  notices?: ChangeNotices;
  /** In a worker: /metrics is served by the primary, with every worker's counts added up. */
  metricsByPrimary?: boolean;
}

export class Kernel {
  readonly tls = new TlsProvider();
  readonly metrics = new Metrics();
  readonly trace = new TraceLog();
  /** This process's signed-in sessions (`postern who`). */
  readonly signedIn = new SignedInSessions();
  private readonly submitter: Submitter;
  private ctx: ModuleContext;
  private listeners: Listener[] = [];
  private started = false;
  private readonly notices: ChangeNotices;

  constructor(
    config: LoadedConfig,
    readonly logger: Logger,
    private readonly registry: ModuleRegistry,
    private readonly options: KernelOptions = {},
  ) {
    this.notices = options.notices ?? new LocalNotices();
    const { ctx, submission } = this.context(config);
    this.submitter = new Submitter(submission);
    this.ctx = { ...ctx, submitter: this.submitter, metrics: this.metrics, trace: this.trace, signedIn: this.signedIn };
  }

  get config(): LoadedConfig {
    return this.ctx.config;
  }

  /** Builds what modules get from a config; throws ConfigError for an unknown module or bad domain. */
  private context(config: LoadedConfig): ModuleServices {
    config.listeners.forEach((l, i) => {
      if (!this.registry.get(l.module)) {
        throw new ConfigError(
          `${config.file ?? 'config'}: listeners[${i}].module: no module "${l.module}"; the modules ` +
            `are: ${this.registry.names().join(', ')}`,
        );
      }
    });
    const watching = { notices: this.notices, fileWatch: !config.sharedTree };
    return moduleServices(
      config,
      this.logger,
      this.options.shared ?? null,
      (accounts) =>
        new MaildirStore(accounts, {
          mainDomain: config.mainDomain,
          log: this.logger,
          watching,
          quota: quotaLimitsOf(config.quota, accounts),
          inPlaceCalls: config.store.inPlaceCalls,
          searchIndex: config.index,
          sharedTree: config.sharedTree,
        }),
    );
  }

  /** Loads the certificate, starts every module, then binds every listener; if one cannot bind, nothing stays bound. */
  async start(): Promise<void> {
    const { generatedNow } = await this.tls.load(certificateSettings(this.config));
    if (generatedNow) this.logger.info({ cert: this.tls.files?.cert, host: this.config.mainDomain }, 'generated a self-signed certificate');
    this.trace.open(this.config.log.trace);
    await this.ctx.accounts.prepareDecoy();
    await this.serveMetrics();
    for (const module of this.registry.all()) await module.start(this.ctx);
    this.started = true;
    try {
      for (const [i, l] of this.config.listeners.entries()) await this.startListener(l, i);
    } catch (err) {
      await this.stop(Date.now());
      throw err;
    }
  }

  private async startListener(config: ListenerConfig, index: number): Promise<void> {
    const module = this.registry.get(config.module)!;
    const listener = new Listener(config, index, (conn) => module.accept(conn), this.logger, this.tls);
    await listener.start(this.options.portOffset);
    this.listeners.push(listener);
  }

  /** Serves /metrics as the config says; a port that cannot be bound is logged, not fatal. */
  private async serveMetrics(): Promise<void> {
    if (this.options.metricsByPrimary) return;
    try {
      const port = await this.metrics.serve(this.config.metrics);
      if (port !== null) this.logger.info({ address: this.config.metrics!.address, port }, 'metrics at /metrics');
    } catch (err) {
      this.logger.error({ err: (err as Error).message, metrics: this.config.metrics }, 'cannot serve metrics');
    }
  }

  /**
   * Applies a new config without dropping sessions. Listeners whose entry changed or disappeared stop
   * accepting; new entries start (one that cannot bind is logged and skipped). The certificate is read
   * again. Throws (and changes nothing) when the new config itself is unusable. Returns the listeners
   * that could not start, with why.
   */
  async reload(config: LoadedConfig): Promise<{ listener: string; err: string }[]> {
    if (!this.started) throw new Error('the server is not running (stopping)');
    const { ctx, submission } = this.context(config);
    await this.tls.load(certificateSettings(config));
    await ctx.accounts.prepareDecoy();
    // the old directory's connections (a session still using it opens it again)
    void this.ctx.accounts.close().catch(() => {});
    this.submitter.reconfigure(submission);
    this.ctx = { ...ctx, submitter: this.submitter, metrics: this.metrics, trace: this.trace, signedIn: this.signedIn };
    this.trace.open(config.log.trace);
    await this.serveMetrics();
    const current = this.ctx;
    this.logger.level = config.log.level;
    for (const module of this.registry.all()) module.reconfigure(current);

    const same = (a: ListenerConfig, b: ListenerConfig) => JSON.stringify(a) === JSON.stringify(b);
    const keep: Listener[] = [];
    for (const l of this.listeners) {
      if (config.listeners.some((c) => same(c, l.config))) keep.push(l);
      else {
        await l.stop();
        this.logger.info({ listener: l.name }, 'listener stopped (removed or changed in the config)');
      }
    }
    this.listeners = keep;
    const failed: { listener: string; err: string }[] = [];
    for (const [i, c] of config.listeners.entries()) {
      if (keep.some((l) => same(l.config, c))) continue;
      try {
        await this.startListener(c, i);
      } catch (err) {
        this.logger.error({ listener: c.name, err: (err as Error).message }, 'cannot start listener');
        failed.push({ listener: c.name, err: (err as Error).message });
      }
    }
    return failed;
  }

  /** Stops accepting, lets sessions finish until `deadline`, then cuts the rest. */
  async stop(deadline = Date.now() + this.config.shutdownTimeout * 1000): Promise<void> {
    const listeners = this.listeners;
    this.listeners = [];
    await Promise.all(listeners.map((l) => l.stop()));
    if (this.started) {
      this.started = false;
      await Promise.all(this.registry.all().map((m) => m.stop(deadline)));
    }
    await this.metrics.close();
    this.trace.close();
    await this.ctx.accounts.close().catch(() => {});
    if (this.ctx.store instanceof MaildirStore) await this.ctx.store.stopIndexing().catch(() => {});
  }
}
