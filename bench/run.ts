// The Postern POP3 benchmark (issue 7): Postern against Dovecot pop3 in two configurations, on
// identical fresh Maildir trees, driven by separate load generator processes over loopback sockets.
//
//   npm run bench -- [--quick] [--only postern] [--concurrency 32] ...   (--help lists the flags)
//
// Each server in turn: write its tree, start it, run the scenarios, stop it, remove its tree. The
// table goes to stdout (progress to stderr) and the figures to bench/results.json.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { cpus, release, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { installCleanupHooks, keepTemporaryFiles, trackDir, untrackDir } from './cleanup.js';
import { dovecotUnavailable, dovecotVersion, startDovecot } from './dovecot.js';
import { renderImap } from './imap-report.js';
import { type ImapServerResults, runImapScenarios } from './imap-scenarios.js';
import type { MailboxSpec } from './maildir-gen.js';
import { type Options, parseOptions, USAGE } from './options.js';
import { startPostern } from './postern.js';
import { type Machine, render } from './report.js';
import { runScenarios, type ServerResults } from './scenarios.js';
import { renderWorkerScaling, runWorkerScaling, type WorkerScaling } from './workers-scenario.js';
import { renderSieve, runSieveBench, type SieveFigures } from './sieve-scenario.js';
import { DIRECTORY_KINDS, type DirectoryFigures, directoryUnavailable, renderDirectory, runDirectoryBench } from './directory-sign-ins.js';
import { renderSearch, runSearchBench, SEARCH_SERVERS, type SearchFigures } from './search-scenario.js';
import type { BenchServer, ServerName } from './server.js';

const PASSWORD = 'bench-Secret-42';
const DEFAULT_OUT = fileURLToPath(new URL('../results.json', import.meta.url)); // bench/dist/run.js -> bench/results.json

async function machine(): Promise<Machine> {
  const cpuinfo = await readFile('/proc/cpuinfo', 'utf8').catch(() => '');
  const meminfo = await readFile('/proc/meminfo', 'utf8').catch(() => '');
  return {
    cpu: /^model name\s*:\s*(.+)$/m.exec(cpuinfo)?.[1].trim() ?? cpus()[0]?.model ?? 'unknown',
    cores: cpus().length,
    memoryGiB: Number(/^MemTotal:\s+(\d+)/m.exec(meminfo)?.[1] ?? 0) / 1024 / 1024,
    kernel: release(),
    node: process.version,
    dovecot: await dovecotVersion(),
  };
}

function allMailboxes(o: Options): MailboxSpec[] {
  const m = o.mailboxes;
  const imap = o.protocols.includes('imap');
  return [
    m.retrSmall,
    m.retrLarge,
    m.huge,
    m.session,
    ...m.idle,
    ...(imap ? [m.imapHuge, ...m.mix, m.watch] : []),
    ...(imap && o.imapParts.includes('sort') ? [m.sort] : []),
  ];
}

async function start(name: ServerName, dir: string, o: Options): Promise<BenchServer> {
  const common = {
    dir,
    mailboxes: allMailboxes(o),
    password: PASSWORD,
    maxSessions: Math.max(o.idleSessions, o.imapIdleSessions, o.watchSessions) + 1000,
  };
  return name === 'postern' ? startPostern({ ...common, profileDir: o.profileDir }) : startDovecot({ ...common, variant: name });
}

async function main(): Promise<number> {
  let o: Options | 'help';
  try {
    o = parseOptions(process.argv.slice(2), DEFAULT_OUT);
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n\n${USAGE}`);
    return 64;
  }
  if (o === 'help') {
    process.stdout.write(USAGE);
    return 0;
  }
  installCleanupHooks();
  if (o.keep) keepTemporaryFiles();

  const skipped: string[] = [];
  let servers = o.servers;
  const noDovecot = dovecotUnavailable();
  if (noDovecot && servers.some((s) => s !== 'postern')) {
    skipped.push(`${noDovecot}: measuring Postern alone`);
    process.stderr.write(`NOTE: ${noDovecot}: measuring Postern alone.\n`);
    servers = servers.filter((s) => s === 'postern');
  }

  const root = trackDir(await mkdtemp(join(tmpdir(), 'postern-bench-')));
  if (o.keep) process.stderr.write(`temporary folder (kept): ${root}\n`);
  const results: ServerResults[] = [];
  const imapResults: ImapServerResults[] = [];
  let workerScaling: WorkerScaling | null = null;
  let sieve: SieveFigures | null = null;
  let directory: DirectoryFigures | null = null;
  let search: SearchFigures | null = null;
  const startedAt = new Date();
  try {
    // The POP3 and IMAP parts share each server's big tree; the sieve and directory parts start servers of their own.
    for (const name of o.protocols.some((p) => p === 'pop3' || p === 'imap') ? servers : []) {
      process.stderr.write(`${name}: writing its Maildir tree and starting it\n`);
      const dir = join(root, name);
      let server: BenchServer | null = null;
      try {
        server = await start(name, dir, o);
        process.stderr.write(
          `${name}: tree and accounts ready in ${server.setupSeconds.toFixed(1)} s; started (pid ${server.pid}, ` +
            `ports ${server.clear.port} clear, ${server.tls.port} TLS)\n`,
        );
        if (o.protocols.includes('pop3')) results.push(await runScenarios(server, o, PASSWORD));
        if (name === 'postern' && o.protocols.includes('pop3')) {
          process.stderr.write('postern: sign-ins with 1 and 2 worker processes\n');
          workerScaling = await runWorkerScaling(server, o, { user: o.mailboxes.session.account, password: PASSWORD });
        }
        if (o.protocols.includes('imap')) imapResults.push(await runImapScenarios(server, o, PASSWORD));
      } catch (err) {
        process.stderr.write(`${name}: ${(err as Error).message}\n`);
        results.push({
          name,
          notes: server?.notes ?? [],
          setupSeconds: server?.setupSeconds ?? 0,
          sessions: [],
          problems: [],
          errors: [(err as Error).message],
        });
        if (o.protocols.includes('imap') && !imapResults.some((r) => r.name === name))
          imapResults.push({ name, notes: server?.notes ?? [], sessions: [], mix: [], problems: [], errors: [(err as Error).message] });
      } finally {
        await server?.stop();
        // Every server got its own fresh tree; this one is done with (and 200+ MB).
        if (!o.keep) await rm(dir, { recursive: true, force: true });
      }
    }
    if (o.protocols.includes('sieve')) {
      const sieveServers = [
        ...(o.servers.includes('postern') ? (['postern'] as const) : []),
        ...(o.servers.some((s) => s !== 'postern') ? (['dovecot'] as const) : []),
      ];
      sieve = await runSieveBench(root, {
        accounts: o.sieveAccounts,
        clients: o.sieveClients,
        warmupMs: o.warmupMs * 2,
        durationMs: o.durationMs * 2,
        servers: sieveServers,
      });
    }
    if (o.protocols.includes('directory')) {
      const why = directoryUnavailable(DIRECTORY_KINDS);
      if (why) {
        skipped.push(`the directory part: ${why}`);
        process.stderr.write(`NOTE: the directory part is skipped: ${why}.\n`);
      } else {
        directory = await runDirectoryBench(root, {
          seconds: o.directorySeconds,
          clients: o.directoryClients,
          users: o.directoryUsers,
          kinds: DIRECTORY_KINDS,
        });
      }
    }
    if (o.protocols.includes('search')) {
      // --only postern: Postern's two variants; --only dovecot-*: Dovecot's two
      const postern = o.servers.includes('postern');
      const dovecot = o.servers.some((n) => n !== 'postern');
      const wanted = SEARCH_SERVERS.filter((s) => (s.startsWith('postern') ? postern : dovecot));
      search = await runSearchBench(root, { messages: o.searchMessages, runs: o.searchRuns, servers: wanted, profileDir: o.profileDir });
    }
  } finally {
    if (!o.keep) {
      await rm(root, { recursive: true, force: true });
      untrackDir(root);
    }
  }

  const m = await machine();
  const { text, verdicts } = o.protocols.includes('pop3') ? render(m, o, results, skipped) : { text: '', verdicts: [] };
  if (text) process.stdout.write(`\n${text}\n`);
  const imap = o.protocols.includes('imap') ? renderImap(o, imapResults, text ? null : m) : null;
  if (imap) process.stdout.write(`\n${imap.text}\n`);
  if (workerScaling)
    process.stdout.write(
      `\n${renderWorkerScaling(
        workerScaling,
        results.filter((r) => r.name !== 'postern'),
      )}\n`,
    );
  if (sieve) process.stdout.write(`\n${renderSieve(sieve)}\n`);
  if (directory) process.stdout.write(`\n${renderDirectory(directory)}\n`);
  if (search) process.stdout.write(`\n${renderSearch(search)}\n`);
  if (o.out !== null) {
    const json = {
      startedAt: startedAt.toISOString(),
      finishedAt: new Date().toISOString(),
      machine: m,
      options: o,
      skipped,
      results,
      verdicts,
      imap: imapResults,
      imapVerdicts: imap?.verdicts ?? [],
      workerScaling,
      sieve,
      directory,
      search,
    };
    await writeFile(o.out, `${JSON.stringify(json, null, 2)}\n`);
    process.stdout.write(`\nJSON: ${o.out}\n`);
  }
  return 0;
}

main().then(
  (code) => process.exit(code),
  (err: Error) => {
    process.stderr.write(`bench failed: ${err.stack ?? err.message}\n`);
    process.exit(1);
  },
);
