// postern sieve list | put | get | activate | rename | delete | check (and test: sieve-test.ts): an account's Sieve scripts as the
// store keeps them (the Maildir store: Pigeonhole's layout, home/sieve/NAME.sieve and the .dovecot.sieve link,
// so Dovecot's tools see the same). A script is compiled before it is stored: one that does not compile is
// refused with the compiler's lines (Pigeonhole's, as sieve-test prints them) and exit 65 (EX_DATAERR).
import type { Command } from 'commander';
import { formatAddress } from '../accounts/names.js';
import { checkSieveScriptName } from '../store/contract.js';
import { openContext } from './context.js';
import { CliError, EXIT } from './exit.js';
import { compileOrExit, includeLoader, nameOfFile, readInput, runSieveCommand, sieveAccount } from './sieve-common.js';
import { sieveTestCommand } from './sieve-test.js';

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

  sieveTestCommand(sieve);
}
