// Modules from outside the tree (config `modules:`): a file, or an installed package, whose default
// export is a module of the same Module API as the built-in ones (server/module-api.ts). Since such a
// module may bring its own config section, a config is read in two steps: its `modules:` key first,
// then, once those modules are loaded, the whole config validated with every module's section.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { BASE_KEYS, ConfigError, type LoadedConfig, moduleRefs, type ModuleRef, readConfig, validateConfig } from './config.js';
import type { ModuleEntry, PosternModule } from './module.js';

/**
 * Reads the config with every module it may use: the built-in ones (the module table) and the ones its
 * `modules:` key names, loaded here. Throws ConfigError naming the key and the fix.
 */
export async function loadConfigAndModules(
  file: string | undefined,
  builtIn: readonly ModuleEntry[],
): Promise<{ config: LoadedConfig; modules: readonly ModuleEntry[] }> {
  const { raw, path } = await readConfig(file);
  const base = path ? dirname(path) : process.cwd();
  const outside: ModuleEntry[] = [];
  for (const [i, ref] of moduleRefs(raw, path).entries())
    outside.push(await loadOutsideModule(ref, i, base, { builtIn, outside }, path ?? 'config'));
  const modules = [...builtIn, ...outside];
  return { config: validateConfig(raw, path, modules), modules };
}

async function loadOutsideModule(
  ref: ModuleRef,
  index: number,
  base: string,
  loaded: { builtIn: readonly ModuleEntry[]; outside: readonly ModuleEntry[] },
  where: string,
): Promise<ModuleEntry> {
  const key = ref.path !== undefined ? `modules[${index}].path` : `modules[${index}].package`;
  const fail = (why: string) => new ConfigError(`${where}: ${key}: ${why}`);
  let file: string;
  if (ref.path !== undefined) {
    file = ref.path; // made absolute from the config file's folder by moduleRefs
    if (!existsSync(file))
      throw fail(`no file ${file}; give the path of the module's JavaScript file (an ES module), relative to the config file's folder`);
  } else {
    const found = resolvePackage(ref.package!, base);
    if (found === null)
      throw fail(
        `no package "${ref.package}" is installed in ${base} or beside Postern; install it (npm install ${ref.package}) or give the ` +
          `module's file as path`,
      );
    file = found;
  }

  let exported: unknown;
  try {
    exported = ((await import(pathToFileURL(file).href)) as { default?: unknown }).default;
  } catch (err) {
    throw fail(`cannot load ${file}: ${(err as Error).message.split('\n')[0]}`);
  }
  const lacks = notAModule(exported);
  if (lacks !== null) {
    throw fail(
      `${file} is not a Postern module: its default export must be an object with name, start, reconfigure, accept and stop (the Module ` +
        `API, docs/architecture.md); ${lacks}`,
    );
  }
  const module = exported as PosternModule;
  const known = [...loaded.builtIn, ...loaded.outside];
  if (known.some((m) => m.name === module.name)) {
    const whose = loaded.builtIn.some((m) => m.name === module.name) ? 'the name of a built-in module' : 'like another module of modules:';
    throw fail(
      `the module in ${file} is named "${module.name}", ${whose}; give it a name of its own ` +
        `(taken: ${known.map((m) => m.name).join(', ')})`,
    );
  }
  const section = module.configSection?.key;
  if (section !== undefined && (BASE_KEYS.includes(section) || known.some((m) => m.configSection?.key === section))) {
    throw fail(
      `the module "${module.name}" in ${file} has the config section "${section}", a key that is taken already; give its section a key ` +
        `of its own`,
    );
  }
  return { name: module.name, configSection: module.configSection, load: async () => module };
}

/** A package's main file, found from the config file's folder, then from Postern's own; null when neither has it. */
function resolvePackage(name: string, base: string): string | null {
  for (const from of [join(base, 'postern.yaml'), fileURLToPath(import.meta.url)]) {
    try {
      return createRequire(from).resolve(name);
    } catch {
      // not installed there
    }
  }
  return null;
}

/** What a default export lacks to be a module, or null when it is one. */
function notAModule(value: unknown): string | null {
  if (value === null || typeof value !== 'object')
    return value === undefined ? 'it has no default export' : `its default export is a ${value === null ? 'null' : typeof value}`;
  const m = value as Record<string, unknown>;
  if (typeof m.name !== 'string' || m.name === '') return 'it has no name';
  const missing = ['start', 'reconfigure', 'accept', 'stop'].filter((f) => typeof m[f] !== 'function');
  if (missing.length > 0) return `it has no ${missing.join(', ')}`;
  const section = m.configSection as { key?: unknown; schema?: { safeParse?: unknown } } | undefined;
  if (section !== undefined && (typeof section.key !== 'string' || typeof section.schema?.safeParse !== 'function')) {
    return 'its configSection must be { key, schema } with a zod schema';
  }
  return null;
}
