// Reading a Dovecot passwd-file (src/auth/db-passwd-file.c) and finding each user's Maildir from a
// mail_location pattern, for `postern import dovecot`.
//   user:password:uid:gid:gecos:home:shell:extra_fields
// Lines that are empty or start with "#" or ":" are skipped; fields are split at every ":" (no
// escaping); the extra fields after the seventh are joined again and split at spaces into key=value
// pairs, userdb_ ones for the user (userdb_mail=maildir:... overrides mail_location).

export interface PasswdEntry {
  /** The line number, for messages. */
  line: number;
  /** The name as Dovecot looks it up: lower-cased (auth_username_format %Lu). */
  user: string;
  /** The name as written, when it was not lower-case (Dovecot could never reach it as written). */
  writtenAs: string | null;
  password: string;
  home: string | null;
  /** userdb_mail, when the entry has one. */
  mail: string | null;
  /** Other extra fields (passdb and userdb), as written. */
  extra: Record<string, string>;
}

export interface PasswdFile {
  entries: PasswdEntry[];
  /** Problems with single lines: a duplicate (the first wins, as in Dovecot), a line without a password. */
  problems: { line: number; message: string }[];
}

export function parsePasswdFile(text: string): PasswdFile {
  const entries: PasswdEntry[] = [];
  const problems: PasswdFile['problems'] = [];
  const seen = new Set<string>();
  text.split('\n').forEach((raw, i) => {
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (line === '' || line.startsWith('#') || line.startsWith(':')) return;
    const fields = line.split(':');
    const written = fields[0];
    const user = written.toLowerCase();
    if (fields.length < 2 || fields[1] === '') {
      problems.push({ line: i + 1, message: `${written}: no password` });
      return;
    }
    if (seen.has(user)) {
      problems.push({ line: i + 1, message: `${written}: listed more than once; the first entry is used, as Dovecot does` });
      return;
    }
    seen.add(user);
    const extra: Record<string, string> = {};
    for (const pair of fields.slice(7).join(':').split(/ +/)) {
      if (pair === '') continue;
      const eq = pair.indexOf('=');
      extra[eq < 0 ? pair : pair.slice(0, eq)] = eq < 0 ? '' : pair.slice(eq + 1);
    }
    const home = extra.userdb_home ?? (fields[5] || null);
    entries.push({
      line: i + 1,
      user,
      writtenAs: written === user ? null : written,
      password: fields[1],
      home,
      mail: extra.userdb_mail ?? null,
      extra,
    });
  });
  return { entries, problems };
}

/** A mail_location Postern cannot follow; the message names what and why. */
export class MailLocationError extends Error {}

/**
 * The Maildir root a mail_location ("maildir:~/Maildir", "maildir:/srv/vmail/%d/%n") names for `user`
 * with `home`. Only plain Maildir++ trees can be served: LAYOUT=fs, and INBOX, CONTROL or INDEX kept
 * elsewhere, are refused with a reason.
 */
export function maildirRoot(location: string, user: string, home: string | null): string {
  if (!location.startsWith('maildir:'))
    throw new MailLocationError(`"${location}" is not a Maildir (only maildir: locations can be imported)`);
  const [path, ...options] = location.slice('maildir:'.length).split(':');
  for (const option of options) {
    const key = option.split('=')[0].toUpperCase();
    if (key === 'LAYOUT' && option.toLowerCase() !== 'layout=maildir++')
      throw new MailLocationError(`${option}: only the Maildir++ layout is served by Postern`);
    if (key === 'INBOX' || key === 'CONTROL' || key === 'INDEX')
      throw new MailLocationError(`${option}: a Maildir whose ${key.toLowerCase()} lives elsewhere cannot be imported as one tree`);
  }
  const at = user.lastIndexOf('@');
  const values: Record<string, string> = {
    u: user,
    n: at < 0 ? user : user.slice(0, at),
    d: at < 0 ? '' : user.slice(at + 1),
    h: home ?? '',
  };
  const long: Record<string, string> = { user: 'u', username: 'n', domain: 'd', home: 'h' };
  let expanded = path.replace(
    /%([LU]?)(?:\{([a-z]+)\}|([a-z%]))/g,
    (all, modifier: string, name: string | undefined, letter: string | undefined) => {
      if (letter === '%') return '%';
      const key = name ? long[name] : letter;
      if (!key || !(key in values))
        throw new MailLocationError(`${all} in "${location}" is a variable the importer does not know (it knows %u %n %d %h, %L and %U)`);
      if (key === 'h' && !home) throw new MailLocationError(`"${location}" needs the user's home, and the entry has none`);
      const value = values[key];
      return modifier === 'L' ? value.toLowerCase() : modifier === 'U' ? value.toUpperCase() : value;
    },
  );
  if (expanded === '~' || expanded.startsWith('~/')) {
    if (!home) throw new MailLocationError(`"${location}" starts at the user's home (~), and the entry has none`);
    expanded = home + expanded.slice(1);
  }
  if (!expanded.startsWith('/'))
    throw new MailLocationError(`"${location}" gives the relative path ${expanded}; a Maildir root must be absolute`);
  return expanded.replace(/\/+$/, '');
}
