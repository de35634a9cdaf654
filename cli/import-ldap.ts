// postern import dovecot, the LDAP part: Dovecot's dovecot-ldap.conf.ext (the file `passdb { driver = ldap
// args = FILE }` names) read into the `directory: {driver: ldap, ...}` section, so a site keeps its filters
// and attribute names as they are (doc.dovecot.org, "LDAP", 2.3). What Postern does not do the same way is
// said in a note beside the section, never dropped in silence: SASL binds, auth_bind_userdn, TLS settings
// other than the system's CAs, a default_pass_scheme other than CRYPT, fields Postern does not use.
import { readFile } from 'node:fs/promises';
import { ldapDirectorySchema } from '../accounts/directory/config.js';

export interface ImportedLdapDirectory {
  /** The `directory:` section (validated: it is what `postern serve` will read). */
  readonly directory: Record<string, unknown>;
  /** What was not carried over, or differs, one sentence each. */
  readonly notes: string[];
}

/** The settings of a dovecot-*.conf.ext file: `key = value`, # comments, "\" at a line's end continues it. */
export function readExtSettings(text: string): Map<string, string> {
  const settings = new Map<string, string>();
  const joined = text.replace(/\\\r?\n/g, ' ');
  for (const raw of joined.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const eq = line.indexOf('=');
    if (eq < 0) continue;
    let value = line.slice(eq + 1).trim();
    if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) value = value.slice(1, -1).replace(/\\(.)/g, '$1');
    settings.set(line.slice(0, eq).trim().toLowerCase(), value);
  }
  return settings;
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

export const DNPASS_PLACEHOLDER = 'DNPASS FROM dovecot-ldap.conf.ext';

const DEFAULT_FILTER = '(&(objectClass=posixAccount)(uid=%u))';

export function ldapDirectoryFromDovecot(text: string): ImportedLdapDirectory {
  const s = readExtSettings(text);
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
    directory.bind = { dn, password: DNPASS_PLACEHOLDER };
    notes.push(`bind.password: put dnpass there (not printed here)`);
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

/** Reads a dovecot-ldap.conf.ext file (an error names the file and why it cannot be read). */
export async function importLdapDirectory(path: string): Promise<ImportedLdapDirectory> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new Error(`cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  return ldapDirectoryFromDovecot(text);
}
