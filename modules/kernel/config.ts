// The configuration: one typed object, validated at start. Every key is optional; an unknown or
// malformed key is an error that names the key and the expected form. Documented key by key in
// README.md and postern.example.yaml.
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { parseDocument } from 'yaml';
import { z } from 'zod';
import type { CertificateSettings } from '../../certs/tls-provider.js';

const seconds = (what: string) =>
  z.number({ error: `expected a number of seconds (${what})` }).positive({ error: `expected a number of seconds greater than 0 (${what})` });
const count = (what: string, min: number, max: number) =>
  z.number({ error: `expected a whole number ${min}-${max} (${what})` }).int({ error: `expected a whole number ${min}-${max} (${what})` }).min(min, { error: `expected a whole number ${min}-${max} (${what})` }).max(max, { error: `expected a whole number ${min}-${max} (${what})` });

const listenerSchema = z.strictObject({
  /** A name for logs and errors, unique among listeners. */
  name: z.string().regex(/^[A-Za-z0-9_-]{1,32}$/, { error: 'expected a name of letters, digits, - and _' }),
  /** The module that serves the connections; "pop" is the only one so far. */
  module: z.string().default('pop'),
  /** The address to bind: "::" (every IPv6 and IPv4 address), "0.0.0.0", "127.0.0.1", ... */
  address: z.string().default('::'),
  /** TCP port; 0 picks a free one (tests). */
  port: count('a TCP port', 0, 65535),
  /** "none": clear text, offering STLS; "implicit": TLS from the first byte (port 995). */
  tls: z.enum(['none', 'implicit'], { error: 'expected "none" (clear, with STLS) or "implicit" (TLS from the first byte)' }).default('none'),
});

export const configSchema = z.strictObject({
  /** Where accounts and mail live; relative to the config file's folder (or the working directory without one). */
  dataDir: z.string({ error: 'expected a folder path' }).default('./data'),
  /** Accounts named without @domain live in this domain. */
  mainDomain: z.string({ error: 'expected a domain name, like example.org' }).default('localhost'),
  /** More domains served here. */
  domains: z.array(z.string({ error: 'expected a domain name' }), { error: 'expected a list of domain names' }).default([]),
  /** The sockets to listen on; each serves one module. */
  listeners: z
    .array(listenerSchema, { error: 'expected a list of listeners, like [{ name: pop3, port: 110 }]' })
    .default([
      { name: 'pop3', module: 'pop', address: '::', port: 110, tls: 'none' },
      { name: 'pop3s', module: 'pop', address: '::', port: 995, tls: 'implicit' },
    ]),
  /** The server certificate; without cert and key, a self-signed one is generated into dataDir/certs/. */
  tls: z
    .strictObject({
      cert: z.string({ error: 'expected the path of a PEM certificate file' }).optional(),
      key: z.string({ error: 'expected the path of a PEM private key file' }).optional(),
      /** Oldest TLS version accepted. */
      minVersion: z.enum(['TLSv1.2', 'TLSv1.3'], { error: 'expected TLSv1.2 or TLSv1.3' }).default('TLSv1.2'),
    })
    .prefault({}),
  /** How long SIGTERM lets open sessions finish before they are cut (seconds). */
  shutdownTimeout: seconds('how long sessions may finish after SIGTERM').default(10),
  pop: z
    .strictObject({
      /** Close a session idle this long (seconds). RFC 1939 section 3 asks for at least 600. */
      idleTimeout: seconds('idle time before a session is closed').default(600),
      /** Seconds a connection may take to sign in before it is closed (Dovecot: 3 minutes). */
      loginTimeout: seconds('time to sign in').default(60),
      /** Seconds a command line may take to arrive once it has begun (a client trickling bytes is cut). */
      commandTimeout: seconds('time to send one command line').default(30),
      /** Most connections at once that have not signed in; past it the oldest waiting one is closed. */
      maxUnauthenticated: count('connections not signed in', 1, 1_000_000).default(100),
      /** Most connections at once from one address that have not signed in; past it that address's oldest is closed. */
      maxUnauthenticatedPerAddress: count('connections not signed in from one address', 1, 1_000_000).default(10),
      /** Failed sign-ins before the connection is closed (OpenVMS: 2). */
      maxAuthAttempts: count('failed sign-ins per connection', 1, 100).default(2),
      /** false turns USER/PASS off (OpenVMS TCPIP$POP_DISUSERPASS). */
      userPass: z.boolean({ error: 'expected true or false' }).default(true),
      /** Longest command line accepted, in octets (RFC 2449 keeps clients within 255). */
      maxLineLength: count('octets in a command line', 255, 65536).default(1024),
      /** Bad commands in a row before the connection is closed. */
      maxBadCommands: count('bad commands in a row', 1, 1000).default(10),
      /** Most POP connections at once (CommuniGate "Maximum Number of Channels"); more are refused. */
      maxChannels: count('simultaneous connections', 1, 1_000_000).default(200),
      /** Most POP connections at once from one client address. */
      maxChannelsPerAddress: count('simultaneous connections from one address', 1, 1_000_000).default(20),
      /** Where passwords may travel unencrypted (USER/PASS, AUTH PLAIN and LOGIN). */
      cleartextAuth: z.enum(['never', 'loopback', 'always'], { error: 'expected never, loopback or always' }).default('loopback'),
      /** SASL mechanisms offered by AUTH (RFC 5034). CRAM-MD5 checks the account's shared secret (--apop-secret). */
      saslMechanisms: z
        .array(z.enum(['PLAIN', 'LOGIN', 'CRAM-MD5'], { error: 'expected PLAIN, LOGIN or CRAM-MD5' }), { error: 'expected a list such as [PLAIN, LOGIN]' })
        .default(['PLAIN', 'LOGIN']),
      /**
       * Seconds a failed sign-in takes at least, counted from the client's last line, whatever the reason
       * (unknown name, wrong password, wrong APOP or CRAM-MD5 digest): the answer's timing tells nothing.
       */
      authFailureTime: z.number({ error: 'expected a number of seconds' }).min(0.01, { error: 'expected a number of seconds, at least 0.01' }).max(10, { error: 'expected a number of seconds, at most 10' }).default(0.2),
      /** Seconds of delay added to the answer to the third failed sign-in from one address, doubling after (0 = off). */
      authFailureDelay: z.number({ error: 'expected a number of seconds (0 turns the delay off)' }).min(0, { error: 'expected a number of seconds, 0 or more' }).default(1),
      /** Header listing the individual names a message was addressed to, for Direct Mailbox Addressing (CommuniGate). */
      realToHeader: z.string().regex(/^[A-Za-z0-9-]{1,76}$/, { error: 'expected a header field name, like X-Real-To' }).default('X-Real-To'),
      /** Most messages shown per session, oldest first (OpenVMS TCPIP$POP_MESSAGE_MAXIMUM); 0 = all. */
      messageMaximum: count('messages per session (0 = all)', 0, 10_000_000).default(0),
      /** popper -b: folder of numbered bulletin files delivered to every account once; null = off. */
      bulletinDir: z.string({ error: 'expected a folder path' }).nullable().default(null),
      /** What QUIT does with deleted messages: expunge, flag (Maildir T flag; POP hides them, IMAP sees them) or move:FOLDER. */
      deleteAction: z
        .string()
        .regex(/^(expunge|flag|move:[^/\\.\x00-\x1f][^\x00-\x1f]{0,199})$/, { error: 'expected expunge, flag, or move:FOLDER (for example move:Trash)' })
        .default('expunge'),
      /** Where QUIT moves messages retrieved but not deleted (OpenVMS MAIL folder); null = leave them. */
      moveReadTo: z.string({ error: 'expected a mailbox name, like Read' }).nullable().default(null),
      /** OpenVMS TCPIP$POP_SEND_ID_HEADERS: add X-POP3-Server and X-POP3-ID to what RETR and TOP send. */
      idHeaders: z.boolean({ error: 'expected true or false' }).default(false),
      /** Seconds of the first wait when a client stops reading; doubled four times (2, 4, 8, 16, 32), then the connection is dropped. */
      blockedOutputWait: seconds('first wait for a client that stopped reading').default(2),
    })
    .prefault({}),
  /** Recent successful password checks kept in memory (never the password), like Dovecot's auth cache. */
  authCache: z
    .strictObject({
      /** Accounts remembered at most; 0 turns the cache off. */
      entries: count('cache entries (0 = off)', 0, 10_000_000).default(10_000),
      /** Seconds an entry lives. */
      ttl: z.number({ error: 'expected a number of seconds' }).min(0, { error: 'expected a number of seconds' }).default(600),
    })
    .prefault({}),
  /** Mail submitted through POP (XTND XMIT). */
  submission: z
    .strictObject({
      /** Largest message accepted, in octets. */
      maxSize: count('octets', 1024, 1024 ** 3).default(10 * 1024 * 1024),
      /** Messages one account may submit per hour (0 = no limit). */
      maxPerHour: count('messages per hour', 0, 1_000_000).default(100),
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
  /** Prometheus metrics over HTTP at /metrics; off unless given. */
  metrics: z
    .strictObject({
      address: z.string().default('127.0.0.1'),
      port: count('a TCP port', 0, 65535).default(9110),
    })
    .nullable()
    .default(null),
});

export type Config = z.infer<typeof configSchema>;

/** The certificate's settings, as certs/ takes them. */
export function certificateSettings(config: LoadedConfig): CertificateSettings {
  return { dataDir: config.dataDir, mainDomain: config.mainDomain, cert: config.tls.cert, key: config.tls.key, minVersion: config.tls.minVersion, configFile: config.file };
}
export type ListenerConfig = z.infer<typeof listenerSchema>;

/** The validated config plus where it came from. */
export interface LoadedConfig extends Config {
  /** The file it was read from, or null for the embedded default. */
  file: string | null;
}

/** A config problem for the operator; the message names the file and the key. */
export class ConfigError extends Error {}

export const DEFAULT_CONFIG_FILE = 'postern.yaml';

/**
 * Reads and validates the config. Without `file`, ./postern.yaml is used when present, otherwise the
 * embedded default. Relative paths in the file are taken from the file's folder.
 */
export async function loadConfig(file?: string): Promise<LoadedConfig> {
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
  return validateConfig(raw, path);
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
export function validateConfig(raw: unknown, path: string | null): LoadedConfig {
  const where = path ?? 'config';
  const result = configSchema.safeParse(raw);
  if (!result.success) {
    const lines = result.error.issues.map((issue) => describeIssue(issue, where));
    throw new ConfigError(lines.join('\n'));
  }
  const config = result.data;
  const base = path ? dirname(path) : process.cwd();
  config.dataDir = resolve(base, config.dataDir);

  if (Boolean(config.tls.cert) !== Boolean(config.tls.key)) {
    throw new ConfigError(`${where}: tls: give both tls.cert and tls.key, or neither (then a self-signed certificate is generated)`);
  }
  if (config.pop.bulletinDir) config.pop.bulletinDir = resolve(base, config.pop.bulletinDir);
  if (config.log.trace) config.log.trace = resolve(base, config.log.trace);
  if (config.tls.cert) config.tls.cert = resolve(base, config.tls.cert);
  if (config.tls.key) config.tls.key = resolve(base, config.tls.key);

  const seen = new Map<string, number>();
  config.listeners.forEach((l, i) => {
    if (seen.has(l.name)) throw new ConfigError(`${where}: listeners[${i}].name: "${l.name}" is used by listeners[${seen.get(l.name)}] too; give each listener its own name`);
    seen.set(l.name, i);
  });
  return { ...config, file: path };
}

function keyPath(path: readonly PropertyKey[]): string {
  return path.reduce<string>((acc, p) => (typeof p === 'number' ? `${acc}[${p}]` : acc ? `${acc}.${String(p)}` : String(p)), '');
}

function describeIssue(issue: z.core.$ZodIssue, where: string): string {
  const at = keyPath(issue.path);
  if (issue.code === 'unrecognized_keys') {
    const known = knownKeys(issue.path);
    const keys = issue.keys.map((k) => (at ? `${at}.${k}` : k)).join(', ');
    return `${where}: unknown key ${keys}${known ? `; the keys here are: ${known.join(', ')}` : ''}`;
  }
  return `${where}: ${at || '(top level)'}: ${issue.message}`;
}

/** The keys the schema allows at `path`, for the "unknown key" message. */
function knownKeys(path: readonly PropertyKey[]): string[] | null {
  let schema: unknown = configSchema;
  for (const p of path) {
    schema = unwrap(schema);
    if (typeof p === 'number') schema = (schema as z.ZodArray<z.ZodTypeAny>).element;
    else schema = (schema as z.ZodObject).shape?.[String(p)];
    if (!schema) return null;
  }
  const obj = unwrap(schema) as z.ZodObject;
  return obj.shape ? Object.keys(obj.shape) : null;
}

function unwrap(schema: unknown): unknown {
  let s = schema as { unwrap?: () => unknown; shape?: unknown; element?: unknown };
  while (s && !s.shape && !s.element && typeof s.unwrap === 'function') s = s.unwrap() as typeof s;
  return s;
}
