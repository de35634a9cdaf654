// The tree is formatted and linted (biome.jsonc) and no source line is wider than the formatter's width
// (scripts/line-width.js), as `npm run lint` checks: run here so that `npm test` fails on a finding. The
// second test shows that the check can fail: an unformatted file, a lint finding, an over-wide comment.
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const BIOME = join(ROOT, 'node_modules/@biomejs/biome/bin/biome');
const LINE_WIDTH = join(ROOT, 'scripts/line-width.js');

function run(cwd: string, command: string, args: string[]): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile(command, args, { cwd, timeout: 120_000, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      resolve({ code: err ? Number((err as { code?: unknown }).code ?? 1) : 0, out: stdout + stderr });
    });
  });
}

const lint = (dir: string) => run(dir, process.execPath, [BIOME, 'ci', '--error-on-warnings', '--colors=off', '.']);

describe('format and lint', () => {
  it('the whole tree passes biome ci and the line width check', async () => {
    const biome = await lint(ROOT);
    expect(biome.out).toMatch(/Checked \d+ files/);
    expect(biome.code).toBe(0);
    const width = await run(ROOT, process.execPath, [LINE_WIDTH]);
    expect(width.out).toBe('');
    expect(width.code).toBe(0);
  });

  it('fails on an unformatted file, a floating promise and a line over the width', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'postern-lint-'));
    try {
      await run(dir, 'git', ['init', '-q', '.']);
      await writeFile(join(dir, 'biome.jsonc'), await readFile(join(ROOT, 'biome.jsonc'), 'utf8'));
      await writeFile(join(dir, 'ugly.ts'), 'export const a = {b:1,\n   c:2}\n');
      await writeFile(join(dir, 'unsafe.ts'), 'export async function f(): Promise<void> {}\nexport function g(): void {\n  f();\n}\n');
      await writeFile(join(dir, 'wide.ts'), `// ${'a comment far too long '.repeat(8)}\nexport const x = 1;\n`);
      const biome = await lint(dir);
      expect(biome.code).not.toBe(0);
      expect(biome.out).toMatch(/ugly\.ts format/);
      expect(biome.out).toMatch(/unsafe\.ts:3:3 lint\/nursery\/noFloatingPromises/);
      const width = await run(dir, process.execPath, [LINE_WIDTH, dir]);
      expect(width.code).toBe(1);
      expect(width.out).toMatch(/^wide\.ts:1: 187 characters \(the limit is 140\)$/m);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
