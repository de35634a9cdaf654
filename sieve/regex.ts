// Pigeonhole's `regex` match type: POSIX extended regular expressions (regcomp with REG_EXTENDED, no
// REG_NEWLINE: "." matches a newline, ^ and $ only at the ends) translated to a JavaScript RegExp. Bracket
// expressions keep POSIX rules (a backslash is literal inside, "]" first is literal, [:class:] names).

const CLASSES: Record<string, string> = {
  alpha: 'A-Za-z',
  digit: '0-9',
  alnum: '0-9A-Za-z',
  upper: 'A-Z',
  lower: 'a-z',
  space: ' \\t\\n\\r\\f\\v',
  blank: ' \\t',
  punct: '!-\\/:-@\\[-`{-~',
  print: ' -~',
  graph: '!-~',
  cntrl: '\\x00-\\x1f\\x7f',
  xdigit: '0-9A-Fa-f',
  word: '0-9A-Za-z_',
};

const escapeJs = (c: string) => (/[\\^$.*+?()[\]{}|/-]/.test(c) ? `\\${c}` : c);

/** Translates a POSIX ERE; `error` is regcomp's complaint in Pigeonhole's (lower-case) words. */
export function posixToJs(src: string, caseInsensitive: boolean): { regex: RegExp | null; error: string | null } {
  let out = '';
  let depth = 0;
  let i = 0;
  let atomBefore = false;
  while (i < src.length) {
    const c = src[i]!;
    if (c === '\\') {
      const d = src[i + 1];
      if (d === undefined) return { regex: null, error: 'trailing backslash (\\)' };
      if (/[1-9]/.test(d)) out += `\\${d}`;
      else if (d === '<') out += '\\b(?=\\w)';
      else if (d === '>') out += '\\b(?<=\\w)';
      else if ('wWsSbB'.includes(d)) out += `\\${d}`;
      else if (d === '`') out += '^';
      else if (d === "'") out += '$';
      else out += escapeJs(d);
      i += 2;
      atomBefore = true;
      continue;
    }
    if (c === '[') {
      let j = i + 1;
      let set = '';
      if (src[j] === '^') {
        set += '^';
        j++;
      }
      let first = true;
      for (;;) {
        if (j >= src.length) return { regex: null, error: 'unmatched [, [^, [:, [., or [=' };
        const e = src[j]!;
        if (e === ']' && !first) break;
        first = false;
        if (e === '[' && (src[j + 1] === ':' || src[j + 1] === '=' || src[j + 1] === '.')) {
          const kind = src[j + 1]!;
          const end = src.indexOf(`${kind}]`, j + 2);
          if (end < 0) return { regex: null, error: 'unmatched [, [^, [:, [., or [=' };
          const name = src.slice(j + 2, end);
          if (kind === ':') {
            const cls = CLASSES[name];
            if (cls === undefined) return { regex: null, error: 'invalid character class' };
            set += cls;
          } else set += [...name].map(escapeJs).join('');
          j = end + 2;
          continue;
        }
        set += e === '-' && src[j + 1] !== ']' && set.length > 0 && set !== '^' ? '-' : escapeJs(e);
        j++;
      }
      out += `[${set}]`;
      i = j + 1;
      atomBefore = true;
      continue;
    }
    if (c === '(') {
      depth++;
      out += '(';
      atomBefore = false;
    } else if (c === ')') {
      if (depth === 0) return { regex: null, error: 'unmatched ) or \\)' };
      depth--;
      out += ')';
      atomBefore = true;
    } else if (c === '{') {
      const m = /^\{([0-9]*)(,([0-9]*))?\}/.exec(src.slice(i));
      if (!m) {
        if (!src.slice(i).includes('}')) return { regex: null, error: 'unmatched \\{' };
        return { regex: null, error: 'invalid content of \\{\\}' };
      }
      if (!atomBefore) return { regex: null, error: 'invalid preceding regular expression' };
      out += m[0];
      i += m[0].length;
      continue;
    } else if (c === '*' || c === '+' || c === '?') {
      if (!atomBefore) {
        // POSIX leaves a leading repetition undefined; glibc takes it literally.
        out += `\\${c}`;
        atomBefore = true;
      } else out += c;
    } else if (c === '|') {
      out += '|';
      atomBefore = false;
    } else if (c === '^' || c === '$') {
      out += c;
      atomBefore = false;
    } else if (c === '.') {
      out += '.';
      atomBefore = true;
    } else {
      out += escapeJs(c);
      atomBefore = true;
    }
    i++;
  }
  if (depth > 0) return { regex: null, error: 'unmatched ( or \\(' };
  try {
    return { regex: new RegExp(out, caseInsensitive ? 'is' : 's'), error: null };
  } catch {
    return { regex: null, error: 'invalid regular expression' };
  }
}
