// The front of Sieve at delivery: it asks "is there anything to run?" before the Sieve modules are loaded
// (sieve-filter.ts and what it imports: the compiler, the interpreter, the run pool, the actions). An MTA
// starts `postern deliver` for every message, and most accounts have no script: loading those modules for
// nothing cost about 50 ms of each such delivery. They are loaded at once when the site has scripts
// (sieve.before, sieve.after: read and compiled at start, as before) or when there are metrics to register (a
// server, which loads once), else at the first account that has an active script.
import type { AccountAddress } from '../accounts/names.js';
import type { CarriedOut } from './sieve-actions.js';
import type { FilterInput, SieveFilter, SieveFilterOptions } from './sieve-filter.js';
import type { ReadyScript } from './sieve-scripts.js';

/** What a delivery asks of Sieve (local-delivery.ts): the scripts of an account, and their run carried out. */
export interface DeliverySieve {
  /** Resolves once the site scripts are read (their problems logged). */
  ready(): Promise<void>;
  /** The scripts to run for the account, in order; empty: nothing to run, the delivery stores as without Sieve. */
  scriptsFor(account: AccountAddress): Promise<ReadyScript[]>;
  /** Runs the scripts scriptsFor() gave and carries out their outcome. */
  filter(scripts: readonly ReadyScript[], d: FilterInput): Promise<CarriedOut>;
}

export class SieveFront implements DeliverySieve {
  private loaded: Promise<SieveFilter> | null = null;

  constructor(private readonly options: SieveFilterOptions) {
    const { settings, metrics } = options;
    const siteScripts = settings.before.length > 0 || settings.after.length > 0;
    if (settings.enabled && (siteScripts || metrics !== null)) void this.filterNow().catch(() => {});
  }

  /** The filter, its modules imported the first time. */
  private filterNow(): Promise<SieveFilter> {
    this.loaded ??= import('./sieve-filter.js').then(({ SieveFilter }) => new SieveFilter(this.options));
    return this.loaded;
  }

  async ready(): Promise<void> {
    if (this.loaded) await (await this.loaded).ready();
  }

  async scriptsFor(account: AccountAddress): Promise<ReadyScript[]> {
    if (!this.options.settings.enabled) return [];
    if (!this.loaded) {
      // no site scripts: only the account's active script can run. Reading it here to look costs nothing twice:
      // the store keeps it until it changes (store/maildir/sieve-scripts.ts). A failure to read it is
      // sieve-filter.ts's to answer (a temporary failure), so it is asked there.
      const active = await this.options.store
        .sieveScripts(account)
        .active()
        .catch(() => undefined);
      if (active === null) return [];
    }
    return (await this.filterNow()).scriptsFor(account);
  }

  async filter(scripts: readonly ReadyScript[], d: FilterInput): Promise<CarriedOut> {
    return (await this.filterNow()).filter(scripts, d);
  }
}
