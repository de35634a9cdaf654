// The Sieve lexer and parser (RFC 5228 section 8): a script's text into a tree of commands, tests and
// arguments, with Pigeonhole's parse error wording. What the commands mean is checked later (validate.ts).

/** One argument as written. `line` is where it starts (error messages). */
export type SieveArgument =
  | { readonly kind: 'string'; readonly value: string; readonly line: number }
  | { readonly kind: 'number'; readonly value: number; readonly line: number }
  | { readonly kind: 'list'; readonly value: string[]; readonly line: number }
  | { readonly kind: 'tag'; readonly value: string; readonly line: number };

/** A test (RFC 5228 section 8.2: identifier arguments [test / test-list]). */
export interface ParsedTest {
  readonly id: string;
  readonly line: number;
  readonly args: SieveArgument[];
  readonly tests: ParsedTest[];
  /** True when the sub-tests came as a parenthesised list. */
  readonly testList: boolean;
}

/** A command: a test's shape plus an optional block. */
export interface ParsedCommand extends ParsedTest {
  readonly block: ParsedCommand[] | null;
}

/** A parse error in Pigeonhole's words (without the "NAME: line N: error: " head). */
export class SieveParseError extends Error {
  constructor(
    readonly line: number,
    readonly text: string,
    /** Further lines Pigeonhole prints after the first (same line number). */
    readonly more: readonly string[] = [],
  ) {
    super(text);
  }
}

type Token =
  | { t: 'id'; v: string; line: number }
  | { t: 'tag'; v: string; line: number }
  | { t: 'num'; v: number; line: number }
  | { t: 'str'; v: string; line: number }
  | { t: 'punct'; v: string; line: number }
  | { t: 'eof'; v: ''; line: number };

const MAX_NUMBER = 18446744073709551615n;
const NUMBER_SUFFIX: Record<string, bigint> = { K: 1024n, M: 1024n * 1024n, G: 1024n * 1024n * 1024n };

const isIdStart = (c: number) => (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95;
const isIdChar = (c: number) => isIdStart(c) || (c >= 48 && c <= 57);
const isDigit = (c: number) => c >= 48 && c <= 57;

/** RFC 5228 section 8.1: the tokens of a script. */
export function tokenize(src: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  let line = 1;
  const n = src.length;
  while (i < n) {
    const c = src.charCodeAt(i);
    if (c === 10) {
      line++;
      i++;
      continue;
    }
    if (c === 32 || c === 9 || c === 13) {
      i++;
      continue;
    }
    if (c === 35) {
      // hash-comment: to the end of the line
      while (i < n && src.charCodeAt(i) !== 10) i++;
      continue;
    }
    if (c === 47 && src.charCodeAt(i + 1) === 42) {
      const start = line;
      const end = src.indexOf('*/', i + 2);
      if (end < 0) {
        const last = line + (src.slice(i).match(/\n/g)?.length ?? 0);
        throw new SieveParseError(last, `end of file before end of bracket comment ('/* ... */') started at line ${start}.`);
      }
      for (let k = i; k < end; k++) if (src.charCodeAt(k) === 10) line++;
      i = end + 2;
      continue;
    }
    if (c === 34) {
      const start = line;
      let v = '';
      i++;
      for (;;) {
        if (i >= n) throw new SieveParseError(line, `end of file before end of quoted string started at line ${start}.`);
        const d = src.charCodeAt(i);
        if (d === 34) break;
        if (d === 92) {
          // RFC 5228 2.4.2: "\" followed by any character stands for that character
          i++;
          if (i >= n) continue;
        }
        const ch = src[i]!;
        if (ch === '\n') line++;
        v += ch;
        i++;
      }
      i++;
      out.push({ t: 'str', v: v.replace(/\r?\n/g, '\r\n'), line: start });
      continue;
    }
    if (isDigit(c)) {
      const start = i;
      while (i < n && isDigit(src.charCodeAt(i))) i++;
      let value = BigInt(src.slice(start, i));
      const suffix = src[i]?.toUpperCase();
      if (suffix && NUMBER_SUFFIX[suffix]) {
        value *= NUMBER_SUFFIX[suffix]!;
        i++;
      }
      if (value > MAX_NUMBER) throw new SieveParseError(line, `number exceeds integer limits (max ${MAX_NUMBER}).`);
      out.push({ t: 'num', v: Number(value), line });
      continue;
    }
    if (c === 58 && isIdStart(src.charCodeAt(i + 1))) {
      const start = ++i;
      while (i < n && isIdChar(src.charCodeAt(i))) i++;
      out.push({ t: 'tag', v: src.slice(start, i).toLowerCase(), line });
      continue;
    }
    if (isIdStart(c)) {
      const start = i;
      while (i < n && isIdChar(src.charCodeAt(i))) i++;
      const id = src.slice(start, i);
      if (id.toLowerCase() === 'text' && src[i] === ':') {
        i = multiLine(src, i + 1, line, (text, endLine) => {
          out.push({ t: 'str', v: text, line });
          line = endLine;
        });
        continue;
      }
      out.push({ t: 'id', v: id.toLowerCase(), line });
      continue;
    }
    if ('[](){},;'.includes(src[i]!)) {
      out.push({ t: 'punct', v: src[i]!, line });
      i++;
      continue;
    }
    throw new SieveParseError(line, `unexpected character(s) starting with '${src[i]}'.`);
  }
  out.push({ t: 'eof', v: '', line });
  return out;
}

/** RFC 5228 section 8.1 multi-line: "text:" *(SP / HTAB) (hash-comment / CRLF) lines "." CRLF, dot-stuffed. */
function multiLine(src: string, i: number, line: number, push: (text: string, endLine: number) => void): number {
  const n = src.length;
  while (i < n && (src[i] === ' ' || src[i] === '\t')) i++;
  if (src[i] === '#') while (i < n && src[i] !== '\n') i++;
  else if (src[i] === '\r') i++;
  if (src[i] !== '\n') throw new SieveParseError(line, `invalid character '${src[i] ?? ''}' after 'text:' in multiline string.`);
  i++;
  line++;
  const lines: string[] = [];
  for (;;) {
    if (i >= n) throw new SieveParseError(line, 'end of file before end of multi-line string.');
    let end = src.indexOf('\n', i);
    if (end < 0) end = n;
    let text = src.slice(i, end);
    if (text.endsWith('\r')) text = text.slice(0, -1);
    if (end >= n) throw new SieveParseError(line + 1, 'end of file before end of multi-line string.');
    i = end + 1;
    line++;
    if (text === '.') break;
    lines.push(text.startsWith('..') ? text.slice(1) : text);
  }
  push(lines.map((l) => `${l}\r\n`).join(''), line);
  return i;
}

const describe = (t: Token): string => {
  switch (t.t) {
    case 'id':
      return 'identifier';
    case 'tag':
      return 'tag';
    case 'num':
      return 'number';
    case 'str':
      return 'string';
    case 'eof':
      return 'end of file';
    default:
      return `'${t.v}'`;
  }
};

/** RFC 5228 section 8.2: the script's commands. Throws SieveParseError at the first error, as Pigeonhole stops. */
export function parseScript(src: string): ParsedCommand[] {
  const toks = tokenize(src);
  let p = 0;
  const peek = () => toks[p]!;

  const stringList = (open: Token): SieveArgument => {
    const items: string[] = [];
    let first = true;
    for (;;) {
      const t = toks[p++]!;
      if (t.t !== 'str')
        throw new SieveParseError(t.line, `expecting string after '${first ? '[' : ','}' in string list, but found ${describe(t)}.`);
      items.push(t.v);
      first = false;
      const sep = toks[p++]!;
      if (sep.t === 'punct' && sep.v === ']') break;
      if (!(sep.t === 'punct' && sep.v === ','))
        throw new SieveParseError(sep.line, `expecting ',' or end of string list ']', but found ${describe(sep)}.`);
    }
    return { kind: 'list', value: items, line: open.line };
  };

  const args = (owner: string): { args: SieveArgument[]; tests: ParsedTest[]; testList: boolean } => {
    const out: SieveArgument[] = [];
    for (;;) {
      const t = peek();
      if (t.t === 'str') out.push({ kind: 'string', value: t.v, line: t.line });
      else if (t.t === 'num') out.push({ kind: 'number', value: t.v, line: t.line });
      else if (t.t === 'tag') out.push({ kind: 'tag', value: t.v, line: t.line });
      else if (t.t === 'punct' && t.v === '[') {
        p++;
        out.push(stringList(t));
        continue;
      } else break;
      p++;
    }
    const t = peek();
    if (t.t === 'id') return { args: out, tests: [test()], testList: false };
    if (t.t === 'punct' && t.v === '(') {
      p++;
      const tests: ParsedTest[] = [];
      for (;;) {
        const id = peek();
        if (id.t !== 'id') {
          throw new SieveParseError(
            id.line,
            `expecting test identifier after '${tests.length ? ',' : '('}' in test list, but found ${describe(id)}.`,
            tests.length ? [] : [`failed to accept more tests for command '${owner}'.`],
          );
        }
        tests.push(test());
        const sep = toks[p++]!;
        if (sep.t === 'punct' && sep.v === ')') break;
        if (!(sep.t === 'punct' && sep.v === ','))
          throw new SieveParseError(sep.line, `expecting ',' or end of test list ')', but found ${describe(sep)}.`);
      }
      return { args: out, tests, testList: true };
    }
    return { args: out, tests: [], testList: false };
  };

  let depth = 0;
  const test = (): ParsedTest => {
    const id = toks[p++]!;
    if (++depth > 32) throw new SieveParseError(id.line, 'the test nesting depth exceeds the limit (max 32 levels).');
    const a = args(String(id.v));
    depth--;
    return { id: String(id.v), line: id.line, ...a };
  };

  const commands = (inBlock: boolean): ParsedCommand[] => {
    const out: ParsedCommand[] = [];
    for (;;) {
      const t = peek();
      if (t.t === 'eof') {
        if (inBlock) throw new SieveParseError(t.line, "expected end of compound block '}', but found end of file.");
        return out;
      }
      if (inBlock && t.t === 'punct' && t.v === '}') {
        p++;
        return out;
      }
      if (t.t !== 'id') {
        const what = t.t === 'punct' ? `'${t.v}'` : describe(t);
        throw new SieveParseError(t.line, `unexpected ${what} found at (the presumed) end of file.`);
      }
      p++;
      const a = args(t.v);
      const end = peek();
      if (end.t === 'punct' && end.v === ';') {
        p++;
        out.push({ id: t.v, line: t.line, ...a, block: null });
      } else if (end.t === 'punct' && end.v === '{') {
        p++;
        if (++depth > 32) throw new SieveParseError(end.line, 'the nesting depth exceeds the limit (max 32 levels).');
        const block = commands(true);
        depth--;
        out.push({ id: t.v, line: t.line, ...a, block });
      } else {
        throw new SieveParseError(
          end.line,
          `expected end of command ';' or the beginning of a compound block '{', but found ${describe(end)}.`,
        );
      }
    }
  };
  return commands(false);
}
