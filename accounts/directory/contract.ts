// A directory of accounts kept elsewhere (Dovecot's passdb and userdb over SQL or LDAP): what the account
// store asks of it when `directory:` names a driver. The store keeps answering for Postern's own accounts
// (account.json) when there is no directory; with one, the directory is the list of accounts, read-only to
// Postern: it holds the name, the password (or checks it itself, LDAP's auth bind), the home and the quota;
// Postern keeps the mail (home/Maildir) and nothing else of the user. Drivers: sql.ts (PostgreSQL, MySQL,
// SQLite), ldap.ts (OpenLDAP and the like). A directory that cannot be reached throws
// DirectoryUnavailable: the sign-in is then a temporary failure ([UNAVAILABLE], -ERR [SYS/TEMP], 454),
// never "wrong password".

/** One user as the directory gives it. */
export interface DirectoryEntry {
  /** The login as the directory holds it (the `user` column or attribute when it gives one), lower-case. */
  readonly login: string;
  /** The password hash in Dovecot's {SCHEME} notation; null when the directory checks passwords itself. */
  readonly passwordHash: string | null;
  /** The home folder, used as it is (mail in home/Maildir); null: Postern's own layout under dataDir. */
  readonly home: string | null;
  /** Limits mapped from the directory's quota fields (quota_rule=*:storage=1G, quota_bytes ...); null: the config's. */
  readonly quota: { readonly storage?: number; readonly messages?: number } | null;
  /** Refused at sign-in (Dovecot's nologin or deny fields). */
  readonly disabled: boolean;
}

/** What a lookup knows of the connection it is for (Dovecot's %r, %l, %s). */
export interface LookupContext {
  readonly service?: string;
  readonly remoteAddress?: string;
  readonly localAddress?: string;
}

export interface Directory {
  /** What the CLI and the log call it ("sql postgres://db.example.org/mail"), never with a password in it. */
  readonly description: string;
  /** One user by login, with Dovecot's variables filled from it; null: no such user. */
  lookup(login: string, context?: LookupContext): Promise<DirectoryEntry | null>;
  /**
   * The directory checks the password itself (LDAP's auth bind): true when it is right. Present only for
   * directories whose entries carry no hash.
   */
  verify?(login: string, password: string, context?: LookupContext): Promise<boolean>;
  /** Every login the directory holds (iterateQuery, LDAP's iterate filter). */
  list(): Promise<string[]>;
  /** Closes its connections (server stop, reload). */
  close(): Promise<void>;
}

/** The directory could not answer (down, timed out, a query that fails): a temporary failure, logged. */
export class DirectoryUnavailable extends Error {}
