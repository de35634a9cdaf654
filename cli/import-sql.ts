// `postern import dovecot --dovecot-conf FILE`: the `directory:` section for a Dovecot whose passdb and
// userdb read SQL (doc.dovecot.org, "SQL"): dovecot.conf (or the conf.d file holding the `passdb {
// driver = sql args = FILE }` block, with its !include lines followed) names dovecot-sql.conf.ext, whose
// driver, connect, default_pass_scheme, password_query, user_query and iterate_query become the url and
// the queries, unchanged; auth_cache_size and auth_cache_ttl become cacheTtl. The database password is
// left out of what is printed (a placeholder) unless --with-password asks for it.
import { readdir, readFile, stat } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, resolve } from 'node:path';
import { stringify } from 'yaml';
import { directorySchema } from '../accounts/directory/config.js';
import { CliError, EXIT } from './exit.js';

/** Dovecot's settings of one file: `key = value` lines, a value continued over lines ending in `\`. */
export function parseSettings(text: string): Map<string, string> {
  const out = new Map<string, string>();
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    let line = lines[i].trim();
    while (line.endsWith('\\') && i + 1 < lines.length) line = `${line.slice(0, -1).trim()} ${lines[++i].trim()}`;
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([A-Za-z0-9_]+)\s*=\s*(.*)$/.exec(line);
    if (m) out.set(m[1], unquote(m[2].trim()));
  }
  return out;
}

function unquote(v: string): string {
  return v.length >= 2 && ((v.startsWith('"') && v.endsWith('"')) || (v.startsWith("'") && v.endsWith("'"))) ? v.slice(1, -1) : v;
}

/** A passdb or userdb block of dovecot.conf: its driver and args. */
export interface AuthBlock {
  readonly kind: 'passdb' | 'userdb';
  readonly driver: string;
  readonly args: string;
  /** The file it was written in (args are relative to nothing: Dovecot wants absolute paths). */
  readonly file: string;
}

/** The global settings and the passdb/userdb blocks of a Dovecot config, its !include lines followed. */
export async function readDovecotConfig(file: string): Promise<{ settings: Map<string, string>; blocks: AuthBlock[] }> {
  const settings = new Map<string, string>();
  const blocks: AuthBlock[] = [];
  const seen = new Set<string>();
  async function read(path: string, optional: boolean): Promise<void> {
    const full = resolve(path);
    if (seen.has(full)) return;
    seen.add(full);
    let text: string;
    try {
      text = await readFile(full, 'utf8');
    } catch (err) {
      if (optional) return;
      throw new CliError(`cannot read ${full}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, EXIT.failure);
    }
    let block: { kind: 'passdb' | 'userdb'; fields: Map<string, string> } | null = null;
    let depth = 0;
    for (const raw of text.split(/\r?\n/)) {
      const line = raw.replace(/(^|\s)#.*$/, '').trim();
      if (line === '') continue;
      const include = /^!include(_try)?\s+(.+)$/.exec(line);
      if (include) {
        for (const p of await expandInclude(unquote(include[2].trim()), dirname(full))) await read(p, include[1] !== undefined);
        continue;
      }
      const open = /^(\S+)(?:\s+\S+)?\s*\{$/.exec(line);
      if (open) {
        depth++;
        if (depth === 1 && (open[1] === 'passdb' || open[1] === 'userdb')) block = { kind: open[1], fields: new Map() };
        continue;
      }
      if (line === '}') {
        if (depth === 1 && block) {
          blocks.push({ kind: block.kind, driver: block.fields.get('driver') ?? '', args: block.fields.get('args') ?? '', file: full });
          block = null;
        }
        depth = Math.max(0, depth - 1);
        continue;
      }
      const m = /^([A-Za-z0-9_]+)\s*=\s*(.*)$/.exec(line);
      if (!m) continue;
      if (block && depth === 1) block.fields.set(m[1], unquote(m[2].trim()));
      else if (depth === 0) settings.set(m[1], unquote(m[2].trim()));
    }
  }
  await read(file, false);
  return { settings, blocks };
}

/** An !include path: relative to the including file's folder, with a `*` in its last part. */
async function expandInclude(pattern: string, from: string): Promise<string[]> {
  const path = isAbsolute(pattern) ? pattern : join(from, pattern);
  const name = basename(path);
  if (!name.includes('*')) return [path];
  const re = new RegExp(`^${name.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*')}$`);
  const dir = dirname(path);
  const names = await readdir(dir).catch(() => [] as string[]);
  return names
    .filter((n) => re.test(n))
    .sort()
    .map((n) => join(dir, n));
}

/** libpq's and Dovecot's mysql `key=value key='value'` connect string. */
function parseConnect(connect: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const m of connect.matchAll(/([A-Za-z_]+)\s*=\s*('(?:[^'\\]|\\.)*'|\S+)/g))
    out.set(m[1].toLowerCase(), unquote(m[2]).replace(/\\(.)/g, '$1'));
  return out;
}

/** The url of Dovecot's driver and connect string; the password as `password` says. */
export function urlOf(driver: string, connect: string, password: (real: string) => string): string {
  if (driver === 'sqlite') return `sqlite:${connect.trim()}`;
  const c = parseConnect(connect);
  const scheme = driver === 'pgsql' ? 'postgres' : driver === 'mysql' ? 'mysql' : null;
  if (!scheme) throw new CliError(`driver = ${driver}: Postern reads pgsql, mysql and sqlite directories`, EXIT.config);
  const user = c.get('user') ?? c.get('username') ?? '';
  const pass = c.get('password') ?? c.get('pass');
  const auth = user ? `${encodeURIComponent(user)}${pass !== undefined ? `:${password(encodeURIComponent(pass))}` : ''}@` : '';
  const host = c.get('host') ?? 'localhost';
  const socket = host.startsWith('/');
  const port = c.get('port') ? `:${c.get('port')}` : '';
  const db = encodeURIComponent(c.get('dbname') ?? c.get('database') ?? '');
  if (!socket) return `${scheme}://${auth}${host}${port}/${db}`;
  // a unix socket: pg reads ?host=, mysql2 ?socketPath=
  return `${scheme}://${auth}localhost/${db}?${scheme === 'postgres' ? 'host' : 'socketPath'}=${encodeURIComponent(host)}`;
}

export interface DirectorySection {
  readonly section: Record<string, unknown>;
  /** Where it came from, and what the operator must know. */
  readonly notes: string[];
}

/**
 * The `directory:` section for the SQL passdb of the Dovecot config `file` (or of dovecot-sql.conf.ext
 * given directly). Throws a CliError when it has none Postern can read.
 */
export async function sqlDirectorySection(file: string, withPassword: boolean): Promise<DirectorySection> {
  const notes: string[] = [];
  const own = parseSettings(await readFile(file, 'utf8').catch(() => ''));
  let sqlFile = file;
  let cache: Map<string, string> = new Map();
  if (!own.has('password_query')) {
    const { settings, blocks } = await readDovecotConfig(file);
    cache = settings;
    const passdb = blocks.find((b) => b.kind === 'passdb' && b.driver === 'sql');
    if (!passdb) {
      const drivers = blocks.filter((b) => b.kind === 'passdb').map((b) => b.driver);
      throw new CliError(
        `${file}: no passdb with driver = sql (passdb drivers: ${drivers.join(', ') || 'none'}); give the file that holds it, ` +
          'or dovecot-sql.conf.ext itself',
        EXIT.config,
      );
    }
    sqlFile = passdb.args.trim();
    const userdb = blocks.find((b) => b.kind === 'userdb');
    if (userdb && userdb.driver !== 'sql' && userdb.driver !== 'prefetch') {
      notes.push(`userdb driver = ${userdb.driver} is not read: the homes come from the SQL user_query (or Postern's own layout)`);
    }
    if (userdb?.driver === 'sql' && userdb.args.trim() !== sqlFile)
      notes.push(`userdb reads ${userdb.args.trim()}: its user_query is not the one used here`);
  }
  if (
    !(await stat(sqlFile).then(
      (s) => s.isFile(),
      () => false,
    ))
  )
    throw new CliError(`cannot read ${sqlFile} (the passdb's args)`, EXIT.config);
  const sql = parseSettings(await readFile(sqlFile, 'utf8'));
  notes.push(`from ${resolve(sqlFile)}`);
  const driver = sql.get('driver') ?? '';
  const connect = sql.get('connect') ?? '';
  let hidden = false;
  const url = urlOf(driver, connect, (real) => {
    if (withPassword) return real;
    hidden = true;
    return 'PASSWORD';
  });
  if (hidden)
    notes.push(`the database password of ${sqlFile}'s connect line is shown as PASSWORD: put it in the url (or run with --with-password)`);
  const passwordQuery = sql.get('password_query');
  if (!passwordQuery) throw new CliError(`${sqlFile}: no password_query`, EXIT.config);
  const section: Record<string, unknown> = { driver: 'sql', url, passwordQuery };
  if (sql.get('user_query')) section.userQuery = sql.get('user_query');
  if (sql.get('iterate_query')) section.iterateQuery = sql.get('iterate_query');
  section.defaultPassScheme = (sql.get('default_pass_scheme') ?? 'MD5').toUpperCase();
  const cacheSize = cache.get('auth_cache_size');
  if (cacheSize !== undefined && !/^0\s*[kmg]?$/i.test(cacheSize)) section.cacheTtl = seconds(cache.get('auth_cache_ttl') ?? '1 hour');
  else if (cache.size > 0) {
    section.cacheTtl = 0;
    notes.push("auth_cache_size = 0 (Dovecot's default): no cache; cacheTtl: 60 or more spares the database");
  }
  const checked = directorySchema.safeParse(section);
  if (!checked.success)
    notes.push(
      `Postern will refuse this section as it is: ${checked.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
    );
  return { section, notes };
}

/** Dovecot's time setting ("1 hour", "30 mins", "3600") in seconds, at most a day. */
function seconds(v: string): number {
  const m = /^(\d+)\s*([a-z]*)$/i.exec(v.trim());
  if (!m) return 3600;
  const unit = m[2].toLowerCase();
  const scale = unit.startsWith('d')
    ? 86400
    : unit.startsWith('h')
      ? 3600
      : unit.startsWith('m') && !unit.startsWith('ms')
        ? 60
        : unit.startsWith('ms')
          ? 0.001
          : 1;
  return Math.min(86400, Number(m[1]) * scale);
}

/** The section as YAML, its notes as comments above it. */
export function printSection(d: DirectorySection): string {
  return `${d.notes.map((n) => `# ${n}\n`).join('')}${stringify({ directory: d.section }, { lineWidth: 0 })}`;
}
