// The kernel: builds the account and mail stores, starts the registered modules, binds the listeners
// from the config and routes each listener's connections to its module; stops it all on request.
import { AccountStore } from '../../accounts/account-store.js';
import { MaildirStore } from '../../accounts/maildir/maildir-store.js';
import { LocalDomains } from '../../accounts/names.js';
import { Listener } from '../../listeners/listener.js';
import { ConfigError, type LoadedConfig } from './config.js';
import type { Logger } from './logger.js';
import type { ModuleContext } from './module.js';
import type { ModuleRegistry } from './registry.js';

export interface KernelOptions {
  /** Added to every non-zero listener port (--port-offset). */
  portOffset?: number;
}

export class Kernel {
  readonly accounts: AccountStore;
  readonly store: MaildirStore;
  private listeners: Listener[] = [];
  private started = false;

  constructor(
    readonly config: LoadedConfig,
    readonly logger: Logger,
    private readonly registry: ModuleRegistry,
    private readonly options: KernelOptions = {},
  ) {
    this.accounts = new AccountStore(config.dataDir, new LocalDomains(config.mainDomain, config.domains));
    this.store = new MaildirStore(this.accounts);
    config.listeners.forEach((l, i) => {
      if (!registry.get(l.module)) {
        throw new ConfigError(`${config.file ?? 'config'}: listeners[${i}].module: no module "${l.module}"; the modules are: ${registry.names().join(', ')}`);
      }
    });
  }

  /** Starts every module, then binds every listener; if one cannot bind, nothing stays bound. */
  async start(): Promise<void> {
    const ctx: ModuleContext = { config: this.config, logger: this.logger, accounts: this.accounts, store: this.store };
    for (const module of this.registry.all()) await module.start(ctx);
    this.started = true;
    const listeners = this.config.listeners.map(
      (l, i) => new Listener(l, i, (conn) => this.registry.get(l.module)!.accept(conn), this.logger),
    );
    try {
      for (const l of listeners) {
        await l.start(this.options.portOffset);
        this.listeners.push(l);
      }
    } catch (err) {
      await this.stop(Date.now());
      throw err;
    }
  }

  /** The bound port of the named listener (tests bind port 0). */
  port(listenerName: string): number | undefined {
    return this.listeners.find((l) => l.name === listenerName)?.port;
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
  }
}
