// Postern under test: a data folder with accounts made by its own CLI and mail written as Maildir
// files, then `postern serve` on two loopback ports (clear and implicit TLS).
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { trackChild } from './cleanup.js';
import { type MailboxSpec, writeMailbox } from './maildir-gen.js';
import {
  type BenchServer,
  SetupSteps,
  exitDescription,
  flushToDisk,
  freePort,
  HOST,
  inParallel,
  runCommand,
  terminate,
  waitForGreeting,
} from './server.js';

/** bench/dist/postern.js -> bin/postern.js of this checkout. */
export const POSTERN_BIN = fileURLToPath(new URL('../../bin/postern.js', import.meta.url));
const DOMAIN = 'localhost';

/**
 * Starts `postern serve` with `configFile` (then `args`), profiled into `profileDir` when given, and waits for
 * `ready`. What it prints goes into `problems` (at log.level error every line is one; the first 50 kept). A
 * server that does not get ready is stopped, and the error carries what it printed.
 */
export async function servePostern(
  configFile: string,
  o: {
    args?: string[];
    profileDir?: string | null;
    problems: string[];
    ready: (exited: () => string | null) => Promise<void>;
  },
): Promise<ChildProcess> {
  const keep = (text: string) => {
    for (const line of text.split('\n')) if (line.trim() && o.problems.length < 50) o.problems.push(line.trim().slice(0, 500));
  };
  const profiling = o.profileDir ? ['--cpu-prof', '--cpu-prof-dir', o.profileDir] : [];
  const child = trackChild(
    spawn(process.execPath, [...profiling, POSTERN_BIN, '--config', configFile, 'serve', ...(o.args ?? [])], {
      stdio: ['ignore', 'pipe', 'pipe'],
    }),
  );
  child.stdout!.setEncoding('utf8').on('data', keep);
  child.stderr!.setEncoding('utf8').on('data', keep);
  try {
    await o.ready(() => exitDescription(child));
  } catch (err) {
    await terminate(child, 5000);
    throw new Error(`${(err as Error).message}\n${o.problems.join('\n')}`);
  }
  return child;
}

export interface PosternOptions {
  dir: string;
  mailboxes: MailboxSpec[];
  password: string;
  /** Open sessions the server must accept (pop.maxChannels). */
  maxSessions: number;
  /** Run under `node --cpu-prof`, profiles into this folder. */
  profileDir?: string | null;
}

export async function startPostern(opts: PosternOptions): Promise<BenchServer> {
  const setupStart = Date.now();
  await mkdir(opts.dir, { recursive: true });
  const configFile = join(opts.dir, 'postern.yaml');
  const dataDir = join(opts.dir, 'data');
  const clearPort = await freePort();
  const tlsPort = await freePort();
  const imapPort = await freePort();
  const imapsPort = await freePort();
  // JSON is YAML: no YAML library needed.
  const config = {
    dataDir,
    mainDomain: DOMAIN,
    listeners: [
      { name: 'pop3', module: 'pop', address: HOST, port: clearPort, tls: 'none' },
      { name: 'pop3s', module: 'pop', address: HOST, port: tlsPort, tls: 'implicit' },
      { name: 'imap', module: 'imap', address: HOST, port: imapPort },
      { name: 'imaps', module: 'imap', address: HOST, port: imapsPort, tls: 'implicit' },
    ],
    // The defaults (200 connections, 20 per address) are far below the idle-session scenario.
    pop: { maxChannels: opts.maxSessions, maxChannelsPerAddress: opts.maxSessions },
    // The same for IMAP (defaults 1000, 50 per address, 100 and 10 per address not signed in).
    imap: {
      maxChannels: opts.maxSessions,
      maxChannelsPerAddress: opts.maxSessions,
      maxUnauthenticated: opts.maxSessions,
      maxUnauthenticatedPerAddress: opts.maxSessions,
    },
    // Logging is not what is measured.
    log: { level: 'error' },
  };
  await writeFile(configFile, `${JSON.stringify(config, null, 2)}\n`);

  const steps = new SetupSteps();
  // Each `account add` is a Node start plus a scrypt hash: two at a time on two cores.
  await inParallel(
    2,
    opts.mailboxes.map((m) => async () => {
      const r = await runCommand(
        process.execPath,
        [POSTERN_BIN, '--config', configFile, 'account', 'add', m.account, '--password-stdin'],
        opts.password,
      );
      if (r.code !== 0) throw new Error(`postern account add ${m.account} failed (${r.code}): ${r.stderr}${r.stdout}`);
    }),
  );
  steps.done('accounts (CLI)');
  for (const m of opts.mailboxes) writeMailbox(join(dataDir, 'accounts', DOMAIN, m.account, 'Maildir'), m);
  steps.done('mail');
  await flushToDisk();
  steps.done('sync');
  const setupSeconds = (Date.now() - setupStart) / 1000;

  const problems: string[] = [];
  const clear = { host: HOST, port: clearPort, tls: false };
  const tls = { host: HOST, port: tlsPort, tls: true };

  let child: ChildProcess;
  const exited = () => exitDescription(child);
  const launch = async (workers = 1) => {
    child = await servePostern(configFile, {
      args: ['--workers', String(workers)],
      profileDir: opts.profileDir,
      problems,
      ready: async (ended) => {
        // The first start generates the self-signed certificate.
        await waitForGreeting(clear, 30_000, ended);
        await waitForGreeting(tls, 30_000, ended);
      },
    });
    server.pid = child.pid!;
  };
  const server: BenchServer = {
    name: 'postern',
    pid: 0,
    clear,
    tls,
    imap: { clear: { host: HOST, port: imapPort, tls: false }, tls: { host: HOST, port: imapsPort, tls: true } },
    maildir: (account) => join(dataDir, 'accounts', DOMAIN, account, 'Maildir'),
    notes: [
      `pop.maxChannels and maxChannelsPerAddress ${opts.maxSessions}; imap.maxChannels, maxChannelsPerAddress, maxUnauthenticated and ` +
        `maxUnauthenticatedPerAddress ${opts.maxSessions}; log.level error; other keys default`,
      `setup: ${steps}`,
    ],
    setupSeconds,
    problems: async () => [...problems],
    exited,
    stop: () => terminate(child, 20_000),
    async restart(options) {
      await terminate(child, 20_000);
      await launch(options?.workers);
      // with workers, the greeting came from the first one up: give the others time to start too
      if ((options?.workers ?? 1) > 1) await new Promise((r) => setTimeout(r, 3000));
    },
  };
  await launch();
  return server;
}
