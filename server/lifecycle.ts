// The server process's life: it starts the kernel (or, for several workers, the supervisor of the
// worker processes), reloads on SIGHUP, and stops on SIGTERM or SIGINT within its deadline, a second
// signal ending it at once. `postern serve` (cli/serve.ts) only reads its options and turns what this
// throws into exit codes: a ListenError (a port cannot be bound), a ConfigError, a CertificateError.
import { availableParallelism } from 'node:os';
import { Kernel } from './kernel.js';
import { stdoutDestination } from '../observability/log-destination.js';
import { createLogger } from '../observability/logger.js';
import { clearSocketPath } from '../listeners/listener.js';
import { supervise, workerNumber } from '../cluster/workers/supervisor.js';
import { WorkerLink } from '../cluster/workers/worker-link.js';
import { joinNodes } from '../cluster/nodes/join.js';
import { LocalLimits } from '../cluster/nodes/local-limits.js';
import { SameKeypress } from '../cluster/stop-signals.js';
import { TlsProvider } from '../certs/tls-provider.js';
import { certificateSettings, loadConfig, type LoadedConfig } from './config.js';
import type { ModuleEntry } from './module.js';
import { ModuleRegistry } from './registry.js';
import { LocalAdmin, nodeName } from '../cluster/admin/who.js';
import { KICK_REASON } from '../sessions/signed-in.js';
import { primaryRedisAdmin, ServerAdmin, siteAdmin } from './admin.js';

/** After the shutdown deadline, the seconds a stop may still take (sessions cut, QUITs finishing) before the process exits anyway. */
const STOP_GRACE_SECONDS = 5;

/**
 * The process that started this one, read when this file loads: the listeners are bound before the
 * server has finished starting, and npm killed in between would otherwise leave the new parent (init)
 * taken for npm, and the server running on its own.
 */
const STARTED_BY = process.ppid;

export interface ServeSettings {
  /** The config as loaded at start, with every module; a reload reads config.file again. */
  readonly config: LoadedConfig;
  /** Every module (the module table's and those from `modules:`); the set stays until a restart. */
  readonly modules: readonly ModuleEntry[];
  /** Added to every non-zero listener port (--port-offset). */
  readonly portOffset: number;
  /** --workers: wins over the config's `workers` key, at start and at a reload. */
  readonly workers?: number | 'auto';
  /** The process's exit status after a stop, and after a stop that failed or took too long. */
  readonly exitCodes: { readonly stopped: number; readonly failed: number };
}

/** Runs the server until a stop ends the process (it exits from here). Throws when it cannot start. */
export async function serve(s: ServeSettings): Promise<void> {
  const { config, modules, exitCodes } = s;
  const workerCount = (c: LoadedConfig) => {
    const wanted = s.workers ?? c.workers;
    return wanted === 'auto' ? availableParallelism() : Number(wanted);
  };
  const workers = workerCount(config);
  const output = stdoutDestination(config.log.format);
  const worker = workerNumber();
  const logger = worker === null ? createLogger(config.log.level, output) : createLogger(config.log.level, output).child({ worker });
  const exit = async (code: number) => {
    await output.flush(1000);
    process.exit(code);
  };

  // The primary of several workers serves nothing itself: it starts them and keeps their shared limits.
  if (workers > 1 && worker === null) {
    for (const [i, l] of config.listeners.entries()) if (l.path !== undefined) await clearSocketPath(l.path, l.name, i);
    // made once, here: workers generating it at the same time would each write their own
    const { generatedNow } = await new TlsProvider().load(certificateSettings(config));
    if (generatedNow) logger.info({ host: config.mainDomain }, 'generated a self-signed certificate');
    const stopSeconds = (c: LoadedConfig) => c.shutdownTimeout + STOP_GRACE_SECONDS + 2;
    // postern who and kick: the control socket and /admin/* ask every worker, and the other nodes
    let admin: ServerAdmin | null = null;
    const reread = async () => {
      try {
        const next = await loadConfig(config.file ?? undefined, modules);
        await admin?.open(next);
        return { workers: workerCount(next), stopSeconds: stopSeconds(next), metrics: next.metrics };
      } catch {
        return null; // each worker logs why the config does not load, and keeps its own
      }
    };
    const supervisor = supervise({
      workers,
      logger,
      stopSeconds: stopSeconds(config),
      exit: async (code) => {
        await admin?.close();
        await exit(code);
      },
      metrics: config.metrics,
      reread,
      route: (req, res) => admin?.http.route(req, res) ?? false,
    });
    admin = new ServerAdmin(siteAdmin(supervisor.admin, config.redis ? primaryRedisAdmin(config.redis, logger) : null), logger, config);
    await admin.open(config);
    watchNpmParent(() => supervisor.stop('parent process (npm) exited'));
    return;
  }

  const registry = await ModuleRegistry.load(modules);
  const link = worker === null ? null : new WorkerLink((m) => process.send?.(m, undefined, undefined, () => {}));
  // Several nodes: Redis keeps the limits (this node's own count while it is away) and carries change notices.
  const nodes = config.redis ? joinNodes(config.redis, config.dataDir, link ?? new LocalLimits(), logger, nodeName(worker)) : null;
  // A stop signal that arrives while the server starts (its listeners may already be bound) is kept and
  // acted on once it has started, rather than ending the process by the signal's default action.
  let earlyStop: NodeJS.Signals | null = null;
  const keepEarlyStop = (signal: NodeJS.Signals) => {
    earlyStop ??= signal;
  };
  process.on('SIGTERM', keepEarlyStop);
  process.on('SIGINT', keepEarlyStop);
  let kernel: Kernel;
  try {
    kernel = new Kernel(config, logger, registry, {
      portOffset: s.portOffset,
      shared: nodes?.limits ?? link ?? undefined,
      notices: nodes?.notices,
      metricsByPrimary: worker !== null,
    });
    await kernel.start();
  } catch (err) {
    await nodes?.leave();
    throw err;
  }
  link?.answerMetrics(() => kernel.metrics.registry.getMetricsAsJSON());
  // postern who and kick: this process answers for its sessions (to its primary, to the other nodes);
  // a server of one process also opens the control socket and /admin/* for the whole site
  const local = new LocalAdmin(kernel.signedIn, worker, KICK_REASON);
  link?.answerAdmin(local);
  nodes?.admin.answerFrom(local);
  const admin = worker === null ? new ServerAdmin(siteAdmin(local, nodes?.admin ?? null), logger, config) : null;
  if (admin) {
    kernel.metrics.serveAlso(admin.http.route);
    await admin.open(config);
  }
  logger.info({ config: config.file ?? '(embedded default)', dataDir: config.dataDir }, 'Postern started');
  if (worker !== null) process.send?.({ postern: 'ready' });

  // SIGHUP: read the config and certificates again and apply them without dropping sessions.
  // A config that does not load or validate is logged and the running one kept.
  let reloading = Promise.resolve();
  process.on('SIGHUP', () => {
    if (stopping) return; // a reload would open the listeners again
    reloading = reloading.then(async () => {
      try {
        const next = await loadConfig(config.file ?? undefined, modules);
        if (JSON.stringify(next.redis) !== JSON.stringify(config.redis))
          logger.error({ key: 'redis' }, 'the redis key changed in the config: it takes effect at the next restart');
        if (JSON.stringify(next.modules) !== JSON.stringify(config.modules))
          logger.error({ key: 'modules' }, 'the modules key changed in the config: it takes effect at the next restart');
        const failed = await kernel.reload(next);
        await admin?.open(next);
        const read = { config: next.file ?? '(embedded default)', dataDir: next.dataDir };
        if (failed.length === 0) logger.info(read, 'reloaded the config and certificates');
        else logger.error({ ...read, failed }, 'reloaded the config and certificates, but some listeners could not start');
      } catch (err) {
        logger.error({ err: (err as Error).message }, 'reload failed; the running config stays in use');
      }
    });
  });

  // A stop always ends the process: sessions get shutdownTimeout seconds, and whatever still runs a
  // few seconds after that (a QUIT stuck on a dead disk, say) does not keep it alive. A second
  // signal exits at once; sessions not QUIT apply nothing either way.
  let stopping = false;
  const firstSignal = new SameKeypress();
  const stop = async (why: string, fromPrimary = false) => {
    if (stopping && fromPrimary) return; // the same stop, heard twice (systemd signals every process)
    if (stopping && firstSignal.echoed(why)) return; // one Ctrl-C under npm start arrives twice
    if (stopping) {
      logger.info({ signal: why }, 'second stop signal: exiting now; open sessions apply no changes');
      await exit(exitCodes.stopped);
      return;
    }
    stopping = true;
    firstSignal.heard(why);
    logger.info(
      { signal: why, timeout: config.shutdownTimeout },
      'stopping: no new connections; open sessions may finish (a second stop signal exits at once)',
    );
    setTimeout(
      () => {
        logger.error({ after: config.shutdownTimeout + STOP_GRACE_SECONDS }, 'stop took too long; exiting now');
        void exit(exitCodes.failed);
      },
      (config.shutdownTimeout + STOP_GRACE_SECONDS) * 1000,
    );
    try {
      await kernel.stop();
      await admin?.close();
      await nodes?.leave();
    } catch (err) {
      logger.error({ err: (err as Error).message }, 'stop failed; exiting now');
      await exit(exitCodes.failed);
      return;
    }
    logger.info('stopped');
    await exit(exitCodes.stopped);
  };
  process.on('SIGTERM', () => void stop('SIGTERM', worker !== null && stopping));
  process.on('SIGINT', () => void stop('SIGINT', worker !== null && stopping));
  process.off('SIGTERM', keepEarlyStop);
  process.off('SIGINT', keepEarlyStop);
  if (earlyStop) void stop(earlyStop);
  // A worker whose primary was killed: node's cluster ends it at once (the primary held the listening
  // sockets); were it to live on, it stops like this.
  if (worker !== null) process.on('disconnect', () => void stop('the primary process exited', true));

  // stop as for SIGTERM when npm, which started us, is gone
  if (worker === null) watchNpmParent(() => void stop('parent process (npm) exited'));
}

/**
 * Started by npm (npm start, npx): npm does not always pass a stop on (killed with SIGKILL, it cannot),
 * and a server left running on its own would keep its ports. When the parent goes away, `stop`.
 */
function watchNpmParent(stop: () => void): void {
  if (process.env.npm_lifecycle_event === undefined) return;
  if (process.ppid !== STARTED_BY) {
    stop(); // npm went while the server started
    return;
  }
  // once: a second call would be a second stop, which exits at once and cuts the open sessions
  const timer = setInterval(() => {
    if (process.ppid === STARTED_BY) return;
    clearInterval(timer);
    stop();
  }, 1000).unref();
}
