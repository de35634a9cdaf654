// Dovecot's variables in directory queries and filters (doc.dovecot.org, "Variables", 2.3), so that a
// site copies its password_query, user_query, user_filter and pass_filter unchanged: %u (the login), %n
// (its part before @), %d (after @, empty without one), %s (service), %r and %l (remote and local
// address), %w (the password), %% (a percent sign), their long forms %{user}, %{username}, %{domain},
// %{service}, %{rip}, %{lip}, %{password}, %{orig_user} ..., the modifiers L and U (lower and upper case),
// and a width with an offset (%3n: the first three letters; %1.2n: two from the second; %-2n: the last
// two). Every value is escaped for where it goes (an SQL string, an LDAP filter) by the caller's escape.
// Written by hand: the syntax must be Dovecot's byte for byte, and no library implements it.

export interface VariableValues {
  /** The login as given (Dovecot lowers it first: auth_username_format = %Lu). */
  readonly user: string;
  readonly service?: string;
  readonly remoteAddress?: string;
  readonly localAddress?: string;
  /** The password, for directories that compare it in the query (rare; never logged). */
  readonly password?: string;
}

/** A template that cannot be expanded; the message names the variable and says what is known. */
export class VariableError extends Error {}

const SHORT: Record<string, string> = { u: 'user', n: 'username', d: 'domain', s: 'service', r: 'rip', l: 'lip', w: 'password' };
const LONG = new Set([
  'user',
  'username',
  'domain',
  'service',
  'rip',
  'lip',
  'password',
  'orig_user',
  'orig_username',
  'orig_domain',
  'domain_first',
  'domain_last',
]);

function value(name: string, v: VariableValues): string {
  const user = v.user;
  const at = user.indexOf('@');
  const username = at < 0 ? user : user.slice(0, at);
  const domain = at < 0 ? '' : user.slice(at + 1);
  switch (name) {
    case 'user':
    case 'orig_user':
      return user;
    case 'username':
    case 'orig_username':
      return username;
    case 'domain':
    case 'orig_domain':
      return domain;
    case 'domain_first':
      return domain.split('.')[0] ?? '';
    case 'domain_last':
      return domain.includes('.') ? domain.slice(domain.indexOf('.') + 1) : '';
    case 'service':
      return v.service ?? '';
    case 'rip':
      return v.remoteAddress ?? '';
    case 'lip':
      return v.localAddress ?? '';
    case 'password':
      return v.password ?? '';
    default:
      throw new VariableError(`unknown variable %{${name}}`);
  }
}

/** One variable of a template, as parsed. */
interface Piece {
  readonly literal?: string;
  readonly name?: string;
  readonly modifiers?: string;
  readonly offset?: number;
  readonly width?: number;
}

/** Parses a template; throws VariableError for a variable Dovecot does not define (checked when the config is loaded). */
export function parseTemplate(template: string): readonly Piece[] {
  const pieces: Piece[] = [];
  let text = '';
  let i = 0;
  while (i < template.length) {
    const c = template[i];
    if (c !== '%') {
      text += c;
      i += 1;
      continue;
    }
    i += 1;
    if (template[i] === '%') {
      text += '%';
      i += 1;
      continue;
    }
    let modifiers = '';
    while (template[i] === 'L' || template[i] === 'U') modifiers += template[i++];
    const m = /^(-?\d+)(?:\.(\d+))?/.exec(template.slice(i));
    let offset: number | undefined;
    let width: number | undefined;
    if (m) {
      i += m[0].length;
      if (m[2] !== undefined) {
        offset = Number(m[1]);
        width = Number(m[2]);
      } else width = Number(m[1]);
    }
    while (template[i] === 'L' || template[i] === 'U') modifiers += template[i++];
    let name: string;
    if (template[i] === '{') {
      const end = template.indexOf('}', i);
      if (end < 0) throw new VariableError(`"%{" without "}" in "${template}"`);
      name = template.slice(i + 1, end).trim();
      i = end + 1;
      if (!LONG.has(name)) throw new VariableError(`unknown variable %{${name}} (known: ${[...LONG].join(', ')})`);
    } else {
      const short = template[i];
      if (short === undefined || !SHORT[short]) {
        throw new VariableError(`unknown variable %${short ?? ''} (known: %u %n %d %s %r %l %w %%, and %{user} ...)`);
      }
      name = SHORT[short]!;
      i += 1;
    }
    if (text) pieces.push({ literal: text });
    text = '';
    pieces.push({ name, modifiers, offset, width });
  }
  if (text) pieces.push({ literal: text });
  return pieces;
}

/** Fills a template; each value goes through `escape` (for an SQL string or an LDAP filter) after its modifiers. */
export function expand(template: string | readonly Piece[], values: VariableValues, escapeValue: (s: string) => string = (s) => s): string {
  const pieces = typeof template === 'string' ? parseTemplate(template) : template;
  let out = '';
  for (const p of pieces) {
    if (p.literal !== undefined) {
      out += p.literal;
      continue;
    }
    let v = value(p.name!, values);
    for (const m of p.modifiers ?? '') v = m === 'L' ? v.toLowerCase() : v.toUpperCase();
    if (p.width !== undefined) {
      if (p.offset !== undefined) v = v.slice(p.offset < 0 ? v.length + p.offset : p.offset).slice(0, p.width);
      else v = p.width < 0 ? v.slice(p.width) : v.slice(0, p.width);
    }
    out += escapeValue(v);
  }
  return out;
}
