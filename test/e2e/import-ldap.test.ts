// `postern import dovecot --dovecot-conf FILE` with an LDAP passdb: dovecot.conf's `passdb { driver = ldap
// args = dovecot-ldap.conf.ext }` followed to the file, whose settings become the directory: section
// (cli/import-ldap.ts); dnpass hidden unless --with-password asks for it.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/server.js';

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'postern-import-ldap-'));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('postern import dovecot --dovecot-conf, an LDAP passdb', () => {
  it('prints the directory: section, dnpass hidden; --with-password shows it', async () => {
    const ldapConf = join(dir, 'dovecot-ldap.conf.ext');
    await writeFile(
      ldapConf,
      [
        'uris = ldaps://ldap.example.org',
        'dn = cn=dovecot,dc=example,dc=org',
        'dnpass = s3cret',
        'auth_bind = yes',
        'base = ou=people,dc=example,dc=org',
        'user_attrs = homeDirectory=home,uidNumber=uid,gidNumber=gid',
        'user_filter = (&(objectClass=inetOrgPerson)(mail=%u))',
        'pass_filter = (&(objectClass=inetOrgPerson)(mail=%u))',
        '',
      ].join('\n'),
    );
    const conf = join(dir, 'dovecot.conf');
    await writeFile(
      conf,
      `protocols = imap\npassdb {\n  driver = ldap\n  args = ${ldapConf}\n}\nuserdb {\n  driver = ldap\n  args = ${ldapConf}\n}\n`,
    );
    const r = await runCli(['import', 'dovecot', '--dovecot-conf', conf]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).not.toContain('s3cret');
    expect(r.stdout).toMatch(/^# .*dnpass/m);
    const { directory } = parse(r.stdout) as { directory: Record<string, unknown> };
    expect(directory).toEqual({
      driver: 'ldap',
      url: 'ldaps://ldap.example.org',
      base: 'ou=people,dc=example,dc=org',
      filter: '(&(objectClass=inetOrgPerson)(mail=%u))',
      bind: { dn: 'cn=dovecot,dc=example,dc=org', password: 'PASSWORD' },
      authBind: true,
      attributes: { user: 'uid', home: 'homeDirectory' },
    });
    const shown = await runCli(['import', 'dovecot', '--dovecot-conf', ldapConf, '--with-password']);
    expect(shown.code, shown.stderr).toBe(0);
    expect((parse(shown.stdout) as { directory: { bind: { password: string } } }).directory.bind.password).toBe('s3cret');
  });
});
