// The fields of a directory's answer (a row of the SQL queries, an LDAP entry's mapped attributes) as a
// DirectoryEntry, by Dovecot's field names (doc.dovecot.org, "Password database extra fields", "User
// database extra fields"): password, user, home, quota_rule (quota_rule2 ...), nologin and deny; the same
// names with `userdb_` before them (a password query that also answers for the userdb, Dovecot's prefetch).
// Fields Postern does not use (uid, gid, mail, ...) are ignored.
import type { DirectoryEntry } from './contract.js';

export type Fields = Readonly<Record<string, unknown>>;

function text(v: unknown): string | null {
  if (v === null || v === undefined) return null;
  const s = Buffer.isBuffer(v) ? v.toString('utf8') : Array.isArray(v) ? String(v[0] ?? '') : String(v);
  return s === '' ? null : s;
}

function field(fields: Fields, name: string): string | null {
  return text(fields[name]) ?? text(fields[`userdb_${name}`]);
}

/** Dovecot's yes/no fields: a value other than "n", "no", "0" or "false" is yes (NULL: not set). */
function flag(fields: Fields, name: string): boolean {
  const v = field(fields, name);
  if (v === null) return fields[name] === true || fields[`userdb_${name}`] === true;
  return !/^(n|no|0|false)$/i.test(v);
}

const UNITS: Record<string, number> = { b: 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 };

/** A size as quota_rule writes it: a number with b/k/M/G/T, or without one in `bareUnit`. */
function size(v: string, bareUnit: number): number | null {
  const m = /^(\d+)\s*([bkmgt])?$/i.exec(v.trim());
  if (!m) return null;
  return Number(m[1]) * (m[2] ? UNITS[m[2].toLowerCase()] : bareUnit);
}

/**
 * The limits of Dovecot's quota_rule fields for the whole account ("*:storage=1G", "*:bytes=1048576",
 * "*:messages=1000"; storage without a unit is in kilobytes, as in Dovecot). Rules for one mailbox and
 * percentages are not Postern's (its quota is the account's) and are ignored.
 */
export function quotaFromRules(rules: readonly string[]): { storage?: number; messages?: number } | null {
  const out: { storage?: number; messages?: number } = {};
  for (const rule of rules) {
    const colon = rule.indexOf(':');
    if (colon < 0 || rule.slice(0, colon).trim() !== '*') continue;
    for (const part of rule.slice(colon + 1).split(':')) {
      const [key, value] = part.split('=', 2).map((s) => s.trim());
      if (value === undefined) continue;
      if (key === 'storage') out.storage = size(value, 1024) ?? out.storage;
      else if (key === 'bytes') out.storage = size(value, 1) ?? out.storage;
      else if (key === 'messages' && /^\d+$/.test(value)) out.messages = Number(value);
    }
  }
  return out.storage === undefined && out.messages === undefined ? null : out;
}

/**
 * The entry for `login` from a directory's fields. A password without {SCHEME} in front is in
 * `defaultScheme` (Dovecot's default_pass_scheme); `user` corrects the login's spelling.
 */
export function entryFromFields(fields: Fields, login: string, defaultScheme: string | null): DirectoryEntry {
  const password = text(fields.password);
  const rules: string[] = [];
  for (const name of ['quota_rule', 'quota_rule2', 'quota_rule3']) {
    const rule = field(fields, name);
    if (rule) rules.push(rule);
  }
  return {
    login: (text(fields.user) ?? login).toLowerCase(),
    passwordHash: password === null ? '' : password.startsWith('{') || !defaultScheme ? password : `{${defaultScheme}}${password}`,
    home: field(fields, 'home'),
    quota: quotaFromRules(rules),
    disabled: flag(fields, 'nologin') || flag(fields, 'deny'),
  };
}
