// postern sieve test ADDRESS FILE.eml [--from ADDR] [--script FILE]: what a delivery to ADDRESS would do with the
// message, without doing it, printed as Pigeonhole's sieve-test prints it (sieve/describe.ts). ADDRESS is routed
// as a delivery routes it (an account name or address, a route; a +detail subaddress is kept in the envelope and
// the address without it finds the account); the site's sieve.before scripts, the account's active script (or
// --script FILE in its place) and the sieve.after scripts run as at delivery (delivery/sieve-scripts.ts), on the
// message with what a delivery adds (Return-Path, X-Real-To). Where the delivery would not store as the script
// says, the output says what it would do: a fileinto a mailbox that does not exist (without :create) is the keep
// into INBOX. Nothing is stored, sent or remembered.
import type { Command } from 'commander';
import { formatAddress } from '../accounts/names.js';
import { deliveredOctets } from '../delivery/delivered-octets.js';
import { deliveredOutcome } from '../delivery/delivered-outcome.js';
import { DeliveryError, LocalDelivery, type LocalRecipient } from '../delivery/local-delivery.js';
import { firstHeader } from '../delivery/sieve-mail.js';
import { type ReadyScript, ScriptCompiler, SiteScripts } from '../delivery/sieve-scripts.js';
import { describeCompileError, describeOutcome } from '../sieve/describe.js';
import type { SieveOutcome } from '../sieve/outcome.js';
import { failedOutcome } from '../sieve/run-pool.js';
import { runScripts } from '../sieve/run.js';
import { type CliContext, openContext } from './context.js';
import { CliError, EXIT } from './exit.js';
import { configDir, includeLoader, nameOfFile, readInput, runSieveCommand } from './sieve-common.js';

interface TestOptions {
  from?: string;
  script?: string;
}

/** Routes ADDRESS as a delivery does (a +detail subaddress reaches the account and stays in the envelope). */
async function route(ctx: CliContext, delivery: LocalDelivery, address: string): Promise<LocalRecipient> {
  try {
    return await delivery.recipient(address);
  } catch (err) {
    if (!(err instanceof DeliveryError) || err.kind !== 'unknown-user') throw err;
    throw new CliError(`${address}: no such account or route in the ${ctx.where}`, EXIT.noUser);
  }
}

/** The message as the delivery would store it and hand it to the scripts (delivered-octets.ts). */
async function deliveredMessage(raw: Buffer, recipient: LocalRecipient): Promise<Buffer> {
  const chunks: Buffer[] = [];
  async function* once() {
    yield raw;
  }
  for await (const chunk of deliveredOctets(once(), { extraHeader: recipient.extraHeader ?? undefined, dropMboxFromLine: true }))
    chunks.push(chunk);
  return Buffer.concat(chunks);
}

export function sieveTestCommand(sieve: Command): void {
  sieve
    .command('test')
    .argument('<address>', 'the envelope recipient: an account NAME, NAME@DOMAIN, a routed address; +detail kept')
    .argument('<message>', 'the message (an .eml file), or - for standard input')
    .option('--from <address>', "the envelope sender (default: the message's Return-Path; none: the null sender)")
    .option('--script <file>', "run this script in place of the account's active one")
    .description(
      "print what a delivery to ADDRESS would do with the message (the site's scripts and the account's), in the form of " +
        "Pigeonhole's sieve-test, without doing it",
    )
    .action(async (address: string, file: string, opts: TestOptions, cmd: Command) =>
      runSieveCommand(async () => {
        const ctx = await openContext(cmd.optsWithGlobals().config);
        const delivery = new LocalDelivery(ctx.router, ctx.store, {
          mainDomain: ctx.config.mainDomain,
          realToHeader: ctx.config.realToHeader,
          maxSize: 0,
          recipientDelimiter: ctx.config.delivery.recipientDelimiter,
        });
        const recipient = await route(ctx, delivery, address);
        const raw = await readInput(file);
        if (raw.length === 0) throw new CliError('the message is empty', EXIT.dataErr);
        const message = await deliveredMessage(raw, recipient);
        const returnPath = firstHeader(message, 'Return-Path');
        const envelopeFrom = opts.from ?? (returnPath === null ? '' : (/<([^>]*)>/.exec(returnPath)?.[1] ?? returnPath.trim()));

        const settings = ctx.config.sieve;
        const baseDir = configDir(ctx);
        const compiler = new ScriptCompiler();
        const site = settings.enabled ? await SiteScripts.load(settings, baseDir, compiler) : SiteScripts.none;
        for (const problem of site.problems) process.stderr.write(`postern: ${problem}\n`);
        if (!settings.enabled) process.stderr.write('postern: sieve.enabled is false: deliveries run no script\n');

        const loadInclude = includeLoader(ctx, ctx.store.sieveScripts(recipient.account));
        let user: ReadyScript | null = null;
        if (opts.script !== undefined) {
          const name = nameOfFile(opts.script);
          user = await compiler.compile(`test:${name}`, name, await readInput(opts.script), loadInclude);
          if (user.compiled === null) {
            process.stderr.write(describeCompileError({ messages: (user.error ?? '').split('\n') }));
            throw new CliError(`${name}: the script does not compile`, EXIT.dataErr);
          }
        } else if (settings.enabled) {
          const active = await ctx.store.sieveScripts(recipient.account).active();
          if (active) user = await compiler.compile(`user:${formatAddress(recipient.account)}`, active.name, active.content, loadInclude);
        }
        const sequence = settings.enabled ? [...site.before, ...(user ? [user] : []), ...site.after] : [];

        // as at delivery: a script that does not compile stops the sequence there, and the message is kept
        const broken = sequence.findIndex((s) => s.compiled === null);
        const runnable = broken < 0 ? sequence : sequence.slice(0, broken);
        if (broken >= 0) process.stderr.write(describeCompileError({ messages: (sequence[broken].error ?? '').split('\n') }));
        const mailboxes = (await ctx.store.listMailboxes(recipient.account)).map((m) => m.name);
        let outcome: SieveOutcome;
        if (runnable.length === 0 && broken >= 0) outcome = failedOutcome(`${sequence[broken].name} does not compile`);
        else if (runnable.length === 0) outcome = failedOutcome('');
        else {
          const memory = ctx.store.deliveryMemory(recipient.account);
          outcome = await runScripts(
            runnable.map((s) => s.compiled!),
            {
              message,
              envelope: { from: envelopeFrom, to: recipient.address },
              ownAddresses: [...new Set([formatAddress(recipient.account), recipient.address.toLowerCase()])],
              mailboxes,
              environment: { domain: ctx.config.mainDomain, location: 'MDA', name: 'Postern', phase: 'during' },
              now: new Date(),
            },
            { seen: (key) => memory.seen(key) },
            { maxActions: settings.maxActions, maxRedirects: settings.maxRedirects },
          );
        }
        if (runnable.length === 0 && broken < 0) outcome = { ...outcome, error: null }; // no script: the plain keep
        const delivered = deliveredOutcome(outcome, mailboxes);
        for (const m of delivered.missing)
          process.stderr.write(`postern: ${formatAddress(recipient.account)} has no mailbox ${m}: a delivery keeps the message in INBOX\n`);
        process.stdout.write(describeOutcome(delivered.outcome));
      }),
    );
}
