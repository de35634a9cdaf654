// The scripts a delivery runs, compiled: the site's `sieve.before` and `sieve.after` scripts (files, or
// folders whose .sieve files run in the order of their names, as Pigeonhole's sieve_before/sieve_after),
// read and compiled when the server starts and at each reload; and each user's active script, compiled the
// first time its content is seen and kept in memory by the content's hash (never a .svbin on disk).
// Includes (RFC 6609) are read through `loadInclude`: :personal from the user's scripts, :global from the
// `sieve.global` folder; a compiled script is used again only while what it included is unchanged.
import { createHash } from 'node:crypto';
import { readdir, readFile, stat } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { type CompiledScript, compileScript, SieveCompileError } from '../sieve/compile.js';

/** One script of a delivery's sequence: compiled, or why it cannot run. */
export interface ReadyScript {
  /** What the log names: the site script's path, or the user's script name. */
  readonly name: string;
  readonly compiled: CompiledScript | null;
  /** The compiler's messages (Pigeonhole's lines) when it does not compile. */
  readonly error: string | null;
}

type Location = 'personal' | 'global';
type LoadInclude = (name: string, location: Location) => Promise<Buffer | null>;

/** Pigeonhole's sieve_include_max_includes: a script that includes itself without end stops here. */
const MAX_INCLUDES = 255;
/** Compiled scripts kept in memory (the oldest used is dropped first). */
const CACHE_ENTRIES = 2000;

const hash = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');

/** A script name include may read: no path, no hidden file (RFC 6609 section 3.2 leaves it to the site). */
export function safeScriptName(name: string): boolean {
  return name.length > 0 && name.length <= 255 && !/[/\\\0]/.test(name) && !name.startsWith('.');
}

/** The script of `name` in `folder` (NAME.sieve), or null when there is none. */
export async function scriptInFolder(folder: string | null, name: string): Promise<Buffer | null> {
  if (folder === null || !safeScriptName(name)) return null;
  return readFile(join(folder, `${name}.sieve`)).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT' || err.code === 'ENOTDIR') return null;
    throw err;
  });
}

interface Cached {
  readonly compiled: CompiledScript | null;
  readonly error: string | null;
  /** What the compile included, and the hash of what it read (null: not there). */
  readonly includes: readonly { name: string; location: Location; hash: string | null }[];
}

/** Compiles scripts once per content (and per what they include), keeping the results in memory. */
export class ScriptCompiler {
  private readonly cache = new Map<string, Cached>();

  /** Compiled `source` (named `name` in the compiler's messages), or the compiler's error. */
  async compile(key: string, name: string, source: Buffer, loadInclude: LoadInclude): Promise<ReadyScript> {
    const id = `${key}\0${hash(source)}`;
    const known = this.cache.get(id);
    if (known && (await this.unchanged(known, loadInclude))) {
      this.cache.delete(id); // the most recently used goes last
      this.cache.set(id, known);
      return { name, compiled: known.compiled, error: known.error };
    }
    const includes: { name: string; location: Location; hash: string | null }[] = [];
    const recording: LoadInclude = async (included, location) => {
      if (includes.length >= MAX_INCLUDES) throw new Error(`more than ${MAX_INCLUDES} includes (a script that includes itself?)`);
      const content = await loadInclude(included, location);
      includes.push({ name: included, location, hash: content === null ? null : hash(content) });
      return content;
    };
    let entry: Cached;
    try {
      entry = { compiled: await compileScript(source, { name, loadInclude: recording }), error: null, includes };
    } catch (err) {
      const error = err instanceof SieveCompileError ? err.messages.join('\n') : `${name}: ${(err as Error).message}`;
      entry = { compiled: null, error, includes };
    }
    this.cache.set(id, entry);
    if (this.cache.size > CACHE_ENTRIES) this.cache.delete(this.cache.keys().next().value!);
    return { name, compiled: entry.compiled, error: entry.error };
  }

  private async unchanged(entry: Cached, loadInclude: LoadInclude): Promise<boolean> {
    for (const inc of entry.includes) {
      const now = await loadInclude(inc.name, inc.location).catch(() => undefined);
      if (now === undefined || (now === null ? null : hash(now)) !== inc.hash) return false;
    }
    return true;
  }
}

/** The .sieve files a `sieve.before`/`sieve.after` entry names: the file, or the folder's files by name. */
async function scriptFiles(path: string): Promise<string[]> {
  const info = await stat(path);
  if (!info.isDirectory()) return [path];
  const names = (await readdir(path)).filter((n) => n.endsWith('.sieve') && !n.startsWith('.')).sort();
  return names.map((n) => join(path, n));
}

/** The site's scripts, read and compiled once (at start and at each reload). */
export class SiteScripts {
  private constructor(
    readonly before: readonly ReadyScript[],
    readonly after: readonly ReadyScript[],
    /** What could not be read or compiled, for the log at start and reload. */
    readonly problems: readonly string[],
  ) {}

  static readonly none = new SiteScripts([], [], []);

  /**
   * Reads and compiles `before` and `after` (paths relative to `baseDir`). A path that cannot be read is a
   * problem for the log and runs nothing; a script that does not compile stays in the sequence and stops it
   * there at every delivery (Pigeonhole aborts the sequence at a script that fails to compile).
   */
  static async load(
    settings: { before: readonly string[]; after: readonly string[]; global: string | null },
    baseDir: string,
    compiler: ScriptCompiler,
  ): Promise<SiteScripts> {
    const problems: string[] = [];
    const global = settings.global === null ? null : resolve(baseDir, settings.global);
    const read = async (paths: readonly string[], label: string): Promise<ReadyScript[]> => {
      const out: ReadyScript[] = [];
      for (const p of paths) {
        const path = resolve(baseDir, p);
        let files: string[];
        try {
          files = await scriptFiles(path);
        } catch (err) {
          problems.push(`sieve.${label}: cannot read ${path} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
          continue;
        }
        for (const file of files) {
          let source: Buffer;
          try {
            source = await readFile(file);
          } catch (err) {
            problems.push(`sieve.${label}: cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
            continue;
          }
          // a site script's :personal includes come from its own folder, :global ones from sieve.global
          const loadInclude: LoadInclude = (name, location) => scriptInFolder(location === 'global' ? global : dirname(file), name);
          const ready = await compiler.compile(`site:${file}`, basename(file, '.sieve'), source, loadInclude);
          if (ready.error) problems.push(`sieve.${label}: ${file} does not compile: ${ready.error}`);
          out.push({ ...ready, name: file });
        }
      }
      return out;
    };
    const before = await read(settings.before, 'before');
    const after = await read(settings.after, 'after');
    return new SiteScripts(before, after, problems);
  }
}
