#!/usr/bin/env node
// Builds dist/ from the TypeScript sources when TypeScript is installed (a checkout with its dev
// dependencies: npm install, npm start). Without it (npm ci --omit=dev on a built checkout, or an
// installed package) the dist/ already there is used; if there is none, say how to get one.
import { existsSync } from 'node:fs';
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
if (tsc && existsSync(new URL('../tsconfig.json', import.meta.url))) {
  const r = spawnSync(process.execPath, [tsc, '-p', 'tsconfig.json'], { cwd: root, stdio: 'inherit' });
  process.exit(r.status ?? 1);
}
if (existsSync(new URL('../dist/cli/main.js', import.meta.url))) process.exit(0);
process.stderr.write(
  'postern: dist/ is missing and TypeScript is not installed, so it cannot be built here.\n' +
    'Run `npm ci` (with the dev dependencies) once to build it, or install the package made by `npm pack`.\n',
);
process.exit(1);
