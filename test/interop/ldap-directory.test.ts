// The LDAP directory (accounts/directory/ldap.ts) against a real OpenLDAP slapd: lookups with Dovecot's
// filters and variables, the hashes a site keeps in userPassword checked by Postern's schemes, the auth
// bind, escaping of what the user typed, STARTTLS and ldaps://, several urls, and a slapd that is killed
// or hangs: a temporary failure (DirectoryUnavailable), never "no such user", then recovery by itself.
import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LdapDirectoryConfig, ldapDirectorySchema } from '../../accounts/directory/config.js';
import { type Directory, DirectoryUnavailable } from '../../accounts/directory/contract.js';
import { openLdapDirectory } from '../../accounts/directory/ldap.js';
import { verifyPassword as verifyScrypt } from '../../accounts/password.js';
import { verifyStored } from '../../accounts/password-schemes.js';
import { freePort } from '../helpers/ports.js';
import { LDAP_PEOPLE, LDAP_SERVICE, sha512Crypt, ssha, TestSlapd } from '../helpers/slapd.js';

const USERS = [
  { uid: 'ann', mail: 'ann@example.org', userPassword: ssha('ann-pw'), homeDirectory: '/srv/mail/ann', quota: '*:storage=1G' },
  { uid: 'bob', mail: 'bob@example.org', userPassword: sha512Crypt('bob-pw'), homeDirectory: '/srv/mail/bob', quota: '5000000' },
  { uid: 'cat', mail: 'cat@example.org', userPassword: '{PLAIN}cat-pw', homeDirectory: '/srv/mail/cat' },
  // a cleartext value with no scheme: slapd binds with it; read as Dovecot reads it, it is {CRYPT}
  { uid: 'dan', mail: 'dan@example.org', userPassword: 'dan-pw', homeDirectory: '/srv/mail/dan' },
  { uid: 'dup1', mail: 'dup@example.org', userPassword: ssha('x') },
  { uid: 'dup2', mail: 'dup@example.org', userPassword: ssha('y') },
  { uid: 'eve', mail: 'Eve@Example.org', userPassword: ssha('eve-pw'), homeDirectory: '/srv/mail/eve' },
];

/** As the account store checks a directory's hash: Postern's schemes (Dovecot's). */
const verifyPassword = async (password: string, stored: string) => (await verifyStored(password, stored, verifyScrypt)) === 'match';

let slapd: TestSlapd;
let ca: string;
const opened: Directory[] = [];

function config(over: Record<string, unknown> = {}): LdapDirectoryConfig {
  return ldapDirectorySchema.parse({
    driver: 'ldap',
    url: slapd.url,
    base: LDAP_PEOPLE,
    filter: '(&(objectClass=inetOrgPerson)(mail=%u))',
    bind: LDAP_SERVICE,
    attributes: { user: 'mail', quota: 'description' },
    iterateFilter: '(objectClass=inetOrgPerson)',
    timeout: 2,
    ...over,
  });
}

async function open(over: Record<string, unknown> = {}): Promise<Directory> {
  const d = await openLdapDirectory(config(over), { tls: { ca } });
  opened.push(d);
  return d;
}

beforeAll(async () => {
  slapd = await TestSlapd.start(USERS);
  ca = await readFile(slapd.certFile, 'utf8');
});

afterAll(async () => {
  for (const d of opened) await d.close();
  await slapd?.stop();
});

describe('lookups with a service bind', () => {
  it('finds a user by the full address with the home, the quota and the hash from userPassword', async () => {
    const d = await open();
    const ann = await d.lookup('ann@example.org');
    expect(ann).toEqual({
      login: 'ann@example.org',
      passwordHash: USERS[0].userPassword,
      home: '/srv/mail/ann',
      quota: { storage: 1024 ** 3 },
      disabled: false,
    });
    expect((await d.lookup('bob@example.org'))?.quota).toEqual({ storage: 5_000_000 });
    expect(d.verify).toBeUndefined();
    expect(d.description).toBe(`ldap ${slapd.url} ${LDAP_PEOPLE}`);
  });

  it('gives hashes Postern checks: {SSHA}, {CRYPT} SHA512-crypt, {PLAIN}; a bare value is {CRYPT} as in Dovecot', async () => {
    const d = await open();
    const hash = async (login: string) => (await d.lookup(login))!.passwordHash!;
    expect(await verifyPassword('ann-pw', await hash('ann@example.org'))).toBe(true);
    expect(await verifyPassword('ann-px', await hash('ann@example.org'))).toBe(false);
    expect(await verifyPassword('bob-pw', await hash('bob@example.org'))).toBe(true);
    expect(await verifyPassword('cat-pw', await hash('cat@example.org'))).toBe(true);
    expect(await hash('dan@example.org')).toBe('{CRYPT}dan-pw');
    expect(await verifyPassword('dan-pw', await hash('dan@example.org'))).toBe(false);
  });

  it('answers null for an unknown user and for a base that does not exist', async () => {
    const d = await open();
    expect(await d.lookup('nobody@example.org')).toBeNull();
    const other = await open({ base: 'ou=%d,dc=example,dc=org' });
    expect(await other.lookup('ann@example.org')).toBeNull();
  });

  it('a login is lower-cased and takes the spelling the directory holds', async () => {
    const d = await open();
    expect((await d.lookup('ANN@Example.ORG'))?.login).toBe('ann@example.org');
    expect((await d.lookup('eve@example.org'))?.login).toBe('eve@example.org');
  });

  it('what the user typed cannot widen the filter (RFC 4515 escaping)', async () => {
    const d = await open();
    expect(await d.lookup('*')).toBeNull();
    expect(await d.lookup('ann@example.org)(mail=*')).toBeNull();
    expect(await d.lookup('a*@example.org')).toBeNull();
    expect(await d.lookup('\\2a')).toBeNull();
    // a base with %d: a domain with DN syntax in it names no other entry
    const byDomain = await open({ base: 'uid=%n,ou=people,dc=example,dc=org', scope: 'base', filter: '(objectClass=inetOrgPerson)' });
    expect((await byDomain.lookup('ann@example.org'))?.home).toBe('/srv/mail/ann');
    expect(await byDomain.lookup('ann,ou=people@example.org')).toBeNull();
  });

  it('a filter that matches two entries is a temporary failure, never one of them', async () => {
    const d = await open();
    await expect(d.lookup('dup@example.org')).rejects.toBeInstanceOf(DirectoryUnavailable);
  });

  it('a passFilter of its own reads the password with it (Dovecot pass_filter)', async () => {
    const d = await open({ filter: '(mail=%u)', passFilter: '(&(uid=%n)(objectClass=posixAccount))' });
    const ann = await d.lookup('ann@example.org');
    expect(ann?.passwordHash).toBe(USERS[0].userPassword);
    expect(ann?.home).toBe('/srv/mail/ann');
  });

  it('without the service bind the ACL hides userPassword: no hash, so no sign-in', async () => {
    const d = await open({ bind: undefined });
    const ann = await d.lookup('ann@example.org');
    expect(ann?.home).toBe('/srv/mail/ann');
    expect(ann?.passwordHash).toBeNull();
  });

  it('lists the users of the iterate filter', async () => {
    const d = await open();
    expect(await d.list()).toEqual([
      'ann@example.org',
      'bob@example.org',
      'cat@example.org',
      'dan@example.org',
      'dup@example.org',
      'eve@example.org',
    ]);
  });

  it('a wrong service password is a temporary failure (the directory is misconfigured, not the user)', async () => {
    const d = await open({ bind: { dn: LDAP_SERVICE.dn, password: 'wrong' } });
    await expect(d.lookup('ann@example.org')).rejects.toBeInstanceOf(DirectoryUnavailable);
  });
});

describe('auth bind', () => {
  it('checks the password by binding as the user; no hash is read', async () => {
    const d = await open({ authBind: true });
    const ann = await d.lookup('ann@example.org');
    expect(ann?.passwordHash).toBeNull();
    expect(ann?.home).toBe('/srv/mail/ann');
    expect(await d.verify!('ann@example.org', 'ann-pw')).toBe(true);
    expect(await d.verify!('ann@example.org', 'wrong')).toBe(false);
    expect(await d.verify!('bob@example.org', 'bob-pw')).toBe(true);
    expect(await d.verify!('dan@example.org', 'dan-pw')).toBe(true);
    expect(await d.verify!('nobody@example.org', 'x')).toBe(false);
  });

  it('an empty password is refused before any bind (an unauthenticated bind would succeed)', async () => {
    const d = await open({ authBind: true });
    expect(await d.verify!('ann@example.org', '')).toBe(false);
  });

  it('many sign-ins at once share the bind connections and each gets its own answer', async () => {
    const d = await open({ authBind: true });
    const tries = Array.from({ length: 40 }, (_, i) => (i % 2 ? ['ann@example.org', 'ann-pw', true] : ['bob@example.org', 'nope', false]));
    const answers = await Promise.all(tries.map(([login, pw]) => d.verify!(login as string, pw as string)));
    expect(answers).toEqual(tries.map((t) => t[2]));
  });

  it('works anonymously, without a service DN', async () => {
    const d = await open({ authBind: true, bind: undefined });
    expect(await d.verify!('cat@example.org', 'cat-pw')).toBe(false); // {PLAIN} is not a scheme slapd binds with
    expect(await d.verify!('ann@example.org', 'ann-pw')).toBe(true);
  });
});

describe('TLS', () => {
  it('STARTTLS on ldap:// checks the certificate', async () => {
    const d = await open({ startTls: true, url: `ldap://localhost:${slapd.port}` });
    expect((await d.lookup('ann@example.org'))?.home).toBe('/srv/mail/ann');
    const untrusted = await openLdapDirectory(config({ startTls: true }));
    opened.push(untrusted);
    await expect(untrusted.lookup('ann@example.org')).rejects.toBeInstanceOf(DirectoryUnavailable);
  });

  it('ldaps:// with the certificate checked, auth bind over it too', async () => {
    const d = await open({ url: slapd.tlsUrl, authBind: true });
    expect(await d.verify!('ann@example.org', 'ann-pw')).toBe(true);
    const untrusted = await openLdapDirectory(config({ url: slapd.tlsUrl }));
    opened.push(untrusted);
    await expect(untrusted.lookup('ann@example.org')).rejects.toBeInstanceOf(DirectoryUnavailable);
  });
});

describe('a directory that is down', () => {
  it('several urls: the first that answers is used', async () => {
    const dead = `ldap://127.0.0.1:${await freePort()}`;
    const d = await open({ url: [dead, slapd.url] });
    expect((await d.lookup('ann@example.org'))?.home).toBe('/srv/mail/ann');
    const spaced = await open({ url: `${dead} ${slapd.url}` });
    expect((await spaced.lookup('bob@example.org'))?.home).toBe('/srv/mail/bob');
  });

  it('slapd killed: DirectoryUnavailable (not "no such user"); started again: answers again by itself', async () => {
    const d = await open();
    const binder = await open({ authBind: true });
    expect((await d.lookup('ann@example.org'))?.home).toBe('/srv/mail/ann');
    expect(await binder.verify!('ann@example.org', 'ann-pw')).toBe(true);
    await slapd.pause();
    try {
      await expect(d.lookup('ann@example.org')).rejects.toBeInstanceOf(DirectoryUnavailable);
      await expect(d.lookup('nobody@example.org')).rejects.toBeInstanceOf(DirectoryUnavailable);
      await expect(binder.verify!('ann@example.org', 'ann-pw')).rejects.toBeInstanceOf(DirectoryUnavailable);
    } finally {
      await slapd.resume();
    }
    expect((await d.lookup('ann@example.org'))?.home).toBe('/srv/mail/ann');
    expect(await binder.verify!('ann@example.org', 'ann-pw')).toBe(true);
    expect(await binder.verify!('ann@example.org', 'wrong')).toBe(false);
    // still bound as the service DN after the reconnection: the hash is readable again
    expect((await d.lookup('ann@example.org'))?.passwordHash).toBe(USERS[0].userPassword);
  });

  it('slapd hung (SIGSTOP): the timeout ends the lookup with DirectoryUnavailable; recovery when it runs again', async () => {
    const d = await open({ timeout: 0.5 });
    expect((await d.lookup('ann@example.org'))?.home).toBe('/srv/mail/ann');
    await slapd.freeze(); // (returns when every thread of slapd is stopped: a running one answered in CI before)
    const started = Date.now();
    try {
      await expect(d.lookup('ann@example.org')).rejects.toBeInstanceOf(DirectoryUnavailable);
      expect(Date.now() - started).toBeLessThan(3000);
    } finally {
      slapd.thaw();
    }
    expect((await d.lookup('ann@example.org'))?.passwordHash).toBe(USERS[0].userPassword);
  });

  it('an error message never holds the service password', async () => {
    const dead = `ldap://127.0.0.1:${await freePort()}`;
    const d = await open({ url: dead });
    const err = await d.lookup('ann@example.org').catch((e: Error) => e);
    expect(err).toBeInstanceOf(DirectoryUnavailable);
    expect(String((err as Error).message)).not.toContain(LDAP_SERVICE.password);
  });
});
