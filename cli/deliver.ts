// postern deliver ADDRESS [--mailbox M]: a local delivery agent for an MTA (like dovecot-lda).
// Exit codes follow sysexits so the MTA knows to bounce (67 unknown user, 65 unusable message) or to
// retry later (75). The LMTP module delivers through the same LocalDelivery.
import type { Command } from 'commander';
import { publishChanges } from '../cluster/nodes/redis-notices.js';
import { DeliveryError, LocalDelivery } from '../delivery/local-delivery.js';
import { openContext } from './context.js';
import { CliError, EXIT } from './exit.js';

const EXIT_OF: Record<DeliveryError['kind'], number> = {
  'unknown-user': EXIT.noUser,
  'too-large': EXIT.dataErr,
  empty: EXIT.dataErr,
  mailbox: EXIT.usage,
  full: EXIT.tempFail,
  'over-quota': EXIT.cantCreate,
  io: EXIT.tempFail,
};

export function deliverCommand(program: Command): void {
  program
    .command('deliver')
    .argument('<address>', 'the recipient: NAME or NAME@DOMAIN')
    .description(
      'store one message read from standard input in a mailbox (exit 67: unknown user, 65: empty or too large, 73: over quota, ' +
        '75: try again later)',
    )
    .option('--mailbox <mailbox>', 'the mailbox to store it in (INBOX when that mailbox does not exist)', 'INBOX')
    .action(async (addressArg: string, opts: { mailbox: string }, cmd: Command) => {
      const changed: string[] = [];
      const ctx = await openContext(cmd.optsWithGlobals().config, {
        notices: { changed: (path) => void changed.push(path), listen: () => () => {} },
      });
      const delivery = new LocalDelivery(ctx.router, ctx.store, {
        mainDomain: ctx.config.mainDomain,
        realToHeader: ctx.config.realToHeader,
        maxSize: ctx.config.delivery.maxSize,
        fullTempfail: ctx.config.quota.fullTempfail,
      });
      try {
        const recipient = await delivery.recipient(addressArg);
        const { mailbox, fellBack } = await delivery.mailbox(recipient, opts.mailbox);
        if (fellBack) process.stderr.write(`postern: mailbox "${opts.mailbox}" does not exist; delivering to INBOX\n`);
        await delivery.deliver(recipient, mailbox, process.stdin as AsyncIterable<Buffer>);
        // stored: the nodes sharing the tree are told, so an IDLE on any of them hears it now
        if (ctx.config.redis && !(await publishChanges(ctx.config.redis, ctx.config.dataDir, changed))) {
          process.stderr.write(
            'postern: delivered; Redis could not be told, so sessions on other nodes see the message at their next check\n',
          );
        }
      } catch (err) {
        if (!(err instanceof DeliveryError)) throw err;
        const message =
          err.kind === 'unknown-user'
            ? `${addressArg}: no such account or route in the ${ctx.where}`
            : err.kind === 'empty'
              ? 'no message on standard input'
              : err.kind === 'mailbox'
                ? `--mailbox: ${err.message}`
                : err.kind === 'over-quota'
                  ? `${addressArg}: ${err.message}${err.permanent ? '' : '; try again later'}`
                  : err.permanent
                    ? err.message
                    : `${err.message} in the ${ctx.where}; try again later`;
        // over quota with quota.fullTempfail: temporary, the MTA keeps the message and tries again
        throw new CliError(message, err.kind === 'over-quota' && !err.permanent ? EXIT.tempFail : EXIT_OF[err.kind]);
      }
    });
}
