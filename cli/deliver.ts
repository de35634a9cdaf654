// postern deliver ADDRESS [--mailbox M] [--from SENDER]: a local delivery agent for an MTA (like dovecot-lda).
// Exit codes follow sysexits so the MTA knows to bounce (67 unknown user, 65 unusable message, 77 a Sieve
// ereject, with the reason on stderr, as dovecot-lda -e) or to retry later (75). The account's Sieve scripts
// run as in LMTP (delivery/sieve-filter.ts); their log records go to stderr as JSON lines. The LMTP module
// delivers through the same LocalDelivery.
import type { Command } from 'commander';
import { configuredDelivery } from '../delivery/configured-delivery.js';
import { DeliveryError } from '../delivery/local-delivery.js';
import { createLogger } from '../observability/logger.js';
import { Relay } from '../submission/relay.js';
import { openContext } from './context.js';
import { CliError, EXIT } from './exit.js';

/** EX_NOPERM: the message is refused for good (a Sieve ereject); the MTA bounces it with the reason (dovecot-lda -e). */
const EX_NOPERM = 77;

const EXIT_OF: Record<DeliveryError['kind'], number> = {
  'unknown-user': EXIT.noUser,
  'too-large': EXIT.dataErr,
  empty: EXIT.dataErr,
  mailbox: EXIT.usage,
  full: EXIT.tempFail,
  'over-quota': EXIT.cantCreate,
  io: EXIT.tempFail,
  sieve: EXIT.tempFail,
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
    .option('--from <sender>', 'the envelope sender, for Sieve (default: the message\'s Return-Path field; "" for the null sender)')
    .action(async (addressArg: string, opts: { mailbox: string; from?: string }, cmd: Command) => {
      const changed: string[] = [];
      const ctx = await openContext(cmd.optsWithGlobals().config, {
        notices: { changed: (path) => void changed.push(path), listen: () => () => {} },
      });
      const relay = ctx.config.submission.relay ? new Relay(ctx.config.submission.relay) : null;
      const { delivery } = configuredDelivery(ctx.config, {
        router: ctx.router,
        store: ctx.store,
        relay,
        logger: createLogger(ctx.config.log.level, { write: (r) => void process.stderr.write(r), flush: async () => {} }),
        metrics: null,
      });
      try {
        const recipient = await delivery.recipient(addressArg);
        const done = await delivery.deliverFiltered(recipient, process.stdin as AsyncIterable<Buffer>, {
          mailbox: opts.mailbox,
          envelopeFrom: opts.from?.replace(/^<(.*)>$/, '$1'),
          logFields: { tag: 'deliver' },
        });
        relay?.close();
        if (done.fellBack) process.stderr.write(`postern: mailbox "${opts.mailbox}" does not exist; delivering to INBOX\n`);
        // RFC 5429 section 2.1.1: ereject refuses in the protocol; for an LDA, that is its exit code
        if (done.rejected !== null) throw new CliError(done.rejected, EX_NOPERM);
        // stored: the nodes sharing the tree are told, so an IDLE on any of them hears it now
        // (ioredis is loaded only then: an MTA starts this command for every message)
        const redis = ctx.config.redis;
        if (redis && !(await (await import('../cluster/nodes/redis-notices.js')).publishChanges(redis, ctx.config.dataDir, changed))) {
          process.stderr.write(
            'postern: delivered; Redis could not be told, so sessions on other nodes see the message at their next check\n',
          );
        }
      } catch (err) {
        relay?.close();
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
