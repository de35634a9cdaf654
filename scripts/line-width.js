#!/usr/bin/env node
// No source line over the width the formatter keeps (biome.jsonc: lineWidth). The formatter wraps code,
// but not comments or long string literals: this finds those. Exits 1 naming each line, 0 when none.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = process.argv[2] ?? fileURLToPath(new URL('..', import.meta.url));
const config = readFileSync(join(root, 'biome.jsonc'), 'utf8');
const width = Number(/"lineWidth":\s*(\d+)/.exec(config)?.[1] ?? 140);
const files = execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard', '*.ts', '*.js', '*.mjs', '*.cjs'], {
  cwd: root,
  encoding: 'utf8',
})
  .split('\n')
  .filter((f) => f !== '' && !f.startsWith('test/imap-corpus/'));
let over = 0;
for (const file of files) {
  let text;
  try {
    text = readFileSync(join(root, file), 'utf8');
  } catch {
    continue; // listed by git, removed in the working tree
  }
  text.split('\n').forEach((line, i) => {
    if (line.length > width) {
      over += 1;
      process.stdout.write(`${file}:${i + 1}: ${line.length} characters (the limit is ${width})\n`);
    }
  });
}
if (over > 0) {
  process.stdout.write(`${over} line(s) over ${width} characters: wrap the comment or split the string\n`);
  process.exit(1);
}
