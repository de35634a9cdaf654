// The router: turns an address into the account that holds its mail, and the local part left over
// for Direct Mailbox Addressing (CommuniGate). Routes live in dataDir/routes.json and are managed
// with `postern route add|remove|list`:
//   abcdef@client1.com -> cl1     an exact address (local part "abcdef" is left)
//   *@client1.com      -> cl1     every address in the domain (the local part is left)
// Order: an exact route, then a real account of that name, then a domain-wide route.
import { readFile } from 'node:fs/promises';
import { statIfThere } from '../lib/quick-fs.js';
import { join } from 'node:path';
import type { AccountStore } from './account-store.js';
import { withFileLock, writeFileAtomic } from '../lib/atomic-file.js';
import { type AccountAddress, checkAccountName, checkDomain, formatAddress, NameError } from './names.js';

export interface Route {
  /** "local@domain" or "*@domain", lower-case. */
  pattern: string;
  /** The target account, "name@domain". */
  account: string;
}

export interface Routed {
  account: AccountAddress;
  /** The part of the address the account does not account for (Direct Mailbox Addressing), or null. */
  localPart: string | null;
}

export class RouteError extends Error {}

export class Router {
  private readonly file: string;
  private cache: { mtimeNs: bigint; routes: Route[] } | null = null;

  constructor(
    dataDir: string,
    private readonly accounts: AccountStore,
  ) {
    this.file = join(dataDir, 'routes.json');
  }

  async list(): Promise<Route[]> {
    // in place while lib/in-place.ts allows: every sign-in routes (most sites have no routes.json)
    const st = await statIfThere(this.file).catch(() => undefined);
    if (st === undefined) return [];
    const mtimeNs = st.mtimeNs;
    if (this.cache?.mtimeNs === mtimeNs) return this.cache.routes;
    let routes: Route[];
    try {
      routes = (JSON.parse(await readFile(this.file, 'utf8')) as { routes: Route[] }).routes ?? [];
    } catch (err) {
      throw new RouteError(`${this.file} is damaged (${(err as Error).message}); fix or remove it, then add the routes again`);
    }
    this.cache = { mtimeNs, routes };
    return routes;
  }

  /** Validates and normalises a route pattern: local@domain or *@domain, in a local domain. */
  pattern(input: string): string {
    const at = input.lastIndexOf('@');
    if (at <= 0) throw new RouteError(`"${input}" is not a route pattern: use local@domain or *@domain`);
    const local = input.slice(0, at);
    const domain = checkDomain(input.slice(at + 1));
    if (!this.accounts.domains.has(domain)) throw new RouteError(`${domain} is not a local domain (add it to "domains" in the config)`);
    return `${local === '*' ? '*' : checkAccountName(local)}@${domain}`;
  }

  async add(patternInput: string, target: AccountAddress): Promise<Route> {
    const pattern = this.pattern(patternInput);
    if (!(await this.accounts.exists(target))) throw new RouteError(`no account ${formatAddress(target)}`);
    const route = { pattern, account: formatAddress(target) };
    await this.update((routes) => [...routes.filter((r) => r.pattern !== pattern), route]);
    return route;
  }

  async remove(patternInput: string): Promise<boolean> {
    const pattern = this.pattern(patternInput);
    let found = false;
    await this.update((routes) =>
      routes.filter((r) => {
        if (r.pattern !== pattern) return true;
        found = true;
        return false;
      }),
    );
    return found;
  }

  private async update(change: (routes: Route[]) => Route[]): Promise<void> {
    await withFileLock(this.file, async () => {
      this.cache = null;
      const routes = change(await this.list()).sort((a, b) => a.pattern.localeCompare(b.pattern));
      await writeFileAtomic(this.file, `${JSON.stringify({ routes }, null, 2)}\n`, 0o644);
      this.cache = null;
    });
  }

  /**
   * The account an address (NAME or NAME@DOMAIN) reaches, or null when none does. Throws NameError
   * for an address that can never be valid.
   */
  /** The account an address reaches, or null for a name that can never be an account (sign-in: a decoy is checked). */
  async routeOrNull(address: string): Promise<Routed | null> {
    try {
      return await this.route(address);
    } catch (err) {
      if (err instanceof NameError) return null;
      throw err;
    }
  }

  async route(input: string): Promise<Routed | null> {
    const at = input.lastIndexOf('@');
    const local = (at < 0 ? input : input.slice(0, at)).toLowerCase();
    const domain = at < 0 ? this.accounts.domains.main : checkDomain(input.slice(at + 1));
    if (!this.accounts.domains.has(domain)) return null;
    const routes = await this.list();
    // A route whose account was removed leads nowhere (its mail must not wait for a namesake).
    const target = async (r: Route | undefined): Promise<Routed | null> => {
      if (!r) return null;
      const account = this.accounts.domains.parse(r.account);
      return (await this.accounts.exists(account)) ? { account, localPart: local } : null;
    };
    const exact = await target(routes.find((r) => r.pattern === `${local}@${domain}`));
    if (exact) return exact;
    const name = checkAccountName(local);
    if (await this.accounts.exists({ name, domain })) return { account: { name, domain }, localPart: null };
    return target(routes.find((r) => r.pattern === `*@${domain}`));
  }
}
