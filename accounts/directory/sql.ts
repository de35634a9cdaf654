// The SQL directory: Dovecot's passdb and userdb over SQL (doc.dovecot.org, "SQL", 2.3), with the queries
// copied from dovecot-sql.conf.ext. PostgreSQL (pg), MySQL and MariaDB (mysql2) and SQLite
// (better-sqlite3); each driver is imported the first time a directory of its kind opens, so nothing pays
// for a driver it does not use. A lookup runs the password query (the row's `password`, and `user` to
// correct the login's spelling), then the user query when there is one (`home`, quota fields); columns
// Postern does not use (uid, gid, ...) are ignored, as a `userdb_` prefix (prefetch) is read as the field.
// Every value put into a query is escaped as the server's string literal wants it: queries quote their
// variables ('%u'), as Dovecot's do.
import { isAbsolute, resolve } from 'node:path';
import type { SqlDirectoryConfig } from './config.js';
import { type Directory, type DirectoryEntry, DirectoryUnavailable, type LookupContext } from './contract.js';
import { entryFromFields, type Fields } from './fields.js';
import { expand, parseTemplate } from './variables.js';

/** What a lookup needs of a database: rows as column -> value. */
interface SqlConnection {
  query(sql: string): Promise<Record<string, unknown>[]>;
  close(): Promise<void>;
}

type Dialect = 'postgres' | 'mysql' | 'sqlite';

/** Which database a url names. */
export function dialectOf(url: string): Dialect {
  if (url.startsWith('sqlite:')) return 'sqlite';
  if (url.startsWith('mysql:')) return 'mysql';
  return 'postgres';
}

/** The url without its password, for the log and the CLI. */
export function safeUrl(url: string): string {
  if (url.startsWith('sqlite:')) return url;
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    for (const key of [...u.searchParams.keys()]) if (/pass/i.test(key)) u.searchParams.set(key, '***');
    return u.toString();
  } catch {
    return url.replace(/\/\/[^@/]*@/, '//***@');
  }
}

/**
 * A value inside a quoted string literal. PostgreSQL (standard_conforming_strings, its default since 9.1)
 * and SQLite double the quote; MySQL's default mode also reads backslashes, so they are escaped as
 * mysql_real_escape_string does.
 */
export function escapeFor(dialect: Dialect): (value: string) => string {
  if (dialect === 'mysql') {
    return (v) =>
      v.replace(/[\0\n\r\x1a\\'"]/g, (c) => {
        switch (c) {
          case '\0':
            return '\\0';
          case '\n':
            return '\\n';
          case '\r':
            return '\\r';
          case '\x1a':
            return '\\Z';
          default:
            return `\\${c}`;
        }
      });
  }
  return (v) => v.replace(/\0/g, '').replace(/'/g, "''");
}

async function connect(config: SqlDirectoryConfig, baseDir: string): Promise<SqlConnection> {
  const timeoutMs = Math.round(config.timeout * 1000);
  switch (dialectOf(config.url)) {
    case 'postgres': {
      const pg = (await import('pg')).default;
      const pool = new pg.Pool({
        connectionString: config.url,
        max: 4,
        connectionTimeoutMillis: timeoutMs,
        query_timeout: timeoutMs,
        idleTimeoutMillis: 30_000,
        allowExitOnIdle: true,
      });
      pool.on('error', () => {}); // an idle client that lost its server: the next query reconnects
      return {
        query: async (sql) => (await pool.query(sql)).rows as Record<string, unknown>[],
        close: () => pool.end(),
      };
    }
    case 'mysql': {
      const mysql = await import('mysql2/promise');
      const pool = mysql.createPool({ uri: config.url, connectionLimit: 4, connectTimeout: timeoutMs, maxIdle: 4, idleTimeout: 30_000 });
      // an idle connection keeps no process alive (a CLI command ends when its work is done)
      pool.on('connection', (c) => (c as unknown as { stream?: { unref?: () => void } }).stream?.unref?.());
      return {
        query: async (sql) => {
          const [rows] = await pool.query({ sql, timeout: timeoutMs });
          return rows as Record<string, unknown>[];
        },
        close: () => pool.end(),
      };
    }
    case 'sqlite': {
      const file = config.url.slice('sqlite:'.length).replace(/^\/\/(?=\/)/, '');
      const path = isAbsolute(file) ? file : resolve(baseDir, file);
      const Database = (await import('better-sqlite3')).default;
      let db: import('better-sqlite3').Database | null = null;
      return {
        // opened at the first query (and again after a failure), read-only: Postern never writes to it
        query: async (sql) => {
          try {
            db ??= new Database(path, { readonly: true, fileMustExist: true, timeout: timeoutMs });
            return db.prepare(sql).all() as Record<string, unknown>[];
          } catch (err) {
            db?.close();
            db = null;
            throw err;
          }
        },
        close: async () => {
          db?.close();
          db = null;
        },
      };
    }
  }
}

export class SqlDirectory implements Directory {
  readonly description: string;
  private readonly escape: (value: string) => string;
  private readonly passwordQuery;
  private readonly userQuery;

  private constructor(
    private readonly config: SqlDirectoryConfig,
    private readonly db: SqlConnection,
  ) {
    this.description = `sql ${safeUrl(config.url)}`;
    this.escape = escapeFor(dialectOf(config.url));
    this.passwordQuery = parseTemplate(config.passwordQuery);
    this.userQuery = config.userQuery ? parseTemplate(config.userQuery) : null;
  }

  static async open(config: SqlDirectoryConfig, baseDir: string): Promise<SqlDirectory> {
    return new SqlDirectory(config, await connect(config, baseDir));
  }

  private async rows(what: string, sql: string): Promise<Record<string, unknown>[]> {
    try {
      return await this.db.query(sql);
    } catch (err) {
      // down, timed out, refused, or a query the database rejects: a temporary failure, never "no such user"
      const message = (err as Error).message || (err as NodeJS.ErrnoException).code || String(err);
      throw new DirectoryUnavailable(`${this.description}: the ${what} failed: ${message}`);
    }
  }

  async lookup(login: string, context: LookupContext = {}): Promise<DirectoryEntry | null> {
    const values = { user: login.toLowerCase(), ...context };
    const passRows = await this.rows('password query', expand(this.passwordQuery, values, this.escape));
    if (passRows.length === 0) return null;
    let fields: Fields = lowerKeys(passRows[0]);
    if (this.userQuery) {
      const userRows = await this.rows('user query', expand(this.userQuery, values, this.escape));
      // Dovecot: a user the passdb knows and the userdb does not cannot sign in
      if (userRows.length === 0) return null;
      fields = { ...fields, ...lowerKeys(userRows[0]) };
    }
    return entryFromFields(fields, values.user, this.config.defaultPassScheme);
  }

  async list(): Promise<string[]> {
    if (!this.config.iterateQuery) return [];
    const rows = await this.rows('iterate query', this.config.iterateQuery);
    const out: string[] = [];
    for (const row of rows.map(lowerKeys)) {
      const user =
        text(row.user) ?? (text(row.username) && text(row.domain) ? `${text(row.username)}@${text(row.domain)}` : text(row.username));
      if (user) out.push(user.toLowerCase());
    }
    return out;
  }

  async close(): Promise<void> {
    await this.db.close().catch(() => {});
  }
}

function lowerKeys(row: Record<string, unknown>): Fields {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(row)) out[k.toLowerCase()] = v;
  return out;
}

function text(v: unknown): string | null {
  if (v === null || v === undefined) return null;
  const s = Buffer.isBuffer(v) ? v.toString('utf8') : String(v);
  return s === '' ? null : s;
}
