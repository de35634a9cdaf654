// Accounts in a real OpenLDAP slapd (test/helpers/slapd.ts), read by `postern serve` (directory: driver
// ldap) and by Dovecot's own LDAP driver (dovecot-ldap) from the same dovecot-ldap.conf.ext, on the same
// mail tree: the users sign in over POP and IMAP (a service bind reading userPassword, and an auth bind),
// LMTP delivers into the home the directory gives and Dovecot shows the message there, and slapd killed
// mid-run gives temporary failures (IMAP [UNAVAILABLE], POP [SYS/TEMP], LMTP 451 4.3.0), no lockout, and
// recovery by itself. The service DN's password is never logged.
import { chmod, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from '../helpers/clients.js';
import { imapLogin, pop } from '../helpers/directory-suite.js';
import { type Dovecot, shareWithDovecot, startDovecot } from '../helpers/dovecot.js';
import { lmtpRcpt, RawLmtp } from '../helpers/lmtp-client.js';
import { RawPop } from '../helpers/pop-client.js';
import { startServer, type TestServer } from '../helpers/server.js';
import { LDAP_PEOPLE, LDAP_SERVICE, sha512Crypt, ssha, TestSlapd } from '../helpers/slapd.js';

let slapd: TestSlapd;
let server: TestServer;
let binding: TestServer;
let dovecot: Dovecot | null = null;
let dir: string;
let homes: string;

const USERS = [
  { uid: 'ann', mail: 'ann@example.org', password: 'ann-pw', userPassword: ssha('ann-pw') },
  { uid: 'bob', mail: 'bob@example.org', password: 'bob-pw', userPassword: sha512Crypt('bob-pw') },
  { uid: 'cat', mail: 'cat@example.org', password: 'cat-pw', userPassword: '{PLAIN}cat-pw' },
];

const homeOf = (uid: string) => join(homes, 'example.org', uid);

/** The site's dovecot-ldap.conf.ext; Postern's section below says the same. */
function dovecotLdapConf(): string {
  return [
    `uris = ${slapd.url}`,
    `dn = ${LDAP_SERVICE.dn}`,
    `dnpass = ${LDAP_SERVICE.password}`,
    `base = ${LDAP_PEOPLE}`,
    'user_attrs = homeDirectory=home,=uid=5000,=gid=5000',
    'user_filter = (&(objectClass=inetOrgPerson)(mail=%u))',
    'pass_attrs = mail=user,userPassword=password',
    'pass_filter = (&(objectClass=inetOrgPerson)(mail=%u))',
    '',
  ].join('\n');
}

const directory = (over: Record<string, unknown> = {}) => ({
  driver: 'ldap',
  url: slapd.url,
  base: LDAP_PEOPLE,
  filter: '(&(objectClass=inetOrgPerson)(mail=%u))',
  bind: LDAP_SERVICE,
  attributes: { user: 'mail' },
  iterateFilter: '(objectClass=inetOrgPerson)',
  cacheTtl: 0,
  timeout: 2,
  ...over,
});

const listeners = [
  { name: 'pop3', module: 'pop', address: '127.0.0.1', port: 0 },
  { name: 'imap', module: 'imap', address: '127.0.0.1', port: 0 },
  { name: 'lmtp', module: 'lmtp', address: '127.0.0.1', port: 0 },
];
const quick = { authFailureTime: 0.05, authFailureDelay: 0, maxAuthAttempts: 3 };

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'postern-dir-ldap-'));
  homes = join(dir, 'homes');
  slapd = await TestSlapd.start(USERS.map((u) => ({ ...u, homeDirectory: homeOf(u.uid) })));
  server = await startServer({ config: { listeners, directory: directory(), pop: quick, imap: quick } });
  binding = await startServer({
    config: { listeners: listeners.slice(0, 2), directory: directory({ authBind: true }), pop: quick, imap: quick },
  });
}, 120_000);

afterAll(async () => {
  await dovecot?.stop();
  await server?.stop();
  await binding?.stop();
  await slapd?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('an LDAP directory', () => {
  it('signs its users in over POP and IMAP (userPassword read with the service DN), refuses wrong passwords, unknown users', async () => {
    for (const u of USERS) {
      expect(await pop(server.portOf('pop3'), u.mail, u.password), u.mail).toMatch(/^\+OK/);
      expect(await imapLogin(server.portOf('imap'), u.mail, u.password), u.mail).toMatch(/^a1 OK/);
      expect(await pop(server.portOf('pop3'), u.mail, `${u.password}x`)).toMatch(/^-ERR \[AUTH\]/);
    }
    expect(await imapLogin(server.portOf('imap'), 'ANN@example.org', 'ann-pw')).toMatch(/^a1 OK/);
    expect(await imapLogin(server.portOf('imap'), 'nobody@example.org', 'x')).toMatch(/^a1 NO \[AUTHENTICATIONFAILED\]/);
    expect(await imapLogin(server.portOf('imap'), '"*@example.org"', 'x')).toMatch(/^a1 NO \[AUTHENTICATIONFAILED\]/);
  });

  it('with authBind, the password is checked by binding as the user', async () => {
    expect(await pop(binding.portOf('pop3'), 'ann@example.org', 'ann-pw')).toMatch(/^\+OK/);
    expect(await imapLogin(binding.portOf('imap'), 'bob@example.org', 'bob-pw')).toMatch(/^a1 OK/);
    expect(await imapLogin(binding.portOf('imap'), 'bob@example.org', 'bob-px')).toMatch(/^a1 NO \[AUTHENTICATIONFAILED\]/);
    // {PLAIN} is Dovecot's scheme, not one slapd binds with: refused, as Dovecot's auth bind refuses it
    expect(await pop(binding.portOf('pop3'), 'cat@example.org', 'cat-pw')).toMatch(/^-ERR \[AUTH\]/);
  });

  it('delivers over LMTP into the home the directory gives; account list shows its users', async () => {
    const lmtp = await RawLmtp.open({ port: server.portOf('lmtp') });
    expect(await lmtpRcpt(lmtp, 'ann@example.org')).toMatch(/^250/);
    lmtp.send('DATA\r\n');
    expect((await lmtp.reply()).join('\n')).toMatch(/^354/);
    lmtp.send('Subject: to ann\r\n\r\nhello\r\n.\r\n');
    expect((await lmtp.reply()).join('\n')).toMatch(/^250/);
    lmtp.close();
    expect(await readdir(join(homeOf('ann'), 'Maildir', 'new'))).toHaveLength(1);
    const list = await server.cli(['account', 'list']);
    expect(list.code, list.stderr).toBe(0);
    expect(list.stdout).toContain('ann@example.org');
    expect(list.stdout + list.stderr).not.toContain(LDAP_SERVICE.password);
    expect(JSON.stringify(server.logs)).not.toContain(LDAP_SERVICE.password);
  });

  it('slapd killed mid-run: temporary failures, no lockout, recovery by itself', async () => {
    await slapd.pause();
    try {
      const c = await RawPop.connect(server.portOf('pop3'));
      await c.line();
      // more attempts than maxAuthAttempts on one connection: none counts, the connection stays
      for (let i = 0; i < 5; i++) {
        await c.command('USER bob@example.org');
        expect(await c.command('PASS bob-pw')).toMatch(/^-ERR \[SYS\/TEMP\]/);
      }
      expect(await imapLogin(server.portOf('imap'), 'ann@example.org', 'ann-pw')).toMatch(/^a1 NO \[UNAVAILABLE\]/);
      expect(await imapLogin(binding.portOf('imap'), 'ann@example.org', 'ann-pw')).toMatch(/^a1 NO \[UNAVAILABLE\]/);
      const lmtp = await RawLmtp.open({ port: server.portOf('lmtp') });
      expect(await lmtpRcpt(lmtp, 'ann@example.org')).toMatch(/^451 4\.3\.0 /);
      lmtp.close();
      await slapd.resume();
      await c.command('USER bob@example.org');
      expect(await c.command('PASS bob-pw')).toMatch(/^\+OK/);
      c.send('QUIT\r\n');
    } finally {
      await slapd.resume().catch(() => {});
    }
    expect(await imapLogin(server.portOf('imap'), 'ann@example.org', 'ann-pw')).toMatch(/^a1 OK/);
    expect(await imapLogin(binding.portOf('imap'), 'ann@example.org', 'ann-pw')).toMatch(/^a1 OK/);
    expect(server.logs.some((r) => r.msg === 'sign-in refused for now: the directory is unavailable')).toBe(true);
  });

  it("Dovecot's LDAP driver on the same directory and tree: the same answers and the same homes", { timeout: 120_000 }, async () => {
    for (const u of USERS) await shareWithDovecot(dir, homeOf(u.uid)).catch(() => {});
    const conf = join(dir, 'dovecot-ldap.conf.ext');
    await writeFile(conf, dovecotLdapConf(), { mode: 0o644 });
    await chmod(dir, 0o711);
    dovecot = await startDovecot([], homes, {
      authConfig: `passdb {\n  driver = ldap\n  args = ${conf}\n}\nuserdb {\n  driver = ldap\n  args = ${conf}\n}`,
    });
    for (const u of USERS) {
      const ours = await pop(server.portOf('pop3'), u.mail, u.password);
      const theirs = await pop(dovecot.pop3Port, u.mail, u.password);
      expect(theirs.startsWith('+OK'), `${u.mail}: ${theirs}`).toBe(ours.startsWith('+OK'));
      expect(await pop(dovecot.pop3Port, u.mail, 'wrong')).toMatch(/^-ERR/);
      const r = await run('doveadm', ['-c', dovecot.config, 'user', '-f', 'home', u.mail]);
      expect(r.stdout.trim(), r.stderr).toBe(homeOf(u.uid));
    }
    const count = await dovecot.imap<number>('ann@example.org', 'ann-pw', "typ, data = M.select('INBOX')\nprint(json.dumps(int(data[0])))");
    expect(count).toBe(1);
  });
});
