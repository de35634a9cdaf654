// postern mailbox create | list | acl, and postern route add | remove | list
import type { Command } from 'commander';
import { AclError, type Grantee, normalizeRights } from '../accounts/rights.js';
import type { Acl } from '../store/contract.js';
import { type AccountAddress, formatAddress } from '../accounts/names.js';
import { RouteError } from '../accounts/router.js';
import { type CliContext, openContext, parseAccount } from './context.js';
import { CliError, EXIT, withStoreExitCodes } from './exit.js';

/** The account a mailbox command names; "public" (in any local domain) is created on first use. */
async function mailboxOwner(ctx: CliContext, input: string, create: boolean): Promise<AccountAddress> {
  const address = parseAccount(ctx, input);
  if (await ctx.accounts.exists(address)) return address;
  if (address.name === 'public' && create) return ctx.accounts.ensurePublic(address.domain);
  throw new CliError(`no account ${formatAddress(address)}`, EXIT.failure);
}

/** Runs a command's action; the store's refusals (cli/exit.ts) and the account layer's become one-line CliErrors with exit codes. */
const run = (action: () => Promise<void>) =>
  withStoreExitCodes(action, [
    [AclError, EXIT.usage],
    [RouteError, EXIT.failure],
  ]);

export function mailboxCommands(program: Command): void {
  const mailbox = program.command('mailbox').description('manage mailboxes and who may use them');

  mailbox
    .command('create')
    .argument('<account>', 'NAME[@DOMAIN]; "public" holds the public mailboxes of its domain')
    .argument('<mailbox>', 'a name such as "private" or "lists/info"')
    .description('create a mailbox (a Maildir++ folder)')
    .action(async (account: string, name: string, _o: unknown, cmd: Command) =>
      run(async () => {
        const ctx = await openContext(cmd.optsWithGlobals().config);
        const owner = await mailboxOwner(ctx, account, true);
        const created = await ctx.store.createMailbox(owner, name);
        const what = created
          ? `mailbox ${name} created for ${formatAddress(owner)}`
          : `mailbox ${name} of ${formatAddress(owner)} already exists`;
        process.stdout.write(`${what} in the ${ctx.where}\n`);
      }),
    );

  mailbox
    .command('rename')
    .argument('<account>', 'NAME[@DOMAIN]')
    .argument('<from>', 'the mailbox, e.g. lists or INBOX')
    .argument('<to>', 'its new name; mailboxes below it move too (renaming INBOX moves its messages into a new mailbox)')
    .description('rename a mailbox and every mailbox below it (UIDs and flags kept)')
    .action(async (account: string, from: string, to: string, _o: unknown, cmd: Command) =>
      run(async () => {
        const ctx = await openContext(cmd.optsWithGlobals().config);
        const owner = await mailboxOwner(ctx, account, false);
        await ctx.store.renameMailbox(owner, from, to);
        process.stdout.write(`mailbox ${from} of ${formatAddress(owner)} renamed to ${to} in the ${ctx.where}\n`);
      }),
    );

  mailbox
    .command('delete')
    .argument('<account>', 'NAME[@DOMAIN]')
    .argument('<mailbox>', 'the mailbox (not INBOX); the mailboxes below it stay')
    .description('delete a mailbox with its messages')
    .action(async (account: string, name: string, _o: unknown, cmd: Command) =>
      run(async () => {
        const ctx = await openContext(cmd.optsWithGlobals().config);
        const owner = await mailboxOwner(ctx, account, false);
        await ctx.store.deleteMailbox(owner, name);
        process.stdout.write(`mailbox ${name} of ${formatAddress(owner)} deleted from the ${ctx.where}\n`);
      }),
    );

  mailbox
    .command('list')
    .argument('<account>', 'NAME[@DOMAIN]')
    .description('list the mailboxes of an account, one per line')
    .action(async (account: string, _o: unknown, cmd: Command) =>
      run(async () => {
        const ctx = await openContext(cmd.optsWithGlobals().config);
        const owner = await mailboxOwner(ctx, account, false);
        process.stderr.write(`postern: mailboxes of ${formatAddress(owner)} in the ${ctx.where}\n`);
        for (const m of await ctx.store.listMailboxes(owner)) if (m.selectable) process.stdout.write(`${m.name}\n`);
      }),
    );

  mailbox
    .command('acl')
    .argument('<account>', 'the owner, NAME[@DOMAIN]')
    .argument('<mailbox>', 'the mailbox, e.g. INBOX or announces')
    .argument('[grantee]', 'an account NAME[@DOMAIN], "anyone" or "authenticated"')
    .argument('[rights]', 'RFC 4314 letters, e.g. lrs (read, set Seen) or lrst (and delete); "none" removes')
    .description("show a mailbox's rights, or set one grantee's (kept in dovecot-acl, which Dovecot reads too)")
    .action(async (account: string, name: string, grantee: string | undefined, rights: string | undefined, _o: unknown, cmd: Command) =>
      run(async () => {
        const ctx = await openContext(cmd.optsWithGlobals().config);
        const owner = await mailboxOwner(ctx, account, false);
        if (!(await ctx.store.hasMailbox(owner, name))) throw new CliError(`${formatAddress(owner)} has no mailbox ${name}`, EXIT.failure);
        let acl: Acl;
        if (grantee === undefined) acl = await ctx.store.acl(owner, name);
        else {
          if (rights === undefined) throw new CliError('give the rights too, e.g. "lrs", or "none" to remove them', EXIT.usage);
          const who: Grantee = grantee === 'anyone' || grantee === 'authenticated' ? grantee : { user: parseAccount(ctx, grantee) };
          if (typeof who !== 'string' && !(await ctx.accounts.exists(who.user)))
            throw new CliError(`no account ${formatAddress(who.user)}`, EXIT.failure);
          acl = await ctx.store.setRights(owner, name, who, normalizeRights(rights));
        }
        process.stderr.write(`postern: rights on ${name} of ${formatAddress(owner)} in the ${ctx.where}\n`);
        for (const [who, r] of acl) process.stdout.write(`${who} ${r}\n`);
      }),
    );

  const route = program.command('route').description('route addresses to accounts (Direct Mailbox Addressing)');
  route
    .command('add')
    .argument('<pattern>', 'an address like abcdef@client1.com, or *@client1.com for the whole domain')
    .argument('<account>', 'the account that receives it, NAME[@DOMAIN]')
    .description('route an address (or a whole domain) to an account; a POP login as that address sees only mail addressed to it')
    .action(async (pattern: string, account: string, _o: unknown, cmd: Command) =>
      run(async () => {
        const ctx = await openContext(cmd.optsWithGlobals().config);
        const r = await ctx.router.add(pattern, parseAccount(ctx, account));
        process.stdout.write(`route ${r.pattern} -> ${r.account} added in the ${ctx.where}\n`);
      }),
    );
  route
    .command('remove')
    .argument('<pattern>', 'the pattern as added')
    .description('remove a route')
    .action(async (pattern: string, _o: unknown, cmd: Command) =>
      run(async () => {
        const ctx = await openContext(cmd.optsWithGlobals().config);
        if (!(await ctx.router.remove(pattern))) throw new CliError(`no route ${pattern}`, EXIT.failure);
        process.stdout.write(`route ${pattern} removed from the ${ctx.where}\n`);
      }),
    );
  route
    .command('list')
    .description('list the routes: PATTERN -> ACCOUNT')
    .action(async (_o: unknown, cmd: Command) =>
      run(async () => {
        const ctx = await openContext(cmd.optsWithGlobals().config);
        process.stderr.write(`postern: routes in the ${ctx.where}\n`);
        for (const r of await ctx.router.list()) process.stdout.write(`${r.pattern} -> ${r.account}\n`);
      }),
    );
}
