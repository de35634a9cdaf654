// postern quota ACCOUNT | quota set ACCOUNT --storage 2G --messages 10000 | quota recalc ACCOUNT
// The limits come from the config's `quota` key and the account's own override, which `set` keeps in its
// account.json; the usage is the maildirsize file Dovecot keeps too (store/maildir/maildirsize.ts).
import type { Command } from 'commander';
import { AccountStoreError } from '../accounts/account-store.js';
import { type AccountAddress, formatAddress } from '../accounts/names.js';
import { formatSize, parseSize, type QuotaReport } from '../store/quota/quota.js';
import { type CliContext, openContext, parseAccount } from './context.js';
import { CliError, EXIT, withExitCodes } from './exit.js';

const run = (action: () => Promise<void>) => withExitCodes(action, [[AccountStoreError, EXIT.failure]]);

async function existingAccount(ctx: CliContext, input: string): Promise<AccountAddress> {
  const address = parseAccount(ctx, input);
  if (!(await ctx.accounts.exists(address))) throw new CliError(`no account ${formatAddress(address)} in the ${ctx.where}`, EXIT.failure);
  return address;
}

function percent(used: number, limit: number): string {
  return limit > 0 ? `, ${Math.floor((used * 100) / limit)}%` : '';
}

/** The report as lines an operator reads (and a script can: the first two words of each line). */
function describe(report: QuotaReport): string {
  const { usage, limits } = report;
  const storageLimit = limits.storage > 0 ? `of ${limits.storage} (${formatSize(limits.storage)})` : 'of no limit';
  const messageLimit = limits.messages > 0 ? `of ${limits.messages}` : 'of no limit';
  return (
    `storage ${usage.storage} octets ${storageLimit}${percent(usage.storage, limits.storage)}\n` +
    `messages ${usage.messages} ${messageLimit}${percent(usage.messages, limits.messages)}\n`
  );
}

/** A limit from the command line: octets ("2G", "500M", "0" for none), or "default" to take the config's again. */
function limitOption(name: string, value: string | undefined, parse: (v: string) => number | null): number | null | undefined {
  if (value === undefined) return undefined;
  if (value === 'default') return null;
  const n = parse(value);
  if (n === null) throw new CliError(`--${name}: "${value}" is not a limit; give a number (0 = no limit) or "default"`, EXIT.usage);
  return n;
}

export function quotaCommands(program: Command): void {
  const quota = program
    .command('quota')
    .argument('<account>', 'NAME[@DOMAIN]')
    .description("show an account's quota: its usage and limits (set: change its own limits; recalc: count its usage again)")
    .action(async (account: string, _o: unknown, cmd: Command) =>
      run(async () => {
        const ctx = await openContext(cmd.optsWithGlobals().config);
        const address = await existingAccount(ctx, account);
        process.stderr.write(`postern: quota of ${formatAddress(address)} in the ${ctx.where}\n`);
        process.stdout.write(describe(await ctx.store.quota(address)));
      }),
    );

  quota
    .command('set')
    .argument('<account>', 'NAME[@DOMAIN]')
    .description("set the account's own limits, over the config's quota key (kept in its account.json)")
    .option('--storage <octets>', 'octets it may keep: 2G, 500M, 1048576; 0 = no limit; "default" = the config\'s')
    .option('--messages <count>', 'messages it may keep; 0 = no limit; "default" = the config\'s')
    .action(async (account: string, opts: { storage?: string; messages?: string }, cmd: Command) =>
      run(async () => {
        const storage = limitOption('storage', opts.storage, parseSize);
        const messages = limitOption('messages', opts.messages, (v) => (/^\d+$/.test(v) ? Number(v) : null));
        if (storage === undefined && messages === undefined) throw new CliError('give --storage, --messages or both', EXIT.usage);
        const ctx = await openContext(cmd.optsWithGlobals().config);
        const address = await existingAccount(ctx, account);
        await ctx.accounts.modify(address, (record) => {
          const own: { storage?: number; messages?: number } = { ...record.quota };
          if (storage === null) delete own.storage;
          else if (storage !== undefined) own.storage = storage;
          if (messages === null) delete own.messages;
          else if (messages !== undefined) own.messages = messages;
          if (Object.keys(own).length > 0) record.quota = own;
          else delete record.quota;
        });
        process.stderr.write(`postern: limits of ${formatAddress(address)} set in the ${ctx.where}\n`);
        // read at once: the maildirsize file gets the new limits line (and its count) now
        process.stdout.write(describe(await ctx.store.quota(address)));
      }),
    );

  quota
    .command('recalc')
    .argument('<account>', 'NAME[@DOMAIN]')
    .description("count the account's usage again from its messages and rewrite its maildirsize file")
    .action(async (account: string, _o: unknown, cmd: Command) =>
      run(async () => {
        const ctx = await openContext(cmd.optsWithGlobals().config);
        const address = await existingAccount(ctx, account);
        process.stderr.write(`postern: quota of ${formatAddress(address)} counted again in the ${ctx.where}\n`);
        process.stdout.write(describe(await ctx.store.recountQuota(address)));
      }),
    );
}
