// The load generator: a separate Node process (forked by run.ts) that runs one job against one
// POP3 server over raw sockets and reports its result, with its own CPU time so a reader can see
// the generator was not the bottleneck.
import type {
  Command,
  CpuSeconds,
  Credentials,
  Failures,
  HoldResult,
  Job,
  JobResult,
  Report,
  RetrResult,
  SessionsResult,
  StatTimeResult,
} from './protocol.js';
import { PopClient } from './pop-client.js';
import { MeasuredWindow } from './window.js';

const COMMAND_TIMEOUT_MS = 30_000;

function send(report: Report, then?: () => void): void {
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
const seconds = (fromNs: bigint) => Number(process.hrtime.bigint() - fromNs) / 1e9;

/** Scenario a: sessions per second; only sessions that end inside the measured window count. */
async function sessions(job: Extract<Job, { kind: 'sessions' }>): Promise<SessionsResult> {
  const failed = failures();
  const window = new MeasuredWindow(job.warmupMs, job.durationMs, (phase) => send({ kind: 'window', phase }));
  let counted = 0;
  let tls: string | null = null;
  const loop = async (worker: number) => {
    const source = job.sources[worker % job.sources.length];
    while (window.running) {
      if (Date.now() >= window.start) window.open();
      let c: PopClient | null = null;
      try {
        c = await PopClient.connect(job.target, COMMAND_TIMEOUT_MS, source);
        tls ??= c.tlsInfo();
        await c.signIn(job.login.user, job.login.password);
        await c.ok('STAT');
        await c.quit();
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
  return { kind: 'sessions', tls, sessions: counted, seconds: job.durationMs / 1000, failures: plain(failed), cpu };
}

/** Scenario b: RETR every message of the mailbox in one session. */
async function retr(job: Extract<Job, { kind: 'retr' }>): Promise<RetrResult> {
  const failed = failures();
  const cpuStart = process.cpuUsage();
  let octets = 0;
  let messages = 0;
  let elapsed = 0;
  try {
    const c = await PopClient.connect(job.target, COMMAND_TIMEOUT_MS);
    await c.signIn(job.login.user, job.login.password);
    const count = Number((await c.ok('STAT')).status.split(' ')[1]);
    const t0 = process.hrtime.bigint();
    for (let n = 1; n <= count; n++) {
      const answer = await c.multiLine(`RETR ${n}`);
      if (!answer.ok) throw new Error(`RETR ${n}: ${answer.status}`);
      octets += answer.octets;
      messages++;
    }
    await c.quit();
    elapsed = seconds(t0);
  } catch (err) {
    failed.add(err);
  }
  return { kind: 'retr', messages, octets, seconds: elapsed, failures: plain(failed), cpu: cpuSince(cpuStart) };
}

/** Scenario c: time from connect to the STAT answer. */
async function statTime(job: Extract<Job, { kind: 'stat-time' }>): Promise<StatTimeResult> {
  const failed = failures();
  const cpuStart = process.cpuUsage();
  let ms = 0;
  let stat = '';
  try {
    const t0 = process.hrtime.bigint();
    const c = await PopClient.connect(job.target, job.timeoutMs);
    await c.signIn(job.login.user, job.login.password);
    stat = (await c.ok('STAT')).status;
    ms = seconds(t0) * 1000;
    await c.quit();
  } catch (err) {
    failed.add(err);
  }
  return { kind: 'stat-time', ms, stat, failures: plain(failed), cpu: cpuSince(cpuStart) };
}

/** Scenario d: opens signed-in sessions and keeps them idle until 'release'. */
async function hold(job: Extract<Job, { kind: 'hold' }>, released: Promise<void>): Promise<HoldResult> {
  const failed = failures();
  const cpuStart = process.cpuUsage();
  const open: PopClient[] = [];
  const t0 = process.hrtime.bigint();
  let next = 0;
  const opener = async () => {
    while (next < job.count) {
      const login: Credentials = job.logins[next % job.logins.length];
      const source = job.sources[next % job.sources.length];
      next++;
      let c: PopClient | null = null;
      try {
        c = await PopClient.connect(job.target, COMMAND_TIMEOUT_MS, source);
        await c.signIn(login.user, login.password);
        await c.ok('STAT');
        c.setTimeout(0); // idle from here on
        open.push(c);
      } catch (err) {
        failed.add(err);
        c?.destroy();
      }
    }
  };
  await Promise.all(Array.from({ length: job.openConcurrency }, opener));
  const result: HoldResult = { kind: 'hold', opened: open.length, seconds: seconds(t0), failures: plain(failed), cpu: cpuSince(cpuStart) };
  send({ kind: 'held', result });

  await released;
  // QUIT them all, a bounded number at a time, so the server ends them the ordinary way.
  let i = 0;
  const closer = async () => {
    while (i < open.length) {
      const c = open[i++];
      c.setTimeout(COMMAND_TIMEOUT_MS);
      await c.quit().catch(() => c.destroy());
    }
  };
  await Promise.all(Array.from({ length: job.openConcurrency }, closer));
  return { ...result, cpu: cpuSince(cpuStart) };
}

async function runJob(job: Job, released: Promise<void>): Promise<JobResult> {
  switch (job.kind) {
    case 'sessions':
      return sessions(job);
    case 'retr':
      return retr(job);
    case 'stat-time':
      return statTime(job);
    case 'hold':
      return hold(job, released);
  }
}

function main(): void {
  if (!process.send) {
    process.stderr.write('load.js is started by run.js (child_process.fork); it takes its job over IPC.\n');
    process.exit(64);
  }
  let release = () => {};
  const released = new Promise<void>((r) => (release = r));
  // The orchestrator went away: nothing to report to.
  process.on('disconnect', () => process.exit(0));
  process.on('message', (msg: Command) => {
    if (msg.kind === 'release') return release();
    // cannot reject: the job's failure becomes an error report, and send() passes its own to its callback
    void runJob(msg.job, released)
      .then(
        (result): Report => ({ kind: 'result', result }),
        (err: Error): Report => ({ kind: 'error', message: err.stack ?? err.message }),
      )
      .then((report) => send(report, () => process.exit(0)));
  });
}

main();
