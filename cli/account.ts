// postern account add | set | list | remove
import type { Command } from 'commander';
import { AccountStoreError, ReadOnlyDirectoryError } from '../accounts/account-store.js';
import { DirectoryUnavailable } from '../accounts/directory/contract.js';
import { Bulletins } from '../delivery/bulletins.js';
import { formatAddress } from '../accounts/names.js';
import { bulletinDir } from '../modules/pop/config.js';
import { openContext, parseAccount } from './context.js';
import { CliError, EXIT, withExitCodes } from './exit.js';
import { readStdinText } from './stdin.js';

interface PasswordOptions {
  password?: string;
  passwordStdin?: boolean;
}

async function passwordFrom(opts: PasswordOptions, required: boolean): Promise<string | undefined> {
  if (opts.password !== undefined && opts.passwordStdin) throw new CliError('give --password or --password-stdin, not both', EXIT.usage);
  const password = opts.passwordStdin ? await readStdinText() : opts.password;
  if (password === undefined) {
    if (required) throw new CliError('a password is needed: --password P, or --password-stdin to read it from standard input', EXIT.usage);
    return undefined;
  }
  if (password.length === 0) throw new CliError('the password is empty', EXIT.usage);
  return password;
}

function parseExpires(value: string): string | null {
  if (value === 'never') return null;
  const t = Date.parse(value);
  if (!/^\d{4}-\d{2}-\d{2}/.test(value) || Number.isNaN(t)) {
    throw new CliError(`--expires: "${value}" is not an ISO date (like 2027-01-31 or 2027-01-31T18:00:00Z), or "never"`, EXIT.usage);
  }
  return new Date(t).toISOString();
}

// A directory is read-only to Postern (EX_UNAVAILABLE: the change is made in the directory); one that
// cannot answer is a temporary failure.
const run = (action: () => Promise<void>) =>
  withExitCodes(action, [
    [ReadOnlyDirectoryError, EXIT.unavailable],
    [DirectoryUnavailable, EXIT.tempFail],
    [AccountStoreError, EXIT.failure],
  ]);

export function accountCommands(program: Command): void {
  const account = program.command('account').description('manage accounts');

  account
    .command('add')
    .argument('<name>', 'NAME or NAME@DOMAIN (a local domain)')
    .description('create an account and its INBOX')
    .option('--password <password>', 'the password (visible to other local users in the process list; prefer --password-stdin)')
    .option('--password-stdin', 'read the password from standard input')
    .option('--apop-secret <secret>', 'shared secret for APOP sign-in')
    .action(async (name: string, opts: PasswordOptions & { apopSecret?: string }, cmd: Command) =>
      run(async () => {
        const password = (await passwordFrom(opts, true))!;
        const ctx = await openContext(cmd.optsWithGlobals().config, { create: true });
        const address = parseAccount(ctx, name);
        // popper: a new user starts at the current bulletin, so never gets old ones
        const bulletins = bulletinDir(ctx.config);
        const mark = bulletins ? await new Bulletins(bulletins, ctx.accounts, ctx.store).highest() : null;
        await ctx.accounts.add(address, password, opts.apopSecret ?? null, mark);
        process.stdout.write(`account ${formatAddress(address)} created in the ${ctx.where}\n`);
      }),
    );

  account
    .command('set')
    .argument('<name>', 'NAME or NAME@DOMAIN')
    .description('change an account')
    .option('--password <password>', 'a new password')
    .option('--password-stdin', 'read the new password from standard input')
    .option('--apop-secret <secret>', 'a new APOP shared secret ("" removes it)')
    .option('--disabled', 'refuse every sign-in')
    .option('--enabled', 'allow sign-in again')
    .option('--expires <date>', 'refuse sign-in after this ISO date; "never" clears it')
    .action(
      async (
        name: string,
        opts: PasswordOptions & { apopSecret?: string; disabled?: boolean; enabled?: boolean; expires?: string },
        cmd: Command,
      ) =>
        run(async () => {
          if (opts.disabled && opts.enabled) throw new CliError('give --disabled or --enabled, not both', EXIT.usage);
          const ctx = await openContext(cmd.optsWithGlobals().config);
          const address = parseAccount(ctx, name);
          const changes = {
            password: await passwordFrom(opts, false),
            apopSecret: opts.apopSecret === undefined ? undefined : opts.apopSecret || null,
            disabled: opts.disabled ? true : opts.enabled ? false : undefined,
            expires: opts.expires === undefined ? undefined : parseExpires(opts.expires),
          };
          if (Object.values(changes).every((v) => v === undefined)) {
            throw new CliError(
              'nothing to change: give --password, --password-stdin, --apop-secret, --disabled, --enabled or --expires',
              EXIT.usage,
            );
          }
          await ctx.accounts.update(address, changes);
          process.stdout.write(`account ${formatAddress(address)} changed in the ${ctx.where}\n`);
        }),
    );

  account
    .command('list')
    .description('list the accounts, one per line')
    .action(async (_opts: unknown, cmd: Command) =>
      run(async () => {
        const ctx = await openContext(cmd.optsWithGlobals().config);
        process.stderr.write(`postern: accounts in the ${ctx.where}\n`);
        for (const a of await ctx.accounts.list()) {
          // "public" is no account anyone signs in as: it holds the domain's public mailboxes
          const notes = (
            a.name === 'public'
              ? ['holds the public mailboxes; no sign-in']
              : [a.disabled ? 'disabled' : '', a.expires ? `expires ${a.expires}` : '', a.apopSecret ? 'apop' : '']
          )
            .filter(Boolean)
            .join(', ');
          process.stdout.write(`${formatAddress(a)}${notes ? `\t${notes}` : ''}\n`);
        }
      }),
    );

  account
    .command('alert')
    .argument('<name>', 'NAME or NAME@DOMAIN')
    .argument('<text>', 'one line, shown instead of signing in (CommuniGate alerts)')
    .description('queue an alert: the next correct sign-in is answered with it instead; one per sign-in until none is left')
    .action(async (name: string, text: string, _opts: unknown, cmd: Command) =>
      run(async () => {
        if (text.trim() === '' || /[\x00-\x1f\x7f]/.test(text) || text.length > 400) {
          throw new CliError('the alert text must be one line of 1-400 printable characters', EXIT.usage);
        }
        const ctx = await openContext(cmd.optsWithGlobals().config);
        const address = parseAccount(ctx, name);
        const pending = await ctx.accounts.addAlert(address, text.trim());
        process.stdout.write(`alert queued for ${formatAddress(address)} (${pending} pending) in the ${ctx.where}\n`);
      }),
    );

  account
    .command('remove')
    .argument('<name>', 'NAME or NAME@DOMAIN')
    .description('remove an account with all its mail')
    .option('--force', 'remove it even if its INBOX still holds messages')
    .action(async (name: string, opts: { force?: boolean }, cmd: Command) =>
      run(async () => {
        const ctx = await openContext(cmd.optsWithGlobals().config);
        const address = parseAccount(ctx, name);
        if (!(await ctx.accounts.exists(address))) throw new CliError(`no account ${formatAddress(address)}`, EXIT.failure);
        const inbox = await ctx.store.open(address, 'INBOX');
        const count = inbox.messages.length;
        inbox.close();
        if (count > 0 && !opts.force) {
          throw new CliError(
            `${formatAddress(address)} still has ${count} messages in its INBOX; add --force to remove the account and its mail`,
            EXIT.failure,
          );
        }
        await ctx.store.removeAccount(address);
        await ctx.accounts.remove(address);
        process.stdout.write(`account ${formatAddress(address)} removed from the ${ctx.where}\n`);
      }),
    );
}
