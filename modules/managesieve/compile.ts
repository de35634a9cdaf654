// Compiling a script a client sends or activates, as Pigeonhole does in ManageSieve: PUTSCRIPT and CHECKSCRIPT
// compile it as an upload (an included personal script that does not exist yet is a warning, "ignored during
// upload"), SETACTIVE as an activation (then it is an error). The compiler's lines are the answer's text, one per
// line; CHECKSCRIPT's carry no script name, as Pigeonhole's. A large script is compiled on a thread of the
// process's Sieve pool (sieve/run-pool.ts), so a megabyte of rules holds no other session.
import { sievePool } from '../../delivery/sieve-filter.js';
import { scriptInFolder } from '../../delivery/sieve-scripts.js';
import { SieveCompileError } from '../../sieve/compile.js';
import { SieveCompileStopped } from '../../sieve/run-pool.js';
import type { SieveScripts } from '../../store/contract.js';

export type Compiled = { ok: true; warnings: readonly string[] } | { ok: false; messages: readonly string[] };

/** The name CHECKSCRIPT compiles under; its lines are sent without it. */
const UNNAMED = 'checkscript';

export interface CompileContext {
  readonly scripts: SieveScripts;
  /** sieve.global: the folder of `include :global` scripts (null: none). */
  readonly globalDir: string | null;
  /** What a compile on a thread may take (sieve.maxCpuTime, sieve.maxMemory). */
  readonly limits: { readonly maxCpuTime: number; readonly maxMemory: number };
}

/** Pigeonhole's error for an include that is missing, which an upload turns into a warning. */
const MISSING_INCLUDE = /^(.*: line \d+: )error: (included (personal|global) script '(.*)' does not exist)\.$/;

/**
 * Compiles `source` (`name`: null for CHECKSCRIPT); `upload`: an included script that does not exist is a
 * warning, "ignored during upload" (Pigeonhole's SIEVE_COMPILE_FLAG_UPLOADED): the script is compiled again with
 * each such include empty, and the compiler's error on it becomes that warning, line and all.
 */
export async function compileForClient(ctx: CompileContext, source: Buffer, name: string | null, upload: boolean): Promise<Compiled> {
  const ignored = new Set<string>();
  const warnings: string[] = [];
  const loadInclude = async (included: string, location: 'personal' | 'global'): Promise<Buffer | null> => {
    if (ignored.has(`${location}:${included}`)) return Buffer.alloc(0);
    const read = location === 'personal' ? ctx.scripts.get(included) : scriptInFolder(ctx.globalDir, included);
    return read.catch(() => null); // a script that cannot be read is one that is not there, for the compiler
  };
  for (;;) {
    let compiled: { warnings: readonly string[] };
    try {
      compiled = await sievePool().compile(source, { name: name ?? UNNAMED, loadInclude }, ctx.limits);
    } catch (err) {
      // a compile that passed its time or memory on the thread: refused with the reason, as a compile error is
      if (err instanceof SieveCompileStopped) return { ok: false, messages: [`${name ?? 'script'}: error: ${err.message}.`] };
      if (!(err instanceof SieveCompileError)) throw err;
      const missing = upload ? MISSING_INCLUDE.exec(err.messages[0] ?? '') : null;
      if (
        missing &&
        err.messages.length === 2 &&
        (missing[3] === 'personal' || ctx.globalDir !== null) &&
        !ignored.has(`${missing[3]}:${missing[4]}`)
      ) {
        ignored.add(`${missing[3]}:${missing[4]}`);
        warnings.push(`${missing[1]}warning: ${missing[2]} (ignored during upload).`);
        continue;
      }
      return { ok: false, messages: err.messages.map((m) => unnamed(m, name)) };
    }
    return { ok: true, warnings: [...warnings, ...compiled.warnings].map((m) => unnamed(m, name)) };
  }
}

/** A compiler line without the name CHECKSCRIPT compiled under. */
function unnamed(line: string, name: string | null): string {
  return name === null && line.startsWith(`${UNNAMED}: `) ? line.slice(UNNAMED.length + 2) : line;
}

/** The compiler's lines as one answer text: each line ends in CRLF (sent as a literal). */
export function asText(lines: readonly string[]): string {
  return lines.map((l) => `${l}\r\n`).join('');
}
