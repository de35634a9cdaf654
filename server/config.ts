// The configuration: one typed object, validated at start. Every key is optional; an unknown or
// malformed key is an error that names the key and the expected form. Documented key by key in
// README.md and postern.example.yaml.
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { parseDocument } from 'yaml';
import { z } from 'zod';
import { badProxyFrom } from '../listeners/trusted-proxies.js';
import { adminSchema } from './admin-config.js';
import type { CertificateSettings } from '../certs/tls-provider.js';
import { parseSize } from '../store/quota/quota.js';
import { sieveSchema } from '../sieve/config.js';
import { directorySchema } from '../accounts/directory/config.js';
import { storeSchema } from './store-config.js';

export const seconds = (what: string) =>
  z
    .number({ error: `expected a number of seconds (${what})` })
    .positive({ error: `expected a number of seconds greater than 0 (${what})` });
export const count = (what: string, min: number, max: number) =>
  z
    .number({ error: `expected a whole number ${min}-${max} (${what})` })
    .int({ error: `expected a whole number ${min}-${max} (${what})` })
    .min(min, { error: `expected a whole number ${min}-${max} (${what})` })
    .max(max, { error: `expected a whole number ${min}-${max} (${what})` });

/** Octets, as a number or as Dovecot's quota_rule writes them ("1G", "500M"; units of 1024); 0: no limit. */
const quotaStorage = z
  .union([z.number(), z.string()], { error: 'expected octets, like 1G, 500M or 1073741824 (0 = no limit)' })
  .refine((v) => parseSize(v) !== null, { error: 'expected octets, like 1G, 500M or 1073741824 (0 = no limit)' })
  .transform((v) => parseSize(v)!);
const quotaMessages = count('messages (0 = no limit)', 0, Number.MAX_SAFE_INTEGER);
const quotaRuleSchema = z.strictObject({ storage: quotaStorage.optional(), messages: quotaMessages.optional() });

const listenerSchema = z.strictObject({
  /** A name for logs and errors, unique among listeners. */
  name: z.string().regex(/^[A-Za-z0-9_-]{1,32}$/, { error: 'expected a name of letters, digits, - and _' }),
  /** The module that serves the connections, by its name (the module table's, or a module from `modules:`). */
  module: z.string(),
  /** The address to bind: "::" (every IPv6 and IPv4 address), "0.0.0.0", "127.0.0.1", ... */
  address: z.string().default('::'),
  /** TCP port; 0 picks a free one (tests). Not with `path`. */
  port: count('a TCP port', 0, 65535).optional(),
  /** A unix socket to listen on instead of an address and port (a local MTA's socket: /run/postern/lmtp). */
  path: z.string({ error: 'expected the path of a unix socket, like /run/postern/lmtp' }).min(1).optional(),
  /** "none": clear text, the module offering to start TLS (STLS, STARTTLS); "implicit": TLS from the first byte. */
  tls: z
    .enum(['none', 'implicit'], { error: 'expected "none" (clear, with STLS) or "implicit" (TLS from the first byte)' })
    .default('none'),
  /** Connections come through a load balancer that sends a PROXY protocol header (v1 or v2) naming the client. */
  proxyProtocol: z.boolean({ error: 'expected true or false' }).default(false),
  /** With proxyProtocol: the balancers' addresses or ranges (default: this machine and the private networks). */
  proxyFrom: z.array(z.string(), { error: 'expected a list of addresses or ranges, like [10.0.0.5, 192.168.1.0/24]' }).optional(),
});

const LISTENERS_EXPECTED = 'expected a list of listeners, like [{ name: pop3, port: 110 }]';

/** A module's own config section ("pop:"), with its schema: the kernel composes them, never reads them. */
export interface ConfigSection {
  readonly key: string;
  readonly schema: z.ZodType;
}

/** A listener of the embedded default config (no `listeners:` key): on every address ("::"), no PROXY header. */
export interface DefaultListener {
  readonly name: string;
  readonly port: number;
  readonly tls: 'none' | 'implicit';
}

/**
 * What a module adds to the config, known before the module itself is loaded: its name (a listener's
 * `module`), its own section, and the listeners it has in the embedded default. The config is composed
 * from these, so it names no protocol itself.
 */
export interface ModuleConfig {
  readonly name: string;
  readonly configSection?: ConfigSection;
  readonly defaultListeners?: readonly DefaultListener[];
}

/** One entry of `modules:`: a module from outside the tree, by file or by package name. */
const moduleRefSchema = z.strictObject({
  /** The module's JavaScript file (ES module), relative to the config file's folder. */
  path: z.string({ error: 'expected the path of a JavaScript file, like ./my-module.js' }).min(1).optional(),
  /** An installed package whose main entry is the module, found from the config file's folder, then from Postern's own. */
  package: z.string({ error: 'expected a package name, like postern-module-echo' }).min(1).optional(),
});

export type ModuleRef = z.infer<typeof moduleRefSchema>;

/** The `modules:` key alone: read first, since the modules it names bring config sections of their own. */
export const modulesShape = {
  /** Modules from outside the tree, loaded through the same Module API as the built-in ones. */
  modules: z
    .array(moduleRefSchema, { error: 'expected a list of modules, like [{ path: ./my-module.js }, { package: some-name }]' })
    .default([]),
};

const baseShape = {
  /** Where accounts and mail live; relative to the config file's folder (or the working directory without one). */
  dataDir: z.string({ error: 'expected a folder path' }).default('./data'),
  /** Accounts named without @domain live in this domain. */
  mainDomain: z.string({ error: 'expected a domain name, like example.org' }).default('localhost'),
  /** More domains served here. */
  domains: z.array(z.string({ error: 'expected a domain name' }), { error: 'expected a list of domain names' }).default([]),
  /** The sockets to listen on; each serves one module. Its default is composed from the modules' (composeSchema). */
  listeners: z.array(listenerSchema, { error: LISTENERS_EXPECTED }),
  ...modulesShape,
  /** Header listing the individual names a message was addressed to, for Direct Mailbox Addressing (CommuniGate). */
  realToHeader: z
    .string()
    .regex(/^[A-Za-z0-9-]{1,76}$/, { error: 'expected a header field name, like X-Real-To' })
    .default('X-Real-To'),
  /** The server certificate; without cert and key, a self-signed one is generated into dataDir/certs/. */
  tls: z
    .strictObject({
      cert: z.string({ error: 'expected the path of a PEM certificate file' }).optional(),
      key: z.string({ error: 'expected the path of a PEM private key file' }).optional(),
      /** Oldest TLS version accepted. */
      minVersion: z.enum(['TLSv1.2', 'TLSv1.3'], { error: 'expected TLSv1.2 or TLSv1.3' }).default('TLSv1.2'),
    })
    .prefault({}),
  /** Worker processes sharing the listeners (serve --workers): a number, or auto for one per core. */
  workers: z
    .union([z.literal('auto'), count('worker processes', 1, 256)], {
      error: 'expected a number of worker processes 1-256, or auto (one per core)',
    })
    .default(1),
  /**
   * Several nodes on one mail tree: the Redis that keeps the limits for all of them and carries change
   * notices between them (absent: one node). The same on every node.
   */
  redis: z
    .strictObject({
      url: z
        .string({ error: 'expected a Redis URL, like redis://10.0.0.9:6379' })
        .regex(/^rediss?:\/\/[^\s]+$/, { error: 'expected a Redis URL, like redis://10.0.0.9:6379 (rediss:// for TLS)' }),
      /** Put before every key and channel name, so several Postern clusters may share one Redis. */
      prefix: z
        .string()
        .regex(/^[A-Za-z0-9:_.-]{0,64}$/, { error: 'expected up to 64 letters, digits and : _ . -' })
        .default('postern:'),
    })
    .nullable()
    .default(null),
  /**
   * The mail tree is on a network filesystem other machines write to (NFS, CephFS): the kernel's file
   * watch is not used (it sees only this machine's changes); change notices (Redis) and the periodic
   * checks say when a mailbox changed.
   */
  sharedTree: z.boolean({ error: 'expected true or false' }).default(false),
  /** How long SIGTERM lets open sessions finish before they are cut (seconds). */
  shutdownTimeout: seconds('how long sessions may finish after SIGTERM').default(10),
  /** Password hashes. */
  passwords: z
    .strictObject({
      /** Replace a hash of another scheme (one moved from Dovecot) by a scrypt hash at the account's next correct sign-in. */
      rehash: z.boolean({ error: 'expected true or false' }).default(true),
    })
    .prefault({}),
  /** Accounts kept in an SQL or LDAP directory instead of account.json files (accounts/directory/config.ts); null: Postern's own. */
  directory: directorySchema,
  /** Recent successful password checks kept in memory (never the password), like Dovecot's auth cache. */
  authCache: z
    .strictObject({
      /** Accounts remembered at most; 0 turns the cache off. */
      entries: count('cache entries (0 = off)', 0, 10_000_000).default(10_000),
      /** Seconds an entry lives. */
      ttl: z.number({ error: 'expected a number of seconds' }).min(0, { error: 'expected a number of seconds' }).default(600),
    })
    .prefault({}),
  /** How the Maildir store makes its file-system calls (server/store-config.ts). */
  store: storeSchema,
  /**
   * The SEARCH index of each mailbox (store/search-index/: postern-search.sqlite in its folder), kept up to
   * date in the background by a worker thread (store/search-index/upkeep-thread.ts); false: SEARCH reads every
   * message, and no index file is made or used.
   */
  index: z.boolean({ error: 'expected true or false' }).default(true),
  /** Local delivery: `postern deliver` and the modules that deliver. */
  delivery: z
    .strictObject({
      /** Largest message stored, in octets (larger ones are refused: deliver exits 65, a module refuses it); 0 = no limit. */
      maxSize: count('octets (0 = no limit)', 0, 1024 ** 4).default(50 * 1024 * 1024),
      /**
       * Characters that start a subaddress (RFC 5233, Dovecot's recipient_delimiter): `ann+work@` reaches ann when
       * nothing takes it as written, and Sieve's :detail reads "work"; "" turns it off.
       */
      recipientDelimiter: z.string({ error: 'expected the characters that start a subaddress, like "+"' }).max(8).default('+'),
    })
    .prefault({}),
  /**
   * Quota (RFC 9208) per account, kept in the Maildir's maildirsize file as Dovecot's `quota = maildir` does:
   * a default, per-domain rules, and each account's own override (`postern quota set`); 0 = no limit.
   */
  quota: z
    .strictObject({
      /** Octets each account may keep (Dovecot's quota_rule `*:storage=`). */
      storage: quotaStorage.default(0),
      /** Messages each account may keep (`*:messages=`). */
      messages: quotaMessages.default(0),
      /** Over quota is temporary: LMTP 452 4.2.2 and deliver exit 75, instead of 552 5.2.2 and 73 (Dovecot's quota_full_tempfail). */
      fullTempfail: z.boolean({ error: 'expected true or false' }).default(false),
      /** Rules for the accounts of one domain, by domain name: { example.com: { storage: 2G } }. */
      domains: z
        .record(z.string(), quotaRuleSchema, {
          error: 'expected domains and their limits, like { example.com: { storage: 2G, messages: 10000 } }',
        })
        .default({}),
    })
    .prefault({}),
  /** Sieve filters (RFC 5228) run at delivery, and the limits of the scripts users keep: sieve/config.ts. */
  sieve: sieveSchema,
  /** Mail that signed-in users submit through a module (the Submitter of the module context). */
  submission: z
    .strictObject({
      /** Largest message accepted, in octets. */
      maxSize: count('octets', 1024, 1024 ** 3).default(10 * 1024 * 1024),
      /** Messages one account may submit per hour (0 = no limit). */
      maxPerHour: count('messages per hour', 0, 1_000_000).default(100),
      /**
       * Whose addresses a signed-in account may send as (submission/senders.ts): own (its address and the routes
       * to it), domain (also any address of a domain it administers), any (no check).
       */
      senders: z.enum(['own', 'domain', 'any'], { error: 'expected own, domain or any' }).default('own'),
      /** The SMTP server that takes mail for remote recipients; without it only local recipients work. */
      relay: z
        .strictObject({
          host: z.string({ error: 'expected the relay host name' }),
          port: count('a TCP port', 1, 65535).default(587),
          /** true: TLS from the first byte (port 465); false: plain, upgraded with STARTTLS when offered. */
          secure: z.boolean({ error: 'expected true or false' }).default(false),
          /** Refuse to send unless STARTTLS succeeds (when secure is false). */
          requireTLS: z.boolean({ error: 'expected true or false' }).default(false),
          auth: z.strictObject({ user: z.string(), pass: z.string() }).optional(),
          /** Check the relay's certificate. */
          rejectUnauthorized: z.boolean({ error: 'expected true or false' }).default(true),
        })
        .nullable()
        .default(null),
    })
    .prefault({}),
  log: z
    .strictObject({
      /** error | info | protocol | debug */
      level: z.enum(['error', 'info', 'protocol', 'debug'], { error: 'expected one of error, info, protocol, debug' }).default('info'),
      /** json: one JSON record per line; text: one readable line per record; auto: text on a terminal, json otherwise. */
      format: z.enum(['auto', 'json', 'text'], { error: 'expected auto, json or text' }).default('auto'),
      /** A file that receives a full transcript of every session (secrets redacted); null = off. */
      trace: z.string({ error: 'expected a file path' }).nullable().default(null),
    })
    .prefault({}),
  /** postern who / kick's control socket, /admin/who and /admin/kick's token (server/admin-config.ts). */
  admin: adminSchema,
  /** Prometheus metrics over HTTP at /metrics; off unless given. */
  metrics: z
    .strictObject({
      address: z.string().default('127.0.0.1'),
      port: count('a TCP port', 0, 65535).default(9110),
    })
    .nullable()
    .default(null),
};

const baseSchema = z.strictObject(baseShape);

/** The keys of the server's own, which no module's section may take. */
export const BASE_KEYS: readonly string[] = Object.keys(baseShape);

/**
 * The whole schema: the server's keys and the modules' sections. The embedded default's listeners are
 * the modules' default listeners in the modules' order; a listener without `module` is served by the
 * first module (the first entry of the module table).
 */
export function composeSchema(modules: readonly ModuleConfig[]): z.ZodObject {
  const defaultListeners: ListenerConfig[] = modules.flatMap((m) =>
    (m.defaultListeners ?? []).map((l) => ({
      name: l.name,
      module: m.name,
      address: '::',
      port: l.port,
      tls: l.tls,
      proxyProtocol: false,
    })),
  );
  const listener =
    modules.length > 0 ? listenerSchema.extend({ module: listenerSchema.shape.module.default(modules[0].name) }) : listenerSchema;
  const sections = modules.flatMap((m) => (m.configSection ? [[m.configSection.key, m.configSection.schema] as const] : []));
  return z.strictObject({
    ...baseShape,
    listeners: z.array(listener, { error: LISTENERS_EXPECTED }).default(defaultListeners),
    ...Object.fromEntries(sections),
  });
}

export type Config = z.infer<typeof baseSchema>;

/** The certificate's settings, as certs/ takes them. */
export function certificateSettings(config: LoadedConfig): CertificateSettings {
  return {
    dataDir: config.dataDir,
    mainDomain: config.mainDomain,
    cert: config.tls.cert,
    key: config.tls.key,
    minVersion: config.tls.minVersion,
    configFile: config.file,
  };
}
export type ListenerConfig = z.infer<typeof listenerSchema>;

/** The validated config plus where it came from. */
export interface LoadedConfig extends Config {
  /** The file it was read from, or null for the embedded default. */
  file: string | null;
  /** Where relative paths in it are taken from: the file's folder (the working directory without one). */
  baseDir: string;
  /** The modules' sections, validated by their schemas ("pop" -> what the pop schema made of it). */
  sections: Readonly<Record<string, unknown>>;
}

/** A config problem for the operator; the message names the file and the key. */
export class ConfigError extends Error {}

export const DEFAULT_CONFIG_FILE = 'postern.yaml';

/**
 * Reads and validates the config. Without `file`, ./postern.yaml is used when present, otherwise the
 * embedded default. Relative paths in the file are taken from the file's folder.
 */
export async function loadConfig(file: string | undefined, modules: readonly ModuleConfig[]): Promise<LoadedConfig> {
  const { raw, path } = await readConfig(file);
  return validateConfig(raw, path, modules);
}

/** The config file's YAML, parsed but not validated (`{}` for the embedded default), and its path. */
export async function readConfig(file: string | undefined): Promise<{ raw: unknown; path: string | null }> {
  let path: string | null = null;
  if (file !== undefined) path = resolve(file);
  else if (existsSync(DEFAULT_CONFIG_FILE)) path = resolve(DEFAULT_CONFIG_FILE);

  let raw: unknown = {};
  if (path !== null) {
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (err) {
      throw new ConfigError(`cannot read config file ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
    raw = parseYaml(text, path);
  }
  return { raw, path };
}

/**
 * The first step of reading a config: its `modules:` key alone (the other keys are read once the
 * modules they need are loaded), validated, each entry giving either path or package.
 */
export function moduleRefs(raw: unknown, path: string | null): ModuleRef[] {
  const where = path ?? 'config';
  const schema = z.object(modulesShape);
  const result = schema.safeParse(raw !== null && typeof raw === 'object' ? raw : {});
  if (!result.success) throw new ConfigError(result.error.issues.map((issue) => describeIssue(issue, where, schema)).join('\n'));
  return checkModuleRefs(result.data.modules, where, path ? dirname(path) : process.cwd());
}

/** Each entry gives path or package, not both; a path is made absolute (from the config file's folder). */
function checkModuleRefs(refs: ModuleRef[], where: string, base: string): ModuleRef[] {
  return refs.map((m, i) => {
    if ((m.path === undefined) === (m.package === undefined)) {
      throw new ConfigError(
        `${where}: modules[${i}]: give either path (the module's file, relative to the config file's folder) or package (an installed ` +
          `package's name), one of them`,
      );
    }
    return m.path !== undefined ? { path: resolve(base, m.path) } : m;
  });
}

function parseYaml(text: string, path: string): unknown {
  const doc = parseDocument(text, { uniqueKeys: true });
  if (doc.errors.length > 0) {
    const e = doc.errors[0];
    const where = e.linePos ? ` line ${e.linePos[0].line}, column ${e.linePos[0].col}` : '';
    throw new ConfigError(`${path}${where}: not valid YAML: ${e.message.split('\n')[0]}`);
  }
  return doc.toJS() ?? {};
}

/** Validates an already-parsed config object (from YAML or from a test). */
export function validateConfig(raw: unknown, path: string | null, modules: readonly ModuleConfig[]): LoadedConfig {
  const where = path ?? 'config';
  const schema = composeSchema(modules);
  const sections = modules.flatMap((m) => (m.configSection ? [m.configSection] : []));
  const result = schema.safeParse(raw);
  if (!result.success) {
    const lines = result.error.issues.map((issue) => describeIssue(issue, where, schema));
    throw new ConfigError(lines.join('\n'));
  }
  const parsed = result.data as Record<string, unknown>;
  const own: Record<string, unknown> = {};
  for (const s of sections) {
    own[s.key] = parsed[s.key];
    delete parsed[s.key];
  }
  const config = parsed as Config;
  const base = path ? dirname(path) : process.cwd();
  config.dataDir = resolve(base, config.dataDir);
  config.modules = checkModuleRefs(config.modules, where, base);

  if (Boolean(config.tls.cert) !== Boolean(config.tls.key)) {
    throw new ConfigError(`${where}: tls: give both tls.cert and tls.key, or neither (then a self-signed certificate is generated)`);
  }
  if (config.log.trace) config.log.trace = resolve(base, config.log.trace);
  if (config.tls.cert) config.tls.cert = resolve(base, config.tls.cert);
  if (config.tls.key) config.tls.key = resolve(base, config.tls.key);

  const served = new Set([config.mainDomain, ...config.domains].map((d) => d.toLowerCase()));
  config.quota.domains = Object.fromEntries(
    Object.entries(config.quota.domains).map(([domain, rule]) => {
      if (!served.has(domain.toLowerCase()))
        throw new ConfigError(`${where}: quota.domains.${domain}: not a domain served here; name mainDomain or one of domains`);
      return [domain.toLowerCase(), rule];
    }),
  );

  const seen = new Map<string, number>();
  config.listeners.forEach((l, i) => {
    if (l.path !== undefined && l.port !== undefined)
      throw new ConfigError(`${where}: listeners[${i}]: give either port (TCP) or path (a unix socket), not both`);
    if (l.path === undefined && l.port === undefined)
      throw new ConfigError(`${where}: listeners[${i}].port: missing; give the TCP port to listen on (or path, for a unix socket)`);
    if (l.path !== undefined && l.tls !== 'none')
      throw new ConfigError(`${where}: listeners[${i}].tls: a unix socket (path) is local: use tls: none`);
    if (l.path !== undefined) l.path = resolve(base, l.path);
    const badFrom = l.proxyFrom ? badProxyFrom(l.proxyFrom) : null;
    if (badFrom) throw new ConfigError(`${where}: listeners[${i}].proxyFrom: ${badFrom}`);
    if (seen.has(l.name))
      throw new ConfigError(
        `${where}: listeners[${i}].name: "${l.name}" is used by listeners[${seen.get(l.name)}] too; give each listener its own name`,
      );
    seen.set(l.name, i);
  });
  return { ...config, file: path, baseDir: base, sections: own };
}

function keyPath(path: readonly PropertyKey[]): string {
  return path.reduce<string>((acc, p) => (typeof p === 'number' ? `${acc}[${p}]` : acc ? `${acc}.${String(p)}` : String(p)), '');
}

function describeIssue(issue: z.core.$ZodIssue, where: string, schema: z.ZodObject): string {
  const at = keyPath(issue.path);
  if (issue.code === 'unrecognized_keys') {
    const known = knownKeys(issue.path, schema);
    const keys = issue.keys.map((k) => (at ? `${at}.${k}` : k)).join(', ');
    return `${where}: unknown key ${keys}${known ? `; the keys here are: ${known.join(', ')}` : ''}`;
  }
  return `${where}: ${at || '(top level)'}: ${issue.message}`;
}

/** The keys the schema allows at `path`, for the "unknown key" message. */
function knownKeys(path: readonly PropertyKey[], root: z.ZodObject): string[] | null {
  let schema: unknown = root;
  for (const p of path) {
    schema = unwrap(schema);
    if (typeof p === 'number') schema = (schema as z.ZodArray<z.ZodTypeAny>).element;
    else schema = (schema as z.ZodObject).shape?.[String(p)];
    if (!schema) return null;
  }
  const obj = unwrap(schema) as z.ZodObject;
  if (!obj.shape) return null;
  // Retired keys (z.never, kept only to say where they went) are not keys to suggest.
  return Object.entries(obj.shape)
    .filter(([, s]) => !(unwrap(s) instanceof z.ZodNever))
    .map(([k]) => k);
}

function unwrap(schema: unknown): unknown {
  let s = schema as { unwrap?: () => unknown; shape?: unknown; element?: unknown };
  while (s && !s.shape && !s.element && typeof s.unwrap === 'function') s = s.unwrap() as typeof s;
  return s;
}
