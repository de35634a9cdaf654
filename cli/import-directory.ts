// `postern import dovecot --dovecot-conf FILE`: which directory driver Dovecot's passdb uses, and the
// `directory:` section for it: SQL (import-sql.ts) or LDAP (import-ldap.ts, dovecot-ldap.conf.ext).
import { readFile } from 'node:fs/promises';
import { CliError, EXIT } from './exit.js';
import { ldapDirectorySection } from './import-ldap.js';
import { parseSettings, printSection, readDovecotConfig, sqlDirectorySection } from './import-sql.js';

/** The YAML to paste into postern.yaml, with comments that say where it came from. */
export async function directorySectionFrom(file: string, withPassword: boolean): Promise<string> {
  const text = await readFile(file, 'utf8').catch((err: NodeJS.ErrnoException) => {
    throw new CliError(`cannot read ${file}: ${err.code ?? err.message}`, EXIT.failure);
  });
  const own = parseSettings(text);
  if (own.has('password_query') || own.has('user_query')) return printSection(await sqlDirectorySection(file, withPassword));
  const { blocks } = await readDovecotConfig(file);
  const passdb = blocks.find((b) => b.kind === 'passdb' && (b.driver === 'sql' || b.driver === 'ldap'));
  if (passdb?.driver === 'sql') return printSection(await sqlDirectorySection(file, withPassword));
  if (passdb?.driver === 'ldap' || own.has('base') || own.has('uris') || own.has('hosts')) {
    return printSection(await ldapDirectorySection(file, withPassword));
  }
  const drivers = blocks.filter((b) => b.kind === 'passdb').map((b) => b.driver);
  throw new CliError(
    `${file}: no passdb with driver = sql or ldap (passdb drivers: ${drivers.join(', ') || 'none'}); for a passwd-file give ` +
      '--passwd-file',
    EXIT.config,
  );
}
