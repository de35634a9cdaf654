// The postern command line. Every command takes --config FILE (default ./postern.yaml when present,
// else the embedded default).
import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { accountCommands } from './account.js';
import { bulletinCommands } from './bulletin.js';
import { certCommands } from './cert.js';
import { mailboxCommands } from './mailbox.js';
import { deliverCommand } from './deliver.js';
import { CliError, EXIT } from './exit.js';
import { serveCommand } from './serve.js';

const STORAGE_FAULTS: Record<string, string> = {
  ENOSPC: 'no space left on the device',
  EDQUOT: 'disk quota exceeded',
  EIO: 'input/output error',
  EROFS: 'the file system is read-only',
};

const { version } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };

const program = new Command('postern')
  .description('Postern mail-access server')
  .version(version, '--version', 'print the version')
  .option('--config <file>', 'config file (default: ./postern.yaml if present, else built-in defaults)')
  .showHelpAfterError()
  .exitOverride();

serveCommand(program);
accountCommands(program);
deliverCommand(program);
certCommands(program);
mailboxCommands(program);
bulletinCommands(program);

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof CommanderError) {
    // Help and version exit 0; a wrong command line exits EX_USAGE. Commander already printed why.
    process.exit(err.exitCode === 0 ? EXIT.ok : EXIT.usage);
  }
  if (err instanceof CliError) {
    process.stderr.write(`postern: ${err.message}\n`);
    process.exit(err.exitCode);
  }
  const code = (err as NodeJS.ErrnoException).code;
  if (code !== undefined && code in STORAGE_FAULTS) {
    // A full disk or an I/O error while writing: every file Postern writes is replaced whole or not at
    // all, so nothing was changed. Try again once there is room.
    process.stderr.write(`postern: cannot write ${(err as NodeJS.ErrnoException).path ?? 'a file'} (${code}: ${STORAGE_FAULTS[code]}); nothing was changed, try again later\n`);
    process.exit(EXIT.tempFail);
  }
  process.stderr.write(`postern: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(EXIT.software);
}
