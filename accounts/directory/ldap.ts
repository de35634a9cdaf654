// The LDAP directory (Dovecot's passdb and userdb ldap, doc.dovecot.org "LDAP"), over ldapts, loaded only
// when a config names it. A lookup searches `base` with `filter` (Dovecot's user_filter) and reads the
// attributes the config maps: the login's spelling (user), the password (userPassword, in Dovecot's
// {SCHEME} notation; a value without a scheme is {CRYPT}, Dovecot's default_pass_scheme for LDAP), the home
// and the quota. With `passFilter` (Dovecot's pass_filter) the password comes from its own search. With
// `authBind` the password is never read: `verify` finds the user's DN with the pass filter and binds as it
// on connections of their own (the search connection stays bound as the service DN), as Dovecot's
// auth_bind = yes does; an empty password is refused before any bind (RFC 4513 section 5.1.2: a simple bind
// with a DN and no password is an anonymous bind that "succeeds"). A filter that matches several entries is
// an error of the directory, as in Dovecot ("pass_filter matched multiple objects"): a temporary failure,
// never one of them picked. Values from the login are escaped for a filter (RFC 4515) and for a DN in the
// base (RFC 4514).
import type { Client, Entry } from 'ldapts';
import type { ConnectionOptions } from 'node:tls';
import type { LdapDirectoryConfig } from './config.js';
import { type Directory, type DirectoryEntry, DirectoryUnavailable, type LookupContext } from './contract.js';
import { escapeDnValue, escapeFilterValue } from './ldap-escape.js';
import { LdapConnection, type LdapConnectionSettings, safeUrl } from './ldap-connection.js';
import { quotaFromRules } from './fields.js';
import { expand, parseTemplate, type VariableValues } from './variables.js';

export interface LdapDirectoryOptions {
  /** Extra TLS options for ldaps:// and STARTTLS (a private CA); the system's CAs otherwise. */
  readonly tls?: ConnectionOptions;
  /** Connections kept for auth binds (each carries one bind at a time). */
  readonly authBindConnections?: number;
}

/** LDAP result codes (RFC 4511 section 4.1.9) this driver tells apart. */
const SIZE_LIMIT_EXCEEDED = 4;
const NO_SUCH_OBJECT = 32;
const INVALID_CREDENTIALS = 49;

/** Opens the LDAP directory of a config: ldapts is loaded here, so a site without LDAP never loads it. */
export async function openLdapDirectory(config: LdapDirectoryConfig, options: LdapDirectoryOptions = {}): Promise<Directory> {
  const ldapts = await import('ldapts');
  return new LdapDirectory(ldapts, config, options);
}

type Template = ReturnType<typeof parseTemplate>;

class LdapDirectory implements Directory {
  readonly description: string;
  readonly verify?: (login: string, password: string, context?: LookupContext) => Promise<boolean>;
  private readonly search: LdapConnection;
  private readonly binders: LdapConnection[] = [];
  private readonly idleBinders: LdapConnection[] = [];
  private readonly waiting: ((c: LdapConnection) => void)[] = [];
  private readonly base: Template;
  private readonly filter: Template;
  private readonly passFilter: Template | null;

  constructor(
    ldapts: typeof import('ldapts'),
    private readonly config: LdapDirectoryConfig,
    options: LdapDirectoryOptions,
  ) {
    const urls = typeof config.url === 'string' ? config.url.split(/\s+/).filter(Boolean) : config.url;
    for (const url of urls) {
      if (!/^ldaps?:\/\//i.test(url)) throw new Error(`directory.url: expected ldap://host or ldaps://host, got "${safeUrl(url)}"`);
    }
    const settings: LdapConnectionSettings = { urls, startTls: config.startTls, timeoutMs: config.timeout * 1000, tls: options.tls };
    this.description = `ldap ${urls.map(safeUrl).join(' ')} ${config.base}`;
    this.search = new LdapConnection(ldapts, settings, config.bind ?? null);
    this.base = parseTemplate(config.base);
    this.filter = parseTemplate(config.filter);
    this.passFilter = config.passFilter ? parseTemplate(config.passFilter) : null;
    if (config.authBind) {
      for (let i = 0; i < (options.authBindConnections ?? 4); i++) this.binders.push(new LdapConnection(ldapts, settings, null));
      this.idleBinders.push(...this.binders);
      this.verify = (login, password, context) => this.authBind(login, password, context);
    }
  }

  async lookup(login: string, context: LookupContext = {}): Promise<DirectoryEntry | null> {
    const values = variablesFor(login, context);
    const wanted = [this.config.attributes.home];
    if (this.config.attributes.user) wanted.push(this.config.attributes.user);
    if (this.config.attributes.quota) wanted.push(this.config.attributes.quota);
    const readPassword = !this.config.authBind;
    // one search when the password is read with the same filter, two (at once) when pass_filter differs
    if (readPassword && !this.passFilter) wanted.push(this.config.attributes.password);
    const [user, pass] = await Promise.all([
      this.one(values, this.filter, wanted),
      readPassword && this.passFilter ? this.one(values, this.passFilter, this.passAttributes()) : null,
    ]);
    if (!user) return null;
    const passwordEntry = this.passFilter ? pass : user;
    if (readPassword && this.passFilter && !passwordEntry) return null;
    const a = this.config.attributes;
    const spelled = a.user ? (first(passwordEntry ?? user, a.user) ?? first(user, a.user)) : undefined;
    const stored = readPassword && passwordEntry ? first(passwordEntry, a.password) : undefined;
    return {
      login: (spelled ?? login).toLowerCase(),
      passwordHash: stored === undefined ? null : stored.startsWith('{') || stored.startsWith('$') ? stored : `{CRYPT}${stored}`,
      home: first(user, a.home) ?? null,
      quota: a.quota ? quotaOf(first(user, a.quota)) : null,
      disabled: false,
    };
  }

  async list(): Promise<string[]> {
    const filter = this.config.iterateFilter;
    const attribute = this.config.attributes.user;
    if (!filter || !attribute) {
      throw new Error(
        'the LDAP directory lists no users without iterateFilter and attributes.user ' +
          "(Dovecot's iterate_filter and iterate_attrs = ATTRIBUTE=user)",
      );
    }
    // the base with no login to fill in: its variables are empty, as Dovecot's iteration has no user
    const base = expand(this.base, { user: '' }, escapeDnValue);
    const result = await this.answer(() =>
      this.search.run((c) => c.search(base, { scope: this.config.scope, filter, attributes: [attribute], paged: { pageSize: 500 } })),
    );
    const logins = new Set<string>();
    for (const e of result?.searchEntries ?? []) {
      for (const v of values(e, attribute)) logins.add(v.toLowerCase());
    }
    return [...logins].sort();
  }

  async close(): Promise<void> {
    await Promise.all([this.search.close(), ...this.binders.map((b) => b.close())]);
  }

  private passAttributes(): string[] {
    const a = this.config.attributes;
    return a.user ? [a.password, a.user] : [a.password];
  }

  /** Dovecot's auth bind: the DN found with the pass filter, then a bind as it with the password. */
  private async authBind(login: string, password: string, context: LookupContext = {}): Promise<boolean> {
    const entry = await this.one(variablesFor(login, context), this.passFilter ?? this.filter, ['1.1']);
    if (!entry || password === '') return false;
    const binder = await this.takeBinder();
    try {
      await binder.run((c: Client) => c.bind(entry.dn, password));
      return true;
    } catch (err) {
      if (binder.isAnswer(err) && (err.code === INVALID_CREDENTIALS || err.code === NO_SUCH_OBJECT)) return false;
      if (binder.isAnswer(err)) throw new DirectoryUnavailable(`LDAP bind as the user failed: ${err.message}`);
      throw err;
    } finally {
      this.giveBack(binder);
    }
  }

  private takeBinder(): Promise<LdapConnection> {
    const idle = this.idleBinders.pop();
    if (idle) return Promise.resolve(idle);
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  private giveBack(binder: LdapConnection): void {
    const next = this.waiting.shift();
    if (next) next(binder);
    else this.idleBinders.push(binder);
  }

  /** The one entry a filter finds for a login; null: none; several: the directory is wrong (temporary failure). */
  private async one(values: VariableValues, filterTemplate: Template, attributes: string[]): Promise<Entry | null> {
    const base = expand(this.base, values, escapeDnValue);
    const filter = expand(filterTemplate, values, escapeFilterValue);
    const result = await this.answer(() =>
      this.search.run((c) =>
        c.search(base, { scope: this.config.scope, filter, attributes, sizeLimit: 2, timeLimit: Math.ceil(this.config.timeout) }),
      ),
    );
    const entries = result?.searchEntries ?? [];
    if (entries.length > 1) throw new DirectoryUnavailable(`LDAP filter ${filter} matched several entries under ${base}`);
    return entries[0] ?? null;
  }

  /** An LDAP answer: no such base is no such user (null); several entries and other errors are temporary failures. */
  private async answer<T>(op: () => Promise<T>): Promise<T | null> {
    try {
      return await op();
    } catch (err) {
      if (!this.search.isAnswer(err)) throw err;
      if (err.code === NO_SUCH_OBJECT) return null;
      if (err.code === SIZE_LIMIT_EXCEEDED) throw new DirectoryUnavailable('LDAP filter matched several entries');
      throw new DirectoryUnavailable(`LDAP search failed: ${err.message}`);
    }
  }
}

/**
 * The quota attribute: a whole quota rule ("*:storage=1G", read as Dovecot's quota_rule) or a plain number
 * of bytes (the usual LDAP attribute, which Dovecot maps as quota_rule=*:bytes=%{ldap:ATTRIBUTE}).
 */
function quotaOf(value: string | undefined): { storage?: number; messages?: number } | null {
  if (value === undefined) return null;
  return /^\s*\d+\s*$/.test(value) ? { storage: Number(value.trim()) } : quotaFromRules([value]);
}

/** Dovecot's variables for a login; the login lower-cased first, as Dovecot's default auth_username_format (%Lu). */
function variablesFor(login: string, context: LookupContext): VariableValues {
  return { user: login.toLowerCase(), service: context.service, remoteAddress: context.remoteAddress, localAddress: context.localAddress };
}

/** An attribute's values, its name matched without regard to case (servers answer in their own spelling). */
function values(entry: Entry, name: string): string[] {
  const lower = name.toLowerCase();
  for (const key of Object.keys(entry)) {
    if (key.toLowerCase() !== lower || key === 'dn') continue;
    const v = entry[key];
    const list = Array.isArray(v) ? v : [v];
    return list.map((x) => (Buffer.isBuffer(x) ? x.toString('utf8') : String(x)));
  }
  return [];
}

/** The first value, as Dovecot takes it ("Multiple values found for ..., using value ..."). */
function first(entry: Entry, name: string): string | undefined {
  return values(entry, name)[0];
}
