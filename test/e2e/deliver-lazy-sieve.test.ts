// `postern deliver` loads the Sieve modules only when there is something to run (delivery/sieve-front.ts): an
// MTA starts it for every message, and loading the compiler, the interpreter and the run pool for an account
// without a script cost about 50 ms of each delivery. An account with an active script still has it run.
import { spawn } from 'node:child_process';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, startServer, type TestServer } from '../helpers/server.js';

const TRACE = new URL('../fixtures/module-trace.mjs', import.meta.url).pathname;
let env: TestServer; // config and data dir only; no server running

beforeAll(async () => {
  env = await startServer({ noServe: true });
  await env.addAccount('ann', 'a pass');
  await env.addAccount('bob', 'b pass');
  await writeFile(
    join(env.dir, 'rules.sieve'),
    'require ["fileinto", "mailbox"];\nif header :contains "subject" "report" { fileinto :create "Reports"; }\n',
  );
  const put = await env.cli(['sieve', 'put', 'bob', 'rules', join(env.dir, 'rules.sieve'), '--activate']);
  expect(put.code, put.stderr).toBe(0);
});
afterAll(async () => {
  await env.stop();
});

/** `postern deliver ADDRESS` with a message; the modules it loaded (of Postern's own, as dist/... paths). */
async function deliverTraced(address: string, message: string): Promise<{ code: number | null; stderr: string; modules: string[] }> {
  const trace = join(env.dir, `modules-${address}.txt`);
  await writeFile(trace, '');
  const child = spawn(process.execPath, ['--import', TRACE, BIN, '--config', env.configFile, 'deliver', address], {
    env: { ...process.env, MODULE_TRACE: trace },
    stdio: ['pipe', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  child.stdin.end(message);
  const code = await new Promise<number | null>((r) => child.on('close', r));
  const loaded = (await readFile(trace, 'utf8')).split('\n');
  const modules = loaded.map((url) => /\/(dist\/.*\.js)$/.exec(url)?.[1]).filter((m): m is string => m !== undefined);
  return { code, stderr, modules };
}

describe('postern deliver and the Sieve modules', () => {
  it('an account without a script: delivered without loading the compiler, the interpreter or the run pool', async () => {
    const done = await deliverTraced('ann', 'Subject: a report\n\nhello\n');
    expect(done.code, done.stderr).toBe(0);
    expect(done.modules).toContain('dist/delivery/local-delivery.js'); // the trace sees the delivery's modules
    expect(done.modules.filter((m) => m.startsWith('dist/sieve/') && m !== 'dist/sieve/config.js')).toEqual([]);
    expect(done.modules).not.toContain('dist/delivery/sieve-filter.js');
    expect(await readdir(join(env.dataDir, 'accounts/example.org/ann/Maildir/new'))).toHaveLength(1);
  });

  it('an account with an active script: the script runs', async () => {
    const done = await deliverTraced('bob', 'Subject: the weekly report\n\nfigures\n');
    expect(done.code, done.stderr).toBe(0);
    expect(done.modules).toContain('dist/delivery/sieve-filter.js');
    expect(await readdir(join(env.dataDir, 'accounts/example.org/bob/Maildir/.Reports/new'))).toHaveLength(1);
    expect(await readdir(join(env.dataDir, 'accounts/example.org/bob/Maildir/new'))).toHaveLength(0);
  });
});
