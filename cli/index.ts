// postern index status [ACCOUNT | --all] | index rebuild [ACCOUNT | --all]
// The SEARCH index of each mailbox (store/search-index/, README "Index for SEARCH"): status says, per
// mailbox, how many of its messages the index holds and the file's size; rebuild empties each index and
// makes it again from the mail (with a progress bar on a terminal), while servers keep answering (a
// SEARCH checks what the index does not hold yet). The rebuild runs on the upkeep thread, as a server's
// upkeep does (store/search-index/upkeep-thread.ts): one code path for the index's writes, the memory bound
// of its heap, and the event loop free to draw the bar. With `index: false` in the config there is nothing to do.
import type { Command } from 'commander';
import { AccountStoreError } from '../accounts/account-store.js';
import { type AccountAddress, formatAddress } from '../accounts/names.js';
import type { MailboxView } from '../store/contract.js';
import { indexPath, inodeOf } from '../store/search-index/index-file.js';
import { searchIndexes } from '../store/search-index/search-indexes.js';
import { type CliContext, openContext, parseAccount } from './context.js';
import { CliError, EXIT, withExitCodes } from './exit.js';

const run = (action: () => Promise<void>) => withExitCodes(action, [[AccountStoreError, EXIT.failure]]);

interface Scope {
  all?: boolean;
}

/** The accounts a command covers: the one named, or with --all every account. */
async function accountsOf(ctx: CliContext, account: string | undefined, opts: Scope): Promise<AccountAddress[]> {
  if (opts.all && account !== undefined) throw new CliError('give an account or --all, not both', EXIT.usage);
  if (opts.all) return (await ctx.accounts.list()).map((a) => ({ name: a.name, domain: a.domain }));
  if (account === undefined) throw new CliError('give an account (NAME[@DOMAIN]) or --all', EXIT.usage);
  const address = parseAccount(ctx, account);
  if (!(await ctx.accounts.exists(address))) throw new CliError(`no account ${formatAddress(address)} in the ${ctx.where}`, EXIT.failure);
  return [address];
}

/** Each selectable mailbox of the account, opened in turn (a view of it as it is now). */
async function forEachMailbox(ctx: CliContext, account: AccountAddress, each: (mailbox: string, view: MailboxView) => Promise<void>) {
  for (const entry of await ctx.store.listMailboxes(account)) {
    if (!entry.selectable) continue;
    const view = await ctx.store.open(account, entry.name);
    try {
      await each(entry.name, view);
    } finally {
      view.close();
    }
  }
}

function checkEnabled(ctx: CliContext): void {
  if (!ctx.config.index) throw new CliError(`the SEARCH index is off (index: false in the ${ctx.where}'s config)`, EXIT.config);
}

/** A progress bar on stderr when it is a terminal: "[####....] 1200/5000 INBOX". */
function progressBar(label: string): ((done: number, total: number) => void) & { end(): void } {
  const tty = process.stderr.isTTY === true;
  let last = 0;
  const draw = (done: number, total: number): void => {
    if (!tty || (Date.now() - last < 100 && done < total)) return;
    last = Date.now();
    const filled = Math.round((done / Math.max(total, 1)) * 30);
    process.stderr.write(`\r\x1b[K[${'#'.repeat(filled)}${'.'.repeat(30 - filled)}] ${done}/${total} ${label}`);
  };
  return Object.assign(draw, { end: () => tty && process.stderr.write('\r\x1b[K') });
}

export function indexCommands(program: Command): void {
  const index = program.command('index').description('the SEARCH index of each mailbox: status, rebuild');

  index
    .command('status')
    .argument('[account]', 'NAME[@DOMAIN]')
    .option('--all', 'every account')
    .description('per mailbox: its messages, how many the index holds, and the size of its index file')
    .action(async (account: string | undefined, opts: Scope, cmd: Command) =>
      run(async () => {
        const ctx = await openContext(cmd.optsWithGlobals().config);
        checkEnabled(ctx);
        const indexes = searchIndexes(undefined, ctx.config.sharedTree ? 'delete' : 'wal');
        process.stderr.write(`postern: SEARCH indexes in the ${ctx.where}\n`);
        for (const address of await accountsOf(ctx, account, opts)) {
          await forEachMailbox(ctx, address, async (mailbox, view) => {
            if (inodeOf(indexPath(view.storage)) === null) {
              // no file yet (never opened by a server since): status makes none
              process.stdout.write(`${formatAddress(address)}\t${mailbox}\tmessages ${view.messages.length}\tindexed 0\tno index file\n`);
              return;
            }
            const mi = indexes.of(view.storage);
            const current = mi.ready(view.uidValidity);
            const held = current ? view.messages.filter((m) => mi.holds(m.uid)).length : 0;
            const checked = current ? view.messages.filter((m) => mi.recorded.has(m.uid) && !mi.holds(m.uid)).length : 0;
            const size = mi.size();
            mi.close();
            process.stdout.write(
              `${formatAddress(address)}\t${mailbox}\tmessages ${view.messages.length}\tindexed ${held}` +
                (checked > 0 ? `\ttoo large ${checked}` : '') +
                `\tsize ${size} (${(size / 1048576).toFixed(1)} MiB)\n`,
            );
          });
        }
      }),
    );

  index
    .command('rebuild')
    .argument('[account]', 'NAME[@DOMAIN]')
    .option('--all', 'every account')
    .description("empty each mailbox's index and make it again from the mail (servers keep answering meanwhile)")
    .action(async (account: string | undefined, opts: Scope, cmd: Command) =>
      run(async () => {
        const ctx = await openContext(cmd.optsWithGlobals().config);
        checkEnabled(ctx);
        const indexes = searchIndexes(undefined, ctx.config.sharedTree ? 'delete' : 'wal');
        process.stderr.write(`postern: rebuilding SEARCH indexes in the ${ctx.where}\n`);
        let mailboxes = 0;
        let messages = 0;
        for (const address of await accountsOf(ctx, account, opts)) {
          await forEachMailbox(ctx, address, async (mailbox, view) => {
            const mi = indexes.of(view.storage);
            const bar = progressBar(`${formatAddress(address)} ${mailbox}`);
            // the upkeep thread does not keep a process alive (upkeep-thread.ts): this command waits for it
            const alive = setInterval(() => {}, 60_000);
            try {
              await indexes.upkeep.rebuild({ folder: view.storage, snapshot: () => ctx.store.indexFiles(address, mailbox) }, bar);
              mi.ready(view.uidValidity); // this thread's connection reads what the upkeep thread wrote
            } catch (err) {
              const code = (err as { code?: unknown }).code;
              throw new CliError(
                `${formatAddress(address)} ${mailbox}: the index could not be made: ${(err as Error).message}`,
                code === 'SQLITE_FULL' || code === 'SQLITE_BUSY' ? EXIT.tempFail : EXIT.failure,
              );
            } finally {
              clearInterval(alive);
              bar.end();
            }
            process.stdout.write(`${formatAddress(address)}\t${mailbox}\tindexed ${view.messages.filter((m) => mi.holds(m.uid)).length}\n`);
            mi.close();
            mailboxes++;
            messages += view.messages.length;
          });
        }
        process.stderr.write(`postern: ${mailboxes} mailboxes, ${messages} messages indexed again\n`);
      }),
    );
}
