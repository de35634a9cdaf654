// postern bulletin post FILE (popper -b): adds FILE to pop.bulletinDir under the next number.
import { mkdir, readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { type Bulletin, Bulletins } from '../delivery/bulletins.js';
import { bulletinDir } from '../modules/pop/config.js';
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
      const dir = bulletinDir(ctx.config);
      if (!dir) throw new CliError('bulletins are off: set pop.bulletinDir in the config to a folder', EXIT.config);
      let text: Buffer;
      try {
        text = await readFile(file);
      } catch (err) {
        throw new CliError(`cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, EXIT.failure);
      }
      if (text.length === 0) throw new CliError(`${file} is empty`, EXIT.dataErr);
      let posted: Bulletin;
      try {
        await mkdir(dir, { recursive: true, mode: 0o755 });
        posted = await new Bulletins(dir, ctx.accounts, ctx.store).post(file, text);
      } catch (err) {
        // a full disk or an I/O error: nothing was posted (the file is written whole or not at all)
        const code = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
        throw new CliError(`cannot store the bulletin in ${dir} (${code}); nothing was posted, try again later`, EXIT.tempFail);
      }
      process.stdout.write(`bulletin ${posted.number} posted as ${posted.path}\n`);
    });
}
