// `postern import dovecot --dovecot-conf FILE` reads a Dovecot config as a site has it (dovecot.conf with
// !include conf.d/*.conf, the passdb/userdb sql blocks in auth-sql.conf.ext, dovecot-sql.conf.ext with
// queries continued over lines) and prints the directory: section: the url from the connect line (its
// password hidden unless asked for), the queries unchanged, the cache from auth_cache_*. A printed
// section pasted into postern.yaml works as it is (SQLite: the users are listed).
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { parse, stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/server.js';
import { CREATE_USERS, directoryRows } from '../helpers/directory-users.js';

let dir: string;

async function dovecotTree(sqlConf: string): Promise<string> {
  const etc = await mkdtemp(join(dir, 'etc-'));
  await mkdir(join(etc, 'conf.d'));
  await writeFile(join(etc, 'dovecot.conf'), 'protocols = imap pop3\n!include conf.d/*.conf\n!include_try local.conf\n');
  await writeFile(
    join(etc, 'conf.d', '10-auth.conf'),
    'auth_mechanisms = plain login\nauth_cache_size = 10M\nauth_cache_ttl = 5 mins\n' +
      '#!include auth-system.conf.ext\n!include auth-sql.conf.ext\n',
  );
  await writeFile(
    join(etc, 'conf.d', 'auth-sql.conf.ext'),
    `passdb {\n  driver = sql\n  # Path for SQL configuration file\n  args = ${join(etc, 'dovecot-sql.conf.ext')}\n}\n` +
      `userdb {\n  driver = sql\n  args = ${join(etc, 'dovecot-sql.conf.ext')}\n}\n`,
  );
  await writeFile(join(etc, 'dovecot-sql.conf.ext'), sqlConf);
  return join(etc, 'dovecot.conf');
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'postern-import-dir-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('postern import dovecot --dovecot-conf', () => {
  it('prints the directory: section of a PostgreSQL passdb, the password hidden', async () => {
    const conf = await dovecotTree(
      [
        '# Database driver: mysql, pgsql, sqlite',
        'driver = pgsql',
        "connect = host=db.example.org port=5433 dbname=mails user=dovecot password='s3cret pw'",
        'default_pass_scheme = SHA512-CRYPT',
        'password_query = \\',
        '  SELECT username AS user, password \\',
        "  FROM users WHERE username = '%n' AND domain = '%d'",
        "user_query = SELECT home, uid, gid FROM users WHERE username = '%n' AND domain = '%d'",
        'iterate_query = SELECT username, domain FROM users',
        '',
      ].join('\n'),
    );
    const r = await runCli(['import', 'dovecot', '--dovecot-conf', conf]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).not.toContain('s3cret');
    const { directory } = parse(r.stdout) as { directory: Record<string, unknown> };
    expect(directory).toEqual({
      driver: 'sql',
      url: 'postgres://dovecot:PASSWORD@db.example.org:5433/mails',
      passwordQuery: "SELECT username AS user, password FROM users WHERE username = '%n' AND domain = '%d'",
      userQuery: "SELECT home, uid, gid FROM users WHERE username = '%n' AND domain = '%d'",
      iterateQuery: 'SELECT username, domain FROM users',
      defaultPassScheme: 'SHA512-CRYPT',
      cacheTtl: 300,
    });
    expect(r.stdout).toMatch(/^# .*PASSWORD/m);
    const shown = await runCli(['import', 'dovecot', '--dovecot-conf', conf, '--with-password']);
    expect((parse(shown.stdout) as { directory: { url: string } }).directory.url).toBe(
      'postgres://dovecot:s3cret%20pw@db.example.org:5433/mails',
    );
  });

  it('a SQLite passdb: the printed section, pasted into postern.yaml, lists the users', async () => {
    const dbFile = join(dir, 'users.sqlite');
    const db = new Database(dbFile);
    db.exec(CREATE_USERS);
    const insert = db.prepare('INSERT INTO users VALUES (@userid, @password, @home, @quota_rule, @nologin)');
    for (const row of directoryRows(join(dir, 'homes'))) insert.run(row);
    db.close();
    const conf = await dovecotTree(
      `driver = sqlite\nconnect = ${dbFile}\npassword_query = SELECT userid AS user, password FROM users WHERE userid = '%u'\n` +
        'iterate_query = SELECT userid AS user FROM users\n',
    );
    const r = await runCli(['import', 'dovecot', '--dovecot-conf', conf]);
    expect(r.code, r.stderr).toBe(0);
    const section = parse(r.stdout) as Record<string, unknown>;
    await mkdir(join(dir, 'data'));
    await writeFile(join(dir, 'postern.yaml'), stringify({ dataDir: './data', mainDomain: 'example.org', ...section }));
    const list = await runCli(['--config', join(dir, 'postern.yaml'), 'account', 'list']);
    expect(list.code, list.stderr).toBe(0);
    expect(list.stdout).toContain('ann@example.org');
    expect(list.stderr).toContain(`directory sql sqlite:${dbFile}`);
  });

  it('an LDAP passdb: the section the LDAP importer makes of dovecot-ldap.conf.ext, its dnpass hidden', async () => {
    const etc = await mkdtemp(join(dir, 'etc-'));
    await writeFile(
      join(etc, 'dovecot-ldap.conf.ext'),
      'uris = ldap://ldap.example.org\ndn = cn=dovecot,dc=example,dc=org\ndnpass = ldap-s3cret\nbase = ou=people,dc=example,dc=org\n' +
        'user_filter = (&(objectClass=posixAccount)(mail=%u))\npass_filter = (&(objectClass=posixAccount)(mail=%u))\n',
    );
    await writeFile(
      join(etc, 'dovecot.conf'),
      `passdb {\n  driver = ldap\n  args = ${join(etc, 'dovecot-ldap.conf.ext')}\n}\n` +
        `userdb {\n  driver = ldap\n  args = ${join(etc, 'dovecot-ldap.conf.ext')}\n}\n`,
    );
    const r = await runCli(['import', 'dovecot', '--dovecot-conf', join(etc, 'dovecot.conf')]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).not.toContain('ldap-s3cret');
    const { directory } = parse(r.stdout) as { directory: Record<string, unknown> };
    expect(directory).toMatchObject({
      driver: 'ldap',
      base: 'ou=people,dc=example,dc=org',
      filter: '(&(objectClass=posixAccount)(mail=%u))',
    });
  });

  it('says what it found when there is no SQL or LDAP passdb', async () => {
    const etc = await mkdtemp(join(dir, 'etc-'));
    await writeFile(join(etc, 'dovecot.conf'), 'passdb {\n  driver = passwd-file\n  args = /etc/dovecot/users\n}\n');
    const r = await runCli(['import', 'dovecot', '--dovecot-conf', join(etc, 'dovecot.conf')]);
    expect(r.code).toBe(78);
    expect(r.stderr).toContain('passdb drivers: passwd-file');
  });
});
