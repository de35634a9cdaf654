// postern serve: runs the kernel with its modules until SIGTERM or SIGINT.
import type { Command } from 'commander';
import { Kernel } from '../modules/kernel/kernel.js';
import { createLogger } from '../modules/kernel/logger.js';
import { ModuleRegistry } from '../modules/kernel/registry.js';
import { PopModule } from '../modules/pop/pop-module.js';
import { ListenError } from '../listeners/listener.js';
import { CertificateError } from '../certs/tls-provider.js';
import { ConfigError, loadConfig } from '../modules/kernel/config.js';
import { openContext } from './context.js';
import { CliError, EXIT } from './exit.js';

export function serveCommand(program: Command): void {
  program
    .command('serve')
    .description('run the server (SIGHUP: reload config and certificates; SIGTERM or SIGINT: stop accepting, let sessions finish, then exit)')
    .option('--port-offset <n>', 'add N to every listener port (run unprivileged: 110 becomes 110+N)', '0')
    .action(async (opts: { portOffset: string }, cmd: Command) => {
      const portOffset = Number(opts.portOffset);
      if (!Number.isInteger(portOffset) || portOffset < 0 || portOffset > 65000) {
        throw new CliError(`--port-offset: "${opts.portOffset}" is not a whole number 0-65000`, EXIT.usage);
      }
      const { config } = await openContext(cmd.optsWithGlobals().config);
      const logger = createLogger(config.log.level);
      let kernel: Kernel;
      try {
        kernel = new Kernel(config, logger, new ModuleRegistry().register(new PopModule()), { portOffset });
        await kernel.start();
      } catch (err) {
        if (err instanceof ListenError) throw new CliError(err.message, EXIT.unavailable);
        if (err instanceof ConfigError) throw new CliError(`config error: ${err.message}`, EXIT.config);
        if (err instanceof CertificateError) throw new CliError(err.message, EXIT.config);
        throw err;
      }
      logger.info({ config: config.file ?? '(embedded default)', dataDir: config.dataDir }, 'Postern started');

      // SIGHUP: read the config and certificates again and apply them without dropping sessions.
      // A config that does not load or validate is logged and the running one kept.
      let reloading = Promise.resolve();
      process.on('SIGHUP', () => {
        reloading = reloading.then(async () => {
          try {
            await kernel.reload(await loadConfig(config.file ?? undefined));
            logger.info('reloaded the config and certificates');
          } catch (err) {
            logger.error({ err: (err as Error).message }, 'reload failed; the running config stays in use');
          }
        });
      });

      let stopping = false;
      const stop = async (signal: string) => {
        if (stopping) return;
        stopping = true;
        logger.info({ signal, timeout: config.shutdownTimeout }, 'stopping: no new connections; open sessions may finish');
        await kernel.stop();
        logger.info('stopped');
        logger.flush();
        process.exit(EXIT.ok);
      };
      process.on('SIGTERM', () => void stop('SIGTERM'));
      process.on('SIGINT', () => void stop('SIGINT'));
    });
}
