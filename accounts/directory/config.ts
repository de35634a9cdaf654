// The `directory:` key: where accounts live when not in Postern's own account.json files (Dovecot's passdb
// and userdb over SQL or LDAP). Absent or null: Postern's own accounts. The queries and filters are
// Dovecot's, copied from dovecot-sql.conf.ext and dovecot-ldap.conf.ext with their variables
// (variables.ts); `postern import dovecot` prints this section from those files. Every key is documented
// in README.md.
import { z } from 'zod';
import { parseTemplate, VariableError } from './variables.js';

/** A query or filter with Dovecot's variables, checked when the config is loaded. */
const template = (what: string) =>
  z.string({ error: `expected ${what}` }).superRefine((text, ctx) => {
    try {
      parseTemplate(text);
    } catch (err) {
      if (err instanceof VariableError) ctx.addIssue({ code: 'custom', message: err.message });
      else throw err;
    }
  });

/** Seconds a directory's answer is kept (Dovecot's auth_cache_ttl); 0 asks the directory every time. */
const cacheTtl = z
  .number({ error: 'expected a number of seconds' })
  .min(0, { error: 'expected a number of seconds, 0 or more' })
  .max(86400, { error: 'expected a number of seconds, at most 86400' })
  .default(60);

/** Seconds a query may take before the directory counts as down for that sign-in. */
const timeout = z
  .number({ error: 'expected a number of seconds' })
  .min(0.1, { error: 'expected a number of seconds, at least 0.1' })
  .max(60, { error: 'expected a number of seconds, at most 60' })
  .default(5);

export const sqlDirectorySchema = z.strictObject({
  driver: z.literal('sql'),
  /** postgres://user:password@host/db, mysql://user:password@host/db, or sqlite:FILE (relative to the config file). */
  url: z.string({ error: 'expected postgres://..., mysql://... or sqlite:FILE' }).regex(/^(postgres(ql)?:\/\/|mysql:\/\/|sqlite:)/, {
    error: 'expected a url starting with postgres://, mysql:// or sqlite:',
  }),
  /** Dovecot's password_query: the row with `password` (and `user`, to correct the login's spelling). */
  passwordQuery: template("an SQL query, like SELECT userid AS user, password FROM users WHERE userid = '%u'"),
  /** Dovecot's user_query: the row with `home` (and quota fields); absent: the password query's row is used. */
  userQuery: template("an SQL query, like SELECT home FROM users WHERE userid = '%u'").optional(),
  /** Dovecot's iterate_query: one row per user with `user` (or `username` and `domain`); absent: no listing. */
  iterateQuery: z.string({ error: 'expected an SQL query, like SELECT userid AS user FROM users' }).optional(),
  cacheTtl,
  timeout,
});

export const ldapDirectorySchema = z.strictObject({
  driver: z.literal('ldap'),
  /** ldap://host or ldaps://host (Dovecot's uris), or several to try in turn. */
  url: z.union([z.string(), z.array(z.string()).min(1)], { error: 'expected ldap://host or ldaps://host, or a list of them' }),
  /** Dovecot's base: where users are searched (may hold variables, as in Dovecot). */
  base: template('a DN, like ou=people,dc=example,dc=org'),
  /** Search scope (Dovecot's scope). */
  scope: z.enum(['base', 'one', 'sub'], { error: 'expected base, one or sub' }).default('sub'),
  /** Dovecot's user_filter (and pass_filter unless passFilter is given). */
  filter: template('an LDAP filter, like (&(objectClass=posixAccount)(uid=%u))'),
  /** Dovecot's pass_filter, when it differs from filter. */
  passFilter: template('an LDAP filter').optional(),
  /** Dovecot's iterate_filter: the users `postern account list` shows; absent: no listing. */
  iterateFilter: z.string({ error: 'expected an LDAP filter, like (objectClass=posixAccount)' }).optional(),
  /** Dovecot's dn and dnpass: who Postern binds as to search (and to read userPassword); absent: anonymous. */
  bind: z.strictObject({ dn: z.string(), password: z.string() }).optional(),
  /** Dovecot's auth_bind = yes: the password is checked by binding as the user, not read from the directory. */
  authBind: z.boolean({ error: 'expected true or false' }).default(false),
  /** Dovecot's user_attrs and pass_attrs: which attribute holds each field. */
  attributes: z
    .strictObject({
      user: z.string().optional(),
      password: z.string().default('userPassword'),
      home: z.string().default('homeDirectory'),
      quota: z.string().optional(),
    })
    .prefault({}),
  /** STARTTLS on an ldap:// url (Dovecot's tls = yes). */
  startTls: z.boolean({ error: 'expected true or false' }).default(false),
  cacheTtl,
  timeout,
});

export const directorySchema = z
  .discriminatedUnion('driver', [sqlDirectorySchema, ldapDirectorySchema], { error: 'expected driver: sql or driver: ldap' })
  .nullable()
  .default(null);

export type SqlDirectoryConfig = z.infer<typeof sqlDirectorySchema>;
export type LdapDirectoryConfig = z.infer<typeof ldapDirectorySchema>;
export type DirectoryConfig = SqlDirectoryConfig | LdapDirectoryConfig;
