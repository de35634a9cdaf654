// postern serve: reads its options and runs the server (server/lifecycle.ts) until SIGTERM or SIGINT;
// what keeps the server from starting becomes an exit code.
import type { Command } from 'commander';
import { ListenError } from '../listeners/listener.js';
import { CertificateError } from '../certs/tls-provider.js';
import { ConfigError } from '../server/config.js';
import { serve } from '../server/lifecycle.js';
import { openContext } from './context.js';
import { CliError, EXIT } from './exit.js';

export function serveCommand(program: Command): void {
  program
    .command('serve')
    .description(
      'run the server (SIGHUP: reload config and certificates; SIGTERM or SIGINT: stop accepting, let sessions finish, then exit)',
    )
    .option('--port-offset <n>', 'add N to every listener port (run unprivileged: 110 becomes 110+N)', '0')
    .option('--workers <n>', 'worker processes sharing the listeners: a number, or auto for one per core (default: the workers key, 1)')
    .action(async (opts: { portOffset: string; workers?: string }, cmd: Command) => {
      const portOffset = Number(opts.portOffset);
      if (!Number.isInteger(portOffset) || portOffset < 0 || portOffset > 65000) {
        throw new CliError(`--port-offset: "${opts.portOffset}" is not a whole number 0-65000`, EXIT.usage);
      }
      if (
        opts.workers !== undefined &&
        opts.workers !== 'auto' &&
        !(Number.isInteger(Number(opts.workers)) && Number(opts.workers) >= 1 && Number(opts.workers) <= 256)
      ) {
        throw new CliError(`--workers: "${opts.workers}" is not a number of worker processes 1-256, or auto`, EXIT.usage);
      }
      const { config, modules } = await openContext(cmd.optsWithGlobals().config, { create: true });
      const workers = opts.workers === undefined || opts.workers === 'auto' ? opts.workers : Number(opts.workers);
      try {
        await serve({ config, modules, portOffset, workers, exitCodes: { stopped: EXIT.ok, failed: EXIT.software } });
      } catch (err) {
        if (err instanceof ListenError) throw new CliError(err.message, EXIT.unavailable);
        if (err instanceof ConfigError) throw new CliError(`config error: ${err.message}`, EXIT.config);
        if (err instanceof CertificateError) throw new CliError(err.message, EXIT.config);
        throw err;
      }
    });
}
