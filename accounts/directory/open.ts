// Opens the directory the config's `directory:` names, with its cache (cached.ts). Each driver is
// imported when a directory of its kind is opened, never before.
import type { DirectoryConfig } from './config.js';
import { type Directory, DirectoryUnavailable } from './contract.js';
import { CachedDirectory } from './cached.js';
import { SqlDirectory, safeUrl } from './sql.js';

export interface OpenOptions {
  /** Told when an expired cached answer stands in for a directory that cannot answer. */
  readonly onStale?: (login: string, err: DirectoryUnavailable) => void;
}

/** The directory of `config` (relative paths, such as sqlite:FILE, from `baseDir`), cached for config.cacheTtl. */
export async function openDirectory(config: DirectoryConfig, baseDir: string, options: OpenOptions = {}): Promise<Directory> {
  let directory: Directory;
  switch (config.driver) {
    case 'sql':
      directory = await SqlDirectory.open(config, baseDir);
      break;
    case 'ldap':
      directory = await openLdap(config, baseDir);
      break;
  }
  return new CachedDirectory(directory, config.cacheTtl * 1000, options.onStale);
}

/** The LDAP driver (ldap.ts), imported with ldapts only when a config names it. */
async function openLdap(config: DirectoryConfig, _baseDir: string): Promise<Directory> {
  if (config.driver !== 'ldap') throw new Error(`directory driver ${config.driver} is not LDAP`);
  const { openLdapDirectory } = await import('./ldap.js');
  return openLdapDirectory(config);
}

/** What the CLI and the log call a directory, without opening it and never with a password. */
export function describeDirectory(config: DirectoryConfig): string {
  if (config.driver === 'sql') return `sql ${safeUrl(config.url)}`;
  return `ldap ${(Array.isArray(config.url) ? config.url : [config.url]).map(safeUrl).join(' ')}`;
}

/**
 * The directory of a config, opened at its first use (the account store is built synchronously, before
 * anything may wait): a directory that cannot be opened (a driver that fails to load, a bad sqlite file)
 * is tried again at the next use and is unavailable meanwhile.
 */
export class DirectoryHandle {
  readonly description: string;
  private opened: Promise<Directory> | null = null;

  constructor(
    readonly config: DirectoryConfig,
    private readonly baseDir: string,
    private readonly options: OpenOptions = {},
  ) {
    this.description = describeDirectory(config);
  }

  directory(): Promise<Directory> {
    this.opened ??= openDirectory(this.config, this.baseDir, this.options).catch((err: unknown) => {
      this.opened = null;
      throw new DirectoryUnavailable(`${this.description} cannot be opened: ${(err as Error).message}`);
    });
    return this.opened;
  }

  async close(): Promise<void> {
    const opened = this.opened;
    this.opened = null;
    if (opened !== null) await (await opened.catch(() => null))?.close();
  }
}
