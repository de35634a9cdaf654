// compileScript: a script's text into its plain-data compiled form (compiled.ts), or SieveCompileError with the
// lines Pigeonhole's sieve-test prints ("NAME: line N: error: ...", then "NAME: error: validation failed.").
import type { CompiledIncluded, CompiledScript } from './compiled.js';
import { parseScript, SieveParseError } from './parser.js';
import { validateScript } from './validate.js';

export type { CompiledScript } from './compiled.js';

export interface CompileOptions {
  /** The script's name in messages (a trailing ".sieve" is dropped, as Pigeonhole names scripts). */
  name: string;
  /** RFC 6609: the text of an included script, null when there is none. Without it every include is missing. */
  loadInclude?: (name: string, location: 'personal' | 'global') => Promise<Buffer | null>;
}

/** The script does not compile; `messages` are Pigeonhole's lines, `message` joins them. */
export class SieveCompileError extends Error {
  constructor(readonly messages: string[]) {
    super(messages.join('\n'));
    this.name = 'SieveCompileError';
  }
}

/** RFC 6609 section 3.2: how deep includes may nest (Pigeonhole's sieve_include_max_nesting_depth). */
const MAX_INCLUDE_DEPTH = 10;
/** Pigeonhole's sieve_include_max_includes. */
const MAX_INCLUDES = 255;

const scriptName = (name: string) => name.replace(/\.sieve$/, '');

interface Unit {
  requires: string[];
  commands: CompiledScript['commands'];
  includes: ReturnType<typeof validateScript>['includes'];
  warnings: string[];
}

function compileUnit(text: string, name: string): Unit {
  const n = scriptName(name);
  let parsed: ReturnType<typeof parseScript>;
  try {
    parsed = parseScript(text);
  } catch (e) {
    if (e instanceof SieveParseError) {
      const lines = [e.text, ...e.more].map((t) => `${n}: line ${e.line}: error: ${t}`);
      throw new SieveCompileError([...lines, `${n}: error: parse failed.`]);
    }
    throw e;
  }
  const v = validateScript(parsed);
  const lines = v.diagnostics.map((d) => `${n}: line ${d.line}: ${d.level}: ${d.text}`);
  if (v.diagnostics.some((d) => d.level === 'error')) throw new SieveCompileError([...lines, `${n}: error: validation failed.`]);
  return { requires: v.requires, commands: v.commands, includes: v.includes, warnings: lines };
}

const asText = (source: Buffer | string) => (typeof source === 'string' ? source : source.toString('utf8'));

export async function compileScript(source: Buffer | string, options: CompileOptions): Promise<CompiledScript> {
  const top = compileUnit(asText(source), options.name);
  const included: Record<string, CompiledIncluded | null> = {};
  const warnings = [...top.warnings];
  const n = scriptName(options.name);
  // Depth-first over the include tree; a script met again on its own path is a recursion (RFC 6609 section 3.2),
  // refused as Pigeonhole refuses it: at the script holding the include, then at the top script's include.
  const fail = (lines: string[], kind: 'validation' | 'code generation') =>
    new SieveCompileError([...lines, `${n}: error: ${kind} failed.`]);
  const visit = async (unit: Unit, unitName: string, path: string[], topInclude: { name: string; line: number } | null): Promise<void> => {
    for (const inc of unit.includes) {
      const key = `${inc.location}:${inc.name}`;
      const outer = topInclude ?? { name: inc.name, line: inc.line };
      if (path.includes(key) || path.length > MAX_INCLUDE_DEPTH) {
        const lines = [
          `${unitName}: line ${inc.line}: error: ${path.includes(key) ? 'circular include' : 'cannot nest includes this deep'}.`,
        ];
        if (topInclude)
          lines.push(`${n}: line ${topInclude.line}: error: failed to generate code for included script '${topInclude.name}'.`);
        throw fail(lines, 'code generation');
      }
      if (key in included) continue;
      if (Object.keys(included).length >= MAX_INCLUDES)
        throw fail(
          [`${unitName}: line ${inc.line}: error: failed to include script '${inc.name}': too many includes (max ${MAX_INCLUDES}).`],
          'validation',
        );
      const text = options.loadInclude ? await options.loadInclude(inc.name, inc.location) : null;
      if (text === null) {
        if (inc.optional) {
          included[key] = null;
          continue;
        }
        throw fail([`${unitName}: line ${inc.line}: error: included ${inc.location} script '${inc.name}' does not exist.`], 'validation');
      }
      let sub: Unit;
      try {
        sub = compileUnit(asText(text), inc.name);
      } catch (e) {
        if (!(e instanceof SieveCompileError)) throw e;
        const parse = e.messages[e.messages.length - 1]!.endsWith('parse failed.');
        throw fail(
          [
            ...e.messages.slice(0, -1),
            `${unitName}: line ${inc.line}: error: failed to ${parse ? 'parse' : 'validate'} included script '${inc.name}'.`,
          ],
          'code generation',
        );
      }
      warnings.push(...sub.warnings);
      included[key] = { name: inc.name, requires: sub.requires, commands: sub.commands };
      await visit(sub, scriptName(inc.name), [...path, key], outer);
    }
  };
  await visit(top, n, [`personal:${n}`], null);
  return { name: n, requires: top.requires, commands: top.commands, included, warnings };
}
