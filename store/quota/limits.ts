// Where an account's quota limits come from: the config's `quota` key (a default and per-domain rules)
// and the account's own override (`postern quota set`, kept in its account.json). Each resource is taken
// from the most specific place that names it: the account, then its domain, then the default.
import { NO_LIMITS, type QuotaLimitsOf, type QuotaValues } from './quota.js';

/** Limits a rule sets; a resource it leaves out comes from the rule above it (0: no limit). */
export interface QuotaRule {
  readonly storage?: number;
  readonly messages?: number;
}

/** The config's `quota` key, as validated (server/config.ts). */
export interface QuotaSettings {
  readonly storage: number;
  readonly messages: number;
  readonly domains: Readonly<Record<string, QuotaRule>>;
  /** Over quota is a temporary failure (LMTP 452 4.2.2, deliver exit 75), as Dovecot's quota_full_tempfail. */
  readonly fullTempfail: boolean;
}

/** Where an account's own override is read (the account store: account.json's `quota`). */
export interface QuotaOverrides {
  get(account: { readonly name: string; readonly domain: string }): Promise<{ readonly quota?: QuotaRule | null } | null>;
}

/** The name of a domain's account of public mailboxes: only its own override limits it. */
const PUBLIC = 'public';

export function quotaLimitsOf(settings: QuotaSettings, overrides: QuotaOverrides): QuotaLimitsOf {
  return async (account) => {
    const own = (await overrides.get(account))?.quota ?? {};
    const shared: QuotaRule = account.name === PUBLIC ? NO_LIMITS : { ...settings, ...settings.domains[account.domain] };
    const pick = (key: keyof QuotaValues): number => own[key] ?? shared[key] ?? 0;
    return { storage: pick('storage'), messages: pick('messages') };
  };
}
