// Imports point down (docs/architecture.md, "Floors"): the floors are checked by dependency-cruiser with
// the rules in .dependency-cruiser.cjs. This fails on a circle of imports or an import up a floor.
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cp, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
/** Every folder of the server's sources: the ones tsconfig.json compiles. */
const FOLDERS: string[] = JSON.parse(readFileSync(join(ROOT, 'tsconfig.json'), 'utf8')).include;

function depcruise(cwd: string): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [
        join(ROOT, 'node_modules/dependency-cruiser/bin/dependency-cruise.mjs'),
        '--config',
        '.dependency-cruiser.cjs',
        '--output-type',
        'err',
        ...FOLDERS,
      ],
      { cwd, timeout: 120_000 },
      (err, stdout, stderr) => {
        resolve({ code: err ? Number((err as { code?: unknown }).code ?? 1) : 0, out: stdout + stderr });
      },
    );
  });
}

describe('the floors of the house', () => {
  it('no circle of imports, no import up a floor', async () => {
    const r = await depcruise(ROOT);
    expect(r.out).toContain('no dependency violations found');
    expect(r.code).toBe(0);
  });

  it('the check fails on an upward import and on a circle (it is not a check that cannot fail)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'postern-floors-'));
    try {
      for (const f of [...FOLDERS, '.dependency-cruiser.cjs', 'tsconfig.json', 'package.json'])
        await cp(join(ROOT, f), join(dir, f), { recursive: true });
      await writeFile(join(dir, 'lib/upward.ts'), "import { EXIT } from '../cli/exit.js';\nexport const r = EXIT;\n");
      await writeFile(
        join(dir, 'store/up-one.ts'),
        "import { LocalDelivery } from '../delivery/local-delivery.js';\nexport const r = LocalDelivery;\n",
      );
      await writeFile(
        join(dir, 'modules/pop/sideways.ts'),
        "import { ImapModule } from '../imap/imap-module.js';\nexport const r = ImapModule;\n",
      );
      await writeFile(
        join(dir, 'modules/imap/below.ts'),
        "import { MaildirStore } from '../../store/maildir/store.js';\nexport const r = MaildirStore;\n",
      );
      await writeFile(join(dir, 'submission/a.ts'), "import { b } from './b.js';\nexport const a = () => b;\n");
      await writeFile(join(dir, 'submission/b.ts'), "import { a } from './a.js';\nexport const b = () => a;\n");
      const r = await depcruise(dir);
      expect(r.code).not.toBe(0);
      expect(r.out).toMatch(/lib-looks-down-only: lib\/upward\.ts → cli\/exit\.ts/);
      expect(r.out).toMatch(/store-looks-down-only: store\/up-one\.ts → delivery\/local-delivery\.ts/);
      expect(r.out).toMatch(/modules-not-sideways: modules\/pop\/sideways\.ts → modules\/imap\/imap-module\.ts/);
      expect(r.out).toMatch(/contract-not-implementation: modules\/imap\/below\.ts → store\/maildir\/store\.ts/);
      expect(r.out).toMatch(/no-circular: submission\/a\.ts/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
