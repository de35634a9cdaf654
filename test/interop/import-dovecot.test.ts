// Moving from Dovecot: `postern import dovecot` reads a real passwd-file with one user per password
// scheme (hashes made by Dovecot's own `doveadm pw`), brings their Maildirs in with every uidlist, and
// each user then signs in over POP with the old password and sees the UIDLs Dovecot's POP3 gave them.
import { execFileSync } from 'node:child_process';
import { chmod, chown, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { poplib } from '../helpers/clients.js';
import { DOVECOT_MAIL_ID, startDovecot } from '../helpers/dovecot.js';
import { RawPop } from '../helpers/pop-client.js';
import { startServer, type TestServer } from '../helpers/server.js';

interface User {
  name: string;
  scheme: string;
  password: string;
  /** Strip the {SCHEME}: a bare crypt string, as passwd-files often hold them. */
  bare?: boolean;
}

const USERS: User[] = [
  { name: 'sha512', scheme: 'SHA512-CRYPT', password: 'pässwörd one' },
  { name: 'sha256', scheme: 'SHA256-CRYPT', password: 'secret two' },
  { name: 'blf', scheme: 'BLF-CRYPT', password: 'secret three' },
  { name: 'argon2i', scheme: 'ARGON2I', password: 'secret four' },
  { name: 'argon2id', scheme: 'ARGON2ID', password: 'secret five' },
  { name: 'pbkdf2', scheme: 'PBKDF2', password: 'secret six' },
  { name: 'ssha', scheme: 'SSHA', password: 'secret seven' },
  { name: 'ssha256', scheme: 'SSHA256', password: 'secret eight' },
  { name: 'ssha512', scheme: 'SSHA512', password: 'secret nine' },
  { name: 'plain', scheme: 'PLAIN', password: 'secret ten' },
  { name: 'crammd5', scheme: 'CRAM-MD5', password: 'secret eleven' },
  { name: 'md5crypt', scheme: 'MD5-CRYPT', password: 'secret twelve' },
  { name: 'bare6', scheme: 'SHA512-CRYPT', password: 'bare six', bare: true },
  { name: 'bare5', scheme: 'SHA256-CRYPT', password: 'bare five', bare: true },
  { name: 'bare2y', scheme: 'BLF-CRYPT', password: 'bare two y', bare: true },
];

let server: TestServer;
let source: string;
let passwdFile: string;
const dovecotUidls = new Map<string, string[]>();

function doveadmHash(u: User): string {
  const hash = execFileSync('doveadm', ['pw', '-s', u.scheme, '-p', u.password], { encoding: 'utf8' }).trim();
  return u.bare ? hash.replace(/^\{[^}]+\}/, '') : hash;
}

async function uidls(port: number, user: string, password: string): Promise<string[]> {
  return poplib<string[]>(
    port,
    `p = poplib.POP3('127.0.0.1', port)\np.user(${JSON.stringify(user)})\np.pass_(${JSON.stringify(password)})\n` +
      `print(json.dumps([l.decode() for l in p.uidl()[1]]))\np.quit()`,
  );
}

beforeAll(async () => {
  // Dovecot's own tree: /…/homes/<user>/Maildir, mail delivered by dovecot-lda, UIDLs read from its POP3
  source = await mkdtemp(join(tmpdir(), 'postern-dovecot-homes-'));
  await chmod(source, 0o711); // Dovecot's mail processes (not root) pass through to the homes
  for (const u of USERS) {
    await mkdir(join(source, u.name), { recursive: true });
    if (process.getuid?.() === 0) await chown(join(source, u.name), DOVECOT_MAIL_ID, DOVECOT_MAIL_ID);
  }
  const dovecot = await startDovecot(
    USERS.map((u) => ({ name: u.name, password: u.password })),
    source,
  );
  try {
    for (const u of USERS) {
      for (let i = 0; i < 2; i++) expect(await dovecot.lda(u.name, `From: a@example.org\nSubject: for ${u.name} ${i}\n\nhello\n`)).toBe(0);
      dovecotUidls.set(u.name, await uidls(dovecot.pop3Port, u.name, u.password));
    }
  } finally {
    await dovecot.stop();
  }
  server = await startServer();
  passwdFile = join(server.dir, 'dovecot-passwd');
  const lines = [
    '# exported from Dovecot',
    ...USERS.map((u) => `${u.name}:${doveadmHash(u)}:${DOVECOT_MAIL_ID}:${DOVECOT_MAIL_ID}::${join(source, u.name)}::`),
    `desonly:{DES-CRYPT}${execFileSync('doveadm', ['pw', '-s', 'DES-CRYPT', '-p', 'old'], { encoding: 'utf8' })
      .trim()
      .replace(/^\{[^}]+\}/, '')}:1:1::/nonexistent/desonly::`,
    `fslayout:{PLAIN}x:1:1::/nonexistent/fs::userdb_mail=maildir:~/Mail:LAYOUT=fs`,
  ];
  await writeFile(passwdFile, `${lines.join('\n')}\n`);
}, 120_000);
afterAll(async () => {
  await server?.stop();
  await rm(source, { recursive: true, force: true });
});

describe('postern import dovecot', () => {
  it('--dry-run says what it would do and changes nothing', async () => {
    const r = await server.cli(['import', 'dovecot', '--passwd-file', passwdFile, '--dry-run']);
    expect(r.stdout).toContain(`would import sha512: Maildir moved from ${join(source, 'sha512', 'Maildir')}`);
    expect(r.stdout).toMatch(/dry run: 16 imported, 0 skipped, 1 failed, 1 need a new password/);
    expect(r.stderr).toMatch(/fslayout \(line \d+\): LAYOUT=fs: only the Maildir\+\+ layout is served by Postern/);
    expect(r.code).toBe(1);
    expect((await server.cli(['account', 'list'])).stdout).toBe('');
  });

  it('imports every user with the hash Dovecot had; each signs in over POP with the old password and sees the same UIDLs', async () => {
    const r = await server.cli(['import', 'dovecot', '--passwd-file', passwdFile]);
    expect(r.code).toBe(1); // one user could not be imported; the others were
    expect(r.stdout).toMatch(/^16 imported, 0 skipped, 1 failed, 1 need a new password/m);
    expect(r.stdout).toContain('desonly: its password scheme (DES-CRYPT) cannot be checked here: set a new one');
    for (const u of USERS) {
      const record = JSON.parse(await readFile(join(server.dataDir, 'accounts/example.org', u.name, 'account.json'), 'utf8'));
      expect(record.passwordHash, u.name).toMatch(u.bare ? /^\{CRYPT\}\$/ : new RegExp(`^\\{${u.scheme}\\}`));
      // the old password signs in, a wrong one does not; the UIDLs are the ones Dovecot gave
      expect(await uidls(server.port, u.name, u.password), u.name).toEqual(dovecotUidls.get(u.name));
      const wrong = await RawPop.connect(server.port);
      await wrong.line();
      await wrong.command(`USER ${u.name}`);
      expect(await wrong.command(`PASS not ${u.password}`)).toBe('-ERR [AUTH] Authentication failed');
      wrong.close();
    }
  }, 120_000);

  it('a correct sign-in replaced each old hash by a scrypt one (passwords.rehash), and the password still works', async () => {
    for (const u of USERS) {
      const record = JSON.parse(await readFile(join(server.dataDir, 'accounts/example.org', u.name, 'account.json'), 'utf8'));
      expect(record.passwordHash, u.name).toMatch(/^\{SCRYPT\}\$scrypt\$/);
      const c = await RawPop.signIn(server.port, u.name, u.password);
      c.close();
    }
    // a {PLAIN} user keeps APOP working: its password is its shared secret
    const plain = JSON.parse(await readFile(join(server.dataDir, 'accounts/example.org/plain/account.json'), 'utf8'));
    expect(plain.apopSecret).toBe('secret ten');
  });

  it('is safe to run twice: what was imported is left alone', async () => {
    const r = await server.cli(['import', 'dovecot', '--passwd-file', passwdFile]);
    expect(r.stdout).toMatch(/^0 imported, 16 skipped, 1 failed/m);
    expect(r.stdout).toContain('skipped sha512: sha512@example.org exists already');
  });
});
