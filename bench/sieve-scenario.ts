// The `sieve` part (issue 23): LMTP deliveries per second to N accounts that each have the same 20-rule
// script (sieve-mail.ts) plus the site-wide spam rule before it, Postern beside Dovecot's LMTP with
// Pigeonhole, on trees of the same kind (sieve-servers.ts), with several concurrent LMTP clients
// (lmtp-load.ts). For each server: first the baseline (no script anywhere, the Sieve plugin loaded), then
// with the scripts; each run reports deliveries/s and the server's CPU per delivery. The ratio that judges
// is per core: deliveries per CPU-second of Postern / of Dovecot (target at least 2). Before each timed
// run with scripts, a probe delivers each kind of message once to an account of its own and shows where
// it was filed with which flags, so that a fast server that files wrongly is seen.
//
//   npm run bench -- --protocols sieve                     (the part alone, inside the bench)
//   node bench/dist/sieve-scenario.js [--accounts 20] [--clients 8] [--duration 10] [--warmup 2] [--only postern|dovecot] [--profile DIR]
import { readdir, readFile, rm } from 'node:fs/promises';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { SMTPServer } from 'smtp-server';
import { installCleanupHooks, trackDir, untrackDir } from './cleanup.js';
import { deliverOne, dotStuffed, type LoadFigures, lmtpSession, runLmtpLoad } from './lmtp-load.js';
import { treeCpuSeconds } from './proc.js';
import { benchMessages } from './sieve-mail.js';
import {
  dovecotLmtpUnavailable,
  type LmtpServer,
  placeScripts,
  prepareDovecot,
  preparePostern,
  SIEVE_DOMAIN,
  type SieveServerName,
  type SieveTree,
  startDovecotLmtp,
  startPosternLmtp,
} from './sieve-servers.js';

export interface SieveBenchOptions {
  accounts: number;
  clients: number;
  warmupMs: number;
  durationMs: number;
  servers: SieveServerName[];
  /** Postern runs under node --cpu-prof, its profiles written here; null: no profiling. */
  profileDir?: string | null;
}

export interface SieveRun {
  server: SieveServerName;
  scripts: boolean;
  load: LoadFigures;
  serverCpuSeconds: number;
  /** Server CPU milliseconds per delivery. */
  cpuMsPerDelivery: number;
  /** Deliveries per CPU-second of the server: the rate per core. */
  perCore: number;
  /** Vacation replies the relay got during the run (the script's vacation must never answer). */
  vacationReplies: number;
  notes: string[];
  problems: string[];
}

export interface SieveProbe {
  server: SieveServerName;
  /** kind of message -> "Folder [flags]" */
  placed: Record<string, string>;
}

export interface SieveFigures {
  options: SieveBenchOptions;
  runs: SieveRun[];
  probes: SieveProbe[];
  errors: string[];
  skipped: string[];
}

const PASSWORD = 'bench-Secret-42';
const PROBE_ACCOUNT = 'probe';

/** The relay both servers' vacation goes to: it only counts. */
async function countingRelay(): Promise<{ port: number; count: () => number; close: () => Promise<void> }> {
  let received = 0;
  const smtp = new SMTPServer({
    authOptional: true,
    disabledCommands: ['AUTH', 'STARTTLS'],
    logger: false,
    onData(stream, _session, callback) {
      stream.on('data', () => {});
      stream.on('end', () => {
        received++;
        callback();
      });
    },
  });
  await new Promise<void>((resolve) => smtp.listen(0, '127.0.0.1', resolve));
  const port = (smtp.server.address() as { port: number }).port;
  return { port, count: () => received, close: () => new Promise((resolve) => smtp.close(() => resolve())) };
}

/** Maildir info letters -> IMAP flags; keywords by the folder's dovecot-keywords (letters a-z). */
async function flagsOf(folderDir: string, info: string): Promise<string[]> {
  const system: Record<string, string> = { D: '\\Draft', F: '\\Flagged', R: '\\Answered', S: '\\Seen', T: '\\Deleted' };
  const keywords = (await readFile(join(folderDir, 'dovecot-keywords'), 'utf8').catch(() => ''))
    .split('\n')
    .map((l) => /^(\d+) (.+)$/.exec(l))
    .filter((m) => m !== null);
  const out: string[] = [];
  for (const ch of info) {
    if (system[ch]) out.push(system[ch]);
    else if (ch >= 'a' && ch <= 'z') out.push(keywords.find((m) => Number(m![1]) === ch.charCodeAt(0) - 97)?.[2] ?? `?${ch}`);
  }
  return out.sort();
}

/** Where each message of the probe account went: folder and flags, by the Message-ID in the file. */
async function probePlacement(maildir: string): Promise<Map<string, string[]>> {
  const found = new Map<string, string[]>();
  const folders = ['', ...(await readdir(maildir)).filter((n) => n.startsWith('.') && n !== '.' && n !== '..')];
  for (const folder of folders) {
    const dir = join(maildir, folder);
    for (const sub of ['new', 'cur']) {
      for (const name of await readdir(join(dir, sub)).catch(() => [] as string[])) {
        const text = await readFile(join(dir, sub, name), 'latin1');
        const id = /^Message-ID: (<[^>]+>)/im.exec(text)?.[1] ?? '?';
        const info = name.includes(':2,') ? name.slice(name.indexOf(':2,') + 3) : '';
        const flags = await flagsOf(dir, info);
        const where = `${folder === '' ? 'INBOX' : folder.slice(1)}${flags.length ? ` ${flags.join(' ')}` : ''}`;
        found.set(id, [...(found.get(id) ?? []), where]);
      }
    }
  }
  return found;
}

async function probe(server: LmtpServer, tree: SieveTree): Promise<SieveProbe> {
  const c = await lmtpSession({ host: '127.0.0.1', port: server.port });
  const messages = benchMessages();
  for (const m of messages) await deliverOne(c, m.sender, `${PROBE_ACCOUNT}@${SIEVE_DOMAIN}`, dotStuffed(m.text));
  c.close();
  const placed = await probePlacement(join(tree.home(PROBE_ACCOUNT), 'Maildir'));
  const out: Record<string, string> = {};
  for (const m of messages) {
    const id = /^Message-ID: (<[^>]+>)/im.exec(m.text)![1];
    out[m.kind] = (placed.get(id) ?? ['(nowhere)']).sort().join(', ');
  }
  return { server: server.name, placed: out };
}

async function timedRun(
  server: LmtpServer,
  scripts: boolean,
  o: SieveBenchOptions,
  recipients: string[],
  relay: { count: () => number },
): Promise<SieveRun> {
  const messages = benchMessages().map((m) => ({ sender: m.sender, wire: dotStuffed(m.text) }));
  let cpuStart = 0;
  let cpuEnd = 0;
  let relayStart = 0;
  let relayEnd = 0;
  const load = await runLmtpLoad({ host: '127.0.0.1', port: server.port }, o, recipients, messages, {
    started: () => {
      cpuStart = treeCpuSeconds(server.pid);
      relayStart = relay.count();
    },
    ended: () => {
      cpuEnd = treeCpuSeconds(server.pid);
      relayEnd = relay.count();
    },
  });
  const serverCpuSeconds = cpuEnd - cpuStart;
  return {
    server: server.name,
    scripts,
    load,
    serverCpuSeconds,
    cpuMsPerDelivery: load.deliveries > 0 ? (serverCpuSeconds * 1000) / load.deliveries : 0,
    perCore: serverCpuSeconds > 0 ? load.deliveries / serverCpuSeconds : 0,
    vacationReplies: relayEnd - relayStart,
    notes: server.notes,
    problems: await server.problems(),
  };
}

/** The whole part: for each server a fresh tree in `root`, the baseline run, then the run with scripts. */
export async function runSieveBench(root: string, o: SieveBenchOptions): Promise<SieveFigures> {
  const figures: SieveFigures = { options: o, runs: [], probes: [], errors: [], skipped: [] };
  const accounts = Array.from({ length: o.accounts }, (_, i) => `user${i}`);
  const recipients = accounts.map((a) => `${a}@${SIEVE_DOMAIN}`);
  const relay = await countingRelay();
  try {
    for (const name of o.servers) {
      if (name === 'dovecot' && dovecotLmtpUnavailable()) {
        figures.skipped.push(`dovecot: ${dovecotLmtpUnavailable()}`);
        continue;
      }
      const dir = join(root, `sieve-${name}`);
      try {
        process.stderr.write(`sieve, ${name}: ${o.accounts} accounts and their folders\n`);
        const all = [...accounts, PROBE_ACCOUNT];
        const tree = name === 'postern' ? await preparePostern(dir, all, PASSWORD) : await prepareDovecot(dir, all, PASSWORD);
        for (const scripts of [false, true]) {
          await placeScripts(tree, scripts);
          const start = name === 'postern' ? startPosternLmtp : startDovecotLmtp;
          const server = await start(tree, { withScripts: scripts, clients: o.clients, relayPort: relay.port, profileDir: o.profileDir });
          try {
            if (scripts) figures.probes.push(await probe(server, tree));
            const run = await timedRun(server, scripts, o, recipients, relay);
            figures.runs.push(run);
            process.stderr.write(
              `sieve, ${name}, ${scripts ? 'with scripts' : 'baseline (no script)'}: ${run.load.perSecond.toFixed(0)} deliveries/s, ` +
                `${run.cpuMsPerDelivery.toFixed(2)} ms CPU each, ${run.load.failures.count} failures\n`,
            );
          } finally {
            await server.stop();
          }
        }
      } catch (err) {
        figures.errors.push(`${name}: ${(err as Error).message}`);
        process.stderr.write(`sieve, ${name}: ${(err as Error).message}\n`);
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    }
  } finally {
    await relay.close();
  }
  return figures;
}

/** The table, the probe and the verdict. */
export function renderSieve(f: SieveFigures): string {
  const lines = [
    `Sieve at delivery (LMTP, ${f.options.accounts} accounts, ${f.options.clients} concurrent clients, ` +
      `${f.options.durationMs / 1000} s measured after ${f.options.warmupMs / 1000} s warm-up; 20-rule user script + site-wide spam rule)`,
    '',
  ];
  const header = ['server', 'scripts', 'deliveries/s', 'server CPU ms/delivery', 'deliveries per CPU-s', 'failures', 'vacation replies'];
  const rows = f.runs.map((r) => [
    r.server,
    r.scripts ? 'user + spam rule' : 'none (baseline)',
    r.load.perSecond.toFixed(0),
    r.cpuMsPerDelivery.toFixed(3),
    r.perCore.toFixed(0),
    String(r.load.failures.count),
    String(r.vacationReplies),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const fmt = (r: string[]) => r.map((c, i) => (i < 2 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  lines.push(fmt(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(fmt));
  for (const scripts of [false, true]) {
    const p = f.runs.find((r) => r.server === 'postern' && r.scripts === scripts);
    const d = f.runs.find((r) => r.server === 'dovecot' && r.scripts === scripts);
    if (!p || !d || d.perCore === 0) continue;
    const ratio = p.perCore / d.perCore;
    // a server that does not file as the other does is not doing the same work: no verdict then
    const differ =
      scripts && f.probes.length === 2 && Object.keys(f.probes[0].placed).some((k) => f.probes[0].placed[k] !== f.probes[1].placed[k]);
    lines.push(
      '',
      `${scripts ? 'with scripts' : 'baseline'}: Postern ${ratio.toFixed(2)}x Dovecot's deliveries per core ` +
        `(${(p.load.perSecond / Math.max(d.load.perSecond, 1)).toFixed(2)}x its deliveries/s)` +
        (scripts
          ? ` (target >= 2): ${differ ? 'NOT JUDGED (the servers filed differently: see below)' : ratio >= 2 ? 'PASS' : 'FAIL'}`
          : ''),
    );
  }
  if (f.probes.length > 0) {
    lines.push('', 'where each kind of message went (probe account, one delivery each):');
    const kinds = Object.keys(f.probes[0].placed);
    for (const kind of kinds) {
      const places = f.probes.map((p) => `${p.server}: ${p.placed[kind]}`);
      const same = new Set(f.probes.map((p) => p.placed[kind])).size === 1;
      lines.push(`  ${kind.padEnd(18)} ${places.join('   ')}${same || f.probes.length === 1 ? '' : '   DIFFERENT'}`);
    }
  }
  for (const r of f.runs) {
    for (const n of r.notes) lines.push(`config ${r.server}: ${n}`);
    for (const e of r.load.failures.first) lines.push(`failure ${r.server}: ${e}`);
    for (const p of r.problems.slice(0, 5)) lines.push(`logged by ${r.server}: ${p}`);
  }
  for (const s of f.skipped) lines.push(`skipped ${s}`);
  for (const e of f.errors) lines.push(`error ${e}`);
  return lines.join('\n');
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      accounts: { type: 'string' },
      clients: { type: 'string' },
      duration: { type: 'string' },
      warmup: { type: 'string' },
      only: { type: 'string' },
      profile: { type: 'string' },
    },
  });
  const servers: SieveServerName[] = values.only ? [values.only as SieveServerName] : ['postern', 'dovecot'];
  const o: SieveBenchOptions = {
    accounts: Number(values.accounts ?? 20),
    clients: Number(values.clients ?? 8),
    durationMs: Number(values.duration ?? 10) * 1000,
    warmupMs: Number(values.warmup ?? 2) * 1000,
    servers,
    profileDir: values.profile ?? null,
  };
  installCleanupHooks();
  const root = trackDir(await mkdtemp(join(tmpdir(), 'postern-sieve-bench-')));
  let figures: SieveFigures;
  try {
    figures = await runSieveBench(root, o);
  } finally {
    await rm(root, { recursive: true, force: true });
    untrackDir(root);
  }
  process.stdout.write(`${renderSieve(figures)}\n${JSON.stringify(figures)}\n`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().then(
    () => process.exit(0),
    (err: Error) => {
      process.stderr.write(`sieve bench failed: ${err.stack ?? err.message}\n`);
      process.exit(1);
    },
  );
}
