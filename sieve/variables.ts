// The variables extension (RFC 5229): "${name}" and "${N}" expanded in strings, the set command's modifiers,
// and Pigeonhole's limits on them.

/** Pigeonhole's sieve_variables_max_variable_size: longer values are cut. */
export const MAX_VARIABLE_SIZE = 4096;
/** Pigeonhole's sieve_variables_max_scope_size: variables one scope may hold. */
export const MAX_SCOPE_SIZE = 255;

/** Variables of one scope (names lower case, RFC 5229 section 3: case-insensitive). */
export type Scope = Map<string, string>;

export interface VariableContext {
  readonly local: Scope;
  /** RFC 6609 section 3.3: the global scope ("global.NAME" and names declared by `global`). */
  readonly globals: Scope;
  readonly globalNames: Set<string>;
  readonly matches: readonly string[];
}

const REF = /\$\{([A-Za-z0-9_.]+)\}/g;

/** RFC 5229 section 3: a string with its variable references replaced; a malformed reference stays as written. */
export function expand(s: string, ctx: VariableContext): string {
  if (!s.includes('${')) return s;
  return s.replace(REF, (whole, name: string) => {
    if (/^[0-9]+$/.test(name)) return ctx.matches[Number(name)] ?? '';
    const v = lookup(name.toLowerCase(), ctx);
    return v === undefined ? (isValidReference(name) ? '' : whole) : v;
  });
}

/** A well-formed reference (an unknown one, or one in an unknown namespace, is empty). */
function isValidReference(name: string): boolean {
  return /^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$/.test(name);
}

function lookup(name: string, ctx: VariableContext): string | undefined {
  if (name.startsWith('global.')) return ctx.globals.get(name.slice(7));
  if (ctx.globalNames.has(name)) return ctx.globals.get(name);
  return ctx.local.get(name);
}

/** Assigns a variable (the set command, RFC 5229 section 4); false when the scope is full. */
export function assign(name: string, value: string, ctx: VariableContext): boolean {
  let n = name.toLowerCase();
  let scope = ctx.local;
  if (n.startsWith('global.')) {
    n = n.slice(7);
    scope = ctx.globals;
  } else if (ctx.globalNames.has(n)) scope = ctx.globals;
  if (!scope.has(n) && scope.size >= MAX_SCOPE_SIZE) return false;
  scope.set(n, truncate(value));
  return true;
}

/** Cuts a value to the size limit, never inside a UTF-8 character. */
export function truncate(value: string): string {
  if (value.length <= MAX_VARIABLE_SIZE / 4) return value;
  const b = Buffer.from(value);
  if (b.length <= MAX_VARIABLE_SIZE) return value;
  let end = MAX_VARIABLE_SIZE;
  while (end > 0 && (b[end]! & 0xc0) === 0x80) end--;
  return b.subarray(0, end).toString('utf8');
}

/** RFC 5229 section 4.1: one modifier applied (they come sorted by precedence, highest first). */
export function applyModifier(modifier: string, v: string): string {
  switch (modifier) {
    // Pigeonhole changes the case of ASCII letters only
    case 'lower':
      return v.replace(/[A-Z]+/g, (m) => m.toLowerCase());
    case 'upper':
      return v.replace(/[a-z]+/g, (m) => m.toUpperCase());
    case 'lowerfirst':
      return /^[A-Z]/.test(v) ? v[0]!.toLowerCase() + v.slice(1) : v;
    case 'upperfirst':
      return /^[a-z]/.test(v) ? v[0]!.toUpperCase() + v.slice(1) : v;
    case 'quotewildcard':
      return v.replace(/[*?\\]/g, '\\$&');
    case 'quoteregex':
      return v.replace(/[\\^$.*+?()[\]{}|]/g, '\\$&');
    case 'length':
      return String([...v].length);
    default:
      return v;
  }
}
