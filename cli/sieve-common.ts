// What the `postern sieve` commands share: the store's refusals as exit codes (cli/exit.ts), the account named, a script read
// from a file or standard input, and a script compiled with the compiler's lines printed (cli/sieve.ts,
// cli/sieve-test.ts).
import { readFile } from 'node:fs/promises';
import { basename, dirname, resolve } from 'node:path';
import { type AccountAddress, formatAddress } from '../accounts/names.js';
import { compileScript, type CompiledScript, SieveCompileError } from '../sieve/compile.js';
import type { SieveScripts } from '../store/contract.js';
import { safeScriptName, scriptInFolder } from '../delivery/sieve-scripts.js';
import { type CliContext, parseAccount } from './context.js';
import { CliError, EXIT, withStoreExitCodes } from './exit.js';

/** Runs a command's action; the store's refusals become one-line CliErrors with exit codes (cli/exit.ts). */
export const runSieveCommand = (action: () => Promise<void>): Promise<void> => withStoreExitCodes(action);

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

/** Where the config's relative paths start (the config file's folder), as at delivery. */
export function configDir(ctx: CliContext): string {
  return ctx.config.file ? dirname(resolve(ctx.config.file)) : process.cwd();
}

/**
 * RFC 6609: where `include` finds scripts, as at delivery (delivery/sieve-scripts.ts): :personal among the
 * account's scripts (none without an account), :global in the folder of `sieve.global` (NAME.sieve).
 */
export function includeLoader(ctx: CliContext, scripts: SieveScripts | null) {
  const global = ctx.config.sieve.global === null ? null : resolve(configDir(ctx), ctx.config.sieve.global);
  return (name: string, location: 'personal' | 'global'): Promise<Buffer | null> => {
    if (location === 'global') return scriptInFolder(global, name);
    return scripts && safeScriptName(name) ? scripts.get(name) : Promise.resolve(null);
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
