// Modules from outside the tree (config `modules:`): a module file the operator names is loaded through
// the same Module API as the built-in ones, with its own config section; it serves its listener, is
// reconfigured by a reload, and stops with the server. A bad `modules:` entry stops the server with a
// message that names the key and the fix.
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { RawPop } from '../helpers/pop-client.js';
import { BIN, runCli, startServer } from '../helpers/server.js';

const ECHO = fileURLToPath(new URL('../fixtures/echo-module.js', import.meta.url));

describe('a module from outside the tree', () => {
  it(
    'loads from modules: [{path}], serves its listener with its own config section, follows a reload, ' + 'and stops with the server',
    async () => {
      const listeners = [
        { name: 'pop3', module: 'pop', address: '127.0.0.1', port: 0 },
        { name: 'echo', module: 'echo', address: '127.0.0.1', port: 0 },
      ];
      const server = await startServer({ config: { modules: [{ path: ECHO }], listeners, echo: { greeting: 'hello from echo' } } });
      expect(server.logs.some((r) => r.msg === 'echo module started')).toBe(true);

      const client = await RawPop.connect(server.portOf('echo'));
      expect(await client.line()).toBe('hello from echo');
      expect(await client.command('one line')).toBe('one line');
      expect(await client.command('QUIT')).toBe('bye');
      await client.closed();
      // the built-in modules still serve beside it
      const pop = await RawPop.connect(server.port);
      expect(await pop.line()).toMatch(/^\+OK /);
      pop.send('QUIT\r\n');

      // SIGHUP: the echo section is read again and given to the module
      const yaml = await readFile(server.configFile, 'utf8');
      await writeFile(server.configFile, yaml.replace('hello from echo', 'hello again'));
      server.process.kill('SIGHUP');
      await server.waitForLog((r) => r.msg === 'reloaded the config and certificates');
      const open = await RawPop.connect(server.portOf('echo'));
      expect(await open.line()).toBe('hello again');

      // SIGTERM stops the module with the server: its open session is told, its stop is logged
      expect(await server.stop()).toBe(0);
      expect(await open.line()).toBe('echo stopping');
      await open.closed();
      expect(server.logs.find((r) => r.msg === 'echo module stopped')).toMatchObject({ sessions: 1 });
      expect(server.logs.at(-1)?.msg).toBe('stopped');
    },
  );

  it("loads an installed package from modules: [{package}], found from the config file's folder", async () => {
    const dir = await mkdtemp(join(tmpdir(), 'postern-module-'));
    try {
      const pkg = join(dir, 'node_modules/postern-hello');
      await mkdir(pkg, { recursive: true });
      await writeFile(join(pkg, 'package.json'), JSON.stringify({ name: 'postern-hello', type: 'module', main: 'index.js' }));
      await writeFile(
        join(pkg, 'index.js'),
        "export default { name: 'hello', start() {}, reconfigure() {}, accept(conn) { conn.socket.end('hello from a package\\r\\n'); }, " +
          'async stop() {} };\n',
      );
      const config = join(dir, 'postern.yaml');
      await writeFile(
        config,
        stringify({
          dataDir: './data',
          modules: [{ package: 'postern-hello' }],
          listeners: [{ name: 'hello', module: 'hello', address: '127.0.0.1', port: 0 }],
        }),
      );
      const child = spawn(process.execPath, [BIN, '--config', config, 'serve'], { stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      const port = await new Promise<number>((resolve, reject) => {
        child.stdout.on('data', (d) => {
          out += d;
          const listening = out.split('\n').flatMap((l) => (l.includes('"listening"') ? [JSON.parse(l) as { port: number }] : []));
          if (listening.length > 0) resolve(listening[0].port);
        });
        child.on('exit', (code) => reject(new Error(`serve exited with ${code}: ${out}`)));
      });
      const client = await RawPop.connect(port);
      expect(await client.line()).toBe('hello from a package');
      const exited = new Promise((r) => child.on('exit', r));
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('a bad modules: entry', () => {
  async function serveWith(config: Record<string, unknown>, files: Record<string, string> = {}) {
    const dir = await mkdtemp(join(tmpdir(), 'postern-module-'));
    try {
      for (const [name, text] of Object.entries(files)) await writeFile(join(dir, name), text);
      await writeFile(
        join(dir, 'postern.yaml'),
        stringify({ dataDir: './data', listeners: [{ name: 'pop3', module: 'pop', address: '127.0.0.1', port: 0 }], ...config }),
      );
      return { dir, ...(await runCli(['--config', join(dir, 'postern.yaml'), 'serve'])) };
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }

  it('a missing file stops the server (exit 78) with a message naming modules[i].path, where it looked, and the fix', async () => {
    const r = await serveWith({ modules: [{ path: './no-such-module.js' }] });
    expect(r.code).toBe(78);
    expect(r.stderr).toBe(
      `postern: config error: ${join(r.dir, 'postern.yaml')}: modules[0].path: no file ${join(r.dir, 'no-such-module.js')}; give the ` +
        `path of the module's JavaScript file (an ES module), relative to the config file's folder\n`,
    );
  });

  it('a package that is not installed, a file that is not a module, a built-in name: each named with its fix', async () => {
    const pkg = await serveWith({ modules: [{ package: 'postern-no-such-package' }] });
    expect(pkg.code).toBe(78);
    expect(pkg.stderr).toContain('modules[0].package: no package "postern-no-such-package" is installed in');

    const notModule = await serveWith({ modules: [{ path: './plain.js' }] }, { 'plain.js': 'export const x = 1;\n' });
    expect(notModule.code).toBe(78);
    expect(notModule.stderr).toContain(
      `modules[0].path: ${join(notModule.dir, 'plain.js')} is not a Postern module: its default export must be an object with name, ` +
        `start, reconfigure, accept and stop`,
    );

    const clash = await serveWith(
      { modules: [{ path: './pop.js' }] },
      { 'pop.js': "export default { name: 'pop', start() {}, reconfigure() {}, accept() {}, async stop() {} };\n" },
    );
    expect(clash.code).toBe(78);
    expect(clash.stderr).toContain('is named "pop", the name of a built-in module; give it a name of its own');

    const both = await serveWith({ modules: [{ path: './a.js', package: 'a' }] });
    expect(both.code).toBe(78);
    expect(both.stderr).toContain('modules[0]: give either path');
  });
});
