// A real Postfix (the Debian package) for one test: its own config, queue and data folders in a temporary
// folder, an smtpd on a free loopback port, and every recipient of the given domains handed over LMTP
// (virtual_transport = lmtp:...) to the Postern under test. Started with `postfix -c DIR start` and
// stopped with `postfix -c DIR stop` (then `abort` and SIGKILL of what is left), also when the test fails
// or its process exits. Each call is a separate instance: two tests may run two at once.
//
// Postfix must run as root (the master binds, then its daemons drop to mail_owner). What it is picky
// about, found the hard way (Postfix 3.7):
// - Without a terminal the postfix(1) command says nothing on stderr, even on a fatal error: it logs
//   to syslog only. So every instance logs to a file of its own (maillog_file, written by postlogd,
//   which master.cf must run), and that file must lie under `maillog_file_prefixes` (default /var and
//   /dev/stdout: otherwise "fatal: maillog_file value ... does not match any prefix").
// - queue_directory must exist (root-owned, 0755) before `postfix start`: the start creates its
//   subfolders (active, incoming, maildrop, pid, private, public, ...) with their owners (postfix,
//   postdrop) through post-install's create-missing, and data_directory (owned by postfix). It does not
//   create the queue folder itself ("fatal: chdir(...): No such file or directory").
// - Every folder above the queue must let the postfix user through: mkdtemp makes 0700 folders, so the
//   instance folder is chmod 0755 (the daemons run as postfix and chdir into the queue).
// - Debian's smtpd looks local recipients up through proxy:unix:passwd.byname even with an empty
//   mydestination: without a `proxymap` service in master.cf the SMTP session hangs before its greeting
//   ("connect to subsystem .../private/proxymap"). local_recipient_maps is emptied and proxymap kept.
// - Debian's packaged master.cf chroots its services into /var/spool/postfix; here nothing is chrooted
//   (column 5 "n"), so the lmtp client can reach Postern wherever it listens.
// - The lmtp client runs as the postfix user: a unix-socket LMTP listener must be reachable by it (a
//   socket in a 0700 root folder is not); the TCP form (lmtp:inet:127.0.0.1:PORT) has no such trap.
// - A deferred delivery waits minimal_backoff_time (300 s by default) before its retry: set to 1 s here
//   so a test that makes Postern refuse for a moment sees the retry.
// - `postfix -c DIR` needs no alternate_config_directories as root; postqueue/sendmail run by another
//   user would (they are set-gid and trust only the default main.cf).
// - `postfix stop` returns before the master is gone; the master is not our child (it daemonizes), so
//   its exit is seen in /proc (a zombie counts as gone: its reaper is not this process).
import { execFile, execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './ports.js';

export interface PostfixOptions {
  /** Where Postfix hands every recipient of `domains`: Postern's LMTP listener (TCP, or a unix socket). */
  lmtp: { host?: string; port: number } | { path: string };
  /** The domains Postfix accepts mail for (virtual_mailbox_domains); example.org when not given. */
  domains?: string[];
  /** More main.cf settings (name -> value), written after the helper's own. */
  main?: Record<string, string>;
}

export interface Delivery {
  /** The queue id Postfix gave the message. */
  queueId: string;
  recipient: string;
  /** sent, deferred or bounced */
  status: string;
  /** The whole log line (relay=, dsn= and the remote reply in parentheses). */
  line: string;
}

export interface Postfix {
  dir: string;
  configDir: string;
  queueDir: string;
  /** The port of its smtpd on 127.0.0.1. */
  smtpPort: number;
  /** Its mail log so far. */
  log(): Promise<string>;
  /** `swaks` sends `message` (a whole message, headers included) to its smtpd; resolves with the queue id. */
  send(envelope: { from: string; to: string[] }, message: string | Buffer): Promise<string>;
  /** Waits for the first outcome (sent, deferred, bounced) of each recipient of the queued message. */
  outcome(queueId: string, recipients: number, ms?: number): Promise<Delivery[]>;
  /** `postqueue -p`: what is still queued. */
  queue(): Promise<string>;
  stop(): Promise<void>;
}

const POSTFIX = ['/usr/sbin/postfix', '/usr/local/sbin/postfix'].find((p) => existsSync(p)) ?? 'postfix';
const POSTQUEUE = ['/usr/sbin/postqueue', '/usr/local/sbin/postqueue'].find((p) => existsSync(p)) ?? 'postqueue';

/** Why no Postfix can run here, or null when one can. */
export function postfixUnavailable(): string | null {
  if (!existsSync(POSTFIX)) return 'Postfix is not installed (apt-get install postfix, as .ci/run does)';
  if (process.getuid?.() !== 0) return 'Postfix runs only as root (its master binds and then drops to the postfix user)';
  return null;
}

function run(file: string, args: string[], input?: string | Buffer): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = execFile(file, args, { encoding: 'utf8', timeout: 60_000, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
      resolve({ code, stdout, stderr: stderr || (err && typeof err.code !== 'number' ? String(err) : '') });
    });
    child.stdin?.on('error', () => {});
    child.stdin?.end(input ?? '');
  });
}

/** True while `pid` runs (a zombie is gone: it only waits for a reaper that is not us). */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

function masterPid(queueDir: string): number | null {
  try {
    const pid = Number(readFileSync(join(queueDir, 'pid', 'master.pid'), 'utf8').trim());
    return pid > 0 ? pid : null;
  } catch {
    return null;
  }
}

/** The processes this instance started: Postfix passes MAIL_CONFIG=configDir to every daemon. */
function processesOf(configDir: string): number[] {
  const found: number[] = [];
  const marker = `\0MAIL_CONFIG=${configDir}\0`;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const environ = `\0${readFileSync(`/proc/${entry}/environ`, 'latin1')}`;
      if (environ.includes(marker) && alive(Number(entry))) found.push(Number(entry));
    } catch {
      // gone, or not ours to read
    }
  }
  return found;
}

/** Instances still running, stopped at once if the test process exits without stopping them. */
const running = new Set<{ configDir: string; dir: string }>();
let exitHookInstalled = false;
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const instance of running) {
      try {
        execFileSync(POSTFIX, ['-c', instance.configDir, 'abort'], { stdio: 'ignore', timeout: 10_000 });
      } catch {
        // already stopped
      }
      for (const pid of processesOf(instance.configDir)) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
      rmSync(instance.dir, { recursive: true, force: true });
    }
  });
}

function mainCf(dir: string, options: PostfixOptions): string {
  const lmtp =
    'path' in options.lmtp ? `lmtp:unix:${options.lmtp.path}` : `lmtp:inet:${options.lmtp.host ?? '127.0.0.1'}:${options.lmtp.port}`;
  const settings: Record<string, string> = {
    compatibility_level: '3.6',
    config_directory: join(dir, 'etc'),
    queue_directory: join(dir, 'spool'),
    data_directory: join(dir, 'data'),
    maillog_file: join(dir, 'maillog'),
    maillog_file_prefixes: dir,
    myhostname: 'mta.postfix.test',
    mydomain: 'postfix.test',
    myorigin: '$myhostname',
    // Nothing is delivered by Postfix itself: every accepted recipient goes to Postern over LMTP.
    mydestination: '',
    local_recipient_maps: '',
    alias_maps: '',
    alias_database: '',
    inet_interfaces: '127.0.0.1',
    inet_protocols: 'ipv4',
    mynetworks: '127.0.0.0/8',
    smtpd_relay_restrictions: 'permit_mynetworks, reject_unauth_destination',
    virtual_mailbox_domains: (options.domains ?? ['example.org']).join(', '),
    // With virtual_mailbox_maps empty smtpd accepts any local part: Postern's RCPT answer decides.
    virtual_transport: lmtp,
    // Mail to anywhere else (bounces included) never leaves the machine.
    default_transport: 'error:this test Postfix sends nowhere else',
    relay_transport: 'error:this test Postfix sends nowhere else',
    biff: 'no',
    append_dot_mydomain: 'no',
    smtpd_banner: '$myhostname ESMTP Postfix (test)',
    queue_run_delay: '1s',
    minimal_backoff_time: '1s',
    maximal_backoff_time: '2s',
    ...options.main,
  };
  return `# Generated by test/helpers/postfix.ts\n${Object.entries(settings)
    .map(([k, v]) => `${k} = ${v}\n`)
    .join('')}`;
}

function masterCf(smtpPort: number): string {
  // service type private unpriv chroot wakeup maxproc command: only what a relay to LMTP needs.
  return `# Generated by test/helpers/postfix.ts
127.0.0.1:${smtpPort} inet n - n - - smtpd
pickup    unix  n - n 60 1 pickup
cleanup   unix  n - n - 0 cleanup
qmgr      unix  n - n 300 1 qmgr
rewrite   unix  - - n - - trivial-rewrite
bounce    unix  - - n - 0 bounce
defer     unix  - - n - 0 bounce
trace     unix  - - n - 0 bounce
proxymap  unix  - - n - - proxymap
showq     unix  n - n - - showq
error     unix  - - n - - error
retry     unix  - - n - - error
lmtp      unix  - - n - - lmtp
anvil     unix  - - n - 1 anvil
scache    unix  - - n - 1 scache
postlog   unix-dgram n - n - 1 postlogd
`;
}

export async function startPostfix(options: PostfixOptions): Promise<Postfix> {
  const unavailable = postfixUnavailable();
  if (unavailable) throw new Error(unavailable);
  const dir = await mkdtemp(join(tmpdir(), 'postern-postfix-'));
  await chmod(dir, 0o755);
  const configDir = join(dir, 'etc');
  const queueDir = join(dir, 'spool');
  const logPath = join(dir, 'maillog');
  await mkdir(configDir, { mode: 0o755 });
  await mkdir(queueDir, { mode: 0o755 });
  const smtpPort = await freePort();
  await writeFile(join(configDir, 'main.cf'), mainCf(dir, options));
  await writeFile(join(configDir, 'master.cf'), masterCf(smtpPort));
  const log = () => readFile(logPath, 'utf8').catch(() => '');

  const instance = { configDir, dir };
  running.add(instance);
  installExitHook();

  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    const pid = masterPid(queueDir);
    await run(POSTFIX, ['-c', configDir, 'stop']);
    const deadline = Date.now() + 10_000;
    while (pid !== null && alive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    if (pid !== null && alive(pid)) await run(POSTFIX, ['-c', configDir, 'abort']);
    // The daemons leave when their master does; whatever is left of this instance is killed.
    for (let attempt = 0; attempt < 20; attempt++) {
      const left = processesOf(configDir);
      if (left.length === 0) break;
      for (const p of left) {
        try {
          process.kill(p, 'SIGKILL');
        } catch {
          // already gone
        }
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    running.delete(instance);
    await rm(dir, { recursive: true, force: true });
  };

  const started = await run(POSTFIX, ['-c', configDir, 'start']);
  if (started.code !== 0) {
    const why = `${started.stdout}${started.stderr}\n${await log()}`;
    await stop();
    throw new Error(`postfix -c ${configDir} start failed (${started.code}):\n${why}`);
  }

  const outcomes = async (queueId: string): Promise<Delivery[]> => {
    const found: Delivery[] = [];
    const line = new RegExp(`postfix/\\w+\\[\\d+\\]: ${queueId}: to=<([^>]*)>.*, status=(sent|deferred|bounced)`);
    for (const l of (await log()).split('\n')) {
      const m = line.exec(l);
      if (m) found.push({ queueId, recipient: m[1], status: m[2], line: l });
    }
    return found;
  };

  return {
    dir,
    configDir,
    queueDir,
    smtpPort,
    log,
    async send(envelope, message) {
      // swaks reads the message (headers and body, CRLF or LF) from standard input with --data -.
      // Several recipients are one comma-separated --to (a second --to replaces the first).
      const args = [
        '--server',
        `127.0.0.1:${smtpPort}`,
        '--helo',
        'client.example.net',
        '--from',
        envelope.from,
        '--to',
        envelope.to.join(','),
      ];
      const r = await run('swaks', [...args, '--data', '-', '--suppress-data'], message);
      const queued = /<- {2}250 [\d.]+ Ok: queued as (\w+)/.exec(r.stdout);
      if (r.code !== 0 || !queued) throw new Error(`swaks exited ${r.code}:\n${r.stdout}${r.stderr}\n${await log()}`);
      return queued[1];
    },
    async outcome(queueId, recipients, ms = 20_000) {
      const deadline = Date.now() + ms;
      for (;;) {
        const found = await outcomes(queueId);
        const first = new Map<string, Delivery>();
        for (const d of found) if (!first.has(d.recipient)) first.set(d.recipient, d);
        if (first.size >= recipients) return [...first.values()];
        if (Date.now() > deadline) throw new Error(`Postfix did not deliver ${queueId} within ${ms} ms:\n${await log()}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    },
    async queue() {
      return (await run(POSTQUEUE, ['-c', configDir, '-p'])).stdout;
    },
    stop,
  };
}
