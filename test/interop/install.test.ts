// Installing for production, as Node services are installed: the tarball `npm pack` makes, installed with
// `npm install -g` (no dev dependencies), runs the server and the command line; and `npm ci --omit=dev`
// works on a built checkout. Found by a new operator: `npm ci --omit=dev` failed with "tsc: not found".
import { execFile, spawn } from 'node:child_process';
import { cp, mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { poplib } from '../helpers/clients.js';
import { freePort } from '../helpers/ports.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const { version } = (await import('../../package.json', { with: { type: 'json' } })).default as { version: string };

function sh(
  cmd: string,
  args: string[],
  options: { cwd?: string; input?: string; env?: NodeJS.ProcessEnv } = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = execFile(
      cmd,
      args,
      { cwd: options.cwd, env: options.env ?? process.env, timeout: 540_000, maxBuffer: 16 * 1024 * 1024 },
      (err, stdout, stderr) => {
        const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
    child.stdin?.on('error', () => {});
    child.stdin?.end(options.input ?? '');
  });
}

// npm from the local cache first (CI's `npm ci` filled it); the registry only for what is missing.
const NPM_FLAGS = ['--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error'];
// An install builds better-sqlite3's native module from source where its prebuilt binary cannot be
// downloaded (this machine reaches the npm registry only): about a minute of compiling on two cores.
const INSTALL_TIMEOUT_MS = 600_000;

describe('a production install', () => {
  it(
    'npm pack, then npm install -g of the tarball: postern runs, without dev dependencies',
    async () => {
      const work = await mkdtemp(join(tmpdir(), 'postern-install-'));
      try {
        // dist/ was built by `npm test`'s pretest; --ignore-scripts keeps pack from rebuilding it under the
        // feet of the other test files running now
        const pack = await sh('npm', ['pack', '--ignore-scripts', '--pack-destination', work, ...NPM_FLAGS], { cwd: ROOT });
        expect(pack.code, pack.stderr).toBe(0);
        const tarball = join(work, `postern-${version}.tgz`);
        const listing = (await sh('tar', ['tzf', tarball])).stdout.split('\n');
        for (const f of [
          'package/bin/postern.js',
          'package/dist/cli/main.js',
          'package/systemd/postern.service',
          'package/systemd/postern.yaml',
          'package/postern.example.yaml',
          'package/README.md',
        ]) {
          expect(listing, f).toContain(f);
        }
        expect(listing.filter((f) => /^package\/(test|bench|\.ci)\//.test(f) || f.endsWith('.ts'))).toEqual([]);

        const prefix = join(work, 'prefix');
        const install = await sh('npm', ['install', '-g', '--prefix', prefix, tarball, ...NPM_FLAGS]);
        expect(install.code, install.stderr).toBe(0);
        const installed = join(prefix, 'lib/node_modules/postern/node_modules');
        const modules = await readdir(installed);
        for (const dev of ['typescript', 'vitest', 'fast-check', 'imapflow']) expect(modules).not.toContain(dev);
        // the README's way to read the journal: the pino-pretty that comes with Postern
        expect((await sh(join(installed, '.bin/pino-pretty'), ['--help'])).code).toBe(0);
        const postern = join(prefix, 'bin/postern');
        expect((await sh(postern, ['--version'])).stdout.trim()).toBe(version);

        // run it as the README says: one config for server and command line
        const port = await freePort();
        const config = join(work, 'postern.yaml');
        await writeFile(
          config,
          stringify({ dataDir: join(work, 'data'), mainDomain: 'example.org', listeners: [{ name: 'pop3', address: '127.0.0.1', port }] }),
        );
        expect((await sh(postern, ['--config', config, 'account', 'add', 'alice', '--password-stdin'], { input: 'a secret' })).code).toBe(
          0,
        );
        expect(
          (await sh(postern, ['--config', config, 'deliver', 'alice'], { input: 'Subject: installed\n\nfrom the tarball\n' })).code,
        ).toBe(0);
        const server = spawn(postern, ['--config', config, 'serve'], { stdio: ['ignore', 'pipe', 'pipe'] });
        try {
          let out = '';
          server.stdout.on('data', (d) => (out += d));
          const deadline = Date.now() + 20_000;
          while (!out.includes('Postern started') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
          expect(out).toContain('Postern started');
          const got = await poplib<string[]>(
            port,
            `c = poplib.POP3("127.0.0.1", port)\nc.user("alice")\nc.pass_("a secret")\nlines = [l.decode() for l in c.retr(1)[1]]\n` +
              `c.quit()\nprint(json.dumps(lines))`,
          );
          expect(got).toContain('from the tarball');
          server.kill('SIGTERM');
          expect(await new Promise((r) => server.on('exit', r))).toBe(0);
        } finally {
          server.kill('SIGKILL');
        }
      } finally {
        await rm(work, { recursive: true, force: true });
      }
    },
    INSTALL_TIMEOUT_MS,
  );

  it(
    'npm ci --omit=dev on a built checkout installs without TypeScript and runs',
    async () => {
      const work = await mkdtemp(join(tmpdir(), 'postern-omit-dev-'));
      try {
        for (const f of ['package.json', 'package-lock.json', 'tsconfig.json', 'bin', 'scripts', 'dist'])
          await cp(join(ROOT, f), join(work, f), { recursive: true });
        const ci = await sh('npm', ['ci', '--omit=dev', ...NPM_FLAGS], { cwd: work });
        expect(ci.code, ci.stderr).toBe(0);
        expect(await readdir(join(work, 'node_modules'))).not.toContain('typescript');
        expect((await sh(process.execPath, [join(work, 'bin/postern.js'), '--version'])).stdout.trim()).toBe(version);

        // without a built dist/ there is nothing to run: say how to get one
        await rm(join(work, 'dist'), { recursive: true });
        const unbuilt = await sh('npm', ['ci', '--omit=dev', ...NPM_FLAGS], { cwd: work });
        expect(unbuilt.code).not.toBe(0);
        expect(unbuilt.stderr + unbuilt.stdout).toContain('dist/ is missing and TypeScript is not installed');
      } finally {
        await rm(work, { recursive: true, force: true });
      }
    },
    INSTALL_TIMEOUT_MS,
  );

  it('npm start on a checkout built already leaves dist/ alone (a postern deliver meanwhile reads whole modules)', async () => {
    // pretest built dist/ from these sources: nothing is newer, so the build step must not rewrite it
    const before = (await stat(join(ROOT, 'dist/cli/main.js'))).mtimeMs;
    const build = await sh(process.execPath, [join(ROOT, 'scripts/build.js')], { cwd: ROOT });
    expect(build.code, build.stderr).toBe(0);
    expect((await stat(join(ROOT, 'dist/cli/main.js'))).mtimeMs).toBe(before);
  });
});
