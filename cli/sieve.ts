// postern sieve list | put | get | activate | rename | delete | check: an account's Sieve scripts as the
// store keeps them (the Maildir store: Pigeonhole's layout, home/sieve/NAME.sieve and the .dovecot.sieve link,
// so Dovecot's tools see the same). A script is compiled before it is stored: one that does not compile is
// refused with the compiler's lines (Pigeonhole's, as sieve-test prints them) and exit 65 (EX_DATAERR).
import { readFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { Command } from 'commander';
import { type AccountAddress, formatAddress } from '../accounts/names.js';
import { compileScript, type CompiledScript, SieveCompileError } from '../sieve/compile.js';
import { checkSieveScriptName, MailError, MailStoreError, type SieveScripts } from '../store/contract.js';
import { type CliContext, openContext, parseAccount } from './context.js';
import { CliError, EXIT } from './exit.js';

/**
 * The exit code of each store failure, reported in the store's words (one line on stderr): a name no script
 * can have is a usage error; a missing script, one that exists, the active one deleted: 1 (as `postern
 * mailbox`); a lock held too long: 75 (try again later); links the store refuses: 69 (the operator must fix them).
 */
const EXIT_OF: Record<MailError, number | null> = {
  [MailError.PARAMS]: EXIT.usage,
  [MailError.LIMIT]: EXIT.usage,
  [MailError.NOTFOUND]: EXIT.failure,
  [MailError.EXISTS]: EXIT.failure,
  [MailError.NOTPOSSIBLE]: EXIT.failure,
  [MailError.TEMP]: EXIT.tempFail,
  [MailError.UNAVAILABLE]: EXIT.unavailable,
  [MailError.EXPUNGED]: null,
  [MailError.INVALIDDATA]: null,
  [MailError.NOQUOTA]: null,
};

/** Runs a command's action; the store's refusals become one-line CliErrors with exit codes. */
export async function runSieveCommand(action: () => Promise<void>): Promise<void> {
  try {
    await action();
  } catch (err) {
    const exit = err instanceof MailStoreError ? EXIT_OF[err.mailError] : null;
    if (exit !== null) throw new CliError((err as Error).message, exit);
    throw err;
  }
}

/** The account a command names: 64 for a name that cannot be one, 67 (EX_NOUSER) for one that does not exist. */
export async function sieveAccount(ctx: CliContext, input: string): Promise<AccountAddress> {
  const address = parseAccount(ctx, input);
  if (!(await ctx.accounts.exists(address))) throw new CliError(`no account ${formatAddress(address)} in the ${ctx.where}`, EXIT.noUser);
  return address;
}

/** A file's content, or standard input's for "-"; a file that cannot be read: exit 65. */
export async function readInput(file: string): Promise<Buffer> {
  if (file === '-') {
    const chunks: Buffer[] = [];
    for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks);
  }
  try {
    return await readFile(file);
  } catch (err) {
    throw new CliError(`cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, EXIT.dataErr);
  }
}

/**
 * RFC 6609: where `include` finds scripts: :personal among the account's scripts (none without an account),
 * :global in the folder of `sieve.global` (NAME.sieve; none without it). A name no script can have finds none.
 */
export function includeLoader(ctx: CliContext, scripts: SieveScripts | null) {
  return async (name: string, location: 'personal' | 'global'): Promise<Buffer | null> => {
    try {
      checkSieveScriptName(name);
    } catch {
      return null;
    }
    if (location === 'personal') return scripts ? scripts.get(name) : null;
    const folder = ctx.config.sieve.global;
    if (folder === null) return null;
    return readFile(join(folder, `${name}.sieve`)).catch(() => null);
  };
}

/**
 * Compiles a script (and what it includes); prints the compiler's warnings on stderr. A script that does not
 * compile: its lines on stderr and exit 65, as the script is unusable.
 */
export async function compileOrExit(
  content: Buffer,
  name: string,
  loadInclude: ReturnType<typeof includeLoader>,
  maxSize: number,
): Promise<CompiledScript> {
  if (maxSize > 0 && content.length > maxSize)
    throw new CliError(`the script is ${content.length} octets, more than sieve.maxScriptSize (${maxSize})`, EXIT.dataErr);
  try {
    const compiled = await compileScript(content, { name, loadInclude });
    for (const line of compiled.warnings) process.stderr.write(`${line}\n`);
    return compiled;
  } catch (err) {
    if (!(err instanceof SieveCompileError)) throw err;
    for (const line of err.messages) process.stderr.write(`${line}\n`);
    throw new CliError(`${name}: the script does not compile; nothing was stored`, EXIT.dataErr);
  }
}

/** The name a script file is compiled under (its file name without .sieve, as Pigeonhole's sieve-test). */
export function nameOfFile(file: string): string {
  return file === '-' ? 'stdin' : basename(file).replace(/\.sieve$/, '');
}

export function sieveCommands(program: Command): void {
  const sieve = program
    .command('sieve')
    .description("manage an account's Sieve filters (kept as Dovecot's Pigeonhole keeps them: ~/sieve/NAME.sieve, ~/.dovecot.sieve)");

  sieve
    .command('list')
    .argument('<account>', 'NAME[@DOMAIN]')
    .description('list the scripts of an account: NAME, SIZE in octets, and "active" for the active one (tab between)')
    .action(async (account: string, _o: unknown, cmd: Command) =>
      runSieveCommand(async () => {
        const ctx = await openContext(cmd.optsWithGlobals().config);
        const owner = await sieveAccount(ctx, account);
        process.stderr.write(`postern: Sieve scripts of ${formatAddress(owner)} in the ${ctx.where}\n`);
        for (const s of await ctx.store.sieveScripts(owner).list())
          process.stdout.write(`${s.name}\t${s.size}${s.active ? '\tactive' : ''}\n`);
      }),
    );

  sieve
    .command('put')
    .argument('<account>', 'NAME[@DOMAIN]')
    .argument('<name>', 'the script name, e.g. "rules" (kept as ~/sieve/rules.sieve)')
    .argument('<file>', 'the script, or - for standard input')
    .option('--activate', 'make it the active script too')
    .description('store a script (replacing one of that name), compiled first: one that does not compile is refused (exit 65)')
    .action(async (account: string, name: string, file: string, opts: { activate?: boolean }, cmd: Command) =>
      runSieveCommand(async () => {
        checkSieveScriptName(name);
        const ctx = await openContext(cmd.optsWithGlobals().config);
        const owner = await sieveAccount(ctx, account);
        const scripts = ctx.store.sieveScripts(owner);
        const content = await readInput(file);
        await compileOrExit(content, name, includeLoader(ctx, scripts), ctx.config.sieve.maxScriptSize);
        await scripts.put(name, content);
        if (opts.activate) await scripts.setActive(name);
        process.stdout.write(
          `script ${name} stored${opts.activate ? ' and active' : ''} for ${formatAddress(owner)} in the ${ctx.where}\n`,
        );
      }),
    );

  sieve
    .command('get')
    .argument('<account>', 'NAME[@DOMAIN]')
    .argument('<name>', 'the script name')
    .description('print a script as stored')
    .action(async (account: string, name: string, _o: unknown, cmd: Command) =>
      runSieveCommand(async () => {
        const ctx = await openContext(cmd.optsWithGlobals().config);
        const owner = await sieveAccount(ctx, account);
        const content = await ctx.store.sieveScripts(owner).get(name);
        if (content === null) throw new CliError(`${formatAddress(owner)} has no script ${name}`, EXIT.failure);
        process.stdout.write(content);
      }),
    );

  sieve
    .command('activate')
    .argument('<account>', 'NAME[@DOMAIN]')
    .argument('[name]', 'the script to run at delivery')
    .option('--none', 'make no script active (deliveries run only the site-wide scripts)')
    .description('choose the script deliveries run (~/.dovecot.sieve -> sieve/NAME.sieve)')
    .action(async (account: string, name: string | undefined, opts: { none?: boolean }, cmd: Command) =>
      runSieveCommand(async () => {
        if ((name === undefined) === !opts.none) throw new CliError('give the name of a script, or --none (not both)', EXIT.usage);
        const ctx = await openContext(cmd.optsWithGlobals().config);
        const owner = await sieveAccount(ctx, account);
        await ctx.store.sieveScripts(owner).setActive(name ?? null);
        process.stdout.write(
          name === undefined
            ? `no script is active for ${formatAddress(owner)} in the ${ctx.where}\n`
            : `script ${name} is active for ${formatAddress(owner)} in the ${ctx.where}\n`,
        );
      }),
    );

  sieve
    .command('rename')
    .argument('<account>', 'NAME[@DOMAIN]')
    .argument('<from>', 'the script name')
    .argument('<to>', 'its new name (the active script stays active)')
    .description('rename a script')
    .action(async (account: string, from: string, to: string, _o: unknown, cmd: Command) =>
      runSieveCommand(async () => {
        const ctx = await openContext(cmd.optsWithGlobals().config);
        const owner = await sieveAccount(ctx, account);
        await ctx.store.sieveScripts(owner).rename(from, to);
        process.stdout.write(`script ${from} of ${formatAddress(owner)} renamed to ${to} in the ${ctx.where}\n`);
      }),
    );

  sieve
    .command('delete')
    .argument('<account>', 'NAME[@DOMAIN]')
    .argument('<name>', 'the script name (not the active one: activate another, or --none, first)')
    .description('delete a script')
    .action(async (account: string, name: string, _o: unknown, cmd: Command) =>
      runSieveCommand(async () => {
        const ctx = await openContext(cmd.optsWithGlobals().config);
        const owner = await sieveAccount(ctx, account);
        await ctx.store.sieveScripts(owner).delete(name);
        process.stdout.write(`script ${name} of ${formatAddress(owner)} deleted from the ${ctx.where}\n`);
      }),
    );

  sieve
    .command('check')
    .argument('<file>', 'a script file, or - for standard input')
    .option('--account <account>', 'whose scripts `include :personal` finds (none without it)')
    .description("compile a script and print the compiler's errors and warnings, storing nothing (exit 65: it does not compile)")
    .action(async (file: string, opts: { account?: string }, cmd: Command) =>
      runSieveCommand(async () => {
        const ctx = await openContext(cmd.optsWithGlobals().config);
        const scripts = opts.account ? ctx.store.sieveScripts(await sieveAccount(ctx, opts.account)) : null;
        const name = nameOfFile(file);
        const content = await readInput(file);
        await compileOrExit(content, name, includeLoader(ctx, scripts), 0).catch((err: unknown) => {
          if (err instanceof CliError && err.exitCode === EXIT.dataErr)
            throw new CliError(`${name}: the script does not compile`, EXIT.dataErr);
          throw err;
        });
        process.stdout.write(`${name}: the script compiles\n`);
      }),
    );
}
