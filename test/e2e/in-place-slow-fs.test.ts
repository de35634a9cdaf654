// A real slow file system: strace, attached to the running server (every thread, -f), makes each statx and
// openat wait 300 ms before it runs, as a network file system's server or a stalled disk would. The file
// calls the store makes in place on the event loop (lib/in-place.ts) must then stop being made in place
// after the first slow one: while one account's APPEND waits for the file system, another account's NOOP
// (which asks the file system nothing) is answered at once, because the event loop is free.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RawImap } from '../helpers/imap-client.js';
import { startServer, type TestServer } from '../helpers/server.js';

const LISTENERS = [{ name: 'imap', module: 'imap', address: '127.0.0.1', port: 0 }];
const PASSWORD = 'Sw0rdfish-Secret42';
const DELAY_MS = 300;

function message(n: number): string {
  return `From: ann@example.org\r\nTo: ann@example.org\r\nSubject: slow ${n}\r\n\r\n${'a line of the body\r\n'.repeat(100)}`;
}

async function append(client: RawImap, n: number): Promise<string> {
  const text = message(n);
  const tag = client.nextTag();
  client.send(`${tag} APPEND INBOX {${Buffer.byteLength(text)}+}\r\n${text}\r\n`);
  return (await client.until(tag, 60_000)).status;
}

/** strace attached to every thread of `pid`, statx and openat delayed; resolves once it is attached. */
function slowFileSystem(pid: number): Promise<ChildProcess> {
  const strace = spawn(
    'strace',
    ['-f', '-o', '/dev/null', '-e', 'trace=statx,openat', '-e', `inject=statx,openat:delay_enter=${DELAY_MS * 1000}`, '-p', String(pid)],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  return new Promise((resolve, reject) => {
    let err = '';
    strace.stderr!.on('data', (d) => {
      err += d;
      if (/attached/.test(err)) setTimeout(() => resolve(strace), 500); // every thread attached by then
    });
    strace.on('exit', (code) => reject(new Error(`strace exited (${code}): ${err}`)));
  });
}

describe('in-place file calls on a slow file system (strace delays statx and openat)', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer({ config: { listeners: LISTENERS } });
    await server.addAccount('ann', PASSWORD);
    await server.addAccount('bob', PASSWORD);
  });
  afterAll(() => server.stop());

  it("another account's NOOP is answered promptly while APPENDs wait for the file system", { timeout: 120_000 }, async () => {
    const ann = await RawImap.signIn(server.portOf('imap'), 'ann', PASSWORD);
    const bob = await RawImap.signIn(server.portOf('imap'), 'bob', PASSWORD);
    expect((await ann.command('SELECT INBOX')).status).toBe('OK');
    expect(await append(ann, 0)).toBe('OK'); // INBOX made, its uidlist read: the usual state of a busy server
    const strace = await slowFileSystem(server.process.pid!);
    const waits: number[] = [];
    try {
      let appending = true;
      const appends = (async () => {
        const answers = [];
        for (let n = 1; n <= 3; n++) answers.push(await append(ann, n));
        return answers;
      })().finally(() => (appending = false));
      while (appending) {
        const t = performance.now();
        expect((await bob.command('NOOP', 60_000)).status).toBe('OK');
        waits.push(performance.now() - t);
        await new Promise((r) => setTimeout(r, 50));
      }
      expect(await appends).toEqual(['OK', 'OK', 'OK']); // nothing lost: each APPEND still stored
    } finally {
      strace.kill('SIGINT'); // detaches: the server runs on at full speed
      await new Promise((r) => strace.once('exit', r));
    }
    waits.sort((a, b) => a - b);
    // At most one call made in place is slow (it turns them off); before, each APPEND made about 30 of them.
    expect(waits.length).toBeGreaterThan(5);
    expect(waits.at(-1)!).toBeLessThan(3 * DELAY_MS);
    expect(waits[Math.floor(waits.length / 2)]).toBeLessThan(DELAY_MS / 3);
    const fetched = await ann.command('FETCH 1:* (FLAGS)');
    expect(fetched.untagged.filter((l) => / FETCH /.test(l))).toHaveLength(4);
    ann.close();
    bob.close();
  });
});

describe('store.inPlaceCalls: never', () => {
  let server: TestServer;
  let dir: string;
  beforeAll(async () => {
    server = await startServer({ config: { listeners: LISTENERS, store: { inPlaceCalls: 'never' } } });
    await server.addAccount('ann', PASSWORD);
    dir = await mkdtemp(join(tmpdir(), 'postern-strace-'));
  });
  afterAll(async () => {
    await server.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it("an APPEND makes no file look-up or open on the event loop's thread", { timeout: 60_000 }, async () => {
    const ann = await RawImap.signIn(server.portOf('imap'), 'ann', PASSWORD);
    expect((await ann.command('SELECT INBOX')).status).toBe('OK');
    expect(await append(ann, 0)).toBe('OK'); // the code of the path loaded, INBOX made
    const out = join(dir, 'main-thread');
    // without -f: the event loop's thread alone (its id is the process id)
    const strace = spawn('strace', ['-o', out, '-e', 'trace=statx,lstat,newfstatat,openat,open', '-p', String(server.process.pid)], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    await new Promise<void>((resolve) => strace.stderr!.on('data', (d) => /attached/.test(String(d)) && resolve()));
    for (let n = 1; n <= 3; n++) expect(await append(ann, n)).toBe('OK');
    strace.kill('SIGINT');
    await new Promise((r) => strace.once('exit', r));
    const calls = (await readFile(out, 'utf8')).split('\n').filter((l) => /^(statx|lstat|newfstatat|openat|open)\(/.test(l));
    expect(calls).toEqual([]);
    ann.close();
  });
});
