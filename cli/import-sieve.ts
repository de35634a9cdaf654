// `postern import dovecot` brings each user's Sieve scripts along: Pigeonhole's file storage (the `sieve`
// setting, by default file:~/sieve;active=~/.dovecot.sieve) in the user's Dovecot home. Every NAME.sieve of the
// folder is stored for the account (through the store: Pigeonhole's layout in the account folder) and the active
// one made active again; a regular .dovecot.sieve (an old installation's single script) becomes the script
// "dovecot.orig", active, as Pigeonhole itself does when a script is activated. Each script is compiled: one
// that requires an extension Postern lacks, or does not compile here for another reason, is reported on a line
// of its own (and still brought: nothing a user stored is lost; a delivery keeps into INBOX until it is fixed).
// Scripts an account has already in Postern are never replaced, so a second run changes nothing.
import { lstat, readdir, readFile, readlink } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import type { AccountAddress } from '../accounts/names.js';
import { compileScript, SieveCompileError } from '../sieve/compile.js';
import { isSieveScriptName } from '../store/contract.js';
import { RESCUED_NAME, scriptNameOfFile } from '../store/maildir/sieve-scripts.js';
import type { CliContext } from './context.js';
import { configDir } from './sieve-common.js';
import { scriptInFolder } from '../delivery/sieve-scripts.js';

/** Pigeonhole's default `sieve` setting. */
export const DEFAULT_SIEVE_LOCATION = 'file:~/sieve;active=~/.dovecot.sieve';

/** A `sieve` setting that cannot be read (its words say why). */
export class SieveLocationError extends Error {}

/** Where a user's scripts are in Dovecot: the scripts' folder and the active link (either may be null: none). */
interface Location {
  readonly dir: string | null;
  readonly active: string | null;
}

/** Expands ~ (the home) and %u %n %d %h (as Dovecot's settings do) in a path of the `sieve` setting. */
function expand(path: string, user: string, home: string | null): string | null {
  const at = user.lastIndexOf('@');
  const values: Record<string, string | null> = {
    u: user,
    n: at < 0 ? user : user.slice(0, at),
    d: at < 0 ? '' : user.slice(at + 1),
    h: home,
  };
  let out = path.replace(/%([unhd%])/g, (_all, letter: string) => (letter === '%' ? '%' : (values[letter] ?? '\0')));
  if (out.includes('\0')) return null; // needs the home, and the entry has none
  if (out === '~' || out.startsWith('~/')) {
    if (!home) return null;
    out = home + out.slice(1);
  }
  if (!out.startsWith('/')) throw new SieveLocationError(`"${path}" is not an absolute path (or one from the home, ~/...)`);
  return out;
}

/** Reads Pigeonhole's `sieve` setting: [file:]PATH[;active=PATH][;other options]. */
export function sieveLocation(setting: string, user: string, home: string | null): Location {
  const [first, ...options] = setting.split(';');
  const path = first.startsWith('file:') ? first.slice(5) : first;
  if (first.includes(':') && !first.startsWith('file:'))
    throw new SieveLocationError(`"${setting}": only Pigeonhole's file storage (file:PATH) can be imported`);
  const active = options.find((o) => o.toLowerCase().startsWith('active='));
  return { dir: expand(path, user, home), active: active ? expand(active.slice(7), user, home) : null };
}

/** One script as Dovecot has it. */
interface Found {
  readonly name: string;
  readonly content: Buffer;
}

/** The scripts of the folder and the name of the active one (a regular active file: "dovecot.orig"). */
async function findScripts(location: Location): Promise<{ scripts: Found[]; active: string | null }> {
  const scripts: Found[] = [];
  let active: string | null = null;
  if (location.dir) {
    const files = await readdir(location.dir).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT' || err.code === 'ENOTDIR') return [] as string[];
      throw err;
    });
    for (const file of files.sort()) {
      const name = scriptNameOfFile(file);
      if (name === null || !isSieveScriptName(name)) continue;
      const path = join(location.dir, file);
      if (!(await lstat(path)).isFile()) continue; // (a link is not followed: the importer runs as root)
      scripts.push({ name, content: await readFile(path) });
    }
  }
  if (location.active) {
    const st = await lstat(location.active).catch(() => null);
    if (st?.isSymbolicLink()) {
      const target = await readlink(location.active);
      const name = scriptNameOfFile(basename(target));
      const inDir = location.dir !== null && resolve(dirname(location.active), dirname(target)) === resolve(location.dir);
      if (name !== null && inDir && scripts.some((s) => s.name === name)) active = name;
    } else if (st?.isFile()) {
      const content = await readFile(location.active);
      const rescued = scripts.findIndex((s) => s.name === RESCUED_NAME);
      if (rescued >= 0) scripts.splice(rescued, 1);
      scripts.push({ name: RESCUED_NAME, content });
      active = RESCUED_NAME;
    }
  }
  return { scripts, active };
}

/** Why a script does not compile in Postern, in one line; null when it does. */
async function compileProblem(script: Found, all: readonly Found[], ctx: CliContext): Promise<string | null> {
  const loadInclude = async (name: string, location: 'personal' | 'global') => {
    if (location === 'personal') return all.find((s) => s.name === name)?.content ?? null;
    const global = ctx.config.sieve.global;
    return scriptInFolder(global === null ? null : resolve(configDir(ctx), global), name);
  };
  try {
    await compileScript(script.content, { name: script.name, loadInclude });
    return null;
  } catch (err) {
    if (!(err instanceof SieveCompileError)) throw err;
    const lacking = err.messages.map((m) => /unknown Sieve capability [`'"]([^`'"]+)/.exec(m)?.[1]).filter((x) => x !== undefined);
    if (lacking.length > 0) return `requires an extension Postern lacks (${lacking.join(', ')}): ${err.messages[0]}`;
    return `does not compile in Postern: ${err.messages[0]}`;
  }
}

export interface SieveImport {
  /** Lines for the report (each script Postern cannot run; what was brought). */
  readonly lines: string[];
  /** Scripts that do not compile in Postern. */
  readonly problems: number;
}

/**
 * Brings the scripts of `user` (Dovecot home `home`) to `account`. Nothing is written with `dryRun`, nor when
 * the account has scripts in Postern already (a second run), nor when Dovecot's folder is the account's own
 * (the tree is shared: the scripts are where both servers read them).
 */
export async function importSieve(
  ctx: CliContext,
  user: string,
  home: string | null,
  account: AccountAddress,
  setting: string,
  dryRun: boolean,
): Promise<SieveImport> {
  const location = sieveLocation(setting, user, home);
  const { scripts, active } = await findScripts(location);
  if (scripts.length === 0) return { lines: [], problems: 0 };
  const store = ctx.store.sieveScripts(account);
  const shared = location.dir !== null && resolve(location.dir) === resolve(ctx.accounts.accountDir(account), 'sieve');
  const names = `${scripts.length} Sieve script${scripts.length === 1 ? '' : 's'}${active ? ` (active: ${active})` : ''}`;
  // a second run: what the account has is its own now
  if (!shared && (await store.list()).length > 0)
    return { lines: [`  ${user}: ${names} left in Dovecot: the account has scripts in Postern already`], problems: 0 };
  const lines = [`  ${user}: ${names} ${shared ? 'already where Postern keeps them' : dryRun ? 'would be copied' : 'copied'}`];
  let problems = 0;
  for (const script of scripts) {
    const problem = await compileProblem(script, scripts, ctx);
    if (problem) {
      problems++;
      lines.push(`  ${user}: Sieve script ${script.name}${script.name === active ? ' (active)' : ''} ${problem}`);
    }
  }
  if (!shared && !dryRun) {
    for (const script of scripts) await store.put(script.name, script.content);
    if (active) await store.setActive(active);
  }
  return { lines, problems };
}
