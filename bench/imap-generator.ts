// The orchestrator's side of an IMAP load generator process: forks bench/dist/imap-load.js with one
// job, relays its window and 'held' reports, and kills it if it overstays (as generator.ts for POP3).
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { pinProcess } from './affinity.js';
import { trackChild } from './cleanup.js';
import type { ImapCommand, ImapHoldResult, ImapJob, ImapJobResult, ImapReport } from './imap-protocol.js';

const LOAD_JS = fileURLToPath(new URL('./imap-load.js', import.meta.url));

export interface ImapGenerator {
  result: Promise<ImapJobResult>;
  /** For 'imap-hold' jobs: resolves when the sessions are open and idling. */
  held: Promise<ImapHoldResult>;
  /** For 'imap-hold' jobs: DONE + LOGOUT the sessions and finish. */
  release(): void;
}

/** @param cpu a CPU list (taskset -c) the generator runs on; undefined: any. */
export function startImapGenerator(
  job: ImapJob,
  timeoutMs: number,
  onWindow?: (phase: 'start' | 'end') => void,
  cpu?: string,
): ImapGenerator {
  const child = trackChild(fork(LOAD_JS, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }));
  if (cpu !== undefined && child.pid !== undefined) pinProcess(child.pid, cpu);
  let resolveHeld: (r: ImapHoldResult) => void = () => {};
  let rejectHeld: (e: Error) => void = () => {};
  const held = new Promise<ImapHoldResult>((res, rej) => {
    resolveHeld = res;
    rejectHeld = rej;
  });
  held.catch(() => {});

  const result = new Promise<ImapJobResult>((resolve, reject) => {
    let settled = false;
    const done = (err: Error | null, r?: ImapJobResult) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (err) {
        rejectHeld(err);
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
        reject(err);
      } else resolve(r!);
    };
    const timer = setTimeout(
      () => done(new Error(`IMAP load generator (${job.kind}) did not finish within ${timeoutMs / 1000} s`)),
      timeoutMs,
    );
    child.on('message', (report: ImapReport) => {
      if (report.kind === 'window') onWindow?.(report.phase);
      else if (report.kind === 'held') resolveHeld(report.result);
      else if (report.kind === 'result') done(null, report.result);
      else done(new Error(`IMAP load generator failed: ${report.message}`));
    });
    child.on('error', (err) => done(err));
    child.on('exit', (code, signal) => done(new Error(`IMAP load generator exited (${signal ?? code}) before reporting its result`)));
  });
  child.send({ kind: 'run', job } satisfies ImapCommand);
  return {
    result,
    held,
    release: () => {
      if (child.connected) child.send({ kind: 'release' } satisfies ImapCommand);
    },
  };
}
