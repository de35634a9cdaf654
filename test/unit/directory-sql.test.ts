// The SQL directory's pieces over a real SQLite file: values escaped for each dialect (a login cannot
// change a query), Dovecot's fields read into an entry (default_pass_scheme, userdb_ prefix, quota_rule,
// nologin), the url's password hidden, and the cache (cached.ts): answers kept for the TTL, an expired
// answer used while the database is broken, nothing to fall back on with cacheTtl 0.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sqlDirectorySchema } from '../../accounts/directory/config.js';
import { DirectoryUnavailable } from '../../accounts/directory/contract.js';
import { entryFromFields, quotaFromRules } from '../../accounts/directory/fields.js';
import { openDirectory } from '../../accounts/directory/open.js';
import { escapeFor, safeUrl } from '../../accounts/directory/sql.js';
import { expand } from '../../accounts/directory/variables.js';
import { CREATE_USERS, directoryRows, QUERIES } from '../helpers/directory-users.js';

let dir: string;
let file: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'postern-dir-unit-'));
  file = join(dir, 'users.sqlite');
  const db = new Database(file);
  db.exec(CREATE_USERS);
  const insert = db.prepare('INSERT INTO users VALUES (@userid, @password, @home, @quota_rule, @nologin)');
  for (const row of directoryRows(join(dir, 'homes'))) insert.run(row);
  db.close();
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const config = (cacheTtl: number) => sqlDirectorySchema.parse({ driver: 'sql', url: `sqlite:${file}`, ...QUERIES, cacheTtl });

describe('values in queries', () => {
  it('are escaped as each database reads a quoted string', () => {
    const q = "SELECT * FROM users WHERE userid = '%u'";
    expect(expand(q, { user: "o'brien@example.org" }, escapeFor('postgres'))).toBe(
      "SELECT * FROM users WHERE userid = 'o''brien@example.org'",
    );
    expect(expand(q, { user: "a\\'b" }, escapeFor('mysql'))).toBe("SELECT * FROM users WHERE userid = 'a\\\\\\'b'");
    expect(expand(q, { user: 'a\0b' }, escapeFor('sqlite'))).toBe("SELECT * FROM users WHERE userid = 'ab'");
  });

  it('cannot change what the query asks (SQLite, for real)', async () => {
    const d = await openDirectory(config(0), dir);
    expect(await d.lookup("x' OR '1'='1")).toBeNull();
    expect(await d.lookup("ann@example.org' --")).toBeNull();
    expect((await d.lookup('ANN@example.org'))?.login).toBe('ann@example.org');
    await d.close();
  });
});

describe("Dovecot's fields", () => {
  it('read into an entry', () => {
    const e = entryFromFields(
      { user: 'Ann@Example.org', password: '$1$salt$hash', userdb_home: '/home/ann', userdb_quota_rule: '*:storage=2G' },
      'x',
      'MD5',
    );
    expect(e).toEqual({
      login: 'ann@example.org',
      passwordHash: '{MD5}$1$salt$hash',
      home: '/home/ann',
      quota: { storage: 2 * 1024 ** 3 },
      disabled: false,
    });
    expect(entryFromFields({ password: '{PLAIN}x', nologin: 'Y' }, 'a@b', 'MD5').disabled).toBe(true);
    expect(entryFromFields({ password: '{PLAIN}x', nologin: null, deny: 'no' }, 'a@b', 'MD5').disabled).toBe(false);
  });

  it('quota_rule as Dovecot reads it: storage in kilobytes without a unit, bytes, messages; mailbox rules ignored', () => {
    expect(quotaFromRules(['*:storage=1024'])).toEqual({ storage: 1024 * 1024 });
    expect(quotaFromRules(['*:bytes=5000:messages=10'])).toEqual({ storage: 5000, messages: 10 });
    expect(quotaFromRules(['Trash:storage=+100M'])).toBeNull();
    expect(quotaFromRules(['*:storage=10%'])).toBeNull();
  });

  it('the url is shown without its password', () => {
    expect(safeUrl('postgres://dovecot:s3cret@db/mail')).toBe('postgres://dovecot:***@db/mail');
    expect(safeUrl('mysql://u:p@h/d?password=x')).toBe('mysql://u:***@h/d?password=***');
    expect(safeUrl('sqlite:/var/lib/users.db')).toBe('sqlite:/var/lib/users.db');
  });
});

describe('the cache', () => {
  it('keeps answers for the TTL and stands in with an expired one while the database is broken', async () => {
    const saved = await readFile(file);
    const stale: string[] = [];
    const d = await openDirectory({ ...config(0.05) }, dir, { onStale: (login) => stale.push(login) });
    try {
      expect((await d.lookup('bob@example.org'))?.passwordHash).toBe('{PLAIN}bob-pw');
      expect(await d.lookup('zed@example.org')).toBeNull();
      await writeFile(file, 'broken '.repeat(500));
      // within the TTL: from the cache, the database not asked
      expect((await d.lookup('bob@example.org'))?.login).toBe('bob@example.org');
      await new Promise((r) => setTimeout(r, 80));
      // expired, database broken: the old answer, said
      expect((await d.lookup('bob@example.org'))?.login).toBe('bob@example.org');
      expect(stale).toEqual(['bob@example.org']);
      // a user never seen: unavailable
      await expect(d.lookup('ann@example.org')).rejects.toBeInstanceOf(DirectoryUnavailable);
    } finally {
      await writeFile(file, saved);
      await d.close();
    }
  });

  it('with cacheTtl 0 every lookup asks the database, and a broken one is unavailable', async () => {
    const saved = await readFile(file);
    const d = await openDirectory(config(0), dir);
    try {
      expect(await d.lookup('bob@example.org')).not.toBeNull();
      await writeFile(file, 'broken '.repeat(500));
      await expect(d.lookup('bob@example.org')).rejects.toBeInstanceOf(DirectoryUnavailable);
    } finally {
      await writeFile(file, saved);
      await d.close();
    }
  });
});
