// A real Dovecot (IMAP, POP3 and dovecot-lda) over a test server's data folder, configured by the test
// itself (a standalone dovecot.conf in a temporary folder) and run in the foreground as a child process.
// Dovecot never opens a mailbox as root ("Mail access not allowed for root"), so when the tests run as
// root the account folders are handed to an unprivileged uid/gid (DOVECOT_MAIL_ID) that Dovecot's mail
// processes run as; Postern, as root, gives the files it makes there the folder's owner.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, chown, lchown, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { delimiter, join } from 'node:path';
import { run } from './clients.js';
import { freePort } from './ports.js';

/** uid and gid of Dovecot's mail processes when the tests run as root (no such user needs to exist). */
export const DOVECOT_MAIL_ID = 5000;

export interface Dovecot {
  imapPort: number;
  pop3Port: number;
  /** The generated config (for dovecot-lda -c). */
  config: string;
  /** Dovecot's log so far. */
  log(): Promise<string>;
  /** Delivers a message with dovecot-lda to `user`; resolves with its exit code. */
  lda(user: string, message: string): Promise<number>;
  /** Runs a python3 imaplib script signed in as `user` (`M`, `check()` defined); its last line is JSON. */
  imap<T>(user: string, password: string, body: string): Promise<T>;
  stop(): Promise<void>;
}

function findBinary(name: string, dirs: string[]): string {
  for (const dir of dirs) if (dir && existsSync(join(dir, name))) return join(dir, name);
  throw new Error(
    `${name} is not installed: these tests need a real Dovecot; install it with \`apt-get install dovecot-imapd dovecot-pop3d\``,
  );
}

export function accepts(port: number): Promise<boolean> {
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

/** Lets Dovecot's unprivileged mail processes reach and own an account folder Postern (root) created. */
export async function shareWithDovecot(testDir: string, accountDir: string): Promise<void> {
  if (process.getuid?.() !== 0) return;
  // The folders above it are 0700: let others through (x only).
  for (let dir = join(accountDir, '..'); dir.startsWith(testDir); dir = join(dir, '..')) {
    await chmod(dir, (await stat(dir)).mode | 0o001);
  }
  await chown(accountDir, DOVECOT_MAIL_ID, DOVECOT_MAIL_ID);
  // as `chown -R` does: a symbolic link (\Recent's mark, a Postern lock) is changed itself, never followed
  for (const entry of await readdir(accountDir, { recursive: true })) {
    await lchown(join(accountDir, entry), DOVECOT_MAIL_ID, DOVECOT_MAIL_ID);
  }
}

/**
 * Starts Dovecot serving `users` (passwords in PLAIN) with homes in `accountsDir` (the domain folder of
 * a test server's data: accountsDir/NAME/Maildir).
 */
export interface DovecotOptions {
  /**
   * Dovecot's mail_location instead of `maildir:~/Maildir` under accountsDir/NAME, for a test of the
   * README's own line: then users sign in by their whole name (`username_format=%u`).
   */
  mailLocation?: string;
  /** Appended to the generated dovecot.conf (the stress test raises mail_max_userip_connections). */
  extraConfig?: string;
  /** The passdb and userdb blocks instead of the passwd-file of `users` (the directory tests: driver = sql). */
  authConfig?: string;
}

export async function startDovecot(
  users: { name: string; password: string }[],
  accountsDir: string,
  options: DovecotOptions = {},
): Promise<Dovecot> {
  const sbin = [...(process.env.PATH ?? '').split(delimiter), '/usr/sbin', '/usr/local/sbin', '/sbin'];
  const bin = findBinary('dovecot', sbin);
  const lda = findBinary('dovecot-lda', ['/usr/lib/dovecot', '/usr/libexec/dovecot', ...sbin]);
  const asRoot = process.getuid?.() === 0;
  const dir = await mkdtemp(join(tmpdir(), 'postern-dovecot-'));
  await chmod(dir, 0o711); // the auth process (default_internal_user) reads the passwd file in it
  const logPath = join(dir, 'dovecot.log');
  const imapPort = await freePort();
  const pop3Port = await freePort();
  const passwd = join(dir, 'passwd');
  await writeFile(passwd, users.map((u) => `${u.name}:{PLAIN}${u.password}\n`).join(''), { mode: 0o644 });
  const me = userInfo();
  const mailUid = asRoot ? DOVECOT_MAIL_ID : me.uid;
  const mailGid = asRoot ? DOVECOT_MAIL_ID : me.gid;
  // Not root: every Dovecot process runs as this user, and nothing can chroot.
  const internal = asRoot
    ? 'default_login_user = dovenull\ndefault_internal_user = dovecot'
    : `default_login_user = ${me.username}\ndefault_internal_user = ${me.username}\ndefault_internal_group ` +
      `= ${execFileSync('id', ['-gn'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim()}`;
  const config = join(dir, 'dovecot.conf');
  await writeFile(
    config,
    `# Generated by test/helpers/dovecot.ts
base_dir = ${dir}/run
state_dir = ${dir}/state
log_path = ${logPath}
protocols = imap pop3
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
${internal}
first_valid_uid = ${mailUid}
first_valid_gid = ${mailGid}
mail_uid = ${mailUid}
mail_gid = ${mailGid}
mail_location = ${options.mailLocation ?? 'maildir:~/Maildir'}
# the hierarchy delimiter Postern's mailbox names use (on disk Maildir++ keeps ".")
namespace inbox {
  inbox = yes
  separator = /
}
postmaster_address = postmaster@example.org
${
  options.authConfig ??
  `passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=${options.mailLocation ? '%u' : '%n'} ${passwd}
}
userdb {
  driver = static
  args = home=${accountsDir}/%n
}`
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
service pop3-login {
  inet_listener pop3 {
    address = 127.0.0.1
    port = ${pop3Port}
  }
  inet_listener pop3s {
    port = 0
  }
${asRoot ? '' : '  chroot =\n'}}
${asRoot ? '' : 'service anvil {\n  chroot =\n}\n'}${options.extraConfig ?? ''}`,
  );

  const child: ChildProcess = spawn(bin, ['-F', '-c', config], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (d) => (output += d));
  child.stderr!.on('data', (d) => (output += d));
  let exited = false;
  child.once('exit', () => (exited = true));
  child.once('error', (err) => {
    exited = true;
    output += String(err);
  });
  const log = () => readFile(logPath, 'utf8').catch(() => '');
  const deadline = Date.now() + 15_000;
  for (;;) {
    if (exited) throw new Error(`dovecot exited at start:\n${output}\n${await log()}`);
    if ((await accepts(imapPort)) && (await accepts(pop3Port))) break;
    if (Date.now() > deadline) throw new Error(`dovecot did not accept connections within 15 s:\n${output}\n${await log()}`);
    await new Promise((r) => setTimeout(r, 100));
  }

  return {
    imapPort,
    pop3Port,
    config,
    log,
    lda(user, message) {
      return new Promise((resolve) => {
        const p = spawn(lda, ['-c', config, '-d', user], { stdio: ['pipe', 'ignore', 'pipe'] });
        let err = '';
        p.stderr!.on('data', (d) => (err += d));
        p.on('exit', (code) => {
          if (code !== 0) process.stderr.write(`dovecot-lda exited ${code}: ${err}\n`);
          resolve(code ?? 1);
        });
        p.stdin!.on('error', () => {});
        p.stdin!.end(message);
      });
    },
    async imap<T>(user: string, password: string, body: string): Promise<T> {
      const script = `import imaplib, json, re
M = imaplib.IMAP4('127.0.0.1', ${imapPort}, timeout=30)
M.login(${JSON.stringify(user)}, ${JSON.stringify(password)})
def check(answer):
    typ, data = answer
    if typ != 'OK':
        raise SystemExit('IMAP answered %s %r' % (typ, data))
    return data
${body}
M.logout()
`;
      const r = await run('python3', ['-c', script], { timeoutMs: 60_000 });
      if (r.code !== 0) throw new Error(`imaplib failed (${r.code}): ${r.stderr}${r.stdout}\nDovecot log:\n${await log()}`);
      return JSON.parse(r.stdout.trim().split('\n').pop() ?? '') as T;
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        const gone = new Promise<void>((r) => child.once('exit', () => r()));
        child.kill('SIGTERM');
        const kill = setTimeout(() => child.kill('SIGKILL'), 10_000);
        let giveUp: NodeJS.Timeout | undefined;
        await Promise.race([gone, new Promise((r) => (giveUp = setTimeout(r, 15_000)))]);
        clearTimeout(kill);
        clearTimeout(giveUp);
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
}
