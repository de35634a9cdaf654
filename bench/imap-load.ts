// The IMAP load generator: a separate Node process (forked by imap-generator.ts) that runs one job
// against one IMAP server over raw sockets and reports its result with its own CPU time, as load.ts
// does for POP3. Every loop is bounded: by the measured window, by the mailbox's message count, or by
// the number of sessions asked for; every command by a timeout.
import type { CpuSeconds, Credentials, Failures } from './protocol.js';
import type {
  ImapCommand,
  ImapFetchBodiesResult,
  ImapHoldResult,
  ImapJob,
  ImapJobResult,
  ImapMixResult,
  ImapReport,
  ImapWatchResult,
  ImapSelectTimeResult,
  ImapSessionsResult,
} from './imap-protocol.js';
import { ImapClient } from './imap-client.js';
import { type MixClientState, mixSession, seeded } from './imap-mix.js';
import { MeasuredWindow } from './window.js';

const COMMAND_TIMEOUT_MS = 30_000;
/** FETCH BODY[] of a mailbox: never more messages than this, whatever EXISTS said. */
const MAX_FETCH_MESSAGES = 1_000_000;

function send(report: ImapReport, then?: () => void): void {
  process.send?.(report, undefined, {}, () => then?.());
}

function cpuSince(start: NodeJS.CpuUsage): CpuSeconds {
  const d = process.cpuUsage(start);
  return { user: d.user / 1e6, system: d.system / 1e6 };
}

function failures(): Failures & { add(err: unknown): void } {
  return {
    count: 0,
    samples: [],
    add(err: unknown) {
      this.count++;
      const message = err instanceof Error ? err.message : String(err);
      if (this.samples.length < 5 && !this.samples.includes(message)) this.samples.push(message);
    },
  };
}

const plain = (f: Failures): Failures => ({ count: f.count, samples: f.samples });
const now = () => process.hrtime.bigint();
const msSince = (t: bigint) => Number(now() - t) / 1e6;

function existsOf(lines: string[]): number | null {
  for (const l of lines) {
    const m = /^\* (\d+) EXISTS/i.exec(l);
    if (m) return Number(m[1]);
  }
  return null;
}

/** Sign-ins per second; only sessions that end inside the measured window count. */
async function sessions(job: Extract<ImapJob, { kind: 'imap-sessions' }>): Promise<ImapSessionsResult> {
  const failed = failures();
  const window = new MeasuredWindow(job.warmupMs, job.durationMs, (phase) => send({ kind: 'window', phase }));
  let counted = 0;
  let tls: string | null = null;
  const loop = async (worker: number) => {
    const source = job.sources[worker % job.sources.length];
    while (window.running) {
      if (Date.now() >= window.start) window.open();
      let c: ImapClient | null = null;
      try {
        c = await ImapClient.connect(job.target, COMMAND_TIMEOUT_MS, source);
        tls ??= c.tlsInfo();
        await c.login(job.login.user, job.login.password);
        await c.ok('SELECT INBOX');
        await c.logout();
        if (window.contains()) counted++;
      } catch (err) {
        failed.add(err);
        c?.destroy();
        await new Promise((r) => setTimeout(r, 10)); // a refusing server must not turn this into a busy loop
      }
    }
  };
  await Promise.all(Array.from({ length: job.concurrency }, (_, i) => loop(i)));
  const cpu = window.finish();
  return { kind: 'imap-sessions', tls, sessions: counted, seconds: job.durationMs / 1000, failures: plain(failed), cpu };
}

/** FETCH n BODY[] of every message in one session, one command at a time. */
async function fetchBodies(job: Extract<ImapJob, { kind: 'imap-fetch-bodies' }>): Promise<ImapFetchBodiesResult> {
  const failed = failures();
  const cpuStart = process.cpuUsage();
  let octets = 0;
  let messages = 0;
  let elapsed = 0;
  try {
    const c = await ImapClient.connect(job.target, COMMAND_TIMEOUT_MS);
    await c.login(job.login.user, job.login.password);
    const count = existsOf((await c.ok('SELECT INBOX', true)).lines);
    if (count === null) throw new Error('SELECT INBOX: no EXISTS');
    const t0 = now();
    for (let n = 1; n <= Math.min(count, MAX_FETCH_MESSAGES); n++) {
      const a = await c.ok(`FETCH ${n} BODY[]`);
      if (a.untagged < 1) throw new Error(`FETCH ${n} BODY[]: no FETCH response`);
      octets += a.octets;
      messages++;
    }
    await c.logout();
    elapsed = msSince(t0) / 1000;
  } catch (err) {
    failed.add(err);
  }
  return { kind: 'imap-fetch-bodies', messages, octets, seconds: elapsed, failures: plain(failed), cpu: cpuSince(cpuStart) };
}

/** Timed LOGIN, SELECT INBOX and UID FETCH 1:* (UID FLAGS) on one mailbox. */
async function selectTime(job: Extract<ImapJob, { kind: 'imap-select-time' }>): Promise<ImapSelectTimeResult> {
  const failed = failures();
  const cpuStart = process.cpuUsage();
  const r: ImapSelectTimeResult = {
    kind: 'imap-select-time',
    greetingMs: 0,
    loginMs: 0,
    selectMs: 0,
    connectToSelectMs: 0,
    exists: null,
    fetches: [],
    failures: failed,
    cpu: { user: 0, system: 0 },
  };
  try {
    const t0 = now();
    const c = await ImapClient.connect(job.target, job.timeoutMs);
    r.greetingMs = msSince(t0);
    let t = now();
    await c.login(job.login.user, job.login.password);
    r.loginMs = msSince(t);
    t = now();
    const selected = await c.ok('SELECT INBOX', true);
    r.selectMs = msSince(t);
    r.connectToSelectMs = msSince(t0);
    r.exists = existsOf(selected.lines);
    for (let i = 0; i < job.fetches; i++) {
      t = now();
      const a = await c.ok('UID FETCH 1:* (UID FLAGS)');
      r.fetches.push({ ms: msSince(t), responses: a.untagged, octets: a.octets });
    }
    await c.logout();
  } catch (err) {
    failed.add(err);
  }
  return { ...r, failures: plain(failed), cpu: cpuSince(cpuStart) };
}

/** DONE and LOGOUT every session in IDLE, `concurrency` at a time, so the server ends them the ordinary way. */
async function endIdle(open: readonly ImapClient[], concurrency: number): Promise<void> {
  let i = 0;
  const closer = async () => {
    while (i < open.length) {
      const c = open[i++];
      c.onUnasked = null;
      c.setTimeout(COMMAND_TIMEOUT_MS);
      await c
        .done()
        .then(() => c.logout())
        .catch(() => c.destroy());
    }
  };
  await Promise.all(Array.from({ length: concurrency }, closer));
}

/** Opens signed-in sessions idling on INBOX and keeps them until 'release'. */
async function hold(job: Extract<ImapJob, { kind: 'imap-hold' }>, released: Promise<void>): Promise<ImapHoldResult> {
  const failed = failures();
  const cpuStart = process.cpuUsage();
  const open: ImapClient[] = [];
  const t0 = now();
  let next = 0;
  const opener = async () => {
    while (next < job.count) {
      const login: Credentials = job.logins[next % job.logins.length];
      const source = job.sources[next % job.sources.length];
      next++;
      let c: ImapClient | null = null;
      try {
        c = await ImapClient.connect(job.target, COMMAND_TIMEOUT_MS, source);
        await c.login(login.user, login.password);
        if (job.compress) await c.compress();
        await c.ok('SELECT INBOX');
        await c.idle();
        c.setTimeout(0); // idle from here on
        open.push(c);
      } catch (err) {
        failed.add(err);
        c?.destroy();
      }
    }
  };
  await Promise.all(Array.from({ length: job.openConcurrency }, opener));
  const result: ImapHoldResult = {
    kind: 'imap-hold',
    opened: open.length,
    seconds: msSince(t0) / 1000,
    failures: plain(failed),
    cpu: cpuSince(cpuStart),
  };
  send({ kind: 'held', result });

  await released;
  await endIdle(open, job.openConcurrency);
  return { ...result, cpu: cpuSince(cpuStart) };
}

/** The mixed load: whole sessions in `clients` loops; operations counted inside the measured window. */
async function mix(job: Extract<ImapJob, { kind: 'imap-mix' }>): Promise<ImapMixResult> {
  const failed = failures();
  const window = new MeasuredWindow(job.warmupMs, job.durationMs, (phase) => send({ kind: 'window', phase }));
  let operations = 0;
  let refused = 0;
  let sessionsDone = 0;
  const byVerb: Record<string, number> = {};
  const refusedByVerb: Record<string, number> = {};
  const counters = {
    answered(verb: string, ok: boolean) {
      if (!window.contains()) return;
      if (ok) {
        operations++;
        byVerb[verb] = (byVerb[verb] ?? 0) + 1;
      } else {
        refused++;
        refusedByVerb[verb] = (refusedByVerb[verb] ?? 0) + 1;
      }
    },
  };
  const loop = async (client: number) => {
    const random = seeded(job.seed * 1000 + client);
    const login = job.logins[client % job.logins.length];
    const source = job.sources[client % job.sources.length];
    const state: MixClientState = { appended: null };
    for (let round = 0; window.running; round++) {
      if (Date.now() >= window.start) window.open();
      let c: ImapClient | null = null;
      try {
        c = await ImapClient.connect(job.target, COMMAND_TIMEOUT_MS, source);
        await mixSession(c, login.user, login.password, client, round, random, counters, state);
        if (window.contains()) sessionsDone++;
      } catch (err) {
        if (window.contains()) failed.add(err);
        c?.destroy();
        await new Promise((r) => setTimeout(r, 10));
      }
    }
  };
  await Promise.all(Array.from({ length: job.clients }, (_, i) => loop(i)));
  const cpu = window.finish();
  return {
    kind: 'imap-mix',
    operations,
    refused,
    sessions: sessionsDone,
    seconds: job.durationMs / 1000,
    byVerb,
    refusedByVerb,
    failures: plain(failed),
    cpu,
  };
}

/** Idle sessions, some of them watching one INBOX: when is each watcher told of a new message? */
async function watch(job: Extract<ImapJob, { kind: 'imap-watch' }>, released: Promise<void>): Promise<ImapWatchResult> {
  const failed = failures();
  const cpuStart = process.cpuUsage();
  const open: ImapClient[] = [];
  const toldAt: number[] = [];
  let watchersOpened = 0;
  const t0 = now();
  let next = 0;
  const opener = async () => {
    while (next < job.count) {
      const i = next++;
      const watcher = i < job.watchers;
      const login = watcher ? job.watched : job.logins[i % job.logins.length];
      let c: ImapClient | null = null;
      try {
        c = await ImapClient.connect(job.target, COMMAND_TIMEOUT_MS, job.sources[i % job.sources.length]);
        await c.login(login.user, login.password);
        await c.ok('SELECT INBOX');
        await c.idle();
        c.setTimeout(0);
        if (watcher) {
          watchersOpened++;
          let told = false;
          c.onUnasked = (line) => {
            if (!told && / EXISTS$/i.test(line)) {
              told = true;
              toldAt.push(performance.timeOrigin + performance.now());
            }
          };
        }
        open.push(c);
      } catch (err) {
        failed.add(err);
        c?.destroy();
      }
    }
  };
  await Promise.all(Array.from({ length: job.openConcurrency }, opener));
  send({
    kind: 'held',
    result: { kind: 'imap-hold', opened: open.length, seconds: msSince(t0) / 1000, failures: plain(failed), cpu: cpuSince(cpuStart) },
  });
  await released;
  await endIdle(open, job.openConcurrency);
  return { kind: 'imap-watch', opened: open.length, watchersOpened, toldAt, failures: plain(failed), cpu: cpuSince(cpuStart) };
}

async function runJob(job: ImapJob, released: Promise<void>): Promise<ImapJobResult> {
  switch (job.kind) {
    case 'imap-sessions':
      return sessions(job);
    case 'imap-fetch-bodies':
      return fetchBodies(job);
    case 'imap-select-time':
      return selectTime(job);
    case 'imap-hold':
      return hold(job, released);
    case 'imap-mix':
      return mix(job);
    case 'imap-watch':
      return watch(job, released);
  }
}

function main(): void {
  if (!process.send) {
    process.stderr.write('imap-load.js is started by run.js (child_process.fork); it takes its job over IPC.\n');
    process.exit(64);
  }
  let release = () => {};
  const released = new Promise<void>((r) => (release = r));
  process.on('disconnect', () => process.exit(0));
  process.on('message', (msg: ImapCommand) => {
    if (msg.kind === 'release') return release();
    // cannot reject: the job's failure becomes an error report, and send() passes its own to its callback
    void runJob(msg.job, released)
      .then(
        (result): ImapReport => ({ kind: 'result', result }),
        (err: Error): ImapReport => ({ kind: 'error', message: err.stack ?? err.message }),
      )
      .then((report) => send(report, () => process.exit(0)));
  });
}

main();
