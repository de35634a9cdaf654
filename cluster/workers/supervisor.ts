// serve --workers N: the primary process. It forks N workers (node:cluster), each a whole server — a
// kernel with its modules — sharing the listening sockets (the cluster hands each new connection to
// one worker in turn), and keeps for all of them the limits that must be the server's, not a worker's
// (coordinator.ts), and /metrics with every worker's counts added up. It serves no connection itself.
// A worker that dies is logged and replaced (later and later if it keeps dying); SIGHUP reaches every
// worker (each reloads as a single server does); SIGTERM stops every worker the way a single server
// stops (sessions finish until shutdownTimeout, none applies anything when cut) and then the primary;
// a second SIGTERM ends them at once. A worker that fails while starting (a port it cannot
// bind, a bad certificate) stops the whole server with that worker's exit code.
import cluster, { type Worker } from 'node:cluster';
import { Registry } from 'prom-client';
import type { Logger } from '../../observability/logger.js';
import type { AdminScope } from '../admin/who.js';
import { type HttpRoute, MetricsEndpoint } from '../../observability/metrics.js';
import { Coordinator } from './coordinator.js';
import { ClusterMetrics } from './cluster-metrics.js';
import { WorkerAdmin } from './worker-admin.js';
import { isWorkerMessage, type PrimaryMessage } from './messages.js';
import { SameKeypress } from '../stop-signals.js';

export interface SupervisorOptions {
  readonly workers: number;
  readonly logger: Logger;
  /** Seconds a stop may take in all (the workers' shutdownTimeout and their grace). */
  readonly stopSeconds: number;
  /** Called once every worker has exited after a stop, or when the server cannot start. */
  readonly exit: (code: number) => Promise<void>;
  /** Where /metrics is served, with the counts of every worker added up (null: not served). */
  readonly metrics: { readonly address: string; readonly port: number } | null;
  /** Reads the config again at SIGHUP (null: it does not load; the workers report why when they reload). */
  readonly reread?: () => Promise<PrimarySettings | null>;
  /** Other paths served beside /metrics (/admin/who, /admin/kick: server/admin-http.ts). */
  readonly route?: HttpRoute;
}

/** What the primary itself takes from the config (the rest is the workers'). */
export type PrimarySettings = Pick<SupervisorOptions, 'workers' | 'stopSeconds' | 'metrics'>;

/** The worker number of this process (1..N) when it is a worker, else null. */
export function workerNumber(): number | null {
  return cluster.isWorker ? Number(process.env.POSTERN_WORKER ?? cluster.worker?.id ?? 0) : null;
}

export function supervise(o: SupervisorOptions): { stop(why: string): void; readonly admin: AdminScope } {
  const { logger } = o;
  let target = o.workers;
  let stopSeconds = o.stopSeconds;
  /** Workers asked to stop because `workers` went down at a reload: not replaced. */
  const retiring = new Set<number>();
  const byNumber = new Map<number, Worker>();
  const ready = new Set<number>();
  let stopping = false;
  let exitCode = 0;
  /** True until every worker has started once: a worker failing then stops the server (it cannot serve). */
  let starting = true;
  /** When each worker number last exited (the last minute), and the restarts waiting. */
  const exits = new Map<number, number[]>();
  const restarts = new Set<NodeJS.Timeout>();
  // The coordinator counts by cluster worker id (new for every fork), so that nothing a dead worker
  // still had in the pipe is taken for its replacement's.
  const byId = new Map<number, Worker>();
  const coordinator = new Coordinator((id, pool, sid) => send(byId.get(id), { postern: 'evict', pool, sid }));
  const metrics = new ClusterMetrics(send);
  /** postern who and kick, asked of every started worker (worker-admin.ts). */
  const admin = new WorkerAdmin(send, () => [...byNumber.entries()].filter(([n, w]) => ready.has(n) && w.isConnected()));

  function send(w: Worker | undefined, m: PrimaryMessage): void {
    if (!w?.isConnected()) return;
    try {
      w.send(m, undefined, undefined, () => {}); // a failure means the worker is gone: its exit cleans up
    } catch {
      // the channel closed under us
    }
  }

  function start(n: number): void {
    const w = cluster.fork({ POSTERN_WORKER: String(n) });
    byNumber.set(n, w);
    byId.set(w.id, w);
    w.on('error', (err) => logger.debug({ worker: n, err: err.message }, 'worker channel error'));
    w.on('message', (m: unknown) => {
      if (!isWorkerMessage(m) || byId.get(w.id) !== w) return;
      if (m.postern === 'ready') {
        ready.add(n);
        if (ready.size === target && !stopping && starting) {
          starting = false;
          logger.info({ workers: target }, 'all workers started');
        }
      } else if (m.postern === 'request') {
        try {
          send(w, { postern: 'answer', id: m.id, answer: coordinator.answer(w.id, m.request) });
        } catch (err) {
          logger.error({ worker: n, err: (err as Error).message }, 'cannot answer a worker');
        }
      } else if (m.postern === 'signedIn') coordinator.signedIn(w.id, m.pool, m.sid);
      else if (m.postern === 'released') coordinator.released(w.id, m.pool, m.sid);
      else if (m.postern === 'kept') coordinator.kept(w.id, m.pool, m.sid, m.address);
      else if (m.postern === 'metrics') metrics.answer(m.id, w.id, m.metrics);
      else if (m.postern === 'who' || m.postern === 'kicked') admin.answer(m.id, w.id, m.answer);
    });
    w.on('exit', (code, signal) => {
      if (byNumber.get(n) === w) byNumber.delete(n);
      byId.delete(w.id);
      coordinator.workerGone(w.id);
      const wasReady = ready.delete(n);
      if (retiring.delete(n) && !stopping) {
        metrics.workerGone(w.id);
        logger.info({ worker: n, pid: w.process.pid, code }, 'worker stopped (fewer workers in the config)');
        return;
      }
      if (stopping) {
        if (code) exitCode ||= code;
        if (byNumber.size === 0) void o.exit(exitCode);
        return;
      }
      if (!wasReady && starting) {
        // it never served: the next one would fail the same way (a port in use, a bad config)
        logger.error({ worker: n, code, signal }, 'a worker could not start; stopping the server');
        exitCode = code || 1;
        stopAll('a worker could not start');
        if (byNumber.size === 0) void o.exit(exitCode);
        return;
      }
      // A worker that keeps dying (a bug a client triggers, memory; one added by a reload that cannot
      // start) is restarted later and later: 0 s after the first exit in a minute, then 1, 2, 4 … up to
      // 30 s, so it cannot spin the CPU. Its counters stay in /metrics.
      metrics.workerGone(w.id);
      const now = Date.now();
      const recent = (exits.get(n) ?? []).filter((t) => now - t < 60_000);
      recent.push(now);
      exits.set(n, recent);
      const delay = recent.length <= 1 ? 0 : Math.min(1000 * 2 ** (recent.length - 2), 30_000);
      logger.error(
        { worker: n, pid: w.process.pid, code, signal, restartIn: delay / 1000 },
        'a worker exited; starting another (its sessions are gone, and applied nothing)',
      );
      const timer = setTimeout(() => {
        restarts.delete(timer);
        if (!stopping && n <= target && !byNumber.has(n)) start(n); // the config may have fewer workers by now
      }, delay);
      restarts.add(timer);
    });
  }

  function stopAll(why: string): void {
    if (stopping) return;
    stopping = true;
    for (const t of restarts) clearTimeout(t);
    logger.info({ why, workers: byNumber.size }, 'stopping the workers');
    for (const w of byNumber.values()) w.process.kill('SIGTERM');
    setTimeout(() => {
      logger.error({ after: stopSeconds }, 'workers took too long to stop; ending them');
      for (const w of byNumber.values()) w.process.kill('SIGKILL');
    }, stopSeconds * 1000).unref();
    // each worker's exit handler exits once the last one is gone; with none left, exit now
    if (byNumber.size === 0) void o.exit(exitCode);
  }

  let endpoint: MetricsEndpoint | null = null;
  const serveMetrics = (where: PrimarySettings['metrics']) => {
    if (!where && !endpoint) return;
    if (!endpoint) {
      const started = () => [...byNumber.entries()].filter(([n, w]) => ready.has(n) && w.isConnected()).map(([, w]) => w);
      endpoint = new MetricsEndpoint(() => metrics.collect(started()), Registry.PROMETHEUS_CONTENT_TYPE);
      endpoint.also = o.route ?? null;
    }
    endpoint.serve(where).then(
      (port) => port !== null && logger.info({ address: where!.address, port }, 'metrics at /metrics (every worker added up)'),
      (err: Error) => logger.error({ err: err.message, metrics: where }, 'cannot serve metrics'),
    );
  };

  /** The primary's own settings after a reload: the number of workers, the stop timeout, /metrics. */
  const apply = (next: PrimarySettings) => {
    stopSeconds = next.stopSeconds;
    serveMetrics(next.metrics);
    if (next.workers === target) return;
    logger.info({ from: target, to: next.workers }, 'the number of workers changed');
    const before = target;
    target = next.workers;
    for (let n = before + 1; n <= target; n++) {
      if (retiring.delete(n)) continue; // still stopping from an earlier reload: replaced when it exits
      if (!byNumber.has(n)) start(n);
    }
    for (const [n, w] of byNumber) {
      if (n <= target) continue;
      retiring.add(n);
      w.process.kill('SIGTERM'); // it stops as a single server stops: its sessions may finish
    }
  };

  process.on('SIGHUP', () => {
    if (stopping) return; // a reload would open the listeners again
    void (async () => {
      // a worker still starting has no SIGHUP handler yet (the signal would end it); it reads the new config anyway
      const started = [...byNumber.entries()].filter(([n]) => ready.has(n) && !retiring.has(n));
      logger.info({ workers: started.length }, 'SIGHUP: every started worker reloads');
      for (const [, w] of started) w.process.kill('SIGHUP');
      const next = o.reread ? await o.reread().catch(() => null) : null;
      if (next && !stopping) apply(next);
    })();
  });
  const firstSignal = new SameKeypress();
  const onStop = (signal: string) => {
    if (stopping && firstSignal.echoed(signal)) return; // one Ctrl-C under npm start arrives twice
    if (stopping) {
      logger.info({ signal }, 'second stop signal: ending the workers now; open sessions apply no changes');
      for (const w of byNumber.values()) w.process.kill('SIGKILL');
      return;
    }
    firstSignal.heard(signal);
    stopAll(signal);
  };
  process.on('SIGTERM', () => onStop('SIGTERM'));
  process.on('SIGINT', () => onStop('SIGINT'));

  for (let n = 1; n <= target; n++) start(n);
  logger.info({ workers: target, pid: process.pid }, 'Postern started (primary process)');
  serveMetrics(o.metrics);
  return { stop: stopAll, admin };
}
