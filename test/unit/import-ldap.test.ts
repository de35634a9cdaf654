// postern import dovecot's LDAP part (cli/import-ldap.ts): dovecot-ldap.conf.ext read into the directory:
// section, what differs said in a note.
import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { ldapDirectorySchema } from '../../accounts/directory/config.js';
import { DNPASS_PLACEHOLDER, ldapDirectoryFromDovecot } from '../../cli/import-ldap.js';

describe('dovecot-ldap.conf.ext into directory:', () => {
  it('a usual site: uris, service DN, filters, attributes, iterate; the result is a valid section', () => {
    const { directory, notes } = ldapDirectoryFromDovecot(
      [
        '# site config',
        'uris = ldap://ldap1.example.org ldaps://ldap2.example.org:636',
        'dn = cn=dovecot,dc=example,dc=org',
        'dnpass = "s3cret"',
        'tls = yes',
        'base = ou=people,dc=example,dc=org',
        'scope = onelevel',
        'user_attrs = homeDirectory=home,uidNumber=uid,gidNumber=gid, \\',
        '  =quota_rule=*:bytes=%{ldap:mailQuota}',
        'user_filter = (&(objectClass=inetOrgPerson)(mail=%u))',
        'pass_attrs = mail=user,userPassword=password',
        'pass_filter = (&(objectClass=inetOrgPerson)(mail=%u))',
        'iterate_attrs = mail=user',
        'iterate_filter = (objectClass=inetOrgPerson)',
        'default_pass_scheme = CRYPT',
      ].join('\n'),
    );
    expect(directory).toEqual({
      driver: 'ldap',
      url: ['ldap://ldap1.example.org', 'ldaps://ldap2.example.org:636'],
      base: 'ou=people,dc=example,dc=org',
      scope: 'one',
      filter: '(&(objectClass=inetOrgPerson)(mail=%u))',
      iterateFilter: '(objectClass=inetOrgPerson)',
      bind: { dn: 'cn=dovecot,dc=example,dc=org', password: DNPASS_PLACEHOLDER },
      startTls: true,
      attributes: { user: 'mail', password: 'userPassword', home: 'homeDirectory', quota: 'mailQuota' },
    });
    expect(JSON.stringify(directory)).not.toContain('s3cret');
    expect(ldapDirectorySchema.safeParse(directory).success).toBe(true);
    expect(notes.join('\n')).toContain('dnpass');
    expect(ldapDirectoryFromDovecot('dn = x\ndnpass = s3cret\nbase = dc=x\n', true).directory.bind).toEqual({
      dn: 'x',
      password: 's3cret',
    });
    expect(notes.join('\n')).toContain('uid, gid');
  });

  it('auth bind, hosts, a pass filter of its own, what is not carried over said', () => {
    const { directory, notes } = ldapDirectoryFromDovecot(
      [
        'hosts = 10.0.0.1:389 10.0.0.2',
        'auth_bind = yes',
        'auth_bind_userdn = uid=%n,ou=people,dc=example,dc=org',
        'base = dc=example,dc=org',
        'pass_filter = (uid=%n)',
        'tls_ca_cert_file = /etc/ssl/ca.pem',
        'default_pass_scheme = SSHA',
        'sasl_bind = yes',
      ].join('\n'),
    );
    expect(directory).toMatchObject({
      url: ['ldap://10.0.0.1:389', 'ldap://10.0.0.2'],
      authBind: true,
      filter: '(&(objectClass=posixAccount)(uid=%u))',
      passFilter: '(uid=%n)',
      attributes: { user: 'uid', home: 'homeDirectory' },
    });
    expect((directory.attributes as Record<string, string>).password).toBeUndefined();
    const all = notes.join('\n');
    for (const word of ['auth_bind_userdn', 'tls_ca_cert_file', 'SSHA', 'sasl_bind']) expect(all).toContain(word);
    expect(ldapDirectorySchema.safeParse(directory).success).toBe(true);
  });

  it("the file Debian's dovecot-core installs (everything commented) gives Dovecot's defaults and says base is missing", async () => {
    const text = await readFile('/etc/dovecot/dovecot-ldap.conf.ext', 'utf8').catch(() => 'base =\n');
    const { directory, notes } = ldapDirectoryFromDovecot(text);
    expect(directory).toMatchObject({ url: 'ldap://localhost', filter: '(&(objectClass=posixAccount)(uid=%u))' });
    expect(notes.join('\n')).toContain('base is empty');
  });

  it('a filter with a variable Postern does not know is reported', () => {
    const { notes } = ldapDirectoryFromDovecot('base = dc=x\nuser_filter = (uid=%{ldap:foo})\n');
    expect(notes.join('\n')).toMatch(/directory\.filter: unknown variable/);
  });
});
