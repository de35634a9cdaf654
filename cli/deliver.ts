// postern deliver ADDRESS [--mailbox M]: a local delivery agent for an MTA (like dovecot-lda).
// Exit codes follow sysexits so the MTA knows to bounce (67) or to retry later (75).
import type { Command } from 'commander';
import { EmptyMessageError, MailboxNameError } from '../accounts/store/contract.js';
import { formatAddress, NameError } from '../accounts/names.js';
import { openContext } from './context.js';
import { CliError, EXIT } from './exit.js';

export function deliverCommand(program: Command): void {
  program
    .command('deliver')
    .argument('<address>', 'the recipient: NAME or NAME@DOMAIN')
    .description('store one message read from standard input in a mailbox (exit 67: unknown user, 75: try again later)')
    .option('--mailbox <mailbox>', 'the mailbox to store it in (INBOX when that mailbox does not exist)', 'INBOX')
    .action(async (addressArg: string, opts: { mailbox: string }, cmd: Command) => {
      const ctx = await openContext(cmd.optsWithGlobals().config);
      let routed;
      try {
        routed = await ctx.router.route(addressArg);
      } catch (err) {
        if (err instanceof NameError) throw new CliError(err.message, EXIT.noUser);
        // a damaged routes.json or account.json, an I/O error: the MTA must keep the message and retry
        throw new CliError(`cannot route ${addressArg}: ${(err as Error).message}; try again later`, EXIT.tempFail);
      }
      if (!routed) throw new CliError(`${addressArg}: no such account or route in the ${ctx.where}`, EXIT.noUser);
      const address = routed.account;
      // Direct Mailbox Addressing: a routed address leaves its local part in X-Real-To.
      const extraHeader = routed.localPart === null ? undefined : `${ctx.config.realToHeader}: ${routed.localPart}@${addressArg.includes('@') ? addressArg.slice(addressArg.lastIndexOf('@') + 1).toLowerCase() : ctx.config.mainDomain}`;
      let mailbox = opts.mailbox;
      try {
        if (!(await ctx.store.hasMailbox(address, mailbox).catch((err: unknown) => {
          if (err instanceof MailboxNameError) throw err;
          throw new CliError(`cannot open ${formatAddress(address)}: ${(err as Error).message}; try again later`, EXIT.tempFail);
        }))) {
          if (mailbox.toUpperCase() !== 'INBOX') process.stderr.write(`postern: mailbox "${mailbox}" does not exist; delivering to INBOX\n`);
          mailbox = 'INBOX';
        }
      } catch (err) {
        if (err instanceof MailboxNameError) throw new CliError(`--mailbox: ${err.message}`, EXIT.usage);
        throw err;
      }
      try {
        await ctx.store.deliver(address, mailbox, process.stdin as AsyncIterable<Buffer>, { extraHeader, dropMboxFromLine: true });
      } catch (err) {
        if (err instanceof EmptyMessageError) throw new CliError('no message on standard input', EXIT.dataErr);
        const code = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
        throw new CliError(`cannot store the message for ${formatAddress(address)} (${code}) in the ${ctx.where}; try again later`, EXIT.tempFail);
      }
    });
}
