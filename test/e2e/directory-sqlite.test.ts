// Accounts in an SQLite directory, through a real `postern serve`: users sign in over POP, IMAP and SMTP submission with
// the names and passwords the table holds (hashes of Dovecot's schemes, a bare one in the default
// scheme), their mail goes to the home the user query gives (home/Maildir, made at the first use), a
// nologin user and wrong passwords are refused, the CLI says which directory it reads and refuses to
// write to it; a database that breaks mid-run gives temporary failures, no lockout, and recovers by itself.
import { mkdtemp, readdir, rm, writeFile, readFile, copyFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RawImap } from '../helpers/imap-client.js';
import { RawSieve } from '../helpers/managesieve-client.js';
import { RawPop } from '../helpers/pop-client.js';
import { startServer, type TestServer } from '../helpers/server.js';
import { CREATE_USERS, DIRECTORY_USERS, directoryRows, QUERIES } from '../helpers/directory-users.js';
import { imapLogin as imapAnswer, pop as popAnswer } from '../helpers/directory-suite.js';
import { smtpSignIn } from '../helpers/smtp-sign-in.js';

let server: TestServer;
let homes: string;
let dbFile: string;

const pop = (user: string, password: string) => popAnswer(server.portOf('pop3'), user, password);
const imapLogin = (user: string, password: string) => imapAnswer(server.portOf('imap'), user, password);

beforeAll(async () => {
  const dir = await mkdtemp(join(tmpdir(), 'postern-dir-sqlite-'));
  homes = join(dir, 'homes');
  dbFile = join(dir, 'users.sqlite');
  const db = new Database(dbFile);
  db.exec(CREATE_USERS);
  const insert = db.prepare('INSERT INTO users VALUES (@userid, @password, @home, @quota_rule, @nologin)');
  for (const row of directoryRows(homes)) insert.run(row);
  db.close();
  server = await startServer({
    config: {
      listeners: [
        { name: 'pop3', module: 'pop', address: '127.0.0.1', port: 0 },
        { name: 'imap', module: 'imap', address: '127.0.0.1', port: 0 },
        { name: 'sieve', module: 'managesieve', address: '127.0.0.1', port: 0 },
        { name: 'submission', module: 'submission', address: '127.0.0.1', port: 0 },
      ],
      // no cache: each sign-in reads the table (the cache has its own test)
      directory: { driver: 'sql', url: `sqlite:${dbFile}`, ...QUERIES, cacheTtl: 0 },
      pop: { authFailureTime: 0.05, authFailureDelay: 0 },
      imap: { authFailureTime: 0.05, authFailureDelay: 0 },
      submissionService: { authFailureTime: 0.05, authFailureDelay: 0 },
    },
  });
});
afterAll(async () => {
  await server?.stop();
  if (homes) await rm(join(homes, '..'), { recursive: true, force: true });
});

describe('an SQLite directory', () => {
  it('signs its users in over POP and IMAP with the passwords it holds, in every scheme', async () => {
    for (const u of DIRECTORY_USERS.filter((x) => !x.nologin)) {
      expect(await pop(u.userid, u.password), u.userid).toMatch(/^\+OK/);
      expect(await imapLogin(u.userid, u.password), u.userid).toMatch(/^a1 OK/);
    }
  });

  it('refuses a wrong password, an unknown user and a nologin user alike', async () => {
    expect(await pop('ann@example.org', 'wrong')).toMatch(/^-ERR \[AUTH\]/);
    expect(await pop('zed@example.org', 'zed-pw')).toMatch(/^-ERR \[AUTH\]/);
    expect(await pop('dee@example.org', 'dee-pw')).toMatch(/^-ERR \[AUTH\]/);
    expect(await imapLogin('ann@example.org', 'wrong')).toMatch(/^a1 NO \[AUTHENTICATIONFAILED\]/);
    const reasons = server.logs.filter((r) => r.msg === 'sign-in refused').map((r) => r.reason);
    expect(reasons).toEqual(expect.arrayContaining(['bad-password', 'unknown-user', 'disabled']));
  });

  it("signs the same users in over SMTP submission, and their mail reaches a directory user's home", async () => {
    for (const u of DIRECTORY_USERS.filter((x) => !x.nologin)) {
      expect(await smtpSignIn(server.portOf('submission'), u.userid, u.password), u.userid).toMatchObject({ code: 235 });
    }
    const sent = await smtpSignIn(server.portOf('submission'), 'ann@example.org', 'ann-pw', { to: 'cy@example.org', subject: 'over 587' });
    expect(sent).toMatchObject({ code: 235, refused: {} });
    const c = await RawPop.connect(server.portOf('pop3'));
    await c.line();
    await c.command('USER cy@example.org');
    expect(await c.command('PASS cy-pw')).toMatch(/^\+OK/);
    expect(await c.command('STAT')).toMatch(/^\+OK 1 /);
    c.send('QUIT\r\n');
    expect(await smtpSignIn(server.portOf('submission'), 'ann@example.org', 'wrong')).toMatchObject({ code: 535 });
    expect(await smtpSignIn(server.portOf('submission'), 'zed@example.org', 'zed-pw')).toMatchObject({ code: 535 });
    expect(await smtpSignIn(server.portOf('submission'), 'dee@example.org', 'dee-pw')).toMatchObject({ code: 535 });
  });

  it('keeps the mail in the home the directory gives, made at the first use', async () => {
    const r = await server.cli(['deliver', 'bob@example.org'], 'Subject: hello\r\n\r\nhi bob\r\n');
    expect(r.code, r.stderr).toBe(0);
    const files = await readdir(join(homes, 'example.org', 'bob', 'Maildir', 'new'));
    expect(files).toHaveLength(1);
    const c = await RawPop.connect(server.portOf('pop3'));
    await c.line();
    await c.command('USER bob@example.org');
    expect(await c.command('PASS bob-pw')).toMatch(/^\+OK/);
    expect(await c.command('STAT')).toMatch(/^\+OK 1 /);
    c.send('QUIT\r\n');
    // nothing of bob under dataDir/accounts
    expect(await readdir(join(server.dataDir, 'accounts', 'example.org')).catch(() => [])).not.toContain('bob');
  });

  it('maps quota_rule to the account quota (IMAP GETQUOTAROOT)', async () => {
    const client = await RawImap.signIn(server.portOf('imap'), 'ann@example.org', 'ann-pw');
    const answer = await client.command('GETQUOTAROOT INBOX');
    expect(answer.untagged.join('\n')).toMatch(/STORAGE \d+ 1024\b/);
    client.raw.send('z LOGOUT\r\n');
  });

  it('the CLI names the directory and refuses to write to it', async () => {
    const list = await server.cli(['account', 'list']);
    expect(list.code, list.stderr).toBe(0);
    expect(list.stdout).toContain('ann@example.org');
    expect(list.stdout + list.stderr).toContain(`sql sqlite:${dbFile}`);
    const add = await server.cli(['account', 'add', 'new@example.org', '--password-stdin'], 'pw');
    expect(add.code).toBe(69);
    expect(add.stderr).toMatch(/directory sql sqlite:.*does not change/);
    const set = await server.cli(['account', 'set', 'ann@example.org', '--disabled']);
    expect(set.code).toBe(69);
    // a domain's public mailboxes stay Postern's own, beside the directory's users
    const shared = await server.cli(['mailbox', 'create', 'public@example.org', 'News']);
    expect(shared.code, shared.stderr).toBe(0);
    expect((await server.cli(['account', 'list'])).stdout).toContain('public@example.org');
  });

  it('a broken database: temporary failures, no lockout, recovery by itself', async () => {
    const saved = `${dbFile}.saved`;
    await copyFile(dbFile, saved);
    await writeFile(dbFile, 'not a database at all, '.repeat(200));
    for (let i = 0; i < 6; i++) expect(await pop('ann@example.org', 'ann-pw')).toMatch(/^-ERR \[SYS\/TEMP\]/);
    expect(await imapLogin('ann@example.org', 'ann-pw')).toMatch(/^a1 NO \[UNAVAILABLE\]/);
    const { client: sieve } = await RawSieve.connect(server.portOf('sieve'));
    const plain = Buffer.from('\0ann@example.org\0ann-pw').toString('base64');
    expect((await sieve.command(`AUTHENTICATE "PLAIN" "${plain}"`)).text).toMatch(/^NO \(TRYLATER\) /);
    // submission: RFC 4954's 454 4.7.0 (try again later), never 535 (wrong password)
    for (let i = 0; i < 4; i++) {
      const answer = await smtpSignIn(server.portOf('submission'), 'ann@example.org', 'ann-pw');
      expect(answer.code, answer.text).toBe(454);
      expect(answer.text).toMatch(/^4\.7\.0 /);
    }
    expect(server.logs.some((r) => r.msg === 'sign-in refused for now: the directory is unavailable')).toBe(true);
    await writeFile(dbFile, await readFile(saved));
    expect(await pop('ann@example.org', 'ann-pw')).toMatch(/^\+OK/);
    expect(await imapLogin('ann@example.org', 'ann-pw')).toMatch(/^a1 OK/);
    expect((await sieve.command(`AUTHENTICATE "PLAIN" "${plain}"`)).status).toBe('OK');
    expect(await smtpSignIn(server.portOf('submission'), 'ann@example.org', 'ann-pw')).toMatchObject({ code: 235 });
  });
});
