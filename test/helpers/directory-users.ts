// The users the directory tests put in every database (SQLite, PostgreSQL, MariaDB) and the Dovecot-style
// queries over them, so each driver is checked against the same table and the same answers.
import { join } from 'node:path';

export interface DirectoryUser {
  readonly userid: string;
  readonly password: string;
  /** The column as stored: {SCHEME}hash, or a bare hash in the default scheme. */
  readonly stored: string;
  readonly quotaRule: string | null;
  readonly nologin: string | null;
}

// Hashes made with `doveadm pw` (Dovecot 2.3.19): the password is the user's name and "-pw".
export const DIRECTORY_USERS: readonly DirectoryUser[] = [
  {
    userid: 'ann@example.org',
    password: 'ann-pw',
    stored: '{SHA512-CRYPT}$6$XxXAlV7XM6nixRvy$QSWG5ATysNiBhNk8GXF.3titGfiG0Kc2BLkQW/k.oDJm2vMTNcAt0Vz2wUHog1B1MkeRDEWd94srJPsLThxHo1',
    quotaRule: '*:storage=1M',
    nologin: null,
  },
  { userid: 'bob@example.org', password: 'bob-pw', stored: '{PLAIN}bob-pw', quotaRule: null, nologin: null },
  // a bare hash: the default scheme (MD5, i.e. MD5-CRYPT, as Dovecot's SQL driver) reads it
  { userid: 'cy@example.org', password: 'cy-pw', stored: '$1$cZGEgNSH$i6LDvMgRA3NJ34h6mJ15n0', quotaRule: null, nologin: null },
  { userid: 'dee@example.org', password: 'dee-pw', stored: '{PLAIN}dee-pw', quotaRule: null, nologin: 'Y' },
];

/** The rows, with each user's home under `homes`. */
export function directoryRows(
  homes: string,
): { userid: string; password: string; home: string; quota_rule: string | null; nologin: string | null }[] {
  return DIRECTORY_USERS.map((u) => ({
    userid: u.userid,
    password: u.stored,
    home: join(homes, u.userid.split('@')[1], u.userid.split('@')[0]),
    quota_rule: u.quotaRule,
    nologin: u.nologin,
  }));
}

export const CREATE_USERS =
  'CREATE TABLE users (userid VARCHAR(128) PRIMARY KEY, password VARCHAR(256), home VARCHAR(256), ' +
  'quota_rule VARCHAR(64), nologin VARCHAR(1))';

/** The queries as a site copies them from dovecot-sql.conf.ext (uid and gid: Dovecot's mail user in the tests, test/helpers/dovecot.ts). */
export const QUERIES = {
  passwordQuery: "SELECT userid AS user, password, nologin FROM users WHERE userid = '%u'",
  userQuery: "SELECT home, 5000 AS uid, 5000 AS gid, quota_rule FROM users WHERE userid = '%u'",
  iterateQuery: 'SELECT userid AS user FROM users',
};
