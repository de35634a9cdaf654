// postern import dovecot --passwd-file FILE: accounts with their password hashes and their Maildirs
// (every dovecot-uidlist kept, so UIDs and POP3 UIDLs stay what clients know) from a Dovecot
// installation. Safe to run twice (an account already imported is left alone); a problem with one user
// is reported and the others go on; --dry-run says what would happen and changes nothing. Each user's
// Sieve scripts (Pigeonhole's ~/sieve and ~/.dovecot.sieve) come along, each one Postern cannot run reported
// (import-sieve.ts).
import { cp, mkdir, readFile, rename, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Command } from 'commander';
import { maildirRoot, MailLocationError, type PasswdEntry, parsePasswdFile } from '../accounts/dovecot-passwd.js';
import { type AccountAddress, formatAddress, NameError } from '../accounts/names.js';
import { parseStoredPassword, supportedScheme } from '../accounts/password-schemes.js';
import { bulletinDir } from '../modules/pop/config.js';
import { Bulletins } from '../delivery/bulletins.js';
import { type CliContext, openContext } from './context.js';
import { CliError, EXIT } from './exit.js';
import { DEFAULT_SIEVE_LOCATION, importSieve } from './import-sieve.js';
import { directorySectionFrom } from './import-directory.js';

type Mode = 'move' | 'copy' | 'keep';

interface Options {
  passwdFile: string;
  /** Dovecot's config (or its dovecot-sql.conf.ext): print the directory: section instead of importing accounts. */
  dovecotConf?: string;
  withPassword?: boolean;
  mailLocation: string;
  domain?: string;
  defaultScheme: string;
  maildirs: string;
  dryRun?: boolean;
  /** Pigeonhole's `sieve` setting (where each user's scripts are), or "none". */
  sieve: string;
}

// `account`: where the user's Sieve scripts go (import-sieve.ts)
type Outcome =
  | { kind: 'imported'; how: string; needsPassword: string | null; account: AccountAddress }
  | { kind: 'skipped'; why: string; account?: AccountAddress }
  | { kind: 'failed'; why: string };

/**
 * How a Maildir is copied: whole, with its times, into a target that must not exist, and its symbolic links
 * kept as they are (Postern's \Recent mark is a link to "UIDVALIDITY UID": fs.cp would otherwise point it
 * at a path under the source).
 */
const COPY = { recursive: true, preserveTimestamps: true, errorOnExist: true, force: false, verbatimSymlinks: true } as const;

const exists = (path: string) =>
  stat(path).then(
    () => true,
    () => false,
  );

/** The stored password as Postern keeps it: always with its {SCHEME}, so nothing depends on a default. */
function storedForm(password: string, defaultScheme: string): string {
  if (password.startsWith('{') || password.startsWith('$1$') || password.startsWith('$scrypt$')) return password;
  return `{${defaultScheme}}${password}`;
}

/** A {PLAIN} password also serves APOP, as it did in Dovecot. */
function plaintextOf(stored: string): string | null {
  const p = parseStoredPassword(stored);
  if (!['PLAIN', 'CLEAR', 'CLEARTEXT'].includes(p.scheme)) return null;
  if (p.encoding === 'hex') return Buffer.from(p.data, 'hex').toString('utf8');
  if (p.encoding === 'base64') return Buffer.from(p.data, 'base64').toString('utf8');
  return p.data;
}

async function importOne(ctx: CliContext, entry: PasswdEntry, options: Options, mode: Mode, mark: number | null): Promise<Outcome> {
  let address: AccountAddress;
  try {
    address = ctx.accounts.domains.parse(entry.user.includes('@') || !options.domain ? entry.user : `${entry.user}@${options.domain}`);
  } catch (err) {
    if (err instanceof NameError) return { kind: 'failed', why: `${err.message} (a local domain must be in "domains" in the config)` };
    throw err;
  }
  if ('nopassword' in entry.extra)
    return { kind: 'failed', why: 'nopassword: any password signs in there; Postern has no such thing (give the entry a password)' };
  if ('deny' in entry.extra || 'nologin' in entry.extra) return { kind: 'skipped', why: 'deny or nologin: not an account that signs in' };
  if (await ctx.accounts.exists(address)) return { kind: 'skipped', why: `${formatAddress(address)} exists already`, account: address };
  let source: string;
  try {
    source = maildirRoot(entry.mail ?? options.mailLocation, entry.user, entry.home);
  } catch (err) {
    if (err instanceof MailLocationError) return { kind: 'failed', why: err.message };
    throw err;
  }
  const target = ctx.accounts.maildir(address);
  const stored = storedForm(entry.password, options.defaultScheme);
  const needsPassword = supportedScheme(stored)
    ? null
    : `its password scheme (${parseStoredPassword(stored).scheme}) cannot be checked here: set a new one with "postern account ` +
      `set ${formatAddress(address)} --password-stdin"`;
  const hasMail = await exists(source);
  const halfDone = !hasMail && (await exists(target)); // an earlier run moved the Maildir, then stopped
  let how: string;
  if (halfDone) how = `its Maildir was moved by an earlier run; account made now`;
  else if (!hasMail) how = `no Maildir at ${source}: an empty INBOX`;
  else if (mode === 'keep') {
    if (source !== target)
      return {
        kind: 'failed',
        why: `--maildirs keep: its Maildir ${source} is not where Postern keeps it (${target}); move it (--maildirs move)`,
      };
    how = `Maildir kept at ${source}`;
  } else if (await exists(target)) {
    return { kind: 'failed', why: `${target} exists already (without an account); remove it or import with --maildirs keep` };
  } else how = mode === 'copy' ? `Maildir copied from ${source}` : `Maildir moved from ${source}`;
  if (options.dryRun) return { kind: 'imported', how, needsPassword, account: address };
  if (hasMail && mode !== 'keep' && !halfDone) {
    await mkdir(dirname(target), { recursive: true, mode: 0o700 });
    if (mode === 'move') {
      try {
        await rename(source, target);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EXDEV') throw err;
        // another file system: copied, and the original left for the operator to remove
        await cp(source, target, COPY);
        how = `Maildir copied from ${source} (another file system; the original stays)`;
      }
    } else {
      await cp(source, target, COPY);
    }
  }
  await ctx.accounts.addImported(address, stored, plaintextOf(stored), mark);
  return { kind: 'imported', how, needsPassword, account: address };
}

export function importCommands(program: Command): void {
  const command = program.command('import').description('bring accounts and mail over from another server');
  command
    .command('dovecot')
    .description(
      'accounts with their password hashes, and their Maildirs with every dovecot-uidlist (UIDs and POP3 UIDLs kept), from a Dovecot ' +
        'passwd-file; safe to run twice',
    )
    .option('--passwd-file <file>', "the passwd-file of Dovecot's passdb (user:password:uid:gid:gecos:home:...)")
    .option(
      '--dovecot-conf <file>',
      "Dovecot's config (dovecot.conf, the conf.d file with its passdb, or dovecot-sql.conf.ext): print the directory: section " +
        'for its SQL or LDAP passdb, to keep the accounts where they are',
    )
    .option('--with-password', "with --dovecot-conf: print the database's password in the url (default: a placeholder)")
    .option(
      '--mail-location <location>',
      "Dovecot's mail_location for users without userdb_mail (%u %n %d %h, ~ for the home)",
      'maildir:~/Maildir',
    )
    .option('--domain <domain>', 'the domain of names without @domain (default: mainDomain)')
    .option(
      '--default-scheme <scheme>',
      "the scheme of passwords without {SCHEME} (passwd-file's default; scheme= in the passdb args)",
      'CRYPT',
    )
    .option(
      '--maildirs <mode>',
      'move (rename into the data folder; a copy across file systems), copy (the original stays), or keep (already where Postern keeps it)',
      'move',
    )
    .option(
      '--sieve <location>',
      "Pigeonhole's sieve setting: where each user's Sieve scripts are (~ the home, %u %n %d); none: leave them",
      DEFAULT_SIEVE_LOCATION,
    )
    .option('--dry-run', 'say what would happen; change nothing')
    .action(async (opts: Options, cmd: Command) => {
      if (opts.dovecotConf !== undefined) {
        if (opts.passwdFile !== undefined) throw new CliError('give --passwd-file or --dovecot-conf, not both', EXIT.usage);
        process.stdout.write(await directorySectionFrom(opts.dovecotConf, !!opts.withPassword));
        return;
      }
      if (opts.passwdFile === undefined) {
        throw new CliError(
          'give --passwd-file FILE (accounts into Postern), or --dovecot-conf FILE ' +
            "(the directory: section for Dovecot's SQL or LDAP passdb)",
          EXIT.usage,
        );
      }
      const mode = opts.maildirs as Mode;
      if (!['move', 'copy', 'keep'].includes(mode))
        throw new CliError(`--maildirs: "${opts.maildirs}" is not move, copy or keep`, EXIT.usage);
      let text: string;
      try {
        text = await readFile(opts.passwdFile, 'utf8');
      } catch (err) {
        throw new CliError(
          `cannot read ${opts.passwdFile}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
          EXIT.failure,
        );
      }
      const ctx = await openContext(cmd.optsWithGlobals().config, { create: !opts.dryRun });
      const { entries, problems } = parsePasswdFile(text);
      for (const p of problems) process.stderr.write(`postern: ${opts.passwdFile} line ${p.line}: ${p.message}\n`);
      const bulletins = bulletinDir(ctx.config);
      const mark = bulletins ? await new Bulletins(bulletins, ctx.accounts, ctx.store).highest() : null;
      const tally = { imported: 0, skipped: 0, failed: 0, needsPassword: 0, sieveProblems: 0 };
      const progress = process.stderr.isTTY && entries.length >= 50;
      for (const [i, entry] of entries.entries()) {
        let outcome: Outcome;
        try {
          outcome = await importOne(ctx, entry, opts, mode, mark);
        } catch (err) {
          outcome = { kind: 'failed', why: (err as Error).message };
        }
        if (progress) process.stderr.write('\r\x1b[K');
        const who = entry.writtenAs ? `${entry.user} (written ${entry.writtenAs}; Dovecot only ever saw it lower-case)` : entry.user;
        if (outcome.kind === 'imported') {
          tally.imported++;
          process.stdout.write(`${opts.dryRun ? 'would import' : 'imported'} ${who}: ${outcome.how}\n`);
          if (outcome.needsPassword) {
            tally.needsPassword++;
            process.stdout.write(`  ${entry.user}: ${outcome.needsPassword}\n`);
          }
        } else if (outcome.kind === 'skipped') {
          tally.skipped++;
          process.stdout.write(`skipped ${who}: ${outcome.why}\n`);
        } else {
          tally.failed++;
          process.stderr.write(`postern: ${who} (line ${entry.line}): ${outcome.why}\n`);
        }
        if (outcome.kind !== 'failed' && outcome.account && opts.sieve !== 'none') {
          try {
            const sieve = await importSieve(ctx, entry.user, entry.home, outcome.account, opts.sieve, !!opts.dryRun);
            for (const line of sieve.lines) process.stdout.write(`${line}\n`);
            tally.sieveProblems += sieve.problems;
          } catch (err) {
            tally.sieveProblems++;
            process.stderr.write(`postern: ${who} (line ${entry.line}): Sieve scripts not brought: ${(err as Error).message}\n`);
          }
        }
        if (progress) {
          const done = Math.round(((i + 1) / entries.length) * 30);
          process.stderr.write(`[${'#'.repeat(done)}${'.'.repeat(30 - done)}] ${i + 1}/${entries.length} users`);
        }
      }
      if (progress) process.stderr.write('\r\x1b[K');
      process.stdout.write(
        `${opts.dryRun ? 'dry run: ' : ''}${tally.imported} imported, ${tally.skipped} skipped, ${tally.failed} failed,` +
          ` ${tally.needsPassword} need a new password` +
          (tally.sieveProblems > 0 ? `, ${tally.sieveProblems} Sieve scripts Postern cannot run as they are` : '') +
          ` (in the ${ctx.where})\n`,
      );
      if (tally.failed > 0) throw new CliError(`${tally.failed} users could not be imported (see above); the others were`, EXIT.failure);
    });
}
