// What the modules get from a config, built in one place: the account directory with its cache, the
// mail store, the router and what submission needs. The kernel builds them over the Maildir store; the
// tests' in-process harness (test/helpers/in-process.ts) over the in-memory one, so the two cannot drift.
import { AccountStore } from '../accounts/account-store.js';
import { AuthCache } from '../accounts/auth-cache.js';
import { LocalDomains } from '../accounts/names.js';
import { Router } from '../accounts/router.js';
import type { SharedLimits } from '../cluster/shared-limits.js';
import type { Logger } from '../observability/logger.js';
import type { MailStore } from '../store/contract.js';
import { Relay } from '../submission/relay.js';
import type { SubmissionServices } from '../submission/submitter.js';
import type { LoadedConfig } from './config.js';
import type { ModuleContext } from './module.js';

export interface ModuleServices {
  /** The context without what lives as long as the process (submitter, metrics, trace, signed-in sessions). */
  readonly ctx: Omit<ModuleContext, 'submitter' | 'metrics' | 'trace' | 'signedIn'>;
  readonly submission: SubmissionServices;
}

export function moduleServices(
  config: LoadedConfig,
  logger: Logger,
  shared: SharedLimits | null,
  makeStore: (accounts: AccountStore) => MailStore,
): ModuleServices {
  const domains = new LocalDomains(config.mainDomain, config.domains);
  const accounts = new AccountStore(
    config.dataDir,
    domains,
    new AuthCache(config.authCache.entries, config.authCache.ttl * 1000),
    config.passwords.rehash,
  );
  const store = makeStore(accounts);
  const router = new Router(config.dataDir, accounts);
  const submission: SubmissionServices = {
    accounts,
    store,
    router,
    relay: config.submission.relay ? new Relay(config.submission.relay) : null,
    settings: { maxPerHour: config.submission.maxPerHour, hostname: config.mainDomain, realToHeader: config.realToHeader },
    sharedRate: shared?.rate ?? null,
  };
  return { ctx: { config, logger, accounts, store, router, shared }, submission };
}
