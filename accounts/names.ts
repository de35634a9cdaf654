// Account names and domains: the only strings that become folder names under dataDir/accounts/.
// Validation here is what keeps a login name from reaching outside the account tree.

/** An account's full address: NAME@DOMAIN, both lower-case. */
export interface AccountAddress {
  readonly name: string;
  readonly domain: string;
}

/** Thrown for a name or domain that can never be an account; the message says what is wrong. */
export class NameError extends Error {}

// Letters, digits and . _ + -, starting and ending with a letter or digit, no "..": safe as a folder name.
const ACCOUNT_NAME = /^[a-z0-9](?:[a-z0-9._+-]{0,62}[a-z0-9])?$/;
const DOMAIN_LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

export function checkAccountName(name: string): string {
  const lower = name.toLowerCase();
  if (!ACCOUNT_NAME.test(lower) || lower.includes('..')) {
    throw new NameError(
      `"${printable(name)}" is not a valid account name: use 1-64 letters, digits and . _ + -, starting and ending with a letter or digit`,
    );
  }
  return lower;
}

export function checkDomain(domain: string): string {
  const lower = domain.toLowerCase().replace(/\.$/, '');
  const labels = lower.split('.');
  if (lower.length === 0 || lower.length > 253 || !labels.every((l) => DOMAIN_LABEL.test(l))) {
    throw new NameError(`"${printable(domain)}" is not a valid domain name`);
  }
  return lower;
}

/** The local domains of this server: the main domain first, then the extra ones. */
export class LocalDomains {
  readonly main: string;
  private readonly all: Set<string>;

  constructor(main: string, extra: readonly string[]) {
    this.main = checkDomain(main);
    this.all = new Set([this.main, ...extra.map(checkDomain)]);
  }

  has(domain: string): boolean {
    return this.all.has(domain);
  }

  list(): string[] {
    return [...this.all];
  }

  /**
   * Parses NAME or NAME@DOMAIN into an address in a local domain.
   * Throws NameError for a malformed name or a domain this server does not serve.
   */
  parse(input: string): AccountAddress {
    const at = input.lastIndexOf('@');
    const name = checkAccountName(at < 0 ? input : input.slice(0, at));
    const domain = at < 0 ? this.main : checkDomain(input.slice(at + 1));
    if (!this.has(domain)) {
      throw new NameError(`${domain} is not a local domain (add it to "domains" in the config)`);
    }
    return { name, domain };
  }
}

export function formatAddress(a: AccountAddress): string {
  return `${a.name}@${a.domain}`;
}

/** Makes untrusted text safe to echo in a message: control characters shown as \xNN, length capped. */
export function printable(s: string, max = 80): string {
  const cut = s.length > max ? `${s.slice(0, max)}...` : s;
  return cut.replace(/[\x00-\x1f\x7f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}
