// The IMAP servers of the `search` part (search-scenario.ts, issue 25), all on ONE tree, as Postern and Dovecot
// serve one tree in production: Postern's data folder with one account made by its CLI, whose Maildir the
// mailbox is written into; Dovecot's userdb gives that account folder as the home (mail_location
// maildir:~/Maildir), so Dovecot without FTS, Dovecot with fts_xapian and Postern read the same files, each
// keeping its own index beside them (dovecot.index*, xapian-indexes, postern-*). The Maildir belongs to the
// mail uid (dovecot.ts MAIL_ID): Dovecot's mail processes run as it; Postern runs as root and keeps the
// owner of what it writes (store/maildir/owner.ts).
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { trackChild } from './cleanup.js';
import { dovecotBaseConfig, dovecotImapAvailable, findDovecot, MAIL_ID, writeDovecotPasswd } from './dovecot.js';
import { POSTERN_BIN, servePostern } from './postern.js';
import { killTreeSync, processTree } from './proc.js';
import { exitDescription, freePort, HOST, runCommand, terminate } from './server.js';
import { ImapClient } from './imap-client.js';

export const SEARCH_DOMAIN = 'localhost';

/** The fts_xapian plugin of Debian's dovecot-fts-xapian. */
const XAPIAN_PLUGIN = '/usr/lib/dovecot/modules/lib21_fts_xapian_plugin.so';

/** Postern's index of issue 25 is built (its CLI command is there): then Postern runs with it and without. */
export function posternHasIndex(): boolean {
  return existsSync(fileURLToPath(new URL('../../dist/cli/index.js', import.meta.url)));
}

/** The config key that turns Postern's index off (README: Index for SEARCH). */
export const POSTERN_INDEX_OFF = { index: false };
export const POSTERN_INDEX_ON = { index: true };

export type SearchServerName = 'postern' | 'postern-index' | 'dovecot' | 'dovecot-xapian';

export interface SearchTree {
  dir: string;
  account: string;
  password: string;
  /** The account's home: the folder holding Maildir (Postern's account folder, Dovecot's home). */
  home: string;
  maildir: string;
}

export interface SearchServer {
  name: SearchServerName;
  /** The root of the process tree whose CPU is measured (changes with restart()). */
  pid: number;
  port: number;
  notes: string[];
  problems(): Promise<string[]>;
  restart(): Promise<void>;
  stop(): Promise<void>;
}

/** Why Dovecot (without and with fts_xapian) cannot be measured here: null when both can; 'xapian' when only the plugin is missing. */
export function searchDovecotUnavailable(): { dovecot: string | null; xapian: string | null } {
  let dovecot: string | null = null;
  if (!findDovecot() || !dovecotImapAvailable()) dovecot = 'Dovecot IMAP is not installed (apt-get install dovecot-imapd)';
  else if (process.getuid?.() !== 0) dovecot = 'the Dovecot comparison needs root (mail owned by uid 5000)';
  const xapian = dovecot ?? (existsSync(XAPIAN_PLUGIN) ? null : 'fts_xapian is not installed (apt-get install dovecot-fts-xapian)');
  return { dovecot, xapian };
}

/** Waits for an IMAP "* OK" greeting. */
async function waitForImap(port: number, ms: number, exited: () => string | null): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    const ended = exited();
    if (ended) throw new Error(`the server exited while starting: ${ended}`);
    try {
      const c = await ImapClient.connect({ host: HOST, port, tls: false }, 2000);
      c.close();
      return;
    } catch {
      // not yet
    }
    if (Date.now() > deadline) throw new Error(`no IMAP greeting on ${HOST}:${port} within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Writes Postern's config (with its index or without) and returns its path. */
async function writePosternConfig(tree: SearchTree, port: number, index: boolean): Promise<string> {
  const config = {
    dataDir: join(tree.dir, 'data'),
    mainDomain: SEARCH_DOMAIN,
    listeners: [{ name: 'imap', module: 'imap', address: HOST, port }],
    log: { level: 'error' },
    ...(!posternHasIndex() ? {} : index ? POSTERN_INDEX_ON : POSTERN_INDEX_OFF),
  };
  const file = join(tree.dir, index ? 'postern-index.yaml' : 'postern.yaml');
  await writeFile(file, `${JSON.stringify(config, null, 2)}\n`); // JSON is YAML
  return file;
}

/** Postern's data folder with the account (its CLI), the Maildir made, Dovecot's passwd-file beside it. */
export async function prepareSearchTree(dir: string, account: string, password: string): Promise<SearchTree> {
  const tree: SearchTree = {
    dir,
    account,
    password,
    home: join(dir, 'data', 'accounts', SEARCH_DOMAIN, account),
    maildir: join(dir, 'data', 'accounts', SEARCH_DOMAIN, account, 'Maildir'),
  };
  const configFile = await writePosternConfig(tree, 1, true);
  const r = await runCommand(
    process.execPath,
    [POSTERN_BIN, '--config', configFile, 'account', 'add', account, '--password-stdin'],
    password,
  );
  if (r.code !== 0) throw new Error(`postern account add ${account} failed (${r.code}): ${r.stderr}${r.stdout}`);
  await writeDovecotPasswd(dir, [account], password);
  return tree;
}

/** After the mail is written: the Maildir to the mail uid, and the folders above it passable for it. */
export async function shareTreeWithDovecot(tree: SearchTree): Promise<void> {
  const chown = await runCommand('chown', ['-R', `${MAIL_ID}:${MAIL_ID}`, tree.maildir]);
  if (chown.code !== 0) throw new Error(`chown failed: ${chown.stderr}`);
  // Dovecot's processes (uid 5000) must get through every folder from the bench's temporary folder to the Maildir
  for (let at = tree.home; ; at = dirname(at)) {
    await chmod(at, 0o711);
    if (at === dirname(tree.dir) || at === dirname(at)) break;
  }
}

export async function startSearchPostern(tree: SearchTree, o: { index: boolean; profileDir?: string | null }): Promise<SearchServer> {
  const port = await freePort();
  const configFile = await writePosternConfig(tree, port, o.index);
  const problems: string[] = [];
  let child: ChildProcess;
  const launch = async () => {
    child = await servePostern(configFile, { profileDir: o.profileDir, problems, ready: (ended) => waitForImap(port, 30_000, ended) });
    server.pid = child.pid!;
  };
  const server: SearchServer = {
    name: o.index ? 'postern-index' : 'postern',
    pid: 0,
    port,
    notes: [
      `postern: log.level error; ${o.index ? 'index: true' : posternHasIndex() ? 'index: false' : 'no index in this build'}; ` +
        'other keys default',
    ],
    problems: async () => [...problems],
    restart: async () => {
      await terminate(child, 20_000);
      await launch();
    },
    stop: () => terminate(child, 20_000),
  };
  await launch();
  return server;
}

function dovecotConfig(tree: SearchTree, port: number, xapian: boolean): string {
  const d = tree.dir;
  const fts = xapian
    ? `mail_plugins = $mail_plugins fts fts_xapian
plugin {
  fts = xapian
  fts_xapian = partial=3 full=20 verbose=0
  fts_autoindex = yes
  fts_enforced = yes
}
service indexer-worker {
  vsz_limit = 2G
}
`
    : '';
  return `${dovecotBaseConfig(d, `bench/search-servers.ts (${xapian ? 'with fts_xapian' : 'without FTS'})`)}protocols = imap
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
passdb {
  driver = passwd-file
  args = scheme=SHA512-CRYPT username_format=%n ${d}/passwd
}
userdb {
  driver = static
  args = home=${dirname(tree.home)}/%n
}
service imap-login {
  inet_listener imap {
    address = ${HOST}
    port = ${port}
  }
  service_count = 0
}
service imap {
  service_count = 0
  vsz_limit = 2G
}
# room for every imap process's auth connection (doveconf warns below 1224 with the defaults)
service auth {
  client_limit = 2000
}
${fts}`;
}

export async function startSearchDovecot(tree: SearchTree, o: { xapian: boolean }): Promise<SearchServer> {
  const bin = findDovecot();
  if (!bin) throw new Error('dovecot is not installed');
  const port = await freePort();
  const conf = join(tree.dir, o.xapian ? 'dovecot-xapian.conf' : 'dovecot.conf');
  await writeFile(conf, dovecotConfig(tree, port, o.xapian));
  const check = await runCommand('doveconf', ['-c', conf, '-n']);
  if (check.code !== 0) throw new Error(`doveconf refused the config: ${check.stderr}`);
  let output = '';
  const problems = async () => {
    const log = await readFile(join(tree.dir, 'dovecot.log'), 'utf8').catch(() => '');
    return [...output.split('\n'), ...log.split('\n')]
      .filter((l) => /\b(Warning|Error|Fatal|Panic):/.test(l))
      .filter((l) => !/master: Warning: Killed with signal 15/.test(l))
      .slice(0, 50)
      .map((l) => l.trim().slice(0, 500));
  };
  let child: ChildProcess;
  const stop = async () => {
    const all = exitDescription(child) === null ? processTree(child.pid!) : [];
    await terminate(child, 20_000);
    for (const p of all) {
      try {
        process.kill(p, 0);
        killTreeSync(p);
      } catch {
        // gone, as expected
      }
    }
  };
  const launch = async () => {
    child = trackChild(spawn(bin, ['-F', '-c', conf], { stdio: ['ignore', 'pipe', 'pipe'] }));
    child.stdout!.on('data', (t) => (output += t));
    child.stderr!.on('data', (t) => (output += t));
    try {
      await waitForImap(port, 20_000, () => exitDescription(child));
    } catch (err) {
      await stop();
      throw new Error(`${(err as Error).message}\n${(await problems()).join('\n')}`);
    }
    server.pid = child.pid!;
  };
  const server: SearchServer = {
    name: o.xapian ? 'dovecot-xapian' : 'dovecot',
    pid: 0,
    port,
    notes: [
      o.xapian
        ? 'dovecot-xapian: mail_plugins fts fts_xapian; fts_xapian = partial=3 full=20; fts_autoindex = yes; fts_enforced = yes; ' +
          'imap and indexer-worker vsz_limit 2G; imap-login and imap service_count 0'
        : 'dovecot: no FTS plugin; imap vsz_limit 2G; imap-login and imap service_count 0; other settings default',
    ],
    problems,
    restart: async () => {
      await stop();
      await launch();
    },
    stop,
  };
  await launch();
  return server;
}

/** Indexes the mailbox with fts_xapian now (`doveadm index`, as an operator does after turning FTS on). */
export async function doveadmIndex(tree: SearchTree): Promise<void> {
  const conf = join(tree.dir, 'dovecot-xapian.conf');
  const r = await runCommand('doveadm', ['-c', conf, 'index', '-u', tree.account, 'INBOX']);
  if (r.code !== 0) throw new Error(`doveadm index failed (${r.code}): ${r.stderr.trim()}`);
}

/** Postern's index built from scratch by its CLI (`postern index rebuild ACCOUNT`), the server stopped. */
export async function posternIndexRebuild(tree: SearchTree): Promise<void> {
  const configFile = await writePosternConfig(tree, 1, true);
  const r = await runCommand(process.execPath, [POSTERN_BIN, '--config', configFile, 'index', 'rebuild', tree.account]);
  if (r.code !== 0) throw new Error(`postern index rebuild failed (${r.code}): ${r.stderr.trim()}${r.stdout.trim()}`);
}

/**
 * Drops the tree's files (mail and every index) from the page cache (posix_fadvise DONTNEED on each file, by
 * python3: Node has no fadvise), so the next search reads from the disk: "cold". Only this tree's pages go,
 * not the machine's (drop_caches would slow every other process). Returns false when it could not.
 */
export async function evictFromPageCache(dir: string): Promise<boolean> {
  const script = [
    'import os, sys',
    'for root, dirs, files in os.walk(sys.argv[1]):',
    '    for f in files:',
    '        try:',
    '            fd = os.open(os.path.join(root, f), os.O_RDONLY | os.O_NOFOLLOW)',
    '        except OSError:',
    '            continue',
    '        try:',
    '            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)',
    '        finally:',
    '            os.close(fd)',
  ].join('\n');
  const r = await runCommand('sync', []).then(() => runCommand('python3', ['-c', script, dir]).catch(() => null));
  return r !== null && r.code === 0;
}
