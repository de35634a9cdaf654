#!/usr/bin/env node
// Builds dist/ from the TypeScript sources when TypeScript is installed (a checkout with its dev
// dependencies: npm install, npm start). Without it (npm ci --omit=dev on a built checkout, or an
// installed package) the dist/ already there is used; if there is none, say how to get one. A dist/
// newer than every source is left as it is: tsc rewrites every file, and a process starting meanwhile
// (a second `npm start`, a `postern deliver`) would read half-written modules.
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const require = createRequire(import.meta.url);
let tsc = null;
try {
  tsc = require.resolve('typescript/bin/tsc');
} catch {
  // not installed: a production install
}
/** The sources below `dir` (relative to the root): every .ts file but declarations. */
function sources(dir, out = []) {
  for (const entry of readdirSync(join(root, dir), { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) sources(path, out);
    else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts')) out.push(path);
  }
  return out;
}

/** True when every source's compiled file exists and is newer than it, and than the build settings. */
function upToDate() {
  const config = JSON.parse(readFileSync(join(root, 'tsconfig.json'), 'utf8'));
  const settings = Math.max(statSync(join(root, 'tsconfig.json')).mtimeMs, statSync(join(root, 'package.json')).mtimeMs);
  for (const dir of config.include ?? []) {
    if (!existsSync(join(root, dir))) continue;
    for (const source of sources(dir)) {
      const built = join(root, 'dist', source.replace(/\.ts$/, '.js'));
      if (!existsSync(built)) return false;
      const at = statSync(built).mtimeMs;
      if (at <= statSync(join(root, source)).mtimeMs || at <= settings) return false;
    }
  }
  return existsSync(join(root, 'dist/cli/main.js'));
}

if (tsc && existsSync(new URL('../tsconfig.json', import.meta.url))) {
  if (upToDate()) process.exit(0);
  const r = spawnSync(process.execPath, [tsc, '-p', 'tsconfig.json'], { cwd: root, stdio: 'inherit' });
  process.exit(r.status ?? 1);
}
if (existsSync(new URL('../dist/cli/main.js', import.meta.url))) process.exit(0);
process.stderr.write(
  'postern: dist/ is missing and TypeScript is not installed, so it cannot be built here.\n' +
    'Run `npm ci` (with the dev dependencies) once to build it, or install the package made by `npm pack`.\n',
);
process.exit(1);
