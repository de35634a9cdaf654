// Values put into an LDAP filter or a DN from what a client typed (the login in %u, %n, %d): escaped so
// that a login can never widen a search ("*", ")(uid=*") or name another entry.

/**
 * A value inside a filter (RFC 4515 section 3): the characters that have a meaning there ("*", "(", ")",
 * "\") and NUL become \XX, as Dovecot's ldap_escape() does; UTF-8 stays as it is (the RFC allows it).
 */
export function escapeFilterValue(value: string): string {
  return value.replace(/[*()\\\0]/g, (c) => `\\${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

/**
 * A value inside a DN, for a base with variables (ou=%d,dc=example,dc=org): RFC 4514 section 2.4, the
 * special characters backslash-escaped, a leading space or "#" and a trailing space too, NUL as \00.
 * (Dovecot runs the base through its filter escape; a DN's own rules are the ones that hold there.)
 */
export function escapeDnValue(value: string): string {
  let out = value.replace(/[,+"\\<>;=]/g, (c) => `\\${c}`).replace(/\0/g, '\\00');
  if (out.startsWith(' ') || out.startsWith('#')) out = `\\${out}`;
  if (out.endsWith(' ') && !out.endsWith('\\ ')) out = `${out.slice(0, -1)}\\ `;
  return out;
}
