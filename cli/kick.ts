// postern kick ACCOUNT [--protocol P]: ends the account's signed-in sessions on every worker and node of
// the running server (doveadm kick); each client is told in its protocol's words (IMAP `* BYE`, POP
// `-ERR [SYS/TEMP]` with nothing applied, ManageSieve `BYE`). Asked over the control socket.
import type { Command } from 'commander';
import type { KickAnswer } from '../cluster/admin/who.js';
import { accountName, askServer, checkProtocol, controlContext } from './control.js';
import { EXIT, withExitCodes } from './exit.js';

export function kickCommand(program: Command): void {
  program
    .command('kick')
    .argument('<account>', 'NAME[@DOMAIN]')
    .option('--protocol <module>', "only this module's sessions (pop, imap, managesieve, submission ...)")
    .description("end an account's signed-in sessions on every worker and node of the running server (doveadm kick)")
    .action(async (input: string, o: { protocol?: string }, cmd: Command) =>
      withExitCodes(async () => {
        const ctx = await controlContext(cmd.optsWithGlobals().config);
        const account = accountName(ctx, input);
        const protocol = checkProtocol(ctx, o.protocol) ?? null;
        const answer = await askServer<KickAnswer>(ctx, { op: 'kick', account, protocol });
        const what = protocol === null ? '' : ` ${protocol}`;
        for (const u of answer.unanswered) process.stderr.write(`postern: not reached: ${u} did not answer\n`);
        if (answer.kicked === 0) {
          process.stdout.write(`no${what} session of ${account} to kick\n`);
          process.exitCode = EXIT.failure;
        } else process.stdout.write(`kicked ${answer.kicked}${what} session${answer.kicked === 1 ? '' : 's'} of ${account}\n`);
      }, []),
    );
}
