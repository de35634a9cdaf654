// Dovecot's LDAP driver (dovecot-ldap) and Postern's (accounts/directory/ldap.ts) on the same slapd, from
// the same dovecot-ldap.conf.ext (Postern's section made from it by postern import dovecot's LDAP part):
// the same answer to every sign-in (right, wrong, unknown, a filter matching two entries, slapd down) and
// the same homes, with the service bind reading userPassword and with the auth bind.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ldapDirectorySchema } from '../../accounts/directory/config.js';
import { type Directory, DirectoryUnavailable } from '../../accounts/directory/contract.js';
import { openLdapDirectory } from '../../accounts/directory/ldap.js';
import { verifyPassword as verifyScrypt } from '../../accounts/password.js';
import { verifyStored } from '../../accounts/password-schemes.js';
import { DNPASS_PLACEHOLDER, ldapDirectoryFromDovecot } from '../../cli/import-ldap.js';
import { type AuthAnswer, type DovecotAuth, startDovecotAuth } from '../helpers/dovecot-auth.js';
import { LDAP_PEOPLE, LDAP_SERVICE, sha512Crypt, ssha, TestSlapd } from '../helpers/slapd.js';

const USERS = [
  { uid: 'ann', mail: 'ann@example.org', userPassword: ssha('ann-pw'), homeDirectory: '/srv/mail/example.org/ann' },
  { uid: 'bob', mail: 'bob@example.org', userPassword: sha512Crypt('bob-pw'), homeDirectory: '/srv/mail/example.org/bob' },
  { uid: 'cat', mail: 'cat@example.org', userPassword: '{PLAIN}cat-pw', homeDirectory: '/srv/mail/example.org/cat' },
  { uid: 'dan', mail: 'dan@example.org', userPassword: 'dan-pw', homeDirectory: '/srv/mail/example.org/dan' },
  { uid: 'dup1', mail: 'dup@example.org', userPassword: ssha('x') },
  { uid: 'dup2', mail: 'dup@example.org', userPassword: ssha('x') },
];

/**
 * Sign-ins asked of both: [login, password]. A refusal is compared as the client sees it: an unknown user
 * and a wrong password are one answer (Dovecot refuses "*" and ")" before its directory: auth_username_chars).
 */
const TRIES: [string, string][] = [
  ['ann@example.org', 'ann-pw'],
  ['ann@example.org', 'ann-px'],
  ['bob@example.org', 'bob-pw'],
  ['cat@example.org', 'cat-pw'],
  ['dan@example.org', 'dan-pw'],
  ['nobody@example.org', 'x'],
  ['*', 'x'],
  ['ann@example.org)(mail=*', 'ann-pw'],
  ['dup@example.org', 'x'],
];

function dovecotLdapConf(slapd: TestSlapd, authBind: boolean): string {
  return [
    `uris = ${slapd.url}`,
    `dn = ${LDAP_SERVICE.dn}`,
    `dnpass = ${LDAP_SERVICE.password}`,
    `auth_bind = ${authBind ? 'yes' : 'no'}`,
    `base = ${LDAP_PEOPLE}`,
    'user_attrs = homeDirectory=home',
    'user_filter = (&(objectClass=inetOrgPerson)(mail=%u))',
    'pass_attrs = mail=user,userPassword=password',
    'pass_filter = (&(objectClass=inetOrgPerson)(mail=%u))',
    'iterate_attrs = mail=user',
    'iterate_filter = (objectClass=inetOrgPerson)',
    '',
  ].join('\n');
}

/** Postern's directory from the same file, through the importer; dnpass put in by hand, as the note says. */
async function posternFrom(text: string): Promise<Directory> {
  const { directory } = ldapDirectoryFromDovecot(text);
  const bind = directory.bind as { dn: string; password: string };
  expect(bind.password).toBe(DNPASS_PLACEHOLDER);
  return openLdapDirectory(ldapDirectorySchema.parse({ ...directory, bind: { ...bind, password: LDAP_SERVICE.password }, timeout: 2 }));
}

/** Postern's answer as its sign-in reaches it: lookup, then the hash (Postern's schemes) or the auth bind. */
async function posternAnswer(d: Directory, login: string, password: string): Promise<AuthAnswer> {
  try {
    const entry = await d.lookup(login);
    if (!entry) return 'unknown';
    if (d.verify) return (await d.verify(login, password)) ? 'ok' : 'mismatch';
    if (!entry.passwordHash) return 'mismatch';
    return (await verifyStored(password, entry.passwordHash, verifyScrypt)) === 'match' ? 'ok' : 'mismatch';
  } catch (err) {
    if (err instanceof DirectoryUnavailable) return 'tempfail';
    throw err;
  }
}

/** What the client sees. */
const seen = (a: AuthAnswer) => (a === 'unknown' || a === 'mismatch' ? 'refused' : a);

async function posternHome(d: Directory, login: string): Promise<string | null | 'tempfail'> {
  try {
    return (await d.lookup(login))?.home ?? null;
  } catch (err) {
    if (err instanceof DirectoryUnavailable) return 'tempfail';
    throw err;
  }
}

let slapd: TestSlapd;

beforeAll(async () => {
  slapd = await TestSlapd.start(USERS);
});

afterAll(async () => {
  await slapd?.stop();
});

for (const authBind of [false, true]) {
  describe(authBind ? 'auth bind' : 'userPassword read with the service DN', () => {
    let dovecot: DovecotAuth;
    let postern: Directory;

    beforeAll(async () => {
      const text = dovecotLdapConf(slapd, authBind);
      dovecot = await startDovecotAuth(async (dir) => {
        await writeFile(join(dir, 'dovecot-ldap.conf.ext'), text, { mode: 0o644 });
        const args = join(dir, 'dovecot-ldap.conf.ext');
        return `passdb {\n  driver = ldap\n  args = ${args}\n}\nuserdb {\n  driver = ldap\n  args = ${args}\n}\n`;
      });
      postern = await posternFrom(text);
    });

    afterAll(async () => {
      await postern?.close();
      await dovecot?.stop();
    });

    it('every sign-in gets the answer Dovecot gives', { timeout: 240_000 }, async () => {
      const rows: string[] = [];
      for (const [login, password] of TRIES) {
        const theirs = seen(await dovecot.authTest(login, password));
        const ours = seen(await posternAnswer(postern, login, password));
        rows.push(`${login} ${password}: dovecot ${theirs} postern ${ours}`);
      }
      const expected = TRIES.map(([l, p]) => {
        const row = rows.find((r) => r.startsWith(`${l} ${p}:`))!;
        const theirs = row.split(' dovecot ')[1].split(' ')[0];
        return `${l} ${p}: dovecot ${theirs} postern ${theirs}`;
      });
      expect(rows).toEqual(expected);
      // and the answers are the ones a site expects
      expect(rows[0]).toContain('dovecot ok');
      expect(rows[1]).toContain('dovecot refused');
      expect(rows.at(-1)).toContain('dovecot tempfail');
      expect(await dovecot.authTest('nobody@example.org', 'x')).toBe('unknown');
      expect(await posternAnswer(postern, 'nobody@example.org', 'x')).toBe('unknown');
    });

    it('the same homes', async () => {
      for (const login of ['ann@example.org', 'bob@example.org', 'cat@example.org', 'nobody@example.org']) {
        expect(await posternHome(postern, login), login).toEqual(await dovecot.home(login));
      }
      expect(await posternHome(postern, 'ann@example.org')).toBe('/srv/mail/example.org/ann');
    });

    it('slapd down: both answer a temporary failure; both recover by themselves', { timeout: 120_000 }, async () => {
      await slapd.pause();
      try {
        expect(await dovecot.authTest('ann@example.org', 'ann-pw')).toBe('tempfail');
        expect(await posternAnswer(postern, 'ann@example.org', 'ann-pw')).toBe('tempfail');
        expect(await posternAnswer(postern, 'nobody@example.org', 'x')).toBe('tempfail');
      } finally {
        await slapd.resume();
      }
      expect(await posternAnswer(postern, 'ann@example.org', 'ann-pw')).toBe('ok');
      // Dovecot reconnects on its own schedule: give it the time it takes
      let theirs: AuthAnswer = 'tempfail';
      for (let i = 0; i < 30 && theirs !== 'ok'; i++) {
        theirs = await dovecot.authTest('ann@example.org', 'ann-pw');
        if (theirs !== 'ok') await new Promise((r) => setTimeout(r, 500));
      }
      expect(theirs).toBe('ok');
    });
  });
}
