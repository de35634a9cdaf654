// postern bulletin post FILE (popper -b): adds FILE to pop.bulletinDir under the next number.
import type { Command } from 'commander';
import { Bulletins } from '../accounts/bulletins.js';
import { openContext } from './context.js';
import { CliError, EXIT } from './exit.js';

export function bulletinCommands(program: Command): void {
  const bulletin = program.command('bulletin').description('announcements delivered once to every account (popper -b)');
  bulletin
    .command('post')
    .argument('<file>', 'one message (header and body); To: is rewritten for each account, Status: removed')
    .description('add a bulletin; every account gets it at its next sign-in, accounts created later do not')
    .action(async (file: string, _o: unknown, cmd: Command) => {
      const ctx = await openContext(cmd.optsWithGlobals().config);
      const dir = ctx.config.pop.bulletinDir;
      if (!dir) throw new CliError('bulletins are off: set pop.bulletinDir in the config to a folder', EXIT.config);
      const { mkdir } = await import('node:fs/promises');
      await mkdir(dir, { recursive: true, mode: 0o755 });
      let posted;
      try {
        posted = await new Bulletins(dir, ctx.accounts, ctx.store).post(file);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'ENOENT' || code === 'EACCES' || code === 'EISDIR') throw new CliError(`cannot read ${file}: ${code}`, EXIT.failure);
        throw err;
      }
      process.stdout.write(`bulletin ${posted.number} posted as ${posted.path}\n`);
    });
}
