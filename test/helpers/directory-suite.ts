// The directory suite every SQL database runs (test/interop/directory-postgres.test.ts, -mariadb): Postern
// and Dovecot's own SQL driver read the same users with the same queries on the same mail tree. The same
// users sign in over POP and IMAP with the same answers, the homes are the same (a message Postern
// delivers is in the INBOX Dovecot shows), and the database stopped mid-run gives temporary failures (IMAP
// [UNAVAILABLE], POP [SYS/TEMP], LMTP 451 4.3.0, deliver 75), no lockout, and recovery by itself. The
// url's password is never logged or printed.
import { chmod, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from './clients.js';
import { DIRECTORY_USERS, directoryRows, QUERIES } from './directory-users.js';
import { type Dovecot, shareWithDovecot, startDovecot } from './dovecot.js';
import { RawImap } from './imap-client.js';
import { lmtpRcpt, RawLmtp } from './lmtp-client.js';
import { RawPop } from './pop-client.js';
import { startServer, type TestServer } from './server.js';

/** A database holding the users table, as a suite drives it. */
export interface SuiteDatabase {
  /** Postern's directory url (with the password). */
  readonly url: string;
  readonly port: number;
  readonly password: string;
  /** dovecot-sql.conf.ext's driver and connect lines. */
  readonly dovecotConnect: string;
  pause(): Promise<void>;
  resume(): Promise<void>;
  stop(): Promise<void>;
}

/** USER and PASS over POP: the answer to PASS. */
export async function pop(port: number, user: string, password: string): Promise<string> {
  const c = await RawPop.connect(port);
  await c.line();
  await c.command(`USER ${user}`);
  const answer = await c.command(`PASS ${password}`);
  c.send('QUIT\r\n');
  return answer;
}

/** IMAP LOGIN: the tagged answer. */
export async function imapLogin(port: number, user: string, password: string): Promise<string> {
  const { client } = await RawImap.connect(port);
  const answer = await client.command(`LOGIN ${user} ${password}`);
  client.raw.send('z LOGOUT\r\n');
  return answer.tagged;
}

export function sqlDirectorySuite(label: string, open: (rows: ReturnType<typeof directoryRows>) => Promise<SuiteDatabase>): void {
  let db: SuiteDatabase;
  let server: TestServer;
  let dovecot: Dovecot | null = null;
  let dir: string;
  let homes: string;

  /** Dovecot's SQL settings over the same database, as dovecot-sql.conf.ext holds them. */
  function dovecotSqlConf(): string {
    return [
      db.dovecotConnect,
      'default_pass_scheme = MD5',
      `password_query = ${QUERIES.passwordQuery}`,
      `user_query = ${QUERIES.userQuery}`,
      `iterate_query = ${QUERIES.iterateQuery}`,
      '',
    ].join('\n');
  }

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'postern-dir-sql-'));
    homes = join(dir, 'homes');
    db = await open(directoryRows(homes));
    server = await startServer({
      config: {
        listeners: [
          { name: 'pop3', module: 'pop', address: '127.0.0.1', port: 0 },
          { name: 'imap', module: 'imap', address: '127.0.0.1', port: 0 },
          { name: 'lmtp', module: 'lmtp', address: '127.0.0.1', port: 0 },
        ],
        directory: { driver: 'sql', url: db.url, ...QUERIES, cacheTtl: 0, timeout: 2 },
        pop: { authFailureTime: 0.05, authFailureDelay: 0, maxAuthAttempts: 3 },
        imap: { authFailureTime: 0.05, authFailureDelay: 0, maxAuthAttempts: 3 },
      },
    });
  }, 120_000);
  afterAll(async () => {
    await dovecot?.stop();
    await server?.stop();
    await db?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  describe(label, () => {
    it('signs its users in over POP and IMAP, refuses wrong passwords, unknown and nologin users', async () => {
      for (const u of DIRECTORY_USERS) {
        const want = u.nologin ? /^-ERR \[AUTH\]/ : /^\+OK/;
        expect(await pop(server.portOf('pop3'), u.userid, u.password), u.userid).toMatch(want);
        expect(await imapLogin(server.portOf('imap'), u.userid, u.password), u.userid).toMatch(u.nologin ? /^a1 NO/ : /^a1 OK/);
        expect(await pop(server.portOf('pop3'), u.userid, `${u.password}x`)).toMatch(/^-ERR \[AUTH\]/);
      }
      expect(await imapLogin(server.portOf('imap'), 'nobody@example.org', 'x')).toMatch(/^a1 NO \[AUTHENTICATIONFAILED\]/);
    });

    it('delivers over LMTP into the home the directory gives', async () => {
      const lmtp = await RawLmtp.open({ port: server.portOf('lmtp') });
      expect(await lmtpRcpt(lmtp, 'ann@example.org')).toMatch(/^250/);
      lmtp.send('DATA\r\n');
      expect((await lmtp.reply()).join('\n')).toMatch(/^354/);
      lmtp.send('Subject: to ann\r\n\r\nhello\r\n.\r\n');
      expect((await lmtp.reply()).join('\n')).toMatch(/^250/);
      lmtp.close();
      expect(await readdir(join(homes, 'example.org', 'ann', 'Maildir', 'new'))).toHaveLength(1);
    });

    it('never logs or prints the password of the database url', async () => {
      const list = await server.cli(['account', 'list']);
      expect(list.code, list.stderr).toBe(0);
      expect(
        list.stdout
          .split('\n')
          .filter(Boolean)
          .map((l) => l.split('\t')[0])
          .sort(),
      ).toEqual(DIRECTORY_USERS.map((u) => u.userid).sort());
      expect(list.stderr).toContain(`127.0.0.1:${db.port}/mail`);
      expect(list.stdout + list.stderr).not.toContain(db.password);
      expect(JSON.stringify(server.logs)).not.toContain(db.password);
    });

    it('the database stopped mid-run: temporary failures, no lockout, recovery by itself', async () => {
      await db.pause();
      let paused = true;
      try {
        const c = await RawPop.connect(server.portOf('pop3'));
        await c.line();
        // more attempts than maxAuthAttempts on one connection: none counts, the connection stays
        for (let i = 0; i < 5; i++) {
          await c.command('USER bob@example.org');
          expect(await c.command('PASS bob-pw')).toMatch(/^-ERR \[SYS\/TEMP\]/);
        }
        expect(await imapLogin(server.portOf('imap'), 'ann@example.org', 'ann-pw')).toMatch(/^a1 NO \[UNAVAILABLE\]/);
        const lmtp = await RawLmtp.open({ port: server.portOf('lmtp') });
        expect(await lmtpRcpt(lmtp, 'ann@example.org')).toMatch(/^451 4\.3\.0 /);
        lmtp.close();
        const deliver = await server.cli(['deliver', 'ann@example.org'], 'Subject: x\r\n\r\nx\r\n');
        expect(deliver.code).toBe(75);
        // back: the same connection signs in
        await db.resume();
        paused = false;
        await c.command('USER bob@example.org');
        expect(await c.command('PASS bob-pw')).toMatch(/^\+OK/);
        c.send('QUIT\r\n');
      } finally {
        if (paused) await db.resume().catch(() => {});
      }
      expect(await imapLogin(server.portOf('imap'), 'ann@example.org', 'ann-pw')).toMatch(/^a1 OK/);
      expect(server.logs.some((r) => r.msg === 'sign-in refused for now: the directory is unavailable')).toBe(true);
      expect(server.logs.filter((r) => r.msg === 'sign-in refused' && r.reason === 'unavailable')).toHaveLength(0);
    });

    it("Dovecot's own SQL driver on the same database and tree: the same answers and the same homes", async () => {
      // homes Postern made are root's: Dovecot's mail processes run as an unprivileged user
      for (const u of DIRECTORY_USERS) {
        const home = join(homes, 'example.org', u.userid.split('@')[0]);
        await shareWithDovecot(dir, home).catch(() => {});
      }
      const sqlConf = join(dir, 'dovecot-sql.conf.ext');
      await writeFile(sqlConf, dovecotSqlConf(), { mode: 0o644 });
      await chmod(dir, 0o711);
      dovecot = await startDovecot([], homes, {
        authConfig: `passdb {\n  driver = sql\n  args = ${sqlConf}\n}\nuserdb {\n  driver = sql\n  args = ${sqlConf}\n}`,
      });
      for (const u of DIRECTORY_USERS) {
        const ours = await pop(server.portOf('pop3'), u.userid, u.password);
        const theirs = await pop(dovecot.pop3Port, u.userid, u.password);
        expect(theirs.startsWith('+OK'), `${u.userid}: ${theirs}`).toBe(ours.startsWith('+OK'));
        const wrongTheirs = await pop(dovecot.pop3Port, u.userid, 'wrong');
        expect(wrongTheirs).toMatch(/^-ERR/);
      }
      // the same home: doveadm user tells where Dovecot reads it; ann's message from LMTP is in Dovecot's INBOX
      for (const row of directoryRows(homes)) {
        const r = await run('doveadm', ['-c', dovecot.config, 'user', '-f', 'home', row.userid]);
        expect(r.stdout.trim(), r.stderr).toBe(row.home);
      }
      const count = await dovecot.imap<number>(
        'ann@example.org',
        'ann-pw',
        "typ, data = M.select('INBOX')\nprint(json.dumps(int(data[0])))",
      );
      expect(count).toBe(1);
    });
  });
}
