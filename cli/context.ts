// What every command needs: the validated config and the stores built from it.
import { mkdir } from 'node:fs/promises';
import { AccountStore } from '../accounts/account-store.js';
import { MaildirStore } from '../accounts/maildir/maildir-store.js';
import { LocalDomains, NameError, type AccountAddress } from '../accounts/names.js';
import { Router } from '../accounts/router.js';
import { ConfigError, loadConfig, type LoadedConfig } from '../modules/kernel/config.js';
import { CliError, EXIT } from './exit.js';

export interface CliContext {
  config: LoadedConfig;
  accounts: AccountStore;
  store: MaildirStore;
  router: Router;
}

export async function openContext(configFile: string | undefined): Promise<CliContext> {
  let config: LoadedConfig;
  let domains: LocalDomains;
  try {
    config = await loadConfig(configFile);
    domains = new LocalDomains(config.mainDomain, config.domains);
  } catch (err) {
    if (err instanceof ConfigError || err instanceof NameError) throw new CliError(`config error: ${err.message}`, EXIT.config);
    throw err;
  }
  await mkdir(config.dataDir, { recursive: true, mode: 0o750 });
  const accounts = new AccountStore(config.dataDir, domains);
  return { config, accounts, store: new MaildirStore(accounts), router: new Router(config.dataDir, accounts) };
}

/** Parses NAME[@DOMAIN] given on the command line; a bad one is a usage error. */
export function parseAccount(ctx: CliContext, input: string, exitCode: number = EXIT.usage): AccountAddress {
  try {
    return ctx.accounts.domains.parse(input);
  } catch (err) {
    if (err instanceof NameError) throw new CliError(err.message, exitCode);
    throw err;
  }
}
