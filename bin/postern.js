#!/usr/bin/env node
// The `postern` command. The TypeScript sources are compiled into dist/ by `npm install` (the prepare script).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const main = new URL('../dist/cli/main.js', import.meta.url);
if (!existsSync(fileURLToPath(main))) {
  process.stderr.write('postern: dist/ is missing; run `npm install` (or `npm run build`) in the Postern checkout first.\n');
  process.exit(70);
}
await import(main.href);
