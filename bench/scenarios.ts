// The scenarios, run the same way against each server. Every figure comes from a load generator
// process (load.ts); the server's CPU and memory come from /proc (proc.ts).
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Options } from './options.js';
import { allCpus, type Pinning, pinTree, retrPinning } from './affinity.js';
import { type Generator, startGenerator } from './generator.js';
import { type Memory, treeCpuSeconds, treeMemory } from './proc.js';
import type { CpuSeconds, Credentials, Failures, HoldResult, RetrResult, SessionsResult, StatTimeResult, Target } from './protocol.js';
import type { BenchServer, ServerName } from './server.js';

export interface GeneratorCpu {
  /** user + system seconds of the generator process(es) while measuring. */
  seconds: number;
  /** The same as a share of one core over the measured wall time. */
  ofOneCore: number;
}

export interface SessionsFigures {
  label: string;
  tls: boolean;
  /** Negotiated TLS version and cipher. */
  cipher: string | null;
  concurrency: number;
  sessions: number;
  seconds: number;
  perSecond: number;
  failures: Failures;
  generatorCpu: GeneratorCpu;
  /** Scenario e: server CPU seconds (user + system, whole process tree) during the measured window. */
  serverCpuSeconds: number;
  serverCpuPer1000Sessions: number;
}

export interface RetrFigures {
  account: string;
  messages: number;
  /** Where generator and server ran; null: wherever the scheduler put them. */
  pinning: Pinning | null;
  passes: { messages: number; octets: number; seconds: number; mbPerSecond: number; failures: Failures; generatorCpu: GeneratorCpu }[];
  /** MB/s (10^6 octets per second) of the first download (the one that sets the Seen flags). */
  first: number | null;
  /** Median MB/s over all passes: the figure judged against the target (a single pass is noisy). */
  median: number | null;
}

export interface LoginFigures {
  account: string;
  messages: number;
  firstMs: number | null;
  secondMs: number | null;
  stat: string;
  failures: Failures;
  generatorCpu: GeneratorCpu;
}

export interface IdleFigures {
  wanted: number;
  opened: number;
  openSeconds: number;
  before: Memory;
  after: Memory;
  /** The reading after each generator's share was open. */
  stages: { sessions: number; memory: Memory }[];
  /** (after - before) / opened: the figure judged against the target. */
  rssPerSessionKiB: number;
  pssPerSessionKiB: number;
  /** The same over the last share only (null with one generator). */
  marginal: { sessions: number; rssPerSessionKiB: number; pssPerSessionKiB: number } | null;
  failures: Failures;
  generatorCpu: GeneratorCpu;
}

export interface ServerResults {
  name: ServerName;
  notes: string[];
  setupSeconds: number;
  login?: LoginFigures;
  sessions: SessionsFigures[];
  retrSmall?: RetrFigures;
  retrLarge?: RetrFigures;
  idle?: IdleFigures;
  /** Errors and warnings the server printed or logged. */
  problems: string[];
  /** Scenarios that could not be run to their end. */
  errors: string[];
}

const cpuTotal = (c: CpuSeconds) => c.user + c.system;
const genCpu = (c: CpuSeconds, wallSeconds: number): GeneratorCpu => ({
  seconds: cpuTotal(c),
  ofOneCore: wallSeconds > 0 ? cpuTotal(c) / wallSeconds : 0,
});
const MB = 1e6;

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

/** `count` loopback addresses 127.0.NET.1, 127.0.NET.2, ... (at most 250 per NET). */
function sourceAddresses(net: number, count: number): string[] {
  return Array.from({ length: Math.min(count, 250) }, (_, i) => `127.0.${net}.${i + 1}`);
}

function log(line: string): void {
  process.stderr.write(`  ${line}\n`);
}

/** Scenario c: connect -> STAT answer on the huge mailbox; the first login right after the server started. */
async function logins(target: Target, login: Credentials, messages: number): Promise<LoginFigures> {
  const results: StatTimeResult[] = [];
  for (let i = 0; i < 2; i++) {
    const r = (await startGenerator({ kind: 'stat-time', target, login, timeoutMs: 300_000 }, 330_000).result) as StatTimeResult;
    results.push(r);
  }
  const ok = (r: StatTimeResult) => (r.failures.count === 0 ? r.ms : null);
  const wall = results.reduce((s, r) => s + r.ms / 1000, 0);
  return {
    account: login.user,
    messages,
    firstMs: ok(results[0]),
    secondMs: ok(results[1]),
    stat: results[1].stat || results[0].stat,
    failures: mergeFailures(results.map((r) => r.failures)),
    generatorCpu: genCpu(
      { user: results.reduce((s, r) => s + r.cpu.user, 0), system: results.reduce((s, r) => s + r.cpu.system, 0) },
      wall,
    ),
  };
}

/** Scenarios a and e: sessions per second, and the server's CPU during the measured window. */
export async function sessions(
  server: BenchServer,
  tls: boolean,
  concurrency: number,
  login: Credentials,
  o: Options,
): Promise<SessionsFigures> {
  const target = tls ? server.tls : server.clear;
  let cpuStart = 0;
  let cpuEnd = 0;
  const r = (await startGenerator(
    {
      kind: 'sessions',
      target,
      login,
      concurrency,
      warmupMs: o.warmupMs,
      durationMs: o.durationMs,
      sources: sourceAddresses(1, concurrency),
    },
    o.warmupMs + o.durationMs + 90_000,
    (phase) => {
      if (phase === 'start') cpuStart = treeCpuSeconds(server.pid);
      else cpuEnd = treeCpuSeconds(server.pid);
    },
  ).result) as SessionsResult;
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

/** Reads every message file of a Maildir once, so that it is in the page cache. */
function warmPageCache(maildir: string): void {
  for (const sub of ['new', 'cur']) {
    for (const name of readdirSync(join(maildir, sub))) readFileSync(join(maildir, sub, name));
  }
}

/**
 * Scenario b: RETR every message of a mailbox in one session, `passes` times, with the generator and
 * the server's processes on separate cores when the machine allows it (see affinity.ts).
 */
async function retr(server: BenchServer, login: Credentials, messages: number, passes: number): Promise<RetrFigures> {
  const done: RetrFigures['passes'] = [];
  // This machine pages out file data untouched for about half a minute (DAMON "pageout"), so without
  // this the first pass would read from disk or from memory depending on timing.
  warmPageCache(server.maildir(login.user));
  const pinning = retrPinning();
  if (pinning) pinTree(server.pid, pinning.serverCpu);
  try {
    for (let i = 0; i < passes; i++) {
      const r = (await startGenerator({ kind: 'retr', target: server.clear, login }, 600_000, undefined, pinning?.generatorCpu)
        .result) as RetrResult;
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
 * Scenario d: server memory per idle signed-in session. The server is restarted first, so that the
 * "before" reading is not a heap still holding (or about to release) what earlier scenarios left.
 */
async function idle(server: BenchServer, logins: Credentials[], o: Options): Promise<IdleFigures> {
  await server.restart();
  const hold = (count: number, i: number, openConcurrency = 32) =>
    startGenerator({ kind: 'hold', target: server.clear, logins, count, openConcurrency, sources: sourceAddresses(10 + i, 250) }, 900_000);
  // Warm-up: every account signs in once (two at a time), so that the first sign-in of each — its
  // password hash, and for Postern the scrypt working memory (16 MiB) that the C library keeps in the
  // arena of the thread that ran it — lands in the baseline, not in the per-session figure.
  const warmUp = hold(logins.length, 0, 2);
  await warmUp.held;
  warmUp.release();
  await warmUp.result;
  await new Promise((r) => setTimeout(r, 1000));

  const before = treeMemory(server.pid);
  // The generators open their shares one after the other, with a reading after each: the last share
  // gives the marginal cost of a session, free of fixed costs such as the heap growing its young space.
  const share = Math.ceil(o.idleSessions / o.idleProcesses);
  const generators: Generator[] = [];
  const held: HoldResult[] = [];
  const stages: IdleFigures['stages'] = [];
  try {
    for (let i = 0; i < o.idleProcesses; i++) {
      const g = hold(Math.max(0, Math.min(share, o.idleSessions - i * share)), i);
      generators.push(g);
      held.push(await g.held);
      // Let the server finish whatever follows the last STAT (Dovecot: process bookkeeping).
      await new Promise((r) => setTimeout(r, 2000));
      stages.push({ sessions: held.reduce((n, h) => n + h.opened, 0), memory: treeMemory(server.pid) });
    }
    const after = stages[stages.length - 1].memory;
    const opened = stages[stages.length - 1].sessions;
    const openSeconds = held.reduce((n, h) => n + h.seconds, 0);
    let marginal: IdleFigures['marginal'] = null;
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
      wanted: o.idleSessions,
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

/** Runs every scenario against a server that has just started on a fresh tree. */
export async function runScenarios(server: BenchServer, o: Options, password: string): Promise<ServerResults> {
  const m = o.mailboxes;
  const cred = (account: string): Credentials => ({ user: account, password });
  const results: ServerResults = {
    name: server.name,
    notes: server.notes,
    setupSeconds: server.setupSeconds,
    sessions: [],
    problems: [],
    errors: [],
  };

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
    log(`${what}: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  };

  // c first: the first login must find a server that just started on a tree never opened.
  await step(`login to ${m.huge.messages} messages`, async () => {
    results.login = await logins(server.clear, cred(m.huge.account), m.huge.messages);
    log(`first ${results.login.firstMs?.toFixed(0)} ms, second ${results.login.secondMs?.toFixed(0)} ms (${results.login.stat})`);
  });
  for (const tls of [false, true]) {
    for (const c of [1, o.concurrency]) {
      await step(`sessions ${tls ? 'TLS' : 'clear'} c=${c}`, async () => {
        const s = await sessions(server, tls, c, cred(m.session.account), o);
        results.sessions.push(s);
        log(
          `${s.perSecond.toFixed(0)} sessions/s, ${s.failures.count} failures, server CPU ${s.serverCpuPer1000Sessions.toFixed(2)} ` +
            `s/1000 sessions`,
        );
      });
    }
  }
  await step(`RETR ${m.retrSmall.messages} x ${m.retrSmall.size / 1024} KB`, async () => {
    results.retrSmall = await retr(server, cred(m.retrSmall.account), m.retrSmall.messages, o.retrPasses);
    log(`MB/s by pass: ${results.retrSmall.passes.map((p) => p.mbPerSecond.toFixed(1)).join(', ')}`);
  });
  await step(`RETR ${m.retrLarge.messages} x ${m.retrLarge.size / 1024 / 1024} MB`, async () => {
    results.retrLarge = await retr(server, cred(m.retrLarge.account), m.retrLarge.messages, o.retrPasses);
    log(`MB/s by pass: ${results.retrLarge.passes.map((p) => p.mbPerSecond.toFixed(1)).join(', ')}`);
  });
  // d last: it restarts the server.
  await step(`${o.idleSessions} idle sessions`, async () => {
    results.idle = await idle(
      server,
      m.idle.map((i) => cred(i.account)),
      o,
    );
    log(`${results.idle.opened} open, ${results.idle.rssPerSessionKiB.toFixed(1)} KiB RSS per session`);
  });
  results.problems = await server.problems();
  return results;
}
