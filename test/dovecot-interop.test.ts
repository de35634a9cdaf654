// Postern and a real Dovecot IMAP server on the same Maildir++ tree, as the README promises: RETR sets
// the Seen flag IMAP shows, TOP changes nothing, flags Dovecot sets survive POP, UIDLs stay stable when
// Dovecot renames files, and a message POP deletes is gone from IMAP too.
//
// Dovecot is configured by the test itself (a standalone dovecot.conf in a temporary folder) and run in
// the foreground as a child process. Dovecot never opens a mailbox as root ("Mail access not allowed
// for root"), so when the tests run as root the account folder is handed to an unprivileged uid/gid
// (DOVECOT_MAIL_ID) that Dovecot's mail processes run as; Postern, as root, keeps full access.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, chown, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { connect, createServer } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { delimiter, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from './helpers/clients.js';
import { RawPop } from './helpers/pop-client.js';
import { startServer, type TestServer } from './helpers/server.js';

/** uid and gid of Dovecot's mail processes when the tests run as root (no such user needs to exist). */
const DOVECOT_MAIL_ID = 5000;
const DOMAIN = 'example.org'; // the test server's mainDomain
const PASSWORD = 'a secret';
const SUBJECTS = ['first message', 'second message', 'third message'];

interface ImapMessage {
  seq: number;
  flags: string[];
  size: number;
  subject: string;
}

let server: TestServer;
let dovecot: ChildProcess | null = null;
let dovecotDir = '';
let dovecotLog = '';
let imapPort = 0;
let dovecotOutput = '';
/** Why Dovecot could not be started: every test fails with it (never skipped). */
let dovecotError: Error | null = null;

/** The dovecot binary, or a clear failure telling what to install. */
function findDovecot(): string {
  const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/sbin', '/usr/local/sbin', '/sbin'];
  for (const dir of dirs) {
    if (dir && existsSync(join(dir, 'dovecot'))) return join(dir, 'dovecot');
  }
  throw new Error('dovecot is not installed: these tests need a real Dovecot IMAP server; install it with `apt-get install dovecot-imapd`');
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1000, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

async function dovecotLogText(): Promise<string> {
  return readFile(dovecotLog, 'utf8').catch(() => '');
}

/** Lets Dovecot's unprivileged mail processes reach and own an account folder Postern (root) created. */
async function shareWithDovecot(accountDir: string): Promise<void> {
  // The folders above it are 0700: let others through (x only).
  for (let dir = join(accountDir, '..'); dir.startsWith(server.dir); dir = join(dir, '..')) {
    await chmod(dir, (await stat(dir)).mode | 0o001);
  }
  await chown(accountDir, DOVECOT_MAIL_ID, DOVECOT_MAIL_ID);
  for (const entry of await readdir(accountDir, { recursive: true })) {
    await chown(join(accountDir, entry), DOVECOT_MAIL_ID, DOVECOT_MAIL_ID);
  }
}

async function startDovecot(users: string[]): Promise<void> {
  const bin = findDovecot();
  const asRoot = process.getuid?.() === 0;
  if (asRoot) {
    for (const user of users) await shareWithDovecot(join(server.dataDir, 'accounts', DOMAIN, user));
  }
  dovecotDir = await mkdtemp(join(tmpdir(), 'postern-dovecot-'));
  await chmod(dovecotDir, 0o711); // the auth process (default_internal_user) reads the passwd file in it
  dovecotLog = join(dovecotDir, 'dovecot.log');
  imapPort = await freePort();
  const passwd = join(dovecotDir, 'passwd');
  await writeFile(passwd, users.map((u) => `${u}:{PLAIN}${PASSWORD}\n`).join(''), { mode: 0o644 });
  const me = userInfo();
  const mailUid = asRoot ? DOVECOT_MAIL_ID : me.uid;
  const mailGid = asRoot ? DOVECOT_MAIL_ID : me.gid;
  // Not root: every Dovecot process runs as this user, and nothing can chroot.
  const internal = asRoot
    ? 'default_login_user = dovenull\ndefault_internal_user = dovecot'
    : `default_login_user = ${me.username}\ndefault_internal_user = ${me.username}\ndefault_internal_group = ${execFileSync('id', ['-gn'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim()}`;
  const conf = join(dovecotDir, 'dovecot.conf');
  await writeFile(
    conf,
    `# Generated by test/dovecot-interop.test.ts
base_dir = ${dovecotDir}/run
state_dir = ${dovecotDir}/state
log_path = ${dovecotLog}
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
${internal}
first_valid_uid = ${mailUid}
first_valid_gid = ${mailGid}
mail_uid = ${mailUid}
mail_gid = ${mailGid}
mail_location = maildir:~/Maildir
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%n ${passwd}
}
userdb {
  driver = static
  args = home=${server.dataDir}/accounts/${DOMAIN}/%n
}
service imap-login {
  inet_listener imap {
    address = 127.0.0.1
    port = ${imapPort}
  }
  inet_listener imaps {
    port = 0
  }
${asRoot ? '' : '  chroot =\n'}}
${asRoot ? '' : 'service anvil {\n  chroot =\n}\n'}`,
  );

  const child = spawn(bin, ['-F', '-c', conf], { stdio: ['ignore', 'pipe', 'pipe'] });
  dovecot = child;
  child.stdout!.on('data', (d) => (dovecotOutput += d));
  child.stderr!.on('data', (d) => (dovecotOutput += d));
  let exited = false;
  child.once('exit', () => (exited = true));
  child.once('error', (err) => {
    exited = true;
    dovecotOutput += String(err);
  });
  const deadline = Date.now() + 15_000;
  for (;;) {
    if (exited) {
      throw new Error(`dovecot exited at start (is dovecot-imapd installed?):\n${dovecotOutput}\n${await dovecotLogText()}`);
    }
    if (await accepts(imapPort)) return;
    if (Date.now() > deadline) {
      throw new Error(`dovecot did not accept connections on port ${imapPort} within 15 s:\n${dovecotOutput}\n${await dovecotLogText()}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function stopDovecot(): Promise<void> {
  const child = dovecot;
  if (child && child.exitCode === null && child.signalCode === null) {
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    child.kill('SIGTERM');
    const kill = setTimeout(() => child.kill('SIGKILL'), 10_000);
    let giveUp: NodeJS.Timeout | undefined;
    await Promise.race([exited, new Promise((r) => (giveUp = setTimeout(r, 15_000)))]);
    clearTimeout(kill);
    clearTimeout(giveUp);
  }
  if (dovecotDir) await rm(dovecotDir, { recursive: true, force: true });
}

/** Runs a python3 imaplib script, signed in as `user` (`M`); its last output line is JSON. */
async function imap<T>(user: string, body: string): Promise<T> {
  const script = `import imaplib, json, re
M = imaplib.IMAP4('127.0.0.1', ${imapPort}, timeout=15)
M.login(${JSON.stringify(user)}, ${JSON.stringify(PASSWORD)})
def check(answer):
    typ, data = answer
    if typ != 'OK':
        raise SystemExit('IMAP answered %s %r' % (typ, data))
    return data
def messages():
    out = []
    for item in check(M.fetch('1:*', '(FLAGS RFC822.SIZE BODY.PEEK[HEADER.FIELDS (SUBJECT)])')):
        if not isinstance(item, tuple):
            continue
        head = item[0].decode()
        out.append({
            'seq': int(head.split(' ', 1)[0]),
            'flags': re.search(r'FLAGS \\(([^)]*)\\)', head).group(1).split(),
            'size': int(re.search(r'RFC822\\.SIZE (\\d+)', head).group(1)),
            'subject': item[1].decode().strip().removeprefix('Subject: '),
        })
    return out
${body}
M.logout()
`;
  const r = await run('python3', ['-c', script], { timeoutMs: 30_000 });
  if (r.code !== 0) throw new Error(`imaplib failed (${r.code}): ${r.stderr}${r.stdout}\nDovecot log:\n${await dovecotLogText()}`);
  return JSON.parse(r.stdout.trim().split('\n').pop() ?? '') as T;
}

/** EXAMINE (read-only, so IMAP changes no flag) and FETCH every message's flags, size and subject. */
function examine(user = 'alice'): Promise<ImapMessage[]> {
  return imap<ImapMessage[]>(user, `count = int(check(M.select('INBOX', readonly=True))[0])\nprint(json.dumps(messages() if count else []))`);
}

function bySubject(messages: ImapMessage[], subject: string): ImapMessage {
  const found = messages.find((m) => m.subject === subject);
  if (!found) throw new Error(`no IMAP message with subject "${subject}" in ${JSON.stringify(messages)}`);
  return found;
}

/** The Subject of POP message `n`, from TOP n 0 (which never changes flags). */
async function popSubject(c: RawPop, n: number): Promise<string> {
  expect(await c.command(`TOP ${n} 0`)).toMatch(/^\+OK/);
  const header = (await c.lines()).find((l) => l.startsWith('Subject: '));
  return header?.slice('Subject: '.length) ?? '';
}

beforeAll(async () => {
  server = await startServer();
  await server.addAccount('alice', PASSWORD);
  for (const subject of SUBJECTS) {
    await server.deliver('alice', `From: bob@example.org\nTo: alice@example.org\nSubject: ${subject}\n\nHello Alice,\nthis is the ${subject}.\n`);
  }
  // bob's INBOX holds files with the names Postern's own delivery writes (SECS.M<usec>P<pid>Q<n>.HOST,
  // usec not zero-padded), two of them in the same second, 99000 and 100000 microseconds in.
  await server.addAccount('bob', PASSWORD);
  const bobNew = join(server.dataDir, 'accounts', DOMAIN, 'bob', 'Maildir', 'new');
  for (const [name, subject] of [
    ['1700000000.M100000P4242Q2.testhost', 'newer'],
    ['1700000000.M99000P4242Q1.testhost', 'older'],
  ]) {
    await writeFile(join(bobNew, name), `Subject: ${subject}\n\nbody\n`, { mode: 0o600 });
  }
  await startDovecot(['alice', 'bob']).catch((err: Error) => (dovecotError = err));
}, 60_000);

afterAll(async () => {
  await stopDovecot();
  if (server) await server.stop();
});

/** A test that needs Dovecot: fails with the reason when Dovecot could not be started. */
function interop(name: string, fn: () => Promise<void>): void {
  it(name, async () => {
    if (dovecotError) throw dovecotError;
    await fn();
  });
}

describe('Postern and Dovecot IMAP on one Maildir', () => {
  // Messages are matched between POP and IMAP by Subject, not by number: the last test but one shows
  // the two can number them differently.
  // POP's view of alice's mailbox before anything changed: subjects and UIDLs by message number (1-based).
  const pop: { subjects: string[]; uidls: string[] } = { subjects: [], uidls: [] };

  interop('Dovecot sees the delivered messages, none \\Seen, with RFC822.SIZE equal to the POP LIST size', async () => {
    const before = await examine();
    expect(before.map((m) => m.subject).sort()).toEqual([...SUBJECTS].sort());
    for (const m of before) expect(m.flags).not.toContain('\\Seen');

    const c = await RawPop.signIn(server.port, 'alice', PASSWORD);
    expect(await c.command('UIDL')).toMatch(/^\+OK/);
    pop.uidls = (await c.lines()).map((l) => l.split(' ')[1]);
    expect(await c.command('LIST')).toMatch(/^\+OK 3 /);
    const sizes = (await c.lines()).map((l) => Number(l.split(' ')[1]));
    for (let n = 1; n <= 3; n++) pop.subjects.push(await popSubject(c, n));
    expect(await c.command('QUIT')).toMatch(/^\+OK/);
    await c.closed();

    expect([...pop.subjects].sort()).toEqual([...SUBJECTS].sort());
    for (let i = 0; i < 3; i++) expect(bySubject(before, pop.subjects[i]).size).toBe(sizes[i]);
    // Dovecot reads the whole files (W= in the name is its RFC822.SIZE) and finds those sizes true.
    const octets = await imap<Record<string, number>>(
      'alice',
      `check(M.select('INBOX', readonly=True))
print(json.dumps({int(i[0].split(b' ', 1)[0]): len(i[1]) for i in check(M.fetch('1:*', '(BODY.PEEK[])')) if isinstance(i, tuple)}))`,
    );
    for (const m of before) expect(octets[m.seq]).toBe(m.size);
    // TOP set no flag
    for (const m of await examine()) expect(m.flags).not.toContain('\\Seen');
  });

  interop('RETR sets \\Seen as IMAP shows it; TOP does not', async () => {
    const c = await RawPop.signIn(server.port, 'alice', PASSWORD);
    expect(await c.command('TOP 1 0')).toMatch(/^\+OK/);
    await c.body();
    expect(await c.command('RETR 2')).toMatch(/^\+OK/);
    expect((await c.body()).toString('latin1')).toContain(`Subject: ${pop.subjects[1]}\r\n`);
    expect(await c.command('QUIT')).toMatch(/^\+OK/);
    await c.closed();

    const after = await examine();
    expect(after).toHaveLength(3);
    expect(bySubject(after, pop.subjects[0]).flags).not.toContain('\\Seen');
    expect(bySubject(after, pop.subjects[1]).flags).toContain('\\Seen');
    expect(bySubject(after, pop.subjects[2]).flags).not.toContain('\\Seen');
  });

  interop('keeps UIDLs and Dovecot\'s flags when Dovecot renames a file; RETR of it still works', async () => {
    const target = bySubject(await examine(), pop.subjects[2]);
    const stored = await imap<string>(
      'alice',
      `check(M.select('INBOX'))\ncheck(M.store('${target.seq}', '+FLAGS', '(\\\\Seen \\\\Answered)'))\nprint(json.dumps('ok'))`,
    );
    expect(stored).toBe('ok');

    const c = await RawPop.signIn(server.port, 'alice', PASSWORD);
    expect(await c.command('STAT')).toMatch(/^\+OK 3 /);
    expect(await c.command('UIDL')).toMatch(/^\+OK/);
    expect((await c.lines()).map((l) => l.split(' ')[1])).toEqual(pop.uidls);
    expect(await c.command('RETR 3')).toMatch(/^\+OK/);
    expect((await c.body()).toString('latin1')).toContain(`Subject: ${pop.subjects[2]}\r\n`);
    expect(await c.command('QUIT')).toMatch(/^\+OK/);
    await c.closed();

    const after = await examine();
    expect(bySubject(after, pop.subjects[2]).flags).toEqual(expect.arrayContaining(['\\Seen', '\\Answered']));
    expect(bySubject(after, pop.subjects[1]).flags).toContain('\\Seen');
    expect(bySubject(after, pop.subjects[0]).flags).not.toContain('\\Seen');
  });

  interop('a message POP deletes is gone from IMAP', async () => {
    const c = await RawPop.signIn(server.port, 'alice', PASSWORD);
    expect(await c.command('DELE 1')).toMatch(/^\+OK/);
    expect(await c.command('QUIT')).toMatch(/^\+OK/);
    await c.closed();

    const after = await examine();
    expect(after).toHaveLength(2);
    expect(after.map((m) => m.subject).sort()).toEqual([pop.subjects[1], pop.subjects[2]].sort());
  });

  // Dovecot gives UIDs oldest first by the seconds, then the microseconds (M<usec>) compared as numbers
  // (maildir_filename_sort_cmp); "oldest first" in the README means the same, so POP message N should
  // be IMAP message N.
  interop('numbers messages in the same order as Dovecot: oldest first by seconds, then microseconds', async () => {
    const imapOrder = (await examine('bob')).map((m) => m.subject);
    expect(imapOrder).toEqual(['older', 'newer']);
    const c = await RawPop.signIn(server.port, 'bob', PASSWORD);
    const popOrder = [await popSubject(c, 1), await popSubject(c, 2)];
    expect(await c.command('QUIT')).toMatch(/^\+OK/);
    expect(popOrder).toEqual(imapOrder);
  });

  interop('Dovecot logged no error or warning about the shared Maildir', async () => {
    const problems = (await dovecotLogText()).split('\n').filter((l) => /\b(Warning|Error|Fatal|Panic):/.test(l));
    expect(problems).toEqual([]);
  });
});
