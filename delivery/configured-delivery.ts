// The local delivery a config describes, with its Sieve filter: built the same way by the LMTP module (at
// start and each reload) and by `postern deliver`. The config's shape is declared here (the server's config
// is a floor above).
import type { Router } from '../accounts/router.js';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import type { SieveSettings } from '../sieve/config.js';
import type { MailStore } from '../store/contract.js';
import { LocalDelivery } from './local-delivery.js';
import type { OutgoingMail } from './sieve-actions.js';
import { type DeliverySieve, SieveFront } from './sieve-front.js';

/** The keys of the config a delivery reads. */
export interface DeliveryConfig {
  readonly mainDomain: string;
  readonly realToHeader: string;
  readonly baseDir: string;
  readonly delivery: { readonly maxSize: number; readonly recipientDelimiter: string };
  readonly quota: { readonly fullTempfail: boolean };
  readonly sieve: SieveSettings;
}

/** The delivery and its filter (whose ready() says when the site scripts are read). */
export function configuredDelivery(
  config: DeliveryConfig,
  services: { router: Router; store: MailStore; relay: OutgoingMail | null; logger: Logger; metrics: Metrics | null },
): { delivery: LocalDelivery; sieve: DeliverySieve } {
  // the Sieve modules are loaded only when there is something to run (sieve-front.ts)
  const sieve = new SieveFront({
    store: services.store,
    settings: config.sieve,
    baseDir: config.baseDir,
    relay: services.relay,
    logger: services.logger,
    metrics: services.metrics,
    mainDomain: config.mainDomain,
    fullTempfail: config.quota.fullTempfail,
  });
  const delivery = new LocalDelivery(
    services.router,
    services.store,
    {
      mainDomain: config.mainDomain,
      realToHeader: config.realToHeader,
      maxSize: config.delivery.maxSize,
      recipientDelimiter: config.delivery.recipientDelimiter,
      fullTempfail: config.quota.fullTempfail,
    },
    sieve,
  );
  return { delivery, sieve };
}
