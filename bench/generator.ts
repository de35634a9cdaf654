// The orchestrator's side of a load generator process: forks bench/dist/load.js, gives it one job,
// relays its window and 'held' reports, and kills it if it overstays.
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { pinProcess } from './affinity.js';
import { trackChild } from './cleanup.js';
import type { Command, HoldResult, Job, JobResult, Report } from './protocol.js';

const LOAD_JS = fileURLToPath(new URL('./load.js', import.meta.url));

export interface Generator {
  /** The final result. */
  result: Promise<JobResult>;
  /** For 'hold' jobs: resolves when the sessions are open. */
  held: Promise<HoldResult>;
  /** For 'hold' jobs: QUIT the sessions and finish. */
  release(): void;
}

/** @param cpu a CPU list (taskset -c) the generator runs on; undefined: any. */
export function startGenerator(job: Job, timeoutMs: number, onWindow?: (phase: 'start' | 'end') => void, cpu?: string): Generator {
  const child = trackChild(fork(LOAD_JS, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }));
  if (cpu !== undefined && child.pid !== undefined) pinProcess(child.pid, cpu);
  let resolveHeld: (r: HoldResult) => void = () => {};
  let rejectHeld: (e: Error) => void = () => {};
  const held = new Promise<HoldResult>((res, rej) => {
    resolveHeld = res;
    rejectHeld = rej;
  });
  held.catch(() => {}); // only 'hold' jobs wait on it

  const result = new Promise<JobResult>((resolve, reject) => {
    let settled = false;
    const done = (err: Error | null, r?: JobResult) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (err) {
        rejectHeld(err);
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
        reject(err);
      } else resolve(r!);
    };
    const timer = setTimeout(() => done(new Error(`load generator (${job.kind}) did not finish within ${timeoutMs / 1000} s`)), timeoutMs);
    child.on('message', (report: Report) => {
      if (report.kind === 'window') onWindow?.(report.phase);
      else if (report.kind === 'held') resolveHeld(report.result);
      else if (report.kind === 'result') done(null, report.result);
      else done(new Error(`load generator failed: ${report.message}`));
    });
    child.on('error', (err) => done(err));
    child.on('exit', (code, signal) => done(new Error(`load generator exited (${signal ?? code}) before reporting its result`)));
  });
  child.send({ kind: 'run', job } satisfies Command);
  return {
    result,
    held,
    release: () => {
      if (child.connected) child.send({ kind: 'release' } satisfies Command);
    },
  };
}
