// What every command needs: the validated config and the stores built from it. Each command says
// which data folder it used, and only the commands that set a server up (serve, account add, cert
// generate) make a new one: run from the wrong folder, the others stop instead of quietly using an
// empty data folder that no server reads.
import { mkdir, stat } from 'node:fs/promises';
import { AccountStore } from '../accounts/account-store.js';
import { DirectoryHandle } from '../accounts/directory/open.js';
import { MaildirStore } from '../store/maildir/store.js';
import { quotaLimitsOf } from '../store/quota/limits.js';
import type { ChangeNotices } from '../store/maildir/change-notices.js';
import { LocalDomains, NameError, type AccountAddress } from '../accounts/names.js';
import { Router } from '../accounts/router.js';
import { ConfigError, type LoadedConfig } from '../server/config.js';
import type { ModuleEntry } from '../server/module.js';
import { loadConfigAndModules } from '../server/outside-modules.js';
import { MODULE_TABLE } from '../modules/table.js';
import { CliError, EXIT } from './exit.js';

export interface CliContext {
  config: LoadedConfig;
  /** Every module the config may use: the module table's and those its `modules:` key names (not loaded). */
  modules: readonly ModuleEntry[];
  accounts: AccountStore;
  store: MaildirStore;
  router: Router;
  /** "data folder /x/data", for the command's answer. */
  where: string;
}

export interface ContextOptions {
  /** Make the data folder when it does not exist yet (and say so). */
  create?: boolean;
  /** Told of every mailbox folder the command changes. */
  notices?: ChangeNotices;
}

/** Where the config came from, in words. */
function configSource(config: LoadedConfig): string {
  return config.file ? `config ${config.file}` : `no postern.yaml in ${process.cwd()}: the embedded default`;
}

export async function openContext(configFile: string | undefined, options: ContextOptions = {}): Promise<CliContext> {
  let config: LoadedConfig;
  let modules: readonly ModuleEntry[];
  let domains: LocalDomains;
  try {
    ({ config, modules } = await loadConfigAndModules(configFile, MODULE_TABLE));
    domains = new LocalDomains(config.mainDomain, config.domains);
  } catch (err) {
    if (err instanceof ConfigError || err instanceof NameError) throw new CliError(`config error: ${err.message}`, EXIT.config);
    throw err;
  }
  const exists = await stat(config.dataDir).then(
    (s) => s.isDirectory(),
    () => false,
  );
  if (!exists) {
    if (!options.create) {
      throw new CliError(
        `there is no data folder ${config.dataDir} (${configSource(config)}); run postern in the folder that holds your postern.yaml, ` +
          `or give --config FILE`,
        EXIT.config,
      );
    }
    await mkdir(config.dataDir, { recursive: true, mode: 0o750 });
    process.stderr.write(`postern: created a new data folder ${config.dataDir} (${configSource(config)})\n`);
  }
  const accounts = new AccountStore(
    config.dataDir,
    domains,
    null,
    false,
    config.directory ? new DirectoryHandle(config.directory, config.baseDir) : null,
  );
  const log = {
    warn: (details: Record<string, unknown>, message: string) =>
      process.stderr.write(`postern: ${message}: ${String(details.path ?? '')}\n`),
  };
  return {
    config,
    modules,
    accounts,
    store: new MaildirStore(accounts, {
      mainDomain: config.mainDomain,
      log,
      watching: { notices: options.notices, fileWatch: false },
      quota: quotaLimitsOf(config.quota, accounts),
      inPlaceCalls: config.store.inPlaceCalls,
    }),
    router: new Router(config.dataDir, accounts),
    where: accounts.directory
      ? `directory ${accounts.directory.description} (data folder ${config.dataDir})`
      : `data folder ${config.dataDir}`,
  };
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
