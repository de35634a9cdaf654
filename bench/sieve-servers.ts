// The two LMTP servers of the `sieve` part (sieve-scenario.ts), each on a tree of its own of the same kind:
// accounts with a Maildir, the rules' folders made beforehand, and (with scripts) the user's script in
// Pigeonhole's layout (HOME/sieve/bench.sieve, HOME/.dovecot.sieve -> sieve/bench.sieve) plus the site-wide
// spam rule before it. Postern: `postern serve` with an LMTP listener (sieve.before). Dovecot: its LMTP
// server with Pigeonhole's Sieve plugin (mail_plugins sieve, sieve_before), from a generated standalone
// config; its mail processes run as uid/gid 5000 as in dovecot.ts.
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, mkdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { join } from 'node:path';
import { trackChild } from './cleanup.js';
import { dovecotBaseConfig, dovecotPasswdFileDbs, findDovecot, MAIL_ID, writeDovecotPasswd } from './dovecot.js';
import { POSTERN_BIN, servePostern } from './postern.js';
import { killTreeSync, processTree } from './proc.js';
import { exitDescription, freePort, HOST, inParallel, runCommand, terminate } from './server.js';
import { FOLDERS, SPAM_RULE, USER_SCRIPT } from './sieve-mail.js';

export const SIEVE_DOMAIN = 'localhost';

export type SieveServerName = 'postern' | 'dovecot';

export interface SieveTree {
  dir: string;
  accounts: string[];
  password: string;
  /** Where each server keeps an account's home (the folder holding Maildir, sieve/ and .dovecot.sieve). */
  home(account: string): string;
}

export interface LmtpServer {
  name: SieveServerName;
  /** The root of the process tree whose CPU is measured. */
  pid: number;
  port: number;
  notes: string[];
  /** Problems it printed or logged. */
  problems(): Promise<string[]>;
  stop(): Promise<void>;
}

/** Why Dovecot's LMTP with Pigeonhole cannot be measured here, or null when it can. */
export function dovecotLmtpUnavailable(): string | null {
  if (!findDovecot()) return 'Dovecot is not installed (apt-get install dovecot-lmtpd dovecot-sieve)';
  if (!existsSync('/usr/lib/dovecot/lmtp') && !existsSync('/usr/libexec/dovecot/lmtp'))
    return "Dovecot's LMTP server is not installed (apt-get install dovecot-lmtpd)";
  if (!existsSync('/usr/lib/dovecot/modules/lib90_sieve_plugin.so')) return 'Pigeonhole is not installed (apt-get install dovecot-sieve)';
  if (process.getuid?.() !== 0) return 'the Dovecot comparison needs root (mail owned by uid 5000)';
  return null;
}

/** Waits for the 220 greeting of an LMTP server. */
async function waitForLmtp(port: number, ms: number, exited: () => string | null): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    const ended = exited();
    if (ended) throw new Error(`the server exited while starting: ${ended}`);
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect(port, HOST);
      const done = (ok: boolean) => {
        s.destroy();
        resolve(ok);
      };
      s.setTimeout(2000, () => done(false));
      s.once('data', (d) => done(d.toString().startsWith('220')));
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`no LMTP greeting on ${HOST}:${port} within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** An account's Maildir with the rules' folders (Maildir++: .NAME with cur, new, tmp). */
async function makeMaildir(maildir: string): Promise<void> {
  for (const folder of ['', ...FOLDERS.map((f) => `.${f}`)])
    for (const sub of ['cur', 'new', 'tmp']) await mkdir(join(maildir, folder, sub), { recursive: true });
}

/** Puts or removes the user's script (Pigeonhole's layout) in every home. */
export async function placeScripts(tree: SieveTree, withScripts: boolean): Promise<void> {
  for (const account of tree.accounts) {
    const home = tree.home(account);
    await rm(join(home, '.dovecot.sieve'), { force: true });
    await rm(join(home, 'sieve'), { recursive: true, force: true });
    if (!withScripts) continue;
    await mkdir(join(home, 'sieve'), { recursive: true });
    await writeFile(join(home, 'sieve', 'bench.sieve'), USER_SCRIPT);
    await symlink('sieve/bench.sieve', join(home, '.dovecot.sieve'));
  }
  await mkdir(join(tree.dir, 'site'), { recursive: true, mode: 0o755 });
  await writeFile(join(tree.dir, 'site', 'spam.sieve'), SPAM_RULE, { mode: 0o644 });
}

/** Postern's tree: accounts made by its CLI (two at a time), Maildirs and folders. */
export async function preparePostern(dir: string, accounts: string[], password: string): Promise<SieveTree> {
  await mkdir(dir, { recursive: true });
  const dataDir = join(dir, 'data');
  const listeners = [{ name: 'lmtp', module: 'lmtp', address: HOST, port: 0 }];
  await writeFile(join(dir, 'postern.yaml'), `${JSON.stringify({ dataDir, mainDomain: SIEVE_DOMAIN, listeners }, null, 2)}\n`);
  await inParallel(
    2,
    accounts.map((account) => async () => {
      const r = await runCommand(
        process.execPath,
        [POSTERN_BIN, '--config', join(dir, 'postern.yaml'), 'account', 'add', account, '--password-stdin'],
        password,
      );
      if (r.code !== 0) throw new Error(`postern account add ${account} failed (${r.code}): ${r.stderr}${r.stdout}`);
    }),
  );
  const tree: SieveTree = { dir, accounts, password, home: (a) => join(dataDir, 'accounts', SIEVE_DOMAIN, a) };
  for (const a of accounts) await makeMaildir(join(tree.home(a), 'Maildir'));
  return tree;
}

/** Dovecot's tree: the same homes under dir/home, a passwd-file, everything owned by the mail uid. */
export async function prepareDovecot(dir: string, accounts: string[], password: string): Promise<SieveTree> {
  await mkdir(join(dir, 'home'), { recursive: true });
  await chmod(join(dir, '..'), 0o711);
  await chmod(dir, 0o711);
  const tree: SieveTree = { dir, accounts, password, home: (a) => join(dir, 'home', a) };
  for (const a of accounts) await makeMaildir(join(tree.home(a), 'Maildir'));
  await writeDovecotPasswd(dir, accounts, password);
  return tree;
}

/** `postern serve` with an LMTP listener; with scripts: sieve.before = the spam rule. */
export async function startPosternLmtp(
  tree: SieveTree,
  o: { withScripts: boolean; clients: number; relayPort: number; profileDir?: string | null },
): Promise<LmtpServer> {
  const port = await freePort();
  const configFile = join(tree.dir, 'postern.yaml');
  const config = {
    dataDir: join(tree.dir, 'data'),
    mainDomain: SIEVE_DOMAIN,
    listeners: [{ name: 'lmtp', module: 'lmtp', address: HOST, port }],
    lmtp: { maxChannels: o.clients + 50 },
    sieve: { before: o.withScripts ? [join(tree.dir, 'site', 'spam.sieve')] : [] },
    // A vacation that fires (it should not) goes to the bench's counting relay.
    submission: { relay: { host: HOST, port: o.relayPort } },
    log: { level: 'error' },
  };
  await writeFile(configFile, `${JSON.stringify(config, null, 2)}\n`);
  const problems: string[] = [];
  const child = await servePostern(configFile, { profileDir: o.profileDir, problems, ready: (ended) => waitForLmtp(port, 30_000, ended) });
  return {
    name: 'postern',
    pid: child.pid!,
    port,
    notes: [
      `lmtp.maxChannels ${o.clients + 50}; sieve.before ${o.withScripts ? 'spam.sieve' : 'none'}; log.level error; other keys default`,
    ],
    problems: async () => [...problems],
    stop: () => terminate(child, 20_000),
  };
}

function dovecotConfig(tree: SieveTree, port: number, o: { withScripts: boolean; clients: number; relayPort: number }): string {
  const d = tree.dir;
  return `${dovecotBaseConfig(d, 'bench/sieve-servers.ts')}protocols = lmtp
ssl = no
postmaster_address = postmaster@${SIEVE_DOMAIN}
hostname = bench.example
# A vacation that fires (it should not) goes to the bench's counting relay.
submission_host = ${HOST}:${o.relayPort}
${dovecotPasswdFileDbs(d)}service lmtp {
  inet_listener lmtp {
    address = ${HOST}
    port = ${port}
  }
  # one process per concurrent client, ready before the first
  process_min_avail = ${o.clients}
}
protocol lmtp {
  mail_plugins = $mail_plugins sieve
}
plugin {
  sieve = file:~/sieve;active=~/.dovecot.sieve
${o.withScripts ? `  sieve_before = ${d}/site/spam.sieve\n` : ''}}
`;
}

/** Dovecot's LMTP with Pigeonhole, in the foreground. */
export async function startDovecotLmtp(
  tree: SieveTree,
  o: { withScripts: boolean; clients: number; relayPort: number },
): Promise<LmtpServer> {
  const bin = findDovecot();
  if (!bin) throw new Error('dovecot is not installed');
  const chown = await runCommand('chown', ['-R', `${MAIL_ID}:${MAIL_ID}`, join(tree.dir, 'home')]);
  if (chown.code !== 0) throw new Error(`chown failed: ${chown.stderr}`);
  // Pigeonhole's mail processes may not write beside a site-wide script: it is compiled beforehand, as
  // its documentation says an operator does (sievec), else every delivery compiles it again and logs an error.
  const sievec = await runCommand('sievec', [join(tree.dir, 'site', 'spam.sieve')]);
  if (sievec.code !== 0) throw new Error(`sievec failed: ${sievec.stderr}`);
  const port = await freePort();
  const conf = join(tree.dir, 'dovecot.conf');
  await writeFile(conf, dovecotConfig(tree, port, o));
  const check = await runCommand('doveconf', ['-c', conf, '-n']);
  if (check.code !== 0) throw new Error(`doveconf refused the config: ${check.stderr}`);
  let output = '';
  const child: ChildProcess = trackChild(spawn(bin, ['-F', '-c', conf], { stdio: ['ignore', 'pipe', 'pipe'] }));
  child.stdout!.on('data', (t) => (output += t));
  child.stderr!.on('data', (t) => (output += t));
  const problems = async () => {
    const log = await readFile(join(tree.dir, 'dovecot.log'), 'utf8').catch(() => '');
    return [...output.split('\n'), ...log.split('\n')]
      .filter((l) => /\b(Warning|Error|Fatal|Panic):/.test(l))
      .filter((l) => !/master: Warning: Killed with signal 15/.test(l))
      .slice(0, 50)
      .map((l) => l.trim().slice(0, 500));
  };
  const stop = async () => {
    const tree = exitDescription(child) === null ? processTree(child.pid!) : [];
    await terminate(child, 20_000);
    for (const p of tree) {
      try {
        process.kill(p, 0);
        killTreeSync(p);
      } catch {
        // gone, as expected
      }
    }
  };
  try {
    await waitForLmtp(port, 20_000, () => exitDescription(child));
  } catch (err) {
    await stop();
    throw new Error(`${(err as Error).message}\n${(await problems()).join('\n')}`);
  }
  return {
    name: 'dovecot',
    pid: child.pid!,
    port,
    notes: [
      `lmtp process_min_avail ${o.clients} (client_limit 1, service_count 0: default); mail_plugins sieve; ` +
        `sieve_before ${o.withScripts ? 'spam.sieve' : 'none'}; passwd-file passdb, static userdb; other settings default`,
    ],
    problems,
    stop,
  };
}
