// serve with several workers (`workers: 2`): real processes sharing the listening sockets. Connections
// are spread over both; the channel limits and the sign-in throttle hold for the server, not per
// worker; a worker killed with SIGKILL is replaced, applies nothing of its sessions' marks, and the
// other worker's sessions go on; SIGHUP reaches every worker; SIGTERM stops them all.
import { createServer } from 'node:net';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RawPop } from '../helpers/pop-client.js';
import { freePort } from '../helpers/ports.js';
import { type LogRecord, runCli, startServer, type TestServer } from '../helpers/server.js';

let server: TestServer;
let metricsPort: number;

/** postern_connections_total of the pop3 listener, as /metrics (served by the primary) says. */
async function scrape(): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
  return Number(/^postern_connections_total\{listener="pop3"\} (\d+)$/m.exec(text)?.[1] ?? 0);
}

const pidsOf = (msg: string) => new Set(server.logs.filter((r) => r.msg === msg && r.worker !== undefined).map((r) => Number(r.pid)));

async function signedIn(): Promise<RawPop> {
  return RawPop.signIn(server.port, 'alice', 'a secret');
}

/** The pid of the worker that logged this session's greeting (the APOP timestamp starts with it). */
async function connectAndPid(): Promise<{ c: RawPop; pid: number }> {
  const c = await RawPop.connect(server.port);
  const greeting = await c.line();
  return { c, pid: Number(/<(\d+)\./.exec(greeting)![1]) };
}

beforeAll(async () => {
  metricsPort = await freePort();
  server = await startServer({
    config: {
      workers: 2,
      metrics: { address: '127.0.0.1', port: metricsPort },
      listeners: [{ name: 'pop3', module: 'pop', address: '127.0.0.1', port: 0 }],
      pop: { maxChannels: 3, authFailureDelay: 1 },
      submission: { maxPerHour: 1 },
      shutdownTimeout: 3,
    },
  });
  await server.waitForLog((r) => r.msg === 'all workers started', 15_000);
  await server.addAccount('alice', 'a secret');
  for (let i = 1; i <= 3; i++) await server.deliver('alice', `Subject: message ${i}\n\nbody ${i}\n`);
});
afterAll(() => server?.stop());

describe('serve with 2 workers', () => {
  it('two worker processes share the listener and both serve connections', async () => {
    expect(pidsOf('Postern started').size).toBe(2);
    const seen = new Set<number>();
    for (let i = 0; i < 4; i++) {
      const { c, pid } = await connectAndPid();
      seen.add(pid);
      c.close();
    }
    expect(seen.size).toBe(2);
    expect([...seen].every((p) => pidsOf('Postern started').has(p))).toBe(true);
  });

  it('pop.maxChannels counts the sessions of both workers', async () => {
    const held = [await signedIn(), await signedIn(), await signedIn()];
    // three signed-in sessions, spread over two workers: a per-worker count would let more in
    const fourth = await RawPop.connect(server.port);
    expect(await fourth.line()).toMatch(/^-ERR \[SYS\/TEMP\] Too many connections/);
    for (const c of held) expect(await c.command('QUIT')).toMatch(/^\+OK/);
    await new Promise((r) => setTimeout(r, 300));
    const again = await signedIn(); // the count went down with them
    expect(await again.command('QUIT')).toMatch(/^\+OK/);
  });

  it('connections closed at once (health checks) leave no session behind, on either worker', async () => {
    const from = server.logs.length;
    await Promise.all(
      Array.from({ length: 12 }, async () => {
        const c = await RawPop.connect(server.port);
        c.close();
      }),
    );
    await new Promise((r) => setTimeout(r, 1000));
    const key = (r: LogRecord) => `${String(r.pid)}/${String(r.cid)}`;
    const began = server.logs
      .slice(from)
      .filter((r) => r.msg === 'connected')
      .map(key);
    const ended = new Set(server.logs.filter((r) => r.msg === 'session end').map(key));
    expect(began.filter((k) => !ended.has(k))).toEqual([]); // every session that began also ended (and left the shared count)
    const held = [await signedIn(), await signedIn(), await signedIn()];
    const fourth = await RawPop.connect(server.port);
    expect(await fourth.line()).toMatch(/^-ERR \[SYS\/TEMP\] Too many connections/);
    for (const c of held) expect(await c.command('QUIT')).toMatch(/^\+OK/);
    await new Promise((r) => setTimeout(r, 300));
  });

  it('the sign-in throttle counts failures on both workers: the third failure from one address waits', async () => {
    const times: number[] = [];
    const pids = new Set<number>();
    for (let i = 0; i < 3; i++) {
      const { c, pid } = await connectAndPid();
      pids.add(pid);
      expect(await c.command('USER throttled')).toMatch(/^\+OK/);
      const t0 = Date.now();
      expect(await c.command('PASS wrong')).toMatch(/^-ERR \[AUTH\]/);
      times.push(Date.now() - t0);
      c.close();
    }
    expect(pids.size).toBe(2); // the failures really were on both workers
    expect(times[0]).toBeLessThan(900);
    expect(times[2]).toBeGreaterThanOrEqual(1000 + 150); // authFailureTime 0.2 s + 1 s for the third failure
  });

  it('submission.maxPerHour counts what was submitted through both workers', async () => {
    const onWorker = async (not?: number) => {
      for (;;) {
        const s = await connectAndPid();
        if (s.pid === not) {
          s.c.close();
          continue;
        }
        expect(await s.c.command('USER alice')).toMatch(/^\+OK/);
        expect(await s.c.command('PASS a secret')).toMatch(/^\+OK/);
        return s;
      }
    };
    const xmit = async (c: RawPop, n: number) => {
      expect(await c.command('XTND XMIT')).toBe('+OK Start sending message.');
      c.send(`From: alice@example.org\r\nTo: alice@example.org\r\nSubject: submitted ${n}\r\n\r\nhi\r\n.\r\n`);
      return c.line();
    };
    const first = await onWorker();
    expect(await xmit(first.c, 1)).toMatch(/^\+OK/);
    const second = await onWorker(first.pid);
    expect(await xmit(second.c, 2)).toMatch(/^-ERR .*Too many messages submitted in the last hour \(the limit is 1\)/);
    for (const s of [first, second]) expect(await s.c.command('RSET')).toMatch(/^\+OK/);
    for (const s of [first, second]) s.c.close();
  });

  it('/metrics adds up the counts of both workers', async () => {
    await server.waitForLog((r) => String(r.msg).startsWith('metrics at /metrics'));
    const before = await scrape();
    const pids = new Set<number>();
    for (let i = 0; i < 6; i++) {
      const { c, pid } = await connectAndPid();
      pids.add(pid);
      expect(await c.command('QUIT')).toMatch(/^\+OK/);
    }
    expect(pids.size).toBe(2); // the six were served by both workers
    expect((await scrape()) - before).toBe(6); // and every one of them is counted
  });

  it('a worker killed with SIGKILL is replaced; its session applies no DELE, the other worker goes on', async () => {
    // one signed-in session on each worker
    const sessions: { c: RawPop; pid: number }[] = [];
    while (sessions.length < 2 || sessions[0].pid === sessions[1].pid) {
      const s = await connectAndPid();
      if (sessions.some((x) => x.pid === s.pid)) {
        s.c.close();
        continue;
      }
      expect(await s.c.command('USER alice')).toMatch(/^\+OK/);
      expect(await s.c.command('PASS a secret')).toMatch(/^\+OK/);
      sessions.push(s);
    }
    const [victim, survivor] = sessions;
    expect(await victim.c.command('DELE 1')).toMatch(/^\+OK/);
    const counted = await scrape(); // the victim's connections included
    process.kill(victim.pid, 'SIGKILL');
    await victim.c.closed();
    await server.waitForLog(
      (r) => r.msg === 'a worker exited; starting another (its sessions are gone, and applied nothing)' && r.signal === 'SIGKILL',
      5000,
    );
    // the other worker's session goes on
    expect(await survivor.c.command('STAT')).toMatch(/^\+OK 4 /); // 3 delivered, 1 submitted
    expect(await survivor.c.command('QUIT')).toMatch(/^\+OK/);
    // a new worker serves, and the killed one's DELE was never applied
    await server.waitForLog(
      (r) => r.msg === 'Postern started' && r.worker !== undefined && !new Set([victim.pid, survivor.pid]).has(Number(r.pid)),
      10_000,
    );
    const check = await signedIn();
    expect(await check.command('STAT')).toMatch(/^\+OK 4 /);
    expect(await check.command('QUIT')).toMatch(/^\+OK/);
    // and the killed worker's session no longer counts against maxChannels
    const held = [await signedIn(), await signedIn(), await signedIn()];
    for (const c of held) expect(await c.command('QUIT')).toMatch(/^\+OK/);
    // the counters do not go down with the worker (Prometheus would take that for a reset)
    expect(await scrape()).toBeGreaterThanOrEqual(counted + 4);
  });

  it('a changed workers key takes effect at SIGHUP: one more worker starts, one fewer stops after its sessions', async () => {
    const { parse, stringify } = await import('yaml');
    const { readFile } = await import('node:fs/promises');
    const config = parse(await readFile(server.configFile, 'utf8')) as Record<string, unknown>;
    const rewrite = (n: number) => writeFile(server.configFile, stringify({ ...config, workers: n }));
    const alive = () =>
      server.logs
        .filter((r) => r.msg === 'Postern started' && r.worker !== undefined)
        .map((r) => Number(r.pid))
        .filter((pid) => {
          try {
            process.kill(pid, 0);
            return true;
          } catch {
            return false;
          }
        });
    await rewrite(3);
    let from = server.logs.length;
    server.process.kill('SIGHUP');
    await server.waitForLog((r) => r.msg === 'Postern started' && r.worker === 3, 15_000);
    expect(new Set(alive()).size).toBe(3);
    // back to 2: worker 3 stops as a server stops, a session on it may finish first
    const { c, pid } = await (async () => {
      for (;;) {
        const s = await connectAndPid();
        if (s.pid === Number(server.logs.find((r) => r.msg === 'Postern started' && r.worker === 3 && server.logs.indexOf(r) >= from)?.pid))
          return s;
        s.c.close();
      }
    })();
    expect(await c.command('USER alice')).toMatch(/^\+OK/);
    expect(await c.command('PASS a secret')).toMatch(/^\+OK/);
    await rewrite(2);
    from = server.logs.length;
    server.process.kill('SIGHUP');
    await server.waitForLog((r) => r.msg.startsWith('stopping') && Number(r.pid) === pid && server.logs.indexOf(r) >= from, 10_000);
    expect(await c.command('STAT')).toMatch(/^\+OK/); // the session goes on while its worker stops
    expect(await c.command('QUIT')).toMatch(/^\+OK/);
    await server.waitForLog((r) => r.msg === 'worker stopped (fewer workers in the config)', 10_000);
    await new Promise((r) => setTimeout(r, 3000)); // a replacement would have started by now
    // not replaced
    expect(server.logs.slice(from).some((r) => r.msg === 'Postern started' || r.msg.startsWith('a worker exited'))).toBe(false);
    expect(new Set(alive()).size).toBe(2);
  });

  it('SIGHUP reaches every worker; SIGTERM stops them all and the server exits 0', async () => {
    const workers = [
      ...new Set(server.logs.filter((r) => r.msg === 'Postern started' && r.worker !== undefined).map((r) => Number(r.pid))),
    ].filter((pid) => {
      try {
        process.kill(pid, 0);
        return true;
      } catch {
        return false;
      }
    });
    expect(workers.length).toBe(2);
    server.process.kill('SIGHUP');
    for (const pid of workers)
      await server.waitForLog((r) => r.msg === 'reloaded the config and certificates' && Number(r.pid) === pid, 10_000);
    const code = await server.stop('SIGTERM');
    expect(code).toBe(0);
    for (const pid of workers) expect(() => process.kill(pid, 0)).toThrow();
  });
});

describe('serve with 2 workers that cannot start', () => {
  it("a port in use stops the server with the workers' exit code (69), naming the port", async () => {
    const blocker = createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
    const port = (blocker.address() as { port: number }).port;
    const dir = await mkdtemp(join(tmpdir(), 'postern-workers-'));
    try {
      await writeFile(
        join(dir, 'postern.yaml'),
        `dataDir: ./data\nworkers: 2\nlisteners:\n  - { name: pop3, address: 127.0.0.1, port: ${port} }\n`,
      );
      const r = await runCli(['--config', join(dir, 'postern.yaml'), 'serve']);
      expect(r.code).toBe(69);
      expect(r.stderr + r.stdout).toMatch(/cannot listen on 127\.0\.0\.1:\d+ for listener "pop3": the port is already in use/);
    } finally {
      blocker.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
