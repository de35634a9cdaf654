// The IMAP scenarios, run the same way against each server's IMAP listeners, after the POP3 ones (or
// alone with --protocols imap). Every figure comes from an IMAP load generator process (imap-load.ts);
// the server's CPU and memory come from /proc (proc.ts), as in scenarios.ts:
//   1. sign-ins per second: connect, LOGIN, SELECT INBOX, LOGOUT; clear and implicit TLS, 1 and N clients
//   2. SELECT of the 100,000-message mailbox: the first one on a freshly started server (and a tree
//      never opened: no index), a second one, and UID FETCH 1:* (UID FLAGS)
//   3. FETCH n BODY[] of every message, one at a time: MB/s for 5 KB and 10 MB messages
//   4. memory per idle session: signed in, INBOX selected, in IDLE
//   5. the mixed load of 10 and 50 clients on ten users and on one (imap-mix-scenario.ts)
//   6. IDLE fan-out: how soon thousands of sessions watching one INBOX hear of a new message (Postern only)
//   7. QRESYNC resync of the 100,000-message mailbox after 100 flag changes and 10 expunges (imap-resync-scenario.ts)
//   8. SORT (DATE) and THREAD REFERENCES of a 100,000-message mailbox of threads, after one SELECT (sort-scenario.ts)
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { allCpus, type Pinning, pinTree, retrPinning } from './affinity.js';
import { dovecotImapAvailable } from './dovecot.js';
import { waitForImapGreeting } from './imap-client.js';
import { type ImapGenerator, startImapGenerator } from './imap-generator.js';
import type { ImapFetchBodiesResult, ImapHoldResult, ImapSelectTimeResult, ImapSessionsResult } from './imap-protocol.js';
import { type ImapCompressFigures, runCompressIdle } from './imap-compress-scenario.js';
import { type ImapMixFigures, MIX_RUNS, runMix } from './imap-mix-scenario.js';
import { type ImapWatchFigures, runWatch } from './imap-watch-scenario.js';
import { type ImapResyncFigures, runResync } from './imap-resync-scenario.js';
import { runSortScenario, type SortFigures, writeThreadedMailbox } from './sort-scenario.js';
import type { ImapPart, Options } from './options.js';
import { type Memory, treeCpuSeconds, treeMemory } from './proc.js';
import type { CpuSeconds, Credentials, Failures } from './protocol.js';
import type { GeneratorCpu, SessionsFigures } from './scenarios.js';
import type { BenchServer, ServerName } from './server.js';

export interface ImapSelectFigures {
  account: string;
  messages: number;
  /** dovecot.index* files removed from the mailbox before the first SELECT (0 on a tree never opened). */
  indexFilesRemoved: number;
  /** The session right after the server (re)started. */
  first: ImapSelectTimeResult;
  /** The next session. */
  second: ImapSelectTimeResult;
  firstSelectMs: number | null;
  secondSelectMs: number | null;
  /** Median over the second session's UID FETCH 1:* (UID FLAGS) runs. */
  uidFetchMs: number | null;
}

export interface ImapFetchFigures {
  account: string;
  messages: number;
  pinning: Pinning | null;
  passes: { messages: number; octets: number; seconds: number; mbPerSecond: number; failures: Failures; generatorCpu: GeneratorCpu }[];
  first: number | null;
  median: number | null;
}

export interface ImapIdleFigures {
  wanted: number;
  opened: number;
  openSeconds: number;
  before: Memory;
  after: Memory;
  stages: { sessions: number; memory: Memory }[];
  rssPerSessionKiB: number;
  pssPerSessionKiB: number;
  marginal: { sessions: number; rssPerSessionKiB: number; pssPerSessionKiB: number } | null;
  failures: Failures;
  generatorCpu: GeneratorCpu;
}

export interface ImapServerResults {
  name: ServerName;
  notes: string[];
  /** Errors and warnings the server printed or logged by the end of the IMAP scenarios (POP3's included). */
  problems: string[];
  sessions: SessionsFigures[];
  select?: ImapSelectFigures;
  fetchSmall?: ImapFetchFigures;
  fetchLarge?: ImapFetchFigures;
  idle?: ImapIdleFigures;
  /** Scenario 7: idle sessions plain and with COMPRESS=DEFLATE (imap-compress-scenario.ts). */
  compress?: ImapCompressFigures;
  mix: ImapMixFigures[];
  watch?: ImapWatchFigures;
  resync?: ImapResyncFigures;
  /** Scenario 8: SORT (DATE) and THREAD REFERENCES (sort-scenario.ts). */
  sort?: SortFigures;
  errors: string[];
}

const cpuTotal = (c: CpuSeconds) => c.user + c.system;
const genCpu = (c: CpuSeconds, wallSeconds: number): GeneratorCpu => ({
  seconds: cpuTotal(c),
  ofOneCore: wallSeconds > 0 ? cpuTotal(c) / wallSeconds : 0,
});
const MB = 1e6;
const UID_FETCHES = 3;
/** Repeats of each SORT and THREAD command after its first run (the median is judged). */
const SORT_RUNS = 5;

function median(values: number[]): number | null {
  if (values.length === 0) return null;
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

function mergeFailures(list: Failures[]): Failures {
  const samples = [...new Set(list.flatMap((f) => f.samples))].slice(0, 5);
  return { count: list.reduce((n, f) => n + f.count, 0), samples };
}

/** `count` loopback addresses 127.0.NET.1, ... (at most 250); the IMAP runs use NET 20 and up. */
function sourceAddresses(net: number, count: number): string[] {
  return Array.from({ length: Math.min(count, 250) }, (_, i) => `127.0.${net}.${i + 1}`);
}

function log(line: string): void {
  process.stderr.write(`  ${line}\n`);
}

async function restart(server: BenchServer): Promise<void> {
  await server.restart();
  await waitForImapGreeting(server.imap.clear, 30_000, server.exited);
  await waitForImapGreeting(server.imap.tls, 30_000, server.exited);
}

/** Removes Dovecot's index files (dovecot.index, .index.log, .index.cache ...) from a Maildir; returns how many. */
function removeIndexFiles(maildir: string): number {
  let n = 0;
  for (const name of readdirSync(maildir)) {
    if (name.startsWith('dovecot.index')) {
      rmSync(join(maildir, name), { force: true });
      n++;
    }
  }
  return n;
}

/** Scenario 2: SELECT of the huge mailbox, first on a fresh process, then again, with UID FETCH 1:* (UID FLAGS). */
async function select(server: BenchServer, login: Credentials, messages: number): Promise<ImapSelectFigures> {
  const indexFilesRemoved = removeIndexFiles(server.maildir(login.user));
  await restart(server);
  const run = async (fetches: number) =>
    (await startImapGenerator({ kind: 'imap-select-time', target: server.imap.clear, login, fetches, timeoutMs: 300_000 }, 330_000)
      .result) as ImapSelectTimeResult;
  const first = await run(1);
  const second = await run(UID_FETCHES);
  const ok = (r: ImapSelectTimeResult) => r.failures.count === 0 && r.exists === messages;
  const full = (r: ImapSelectTimeResult) => r.fetches.every((f) => f.responses === messages);
  return {
    account: login.user,
    messages,
    indexFilesRemoved,
    first,
    second,
    firstSelectMs: ok(first) ? first.selectMs : null,
    secondSelectMs: ok(second) ? second.selectMs : null,
    uidFetchMs: ok(second) && full(second) ? median(second.fetches.map((f) => f.ms)) : null,
  };
}

/** Scenario 1: sign-ins per second, and the server's CPU during the measured window. */
async function sessions(server: BenchServer, tls: boolean, concurrency: number, login: Credentials, o: Options): Promise<SessionsFigures> {
  const target = tls ? server.imap.tls : server.imap.clear;
  let cpuStart = 0;
  let cpuEnd = 0;
  const r = (await startImapGenerator(
    {
      kind: 'imap-sessions',
      target,
      login,
      concurrency,
      warmupMs: o.warmupMs,
      durationMs: o.durationMs,
      sources: sourceAddresses(20, concurrency),
    },
    o.warmupMs + o.durationMs + 90_000,
    (phase) => {
      if (phase === 'start') cpuStart = treeCpuSeconds(server.pid);
      else cpuEnd = treeCpuSeconds(server.pid);
    },
  ).result) as ImapSessionsResult;
  const serverCpuSeconds = cpuEnd - cpuStart;
  return {
    label: `${tls ? 'TLS' : 'clear'} c=${concurrency}`,
    tls,
    cipher: r.tls,
    concurrency,
    sessions: r.sessions,
    seconds: r.seconds,
    perSecond: r.sessions / r.seconds,
    failures: r.failures,
    generatorCpu: genCpu(r.cpu, r.seconds),
    serverCpuSeconds,
    serverCpuPer1000Sessions: r.sessions > 0 ? (serverCpuSeconds / r.sessions) * 1000 : 0,
  };
}

/** Reads every message file of a Maildir once, so that it is in the page cache (as scenarios.ts does for RETR). */
function warmPageCache(maildir: string): void {
  for (const sub of ['new', 'cur']) {
    for (const name of readdirSync(join(maildir, sub))) readFileSync(join(maildir, sub, name));
  }
}

/** Scenario 3: FETCH n BODY[] of every message, `passes` times, pinned as the RETR runs are (affinity.ts). */
async function fetchBodies(server: BenchServer, login: Credentials, messages: number, passes: number): Promise<ImapFetchFigures> {
  const done: ImapFetchFigures['passes'] = [];
  warmPageCache(server.maildir(login.user));
  const pinning = retrPinning();
  if (pinning) pinTree(server.pid, pinning.serverCpu);
  try {
    for (let i = 0; i < passes; i++) {
      const r = (await startImapGenerator(
        { kind: 'imap-fetch-bodies', target: server.imap.clear, login },
        600_000,
        undefined,
        pinning?.generatorCpu,
      ).result) as ImapFetchBodiesResult;
      done.push({
        messages: r.messages,
        octets: r.octets,
        seconds: r.seconds,
        mbPerSecond: r.seconds > 0 ? r.octets / MB / r.seconds : 0,
        failures: r.failures,
        generatorCpu: genCpu(r.cpu, r.seconds),
      });
      if (r.failures.count > 0) break;
    }
  } finally {
    if (pinning) pinTree(server.pid, allCpus());
  }
  const good = done.filter((p) => p.failures.count === 0 && p.messages === messages);
  return {
    account: login.user,
    messages,
    pinning,
    passes: done,
    first: good[0] === done[0] && good.length > 0 ? good[0].mbPerSecond : null,
    median: good.length === done.length ? median(good.map((p) => p.mbPerSecond)) : null,
  };
}

/**
 * Scenario 4: server memory per idle session (signed in, INBOX selected, in IDLE), read as the POP3
 * one is: on a restarted server, after every idle account signed in once, then after each share.
 */
export async function idle(
  server: BenchServer,
  logins: Credentials[],
  total: number,
  o: Options,
  compress = false,
): Promise<ImapIdleFigures> {
  await restart(server);
  const hold = (count: number, i: number, openConcurrency = 32) =>
    startImapGenerator(
      { kind: 'imap-hold', target: server.imap.clear, logins, count, openConcurrency, sources: sourceAddresses(30 + i, 250), compress },
      900_000,
    );
  const warmUp = hold(logins.length, 0, 2);
  await warmUp.held;
  warmUp.release();
  await warmUp.result;
  await new Promise((r) => setTimeout(r, 1000));

  const before = treeMemory(server.pid);
  const share = Math.ceil(total / o.idleProcesses);
  const generators: ImapGenerator[] = [];
  const held: ImapHoldResult[] = [];
  const stages: ImapIdleFigures['stages'] = [];
  try {
    for (let i = 0; i < o.idleProcesses; i++) {
      const g = hold(Math.max(0, Math.min(share, total - i * share)), i);
      generators.push(g);
      held.push(await g.held);
      await new Promise((r) => setTimeout(r, 2000));
      stages.push({ sessions: held.reduce((n, h) => n + h.opened, 0), memory: treeMemory(server.pid) });
    }
    const after = stages[stages.length - 1].memory;
    const opened = stages[stages.length - 1].sessions;
    const openSeconds = held.reduce((n, h) => n + h.seconds, 0);
    let marginal: ImapIdleFigures['marginal'] = null;
    if (stages.length >= 2) {
      const [a, b] = stages.slice(-2);
      const n = b.sessions - a.sessions;
      if (n > 0)
        marginal = {
          sessions: n,
          rssPerSessionKiB: (b.memory.rssKiB - a.memory.rssKiB) / n,
          pssPerSessionKiB: (b.memory.pssKiB - a.memory.pssKiB) / n,
        };
    }
    return {
      wanted: total,
      opened,
      openSeconds,
      before,
      after,
      stages,
      rssPerSessionKiB: opened > 0 ? (after.rssKiB - before.rssKiB) / opened : 0,
      pssPerSessionKiB: opened > 0 ? (after.pssKiB - before.pssKiB) / opened : 0,
      marginal,
      failures: mergeFailures(held.map((h) => h.failures)),
      generatorCpu: genCpu(
        { user: held.reduce((s, h) => s + h.cpu.user, 0), system: held.reduce((s, h) => s + h.cpu.system, 0) },
        openSeconds,
      ),
    };
  } finally {
    for (const g of generators) g.release();
    await Promise.allSettled(generators.map((g) => g.result));
  }
}

/** Runs every IMAP scenario against a running server (after its POP3 scenarios, if any). */
export async function runImapScenarios(server: BenchServer, o: Options, password: string): Promise<ImapServerResults> {
  const m = o.mailboxes;
  const cred = (account: string): Credentials => ({ user: account, password });
  const results: ImapServerResults = { name: server.name, notes: server.notes, problems: [], sessions: [], mix: [], errors: [] };
  if (server.name !== 'postern' && !dovecotImapAvailable()) {
    results.errors.push('Dovecot is installed without its IMAP server (apt-get install dovecot-imapd): IMAP not measured');
    return results;
  }

  const step = async (what: string, fn: () => Promise<void>) => {
    const ended = server.exited();
    if (ended) {
      results.errors.push(`${what}: not run, the server had exited (${ended})`);
      return;
    }
    const t0 = Date.now();
    try {
      await fn();
    } catch (err) {
      results.errors.push(`${what}: ${(err as Error).message}`);
    }
    const after = server.exited();
    if (after) results.errors.push(`${what}: the server exited during this scenario (${after})`);
    log(`IMAP ${what}: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  };

  // 2 first: it restarts the server, so that the first SELECT finds a process that never opened the mailbox.
  const part = (p: ImapPart) => o.imapParts.includes(p);
  if (part('select'))
    await step(`SELECT of ${m.imapHuge.messages} messages`, async () => {
      const s = await select(server, cred(m.imapHuge.account), m.imapHuge.messages);
      results.select = s;
      const f = (x: ImapSelectTimeResult) =>
        `LOGIN ${x.loginMs.toFixed(0)} ms, SELECT ${x.selectMs.toFixed(0)} ms (EXISTS ${x.exists}), UID ` +
        `FETCH ${x.fetches.map((y) => `${y.ms.toFixed(0)} ms/${y.responses}`).join(', ')}` +
        (x.failures.count ? `, FAILED: ${x.failures.samples.join(' | ')}` : '');
      log(`first: ${f(s.first)}; second: ${f(s.second)}; ${s.indexFilesRemoved} dovecot.index* files removed before`);
    });
  // 7 after 2: its flag changes and expunges (of messages it appends first) come after the first SELECT
  if (part('resync'))
    await step(`QRESYNC resync of ${m.imapHuge.messages} messages`, async () => {
      const r = await runResync(server, cred(m.imapHuge.account), m.imapHuge.messages);
      results.resync = r;
      log(
        `QRESYNC SELECT ${r.qresyncSelect.ms.toFixed(1)} ms/${r.qresyncSelect.octets} octets, CHANGEDSINCE ` +
          `${r.changedSince.ms.toFixed(1)} ms/${r.changedSince.octets} octets; plain SELECT ${r.plainSelect.ms.toFixed(1)} ms, ` +
          `UID FETCH 1:* (FLAGS) ${r.fullFetch.ms.toFixed(1)} ms/${r.fullFetch.octets} octets; share ${(r.octetShare * 100).toFixed(2)}%`,
      );
    });
  // 8: the threaded mailbox is written now (the server is running, as a delivery would find it), then sorted
  if (part('sort'))
    await step(`SORT and THREAD of ${m.sort.threaded} messages`, async () => {
      writeThreadedMailbox(server.maildir(m.sort.account), m.sort.threaded);
      const f = await runSortScenario(server, m.sort.account, password, m.sort.threaded, SORT_RUNS);
      results.sort = f;
      log(
        `SELECT ${f.selectMs.toFixed(0)} ms; ` +
          f.commands.map((c) => `${c.command}: first ${c.firstMs.toFixed(0)} ms, then ${c.medianMs.toFixed(1)} ms`).join('; '),
      );
    });
  for (const tls of part('sessions') ? [false, true] : []) {
    for (const c of [1, o.concurrency]) {
      await step(`sessions ${tls ? 'TLS' : 'clear'} c=${c}`, async () => {
        const s = await sessions(server, tls, c, cred(m.session.account), o);
        results.sessions.push(s);
        log(
          `${s.perSecond.toFixed(0)} sessions/s, ${s.failures.count} ` +
            `failures${s.failures.count ? ` (${s.failures.samples.join(' | ')})` : ''}, server ` +
            `CPU ${s.serverCpuPer1000Sessions.toFixed(2)} s/1000 sessions`,
        );
      });
    }
  }
  if (part('fetch'))
    await step(`FETCH BODY[] ${m.retrSmall.messages} x ${m.retrSmall.size / 1024} KB`, async () => {
      results.fetchSmall = await fetchBodies(server, cred(m.retrSmall.account), m.retrSmall.messages, o.retrPasses);
      log(
        `MB/s by pass: ${results.fetchSmall.passes.map((p) => p.mbPerSecond.toFixed(1)).join(', ')}` +
          failureText(mergeFailures(results.fetchSmall.passes.map((p) => p.failures))),
      );
    });
  if (part('fetch'))
    await step(`FETCH BODY[] ${m.retrLarge.messages} x ${m.retrLarge.size / 1024 / 1024} MB`, async () => {
      results.fetchLarge = await fetchBodies(server, cred(m.retrLarge.account), m.retrLarge.messages, o.retrPasses);
      log(
        `MB/s by pass: ${results.fetchLarge.passes.map((p) => p.mbPerSecond.toFixed(1)).join(', ')}` +
          failureText(mergeFailures(results.fetchLarge.passes.map((p) => p.failures))),
      );
    });
  // (Postern with --mix-workers > 1: restarted with them for the mixed load, then as before)
  const mixWorkers = server.name === 'postern' && part('mix') ? o.mixWorkers : 1;
  if (mixWorkers > 1) {
    await server.restart({ workers: mixWorkers });
    results.notes = [...results.notes, `mixed load: ${mixWorkers} worker processes (--mix-workers)`];
  }
  for (const run of part('mix') ? MIX_RUNS : []) {
    await step(`mixed load c=${run.clients} users=${run.users}`, async () => {
      const f = await runMix(server, o, password, run.clients, run.users);
      results.mix.push(f);
      log(
        `${f.perSecond.toFixed(0)} operations/s (${f.sessions} sessions, ${f.refused} NO), server ` +
          `CPU ${f.serverCpuPer1000Operations.toFixed(2)} s/1000 operations${failureText(f.failures)}`,
      );
    });
  }
  if (mixWorkers > 1) await server.restart();
  // 4 last: it restarts the server.
  if (part('idle'))
    await step(`${o.imapIdleSessions} idle sessions in IDLE`, async () => {
      results.idle = await idle(
        server,
        m.idle.map((i) => cred(i.account)),
        o.imapIdleSessions,
        o,
      );
      log(
        `${results.idle.opened} open, ${results.idle.rssPerSessionKiB.toFixed(1)} KiB RSS per session${failureText(results.idle.failures)}`,
      );
    });
  if (part('compress'))
    await step(`${o.imapIdleSessions} idle sessions, plain and with COMPRESS=DEFLATE`, async () => {
      const f = await runCompressIdle(
        server,
        m.idle.map((i) => cred(i.account)),
        o.imapIdleSessions,
        o,
      );
      results.compress = f;
      log(
        `${f.plain.opened} plain: ${f.plain.rssPerSessionKiB.toFixed(1)} KiB RSS per session; ${f.compressed.opened} compressed: ` +
          `${f.rssPerSessionKiB.toFixed(1)} KiB (compression adds ${f.addedPerSessionKiB.toFixed(1)})` +
          failureText({
            count: f.plain.failures.count + f.compressed.failures.count,
            samples: [...f.plain.failures.samples, ...f.compressed.failures.samples],
          }),
      );
    });
  if (part('watch') && server.name === 'postern') {
    await step(`IDLE fan-out: ${o.watchers} of ${o.watchSessions} sessions watch one INBOX`, async () => {
      const w = await runWatch(server, o, password);
      results.watch = w;
      const ms = (v: number | null) => (v === null ? 'not all told' : `${v.toFixed(0)} ms`);
      log(
        `${w.opened} open (${w.watchersOpened} watching) in ${w.openSeconds.toFixed(1)} s; ${w.told} told; p50 ${ms(w.p50Ms)}, ` +
          `p99 ${ms(w.p99Ms)}, max ${ms(w.maxMs)}${failureText(w.failures)}`,
      );
    });
  }
  results.problems = await server.problems();
  return results;
}

export function failureText(f: { count: number; samples: string[] }): string {
  return f.count > 0 ? `; ${f.count} FAILURES: ${f.samples.join(' | ')}` : '';
}
