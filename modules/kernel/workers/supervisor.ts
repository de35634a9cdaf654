// serve --workers N: the primary process. It forks N workers (node:cluster), each a whole server — a
// kernel with its modules — sharing the listening sockets (the cluster hands each new connection to
// one worker in turn), and keeps for all of them the limits that must be the server's, not a worker's
// (coordinator.ts). It serves no connection itself. A worker that dies is logged and replaced; SIGHUP
// reaches every worker (each reloads as a single server does); SIGTERM stops every worker the way a
// single server stops (sessions finish until shutdownTimeout, none applies anything when cut) and then
// the primary; a second SIGTERM ends them at once. A worker that fails while starting (a port it cannot
// bind, a bad certificate) stops the whole server with that worker's exit code.
import cluster, { type Worker } from 'node:cluster';
import type { Logger } from '../logger.js';
import { Coordinator } from './coordinator.js';
import { isWorkerMessage, type PrimaryMessage } from './messages.js';

export interface SupervisorOptions {
  readonly workers: number;
  readonly logger: Logger;
  /** Seconds a stop may take in all (the workers' shutdownTimeout and their grace). */
  readonly stopSeconds: number;
  /** Called once every worker has exited after a stop, or when the server cannot start. */
  readonly exit: (code: number) => Promise<void>;
}

/** The worker number of this process (1..N) when it is a worker, else null. */
export function workerNumber(): number | null {
  return cluster.isWorker ? Number(process.env.POSTERN_WORKER ?? cluster.worker?.id ?? 0) : null;
}

export function supervise(o: SupervisorOptions): void {
  const { logger } = o;
  const byNumber = new Map<number, Worker>();
  const ready = new Set<number>();
  let stopping = false;
  const coordinator = new Coordinator((n, pool, sid) => send(byNumber.get(n), { postern: 'evict', pool, sid }));

  function send(w: Worker | undefined, m: PrimaryMessage): void {
    if (w && w.isConnected()) w.send(m);
  }

  function start(n: number): void {
    const w = cluster.fork({ POSTERN_WORKER: String(n) });
    byNumber.set(n, w);
    w.on('message', (m: unknown) => {
      if (!isWorkerMessage(m)) return;
      if (m.postern === 'ready') {
        ready.add(n);
        if (ready.size === o.workers && !stopping) logger.info({ workers: o.workers }, 'all workers started');
      } else if (m.postern === 'request') {
        try {
          send(w, { postern: 'answer', id: m.id, answer: coordinator.answer(n, m.request) });
        } catch (err) {
          logger.error({ worker: n, err: (err as Error).message }, 'cannot answer a worker');
        }
      } else if (m.postern === 'signedIn') coordinator.signedIn(n, m.pool, m.sid);
      else if (m.postern === 'released') coordinator.released(n, m.pool, m.sid);
    });
    w.on('exit', (code, signal) => {
      if (byNumber.get(n) === w) byNumber.delete(n);
      coordinator.workerGone(n);
      const wasReady = ready.delete(n);
      if (stopping) {
        if (byNumber.size === 0) void o.exit(0);
        return;
      }
      if (!wasReady) {
        // it never served: the next one would fail the same way (a port in use, a bad config)
        logger.error({ worker: n, code, signal }, 'a worker could not start; stopping the server');
        stopAll('a worker could not start');
        if (byNumber.size === 0) void o.exit(code ?? 1);
        else exitCode = code ?? 1;
        return;
      }
      logger.error({ worker: n, pid: w.process.pid, code, signal }, 'a worker exited; starting another (its sessions are gone, and applied nothing)');
      start(n);
    });
  }

  let exitCode = 0;
  function stopAll(why: string): void {
    if (stopping) return;
    stopping = true;
    logger.info({ why, workers: byNumber.size }, 'stopping the workers');
    for (const w of byNumber.values()) w.process.kill('SIGTERM');
    setTimeout(() => {
      logger.error({ after: o.stopSeconds }, 'workers took too long to stop; ending them');
      for (const w of byNumber.values()) w.process.kill('SIGKILL');
    }, o.stopSeconds * 1000).unref();
  }
  const exitWhenDone = () => {
    const check = setInterval(() => {
      if (byNumber.size === 0) {
        clearInterval(check);
        void o.exit(exitCode);
      }
    }, 50);
  };

  process.on('SIGHUP', () => {
    logger.info({ workers: byNumber.size }, 'SIGHUP: every worker reloads');
    for (const w of byNumber.values()) w.process.kill('SIGHUP');
  });
  const onStop = (signal: string) => {
    if (stopping) {
      logger.info({ signal }, 'second stop signal: ending the workers now; open sessions apply no changes');
      for (const w of byNumber.values()) w.process.kill('SIGKILL');
      return;
    }
    stopAll(signal);
    exitWhenDone();
  };
  process.on('SIGTERM', () => onStop('SIGTERM'));
  process.on('SIGINT', () => onStop('SIGINT'));

  for (let n = 1; n <= o.workers; n++) start(n);
  logger.info({ workers: o.workers, pid: process.pid }, 'Postern started (primary process)');
}
