// postern import dovecot, the LDAP part: Dovecot's dovecot-ldap.conf.ext (the file `passdb { driver = ldap
// args = FILE }` names) read into the `directory: {driver: ldap, ...}` section, so a site keeps its filters
// and attribute names as they are (doc.dovecot.org, "LDAP", 2.3). What Postern does not do the same way is
// said in a note beside the section, never dropped in silence: SASL binds, auth_bind_userdn, TLS settings
// other than the system's CAs, a default_pass_scheme other than CRYPT, fields Postern does not use.
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { ldapDirectorySchema } from '../accounts/directory/config.js';
import { CliError, EXIT } from './exit.js';
import { type DirectorySection, parseSettings, readDovecotConfig } from './import-sql.js';

export interface ImportedLdapDirectory {
  /** The `directory:` section (validated: it is what `postern serve` will read). */
  readonly directory: Record<string, unknown>;
  /** What was not carried over, or differs, one sentence each. */
  readonly notes: string[];
}

/** Dovecot's attribute lists: "ldapAttr=field, ..." (old style) or "=field=template with %{ldap:attr}" (2.3). */
function attributeMap(list: string | undefined): { attribute: string | null; field: string; template: string | null }[] {
  if (!list) return [];
  return list
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map((item) => {
      const first = item.indexOf('=');
      const attribute = first < 0 ? item : item.slice(0, first).trim();
      const rest = first < 0 ? attribute : item.slice(first + 1);
      const second = rest.indexOf('=');
      const field = (second < 0 ? rest : rest.slice(0, second)).trim();
      const template = second < 0 ? null : rest.slice(second + 1).trim();
      return { attribute: attribute === '' ? null : attribute, field, template };
    });
}

/** The one LDAP attribute a 2.3 template reads (%{ldap:quotaBytes}), with what surrounds it. */
function ldapVariable(template: string): { attribute: string; before: string; after: string } | null {
  const m = /^(.*?)%\{ldap:([^}:]+)(?::[^}]*)?\}(.*)$/.exec(template);
  return m ? { before: m[1], attribute: m[2], after: m[3] } : null;
}

export const DNPASS_PLACEHOLDER = 'PASSWORD';

const DEFAULT_FILTER = '(&(objectClass=posixAccount)(uid=%u))';

export function ldapDirectoryFromDovecot(text: string, withPassword = false): ImportedLdapDirectory {
  const s = parseSettings(text);
  const notes: string[] = [];
  const directory: Record<string, unknown> = { driver: 'ldap' };
  const attributes: Record<string, string> = {};

  const uris = (s.get('uris') ?? '').split(/\s+/).filter(Boolean);
  const hosts = (s.get('hosts') ?? '').split(/\s+/).filter(Boolean);
  const urls = uris.length > 0 ? uris : hosts.map((h) => `ldap://${h}`);
  if (urls.length === 0) notes.push('neither uris nor hosts is set: url is ldap://localhost, as libldap would use');
  directory.url = urls.length === 0 ? 'ldap://localhost' : urls.length === 1 ? urls[0] : urls;
  directory.base = s.get('base') ?? '';
  if (!s.get('base')) notes.push('base is empty: set the DN users are found under');
  const scope = s.get('scope')?.toLowerCase();
  if (scope) directory.scope = scope === 'onelevel' ? 'one' : scope === 'subtree' ? 'sub' : scope;

  const userFilter = s.get('user_filter') ?? DEFAULT_FILTER;
  const passFilter = s.get('pass_filter') ?? DEFAULT_FILTER;
  directory.filter = userFilter;
  if (passFilter !== userFilter) directory.passFilter = passFilter;
  if (s.get('iterate_filter')) directory.iterateFilter = s.get('iterate_filter');

  const dn = s.get('dn');
  // the password is never printed: the operator copies it (a secret on a terminal or in a pasted log is out)
  if (dn) {
    directory.bind = { dn, password: withPassword ? (s.get('dnpass') ?? '') : DNPASS_PLACEHOLDER };
    if (!withPassword) notes.push(`dnpass is shown as ${DNPASS_PLACEHOLDER}: put it in bind.password (or run with --with-password)`);
  }
  if (yes(s.get('auth_bind'))) directory.authBind = true;
  if (s.get('auth_bind_userdn')) {
    notes.push(`auth_bind_userdn (${s.get('auth_bind_userdn')}) is not used: Postern finds the user's DN with the pass filter, then binds`);
  }
  if (yes(s.get('sasl_bind')))
    notes.push('sasl_bind = yes is not supported: Postern binds with a DN and password (bind.dn, bind.password)');
  if (yes(s.get('tls'))) directory.startTls = true;
  for (const key of ['tls_ca_cert_file', 'tls_ca_cert_dir', 'tls_cert_file', 'tls_key_file', 'tls_cipher_suite']) {
    if (s.get(key))
      notes.push(
        `${key} is not carried over: Postern checks the server's certificate against the system's CAs (NODE_EXTRA_CA_CERTS adds one)`,
      );
  }
  const requireCert = s.get('tls_require_cert')?.toLowerCase();
  if (requireCert && requireCert !== 'demand' && requireCert !== 'hard') {
    notes.push(`tls_require_cert = ${requireCert}: Postern always checks the server's certificate`);
  }
  const scheme = s.get('default_pass_scheme');
  if (scheme && scheme.toUpperCase() !== 'CRYPT') {
    notes.push(
      `default_pass_scheme = ${scheme}: Postern reads a userPassword without {SCHEME} as CRYPT; store it with {${scheme.toUpperCase()}}`,
    );
  }
  if (s.get('ldap_version') && s.get('ldap_version') !== '3') notes.push('ldap_version is always 3 in Postern');
  if (s.get('deref') && s.get('deref') !== 'never') notes.push(`deref = ${s.get('deref')}: Postern never dereferences aliases`);

  const ignored = new Set<string>();
  const take = (list: string | undefined, what: string) => {
    for (const { attribute, field, template } of attributeMap(list)) {
      const variable = template ? ldapVariable(template) : null;
      const source = variable?.attribute ?? (template === null || template === '%$' ? attribute : null);
      if (field === 'user' || field === 'password' || field === 'home') {
        if (!source) ignored.add(`${field} (${what}: ${template})`);
        else if (attributes[field] === undefined) attributes[field] = source;
      } else if (field === 'quota_rule' || field === 'userdb_quota_rule') {
        const wrapped = variable ? `${variable.before}%$${variable.after}` : (template ?? '%$');
        if (!source) ignored.add(`${field} (${what})`);
        else if (wrapped === '%$' || wrapped === '*:bytes=%$') attributes.quota = source;
        else {
          attributes.quota = source;
          notes.push(
            `${field} = ${template ?? attribute}: Postern reads ${source} as a whole quota rule (*:storage=1G) or a number of bytes`,
          );
        }
      } else if (field !== '') ignored.add(field);
    }
  };
  take(s.get('pass_attrs') ?? 'uid=user,userPassword=password', 'pass_attrs');
  take(s.get('user_attrs') ?? 'homeDirectory=home,uidNumber=uid,gidNumber=gid', 'user_attrs');
  take(s.get('iterate_attrs'), 'iterate_attrs');
  if (Object.keys(attributes).length > 0) directory.attributes = attributes;
  if (ignored.size > 0) notes.push(`fields Postern does not use, left out: ${[...ignored].join(', ')}`);
  if (directory.authBind && attributes.password) delete attributes.password;

  const checked = ldapDirectorySchema.safeParse(directory);
  if (!checked.success) {
    for (const issue of checked.error.issues) notes.push(`directory.${issue.path.join('.')}: ${issue.message}`);
  }
  return { directory, notes };
}

function yes(v: string | undefined): boolean {
  return v !== undefined && /^(yes|y|1|true)$/i.test(v);
}

/**
 * The `directory:` section for the LDAP passdb of the Dovecot config `file` (dovecot.conf or the conf.d
 * file with `passdb { driver = ldap args = FILE }`, or dovecot-ldap.conf.ext given directly).
 */
export async function ldapDirectorySection(file: string, withPassword: boolean): Promise<DirectorySection> {
  const own = parseSettings(await readFile(file, 'utf8').catch(() => ''));
  let ldapFile = file;
  const notes: string[] = [];
  if (!own.has('base') && !own.has('uris') && !own.has('hosts')) {
    const { blocks } = await readDovecotConfig(file);
    const passdb = blocks.find((b) => b.kind === 'passdb' && b.driver === 'ldap');
    if (!passdb)
      throw new CliError(
        `${file}: no passdb with driver = ldap; give the file that holds it, or dovecot-ldap.conf.ext itself`,
        EXIT.config,
      );
    ldapFile = passdb.args.trim();
    const userdb = blocks.find((b) => b.kind === 'userdb');
    if (userdb && userdb.driver !== 'ldap' && userdb.driver !== 'prefetch') {
      notes.push(`userdb driver = ${userdb.driver} is not read: the homes come from the LDAP attributes (or Postern's own layout)`);
    }
  }
  const text = await readFile(ldapFile, 'utf8').catch((err: NodeJS.ErrnoException) => {
    throw new CliError(`cannot read ${ldapFile} (the passdb's args): ${err.code ?? err.message}`, EXIT.config);
  });
  const { directory, notes: more } = ldapDirectoryFromDovecot(text, withPassword);
  return { section: directory, notes: [`from ${resolve(ldapFile)}`, ...notes, ...more] };
}
