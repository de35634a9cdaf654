// The Sieve lexer, parser and validator: every token form of RFC 5228 section 8, and the error lines
// Pigeonhole's sieve-test prints for malformed scripts (each expected text below was printed by the installed
// sieve-test 0.5 for a script of that name; when sieve-test is installed the last test compares live).
// biome-ignore-all lint/suspicious/noTemplateCurlyInString: Sieve scripts write variables as ${name}
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { compileScript, SieveCompileError } from '../../sieve/compile.js';
import type { CompiledNode } from '../../sieve/compiled.js';
import { SIEVE_EXTENSIONS } from '../../sieve/extensions.js';
import { parseScript, tokenize } from '../../sieve/parser.js';

async function errors(script: string, name = 's'): Promise<string[]> {
  try {
    await compileScript(script, { name });
  } catch (e) {
    if (e instanceof SieveCompileError) return e.messages;
    throw e;
  }
  return [];
}

const first = async (script: string): Promise<CompiledNode> => (await compileScript(script, { name: 's' })).commands[0]!;

describe('the lexer (RFC 5228 section 8.1)', () => {
  it('reads identifiers, tags, numbers with K/M/G, quoted strings with escapes, punctuation', () => {
    const toks = tokenize('Fileinto :Copy 10 1K 2m 3G "a\\"b\\\\c\\q" [ ] ( ) { } , ;');
    expect(toks.map((t) => [t.t, t.v])).toEqual([
      ['id', 'fileinto'],
      ['tag', 'copy'],
      ['num', 10],
      ['num', 1024],
      ['num', 2 * 1024 * 1024],
      ['num', 3 * 1024 * 1024 * 1024],
      ['str', 'a"b\\cq'],
      ...'[](){},;'.split('').map((c) => ['punct', c]),
      ['eof', ''],
    ]);
  });

  it('skips hash and bracket comments and counts lines through them', () => {
    const toks = tokenize('# one\r\n/* two\nthree */ keep # four\n;');
    expect(toks.map((t) => [t.v, t.line])).toEqual([
      ['keep', 3],
      [';', 4],
      ['', 4],
    ]);
  });

  it('reads text: multi-line strings, dot-stuffing undone, a comment after text:', () => {
    const toks = tokenize('text: # note\r\nline 1\r\n..dotted\r\n.\r\n;');
    expect(toks[0]).toEqual({ t: 'str', v: 'line 1\r\n.dotted\r\n', line: 1 });
    expect(toks[1]).toMatchObject({ v: ';', line: 5 });
  });

  it('keeps line breaks of quoted strings as CRLF', () => {
    expect(tokenize('"a\nb"')[0]).toMatchObject({ v: 'a\r\nb' });
  });

  it('parses the command tree: arguments, a test, a test list, blocks', () => {
    const tree = parseScript('if anyof (header :is "a" ["b", "c"], not true) { stop; } else { keep; }');
    expect(tree[0]).toMatchObject({ id: 'if', testList: false, block: [{ id: 'stop' }] });
    expect(tree[0]!.tests[0]).toMatchObject({ id: 'anyof', testList: true });
    expect(tree[0]!.tests[0]!.tests[0]!.args).toEqual([
      { kind: 'tag', value: 'is', line: 1 },
      { kind: 'string', value: 'a', line: 1 },
      { kind: 'list', value: ['b', 'c'], line: 1 },
    ]);
    expect(tree[1]).toMatchObject({ id: 'else', block: [{ id: 'keep' }] });
  });
});

describe('parse errors in Pigeonhole words', () => {
  const cases: [string, string[]][] = [
    ['keep', ["s: line 1: error: expected end of command ';' or the beginning of a compound block '{', but found end of file."]],
    ['keep;\n"abc";', ['s: line 2: error: unexpected string found at (the presumed) end of file.']],
    ['if true {keep;', ["s: line 1: error: expected end of compound block '}', but found end of file."]],
    ['keep;\n/* unterminated\n\n', ["s: line 4: error: end of file before end of bracket comment ('/* ... */') started at line 2."]],
    ['text:\nfoo\n', ['s: line 3: error: end of file before end of multi-line string.']],
    ['if size :over 99999999999999999999 {}', ['s: line 1: error: number exceeds integer limits (max 18446744073709551615).']],
    ['{ keep; }', ["s: line 1: error: unexpected '{' found at (the presumed) end of file."]],
    ['keep;;', ["s: line 1: error: unexpected ';' found at (the presumed) end of file."]],
    [
      'if anyof() {}',
      [
        "s: line 1: error: expecting test identifier after '(' in test list, but found ')'.",
        "s: line 1: error: failed to accept more tests for command 'anyof'.",
      ],
    ],
    ['if anyof(true,) {}', ["s: line 1: error: expecting test identifier after ',' in test list, but found ')'."]],
    ['if anyof(true false {}', ["s: line 1: error: expecting ',' or end of test list ')', but found '{'."]],
    ['if header ["a" "b"] "c" {}', ["s: line 1: error: expecting ',' or end of string list ']', but found string."]],
    ['if header ["a",] "c" {}', ["s: line 1: error: expecting string after ',' in string list, but found ']'."]],
    ['keep "a" :b [1];', ["s: line 1: error: expecting string after '[' in string list, but found number."]],
    ['fileinto "a', ['s: line 1: error: end of file before end of quoted string started at line 1.']],
    ['if header :is "x" text: bad\nfoo\n.\n {}', ["s: line 1: error: invalid character 'b' after 'text:' in multiline string."]],
  ];
  for (const [script, lines] of cases)
    it(JSON.stringify(script), async () => {
      expect(await errors(script)).toEqual([...lines, 's: error: parse failed.']);
    });
});

describe('validation errors in Pigeonhole words', () => {
  const cases: [string, string[]][] = [
    [
      'require "foo";\nkeep;\nfileinto "x";\nif header :bogus "a" "b" {}',
      [
        "s: line 1: error: require command: unknown Sieve capability `foo'.",
        "s: line 3: error: unknown command 'fileinto' (only reported once at first occurrence).",
        "s: line 4: error: unknown tagged argument ':bogus' for the header test (reported only once at first occurrence).",
      ],
    ],
    [
      'require ["fileinto", "foo", "bar"];',
      [
        "s: line 1: error: require command: unknown Sieve capability `foo'.",
        "s: line 1: error: require command: unknown Sieve capability `bar'.",
      ],
    ],
    [
      'require "fileinto"; fileinto 1;',
      ['s: line 1: error: the fileinto command expects a string as argument 1 (folder), but a number was found.'],
    ],
    [
      'require "fileinto"; fileinto "a" "b";',
      ['s: line 1: error: the fileinto command requires 1 positional argument(s), but 2 is/are specified.'],
    ],
    ['stop 1;', ['s: line 1: error: the stop command requires 0 positional argument(s), but 1 is/are specified.']],
    ['if address :is "subject" "x" {discard;}', ["s: line 1: error: specified header 'subject' is not allowed for the address test."]],
    [
      'require "envelope"; if envelope "orig_to" "x" {}',
      ["s: line 1: error: specified envelope part 'orig_to' is not supported by the envelope test."],
    ],
    [
      'require "imap4flags"; if hasflag "a" "b" "c" {}',
      ['s: line 1: error: the hasflag test only allows for the specification of a variable name when the variables extension is active.'],
    ],
    ['keep\ndiscard;', ["s: line 1: error: missing semicolon ';' after keep command."]],
    ['if size :over 1x {}', ["s: line 1: error: missing semicolon ';' after size test."]],
    ['require 1;', ['s: line 1: error: the require command accepts a single string or string list argument, but a number was found.']],
    [
      'redirect "not an address";',
      ["s: line 1: error: specified redirect address 'not an address' is invalid: invalid or lonely local part 'not' (expecting '@')."],
    ],
    ['if foo {}', ["s: line 1: error: unknown test 'foo' (only reported once at first occurrence)."]],
    ['if header "a" {}', ['s: line 1: error: the header test requires 2 positional argument(s), but 1 is/are specified.']],
    [
      'if header 1 "b" {}',
      ['s: line 1: error: the header test expects a string list as argument 1 (header names), but a number was found.'],
    ],
    [
      'if header :is :contains "a" "b" {}',
      ['s: line 1: error: encountered duplicate MATCH-TYPE argument (:contains) for the header test.'],
    ],
    [
      'if address :all :localpart "to" "x" {}',
      ['s: line 1: error: encountered duplicate ADDRESS-PART argument (:localpart) for the address test.'],
    ],
    ['if header :comparator "i;bogus" "a" "b" {}', ["s: line 1: error: unknown comparator 'i;bogus'."]],
    [
      'if header :comparator 1 "a" "b" {}',
      ['s: line 1: error: the :comparator tag for the header test requires a string as parameter, but a number was found.'],
    ],
    [
      'if header :comparator {}',
      ['s: line 1: error: the :comparator tag for the header test requires a string as parameter, but no parameters were found.'],
    ],
    [
      'if header :comparator "i;octet" :comparator "i;octet" "a" "b" {}',
      ['s: line 1: error: encountered duplicate :comparator argument for the header test.'],
    ],
    ['if header :comparator "i;ascii-numeric" :is "a" "1" {}', ["s: line 1: error: unknown comparator 'i;ascii-numeric'."]],
    [
      'require ["comparator-i;ascii-numeric"]; if header :comparator "i;ascii-numeric" :contains "a" "1" {}',
      [
        's: line 1: error: the specified i;ascii-numeric comparator does not support sub-string matching as required by the ' +
          ':contains match type.',
      ],
    ],
    ['if size 10 {}', ['s: line 1: error: the size test requires either the :under or the :over tag to be specified.']],
    ['if size :over "a" {}', ['s: line 1: error: the size test expects a number as argument 1 (limit), but a string was found.']],
    [
      'if size :over :under 1 {}',
      ["s: line 1: error: exactly one of the ':under' or ':over' tags must be specified for the size test, but more were found."],
    ],
    ['elsif true {}', ['s: line 1: error: the elsif command must follow an if or elseif command.']],
    ['if true {} else {} else {}', ['s: line 1: error: the else command must follow an if or elseif command.']],
    ['keep; require "fileinto";', ['s: line 1: error: require commands can only be placed at top level at the beginning of the file.']],
    ['keep :copy;', ["s: line 1: error: unknown tagged argument ':copy' for the keep command (reported only once at first occurrence)."]],
    [
      'require ["fileinto","copy"]; fileinto :copy :copy "a";',
      ['s: line 1: error: encountered duplicate :copy argument for the fileinto command.'],
    ],
    ['if true; keep;', ['s: line 1: error: the if command requires a command block, but it is missing.']],
    ['if (true) {}', ['s: line 1: error: the if command requires one sub-test, but a list of tests is specified.']],
    ['if anyof(true false) {}', ['s: line 1: error: the true test accepts no sub-tests, but tests are specified.']],
    [
      'redirect "notanaddress";',
      [
        "s: line 1: error: specified redirect address 'notanaddress' is invalid: " +
          "invalid or lonely local part 'notanaddress' (expecting '@').",
      ],
    ],
    ['require "variables"; set "a";', ['s: line 1: error: the set command requires 2 positional argument(s), but 1 is/are specified.']],
    ['require "variables"; set "a.b" "c";', ["s: line 1: error: referring to variable in unknown namespace 'a'."]],
    ['require "variables"; set "1" "b";', ['s: line 1: error: cannot assign to match variable.']],
    ['require "variables"; set "x-y" "b";', ["s: line 1: error: invalid variable name 'x-y'."]],
    [
      'require "variables"; set :lower :upper "a" "b";',
      ['s: line 1: error: modifiers :lower and :upper specified for the set command conflict having equal precedence.'],
    ],
    ['require "variables"; if string :matches "a" "${1000}" {}', ['s: line 1: error: match value index 1000 out of range (max: 32).']],
    [
      'require "relational"; if header :count "xx" "a" "b" {}',
      [
        's: line 1: error: the :count match-type requires a constant string argument being one of "gt", "ge", "lt", "le", "eq" ' +
          'or "ne", but "xx" was found.',
      ],
    ],
    [
      'require "relational"; if header :value "gt" :is "a" "b" {}',
      ['s: line 1: error: encountered duplicate MATCH-TYPE argument (:is) for the header test.'],
    ],
    [
      'if header :count "gt" "a" "b" {}',
      ["s: line 1: error: unknown tagged argument ':count' for the header test (reported only once at first occurrence)."],
    ],
    [
      'require "include"; include :personal :global "foo";',
      ["s: line 1: error: include: cannot use location tags ':personal' and ':global' multiple times."],
    ],
    ['require ["include"];\ninclude "../x";', ["s: line 2: error: include: invalid script name '../x'."]],
    [
      'require "regex"; if header :regex "a" "(" {}',
      ["s: line 1: error: invalid regular expression '(' for regex match: unmatched ( or \\(."],
    ],
    [
      'require "regex"; if header :regex "a" "a{2" {}',
      ["s: line 1: error: invalid regular expression 'a{2' for regex match: unmatched \\{."],
    ],
    [
      'require "index"; if header :last "a" "b" {}',
      ['s: line 1: error: the :last tag for the header test cannot be specified without the :index tag.'],
    ],
    ['require ["index"]; if header :index 0 "a" "b" {}', ['s: line 1: error: the :index tag for the header test cannot be zero.']],
    [
      'require "duplicate"; if duplicate :header "a" :uniqueid "b" {}',
      ['s: line 1: error: conflicting :header and :uniqueid arguments specified for the duplicate test.'],
    ],
    [
      'require "editheader"; addheader "bad name" "x";',
      ["s: line 1: error: addheader command: specified field name `bad name' is invalid."],
    ],
    [
      'require "vacation"; vacation :days "x" "y";',
      ['s: line 1: error: the :days tag for the vacation command requires a number as parameter, but a string was found.'],
    ],
    ['require "body"; if body :raw :text "a" {}', ['s: line 1: error: encountered duplicate :text argument for the body test.']],
    [
      'require "spamtest"; if spamtest :percent "1" {}',
      ['s: line 1: error: the spamtest test only accepts the :percent argument when the spamtestplus extension is active.'],
    ],
    [
      'require "virustest"; if virustest :value "gt" "1" {}',
      ["s: line 1: error: unknown tagged argument ':value' for the virustest test (reported only once at first occurrence)."],
    ],
    [
      'require "envelope"; if envelope "bogus" "x" {}',
      ["s: line 1: error: specified envelope part 'bogus' is not supported by the envelope test."],
    ],
    [
      'require ["encoded-character"]; if header :is "a" "${hex:4} ${unicode:d800}" {}',
      ['s: line 1: error: invalid unicode character 0x0000d800 in encoded character substitution.'],
    ],
    [
      'require ["imap4flags"]; setflag "a" "b";',
      [
        's: line 1: error: the setflag command only allows for the specification of a variable name when the variables extension ' +
          'is active.',
      ],
    ],
    ['require "include"; return; global "x";', ['s: line 1: error: global command requires that variables extension is active.']],
    ['require ["include","variables"]; global "x.y";', ["s: line 1: error: invalid variable identifier 'x.y'."]],
  ];
  for (const [script, lines] of cases)
    it(JSON.stringify(script), async () => {
      expect(await errors(script)).toEqual([...lines, 's: error: validation failed.']);
    });

  it('refuses a folder name that is not UTF-8', async () => {
    const src = Buffer.concat([Buffer.from('require "fileinto";\nfileinto "'), Buffer.from([0xff, 0xfe]), Buffer.from('";\n')]);
    const e = (await compileScript(src, { name: 's' }).catch((x: unknown) => x)) as SieveCompileError;
    expect(e.messages).toEqual([
      "s: line 2: error: fileinto command: invalid folder name `??' specified: invalid utf-8.",
      's: error: validation failed.',
    ]);
  });

  it('names the script without its .sieve suffix and joins the lines in the message', async () => {
    const e = await compileScript('require "foo";', { name: 'vacation.sieve' }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(SieveCompileError);
    expect((e as Error).message).toBe(
      "vacation: line 1: error: require command: unknown Sieve capability `foo'.\nvacation: error: validation failed.",
    );
  });

  it('keeps warnings as Pigeonhole prints them without failing', async () => {
    const c = await compileScript('require "vacation"; vacation :days 0 "x";', { name: 's' });
    expect(c.warnings).toEqual(["s: line 1: warning: specified :days value '0' is under the minimum."]);
    const h = await compileScript('require "date"; if exists "a b" {} if currentdate :zone "bad" "year" "2026" {}', { name: 's' });
    expect(h.warnings).toEqual([
      "s: line 1: warning: specified header field name 'a b' is invalid.",
      "s: line 1: warning: specified :zone argument 'bad' is not a valid timezone.",
    ]);
    const d = await compileScript('require "editheader"; deleteheader "Received";', { name: 's' });
    expect(d.warnings).toEqual([
      "s: line 1: warning: deleteheader command: deleting specified header field `Received' is forbidden; modification will be denied.",
    ]);
  });
});

describe('the compiled form', () => {
  it('is plain data: JSON round trip gives the same script', async () => {
    const c = await compileScript(
      'require ["fileinto","variables"]; if header :matches "subject" "*" { set :lower "a" "${1}"; fileinto "x"; }',
      {
        name: 's',
      },
    );
    expect(JSON.parse(JSON.stringify(c))).toEqual(c);
    expect(structuredClone(c)).toEqual(c);
  });

  it('normalises tags: match type, relation, comparator, address part', async () => {
    const n = await first(
      'require ["relational","comparator-i;ascii-numeric"]; if address :domain :value "GE" :comparator "i;ascii-numeric" "from" "1" {}',
    );
    expect(n.tests[0]!.tags).toEqual({ addresspart: 'domain', match: 'value', relation: 'ge', comparator: 'i;ascii-numeric' });
  });

  it('decodes encoded characters when the script requires encoded-character (RFC 5228 section 2.4.2.4)', async () => {
    const n = await first('require ["encoded-character","fileinto"]; fileinto "${hex:48 69}${unicode:263a}${hex:zz}";');
    expect(n.args[0]).toBe('Hi\u263a${hex:zz}');
    const plain = await first('require ["fileinto"]; fileinto "${hex:48}";');
    expect(plain.args[0]).toBe('${hex:48}');
  });

  it('accepts every capability it lists, and the implicit comparators', async () => {
    await expect(
      compileScript(`require ${JSON.stringify([...SIEVE_EXTENSIONS, 'comparator-i;octet'])};`, { name: 's' }),
    ).resolves.toBeTruthy();
  });
});

describe('include (RFC 6609) at compile time', () => {
  const scripts: Record<string, string> = {
    self: 'require "include";\ninclude "self";\n',
    a: 'require "include";\ninclude "b";\n',
    b: 'require "include";\ninclude "a";\n',
    inc: 'require "fileinto";\nfileinto "Inc";\n',
  };
  const loadInclude = async (name: string) => (scripts[name] === undefined ? null : Buffer.from(scripts[name]!));

  it('compiles the included scripts alongside', async () => {
    const c = await compileScript('require "include";\ninclude "inc";\ninclude :optional "none";', { name: 'top', loadInclude });
    expect(Object.keys(c.included)).toEqual(['personal:inc', 'personal:none']);
    expect(c.included['personal:none']).toBeNull();
  });

  it('refuses a missing script that is not optional', async () => {
    expect(await errors('require "include";\ninclude "nonexist";')).toEqual([
      "s: line 2: error: included personal script 'nonexist' does not exist.",
      's: error: validation failed.',
    ]);
  });

  it('refuses an included script that does not parse', async () => {
    const load = async () => Buffer.from('keep');
    const e = (await compileScript('require "include";\ninclude "broken";', { name: 'top', loadInclude: load }).catch(
      (x: unknown) => x,
    )) as SieveCompileError;
    expect(e.messages).toEqual([
      "broken: line 1: error: expected end of command ';' or the beginning of a compound block '{', but found end of file.",
      "top: line 2: error: failed to parse included script 'broken'.",
      'top: error: code generation failed.',
    ]);
  });

  it('refuses recursion as Pigeonhole does', async () => {
    const e = (await compileScript('require "include";\ninclude "self";', { name: 'top', loadInclude }).catch(
      (x: unknown) => x,
    )) as SieveCompileError;
    expect(e.messages).toEqual([
      'self: line 2: error: circular include.',
      "top: line 2: error: failed to generate code for included script 'self'.",
      'top: error: code generation failed.',
    ]);
    const loop = (await compileScript('require "include";\ninclude "a";', { name: 'top', loadInclude }).catch(
      (x: unknown) => x,
    )) as SieveCompileError;
    expect(loop).toBeInstanceOf(SieveCompileError);
  });
});

// The same malformed scripts through the installed sieve-test, when there is one (CI installs it).
const SIEVE_TEST = '/usr/bin/sieve-test';
describe.runIf(existsSync(SIEVE_TEST) && process.getuid?.() === 0)('against the installed sieve-test', () => {
  it('prints the same error lines', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sieve-lang-'));
    chmodSync(dir, 0o777);
    mkdirSync(join(dir, 'mail'), { mode: 0o777 });
    writeFileSync(join(dir, 'dovecot.conf'), `mail_location = maildir:${dir}/mail\n`);
    writeFileSync(join(dir, 'm.eml'), 'From: a@b\nSubject: x\n\nbody\n');
    const scripts = [
      'require "foo";\nkeep;\nfileinto "x";\nif header :bogus "a" "b" {}',
      'if header :is :contains "a" "b" {}',
      'require "variables"; set :lower :upper "a" "b";',
      'if anyof() {}',
    ];
    for (const [i, script] of scripts.entries()) {
      const file = join(dir, `s${i}.sieve`);
      writeFileSync(file, script);
      chmodSync(file, 0o644);
      let out = '';
      try {
        execFileSync('runuser', ['-u', 'nobody', '--', SIEVE_TEST, '-c', join(dir, 'dovecot.conf'), file, join(dir, 'm.eml')], {
          encoding: 'utf8',
          stdio: ['ignore', 'pipe', 'pipe'],
        });
      } catch (e) {
        out = String((e as { stderr?: string }).stderr ?? '');
      }
      const theirs = out.split('\n').filter((l) => l.startsWith(`s${i}: `));
      expect(await errors(script, `s${i}`)).toEqual(theirs);
    }
  });
});
