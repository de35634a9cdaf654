// The postern command line. Every command takes --config FILE (default ./postern.yaml when present,
// else the embedded default).
import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { CliError, EXIT } from './exit.js';

type Register = (program: Command) => void;

// Each group of commands is loaded only when it is run: `postern deliver`, which an MTA starts for
// every message, does not pay for the server's modules (TLS, metrics, SMTP, MIME parsing).
const GROUPS: Record<string, () => Promise<Register[]>> = {
  serve: async () => [(await import('./serve.js')).serveCommand],
  account: async () => [(await import('./account.js')).accountCommands],
  deliver: async () => [(await import('./deliver.js')).deliverCommand],
  cert: async () => [(await import('./cert.js')).certCommands],
  mailbox: async () => [(await import('./mailbox.js')).mailboxCommands],
  route: async () => [(await import('./mailbox.js')).mailboxCommands],
  bulletin: async () => [(await import('./bulletin.js')).bulletinCommands],
  import: async () => [(await import('./import.js')).importCommands],
  quota: async () => [(await import('./quota.js')).quotaCommands],
  sieve: async () => [(await import('./sieve.js')).sieveCommands],
  who: async () => [(await import('./who.js')).whoCommand],
  kick: async () => [(await import('./kick.js')).kickCommand],
  index: async () => [(await import('./index.js')).indexCommands],
};

/** The command named on the command line (the first word that is not an option or its value). */
function commandWord(args: readonly string[]): string | undefined {
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--config') i++;
    else if (!args[i].startsWith('-')) return args[i];
  }
  return undefined;
}

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

const word = commandWord(process.argv.slice(2));
const groups = word !== undefined && GROUPS[word] ? [GROUPS[word]] : Object.values(GROUPS); // help: all of them
const registered = new Set<Register>();
for (const load of groups) {
  for (const register of await load()) {
    if (registered.has(register)) continue;
    registered.add(register);
    register(program);
  }
}

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
    process.stderr.write(
      `postern: cannot write ${(err as NodeJS.ErrnoException).path ?? 'a file'} (${code}: ${STORAGE_FAULTS[code]}); nothing was changed,` +
        ` try again later\n`,
    );
    process.exit(EXIT.tempFail);
  }
  process.stderr.write(`postern: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(EXIT.software);
}
