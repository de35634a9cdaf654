// The auth socket served by a real `postern serve` with two workers: both workers answer on the one unix
// socket (SPID names the process), failures from one client address (rip=) are throttled across them, a
// reload (SIGHUP) changes the mechanisms a new connection is offered, and SIGTERM closes an idle MTA
// connection and ends the server.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { plain, RawAuth } from '../helpers/auth-client.js';
import { startServer, type TestServer } from '../helpers/server.js';

let server: TestServer;
let socketDir: string;
const socket = () => ({ path: join(socketDir, 'auth') });

beforeAll(async () => {
  socketDir = await mkdtemp(join(tmpdir(), 'postern-auth-e2e-'));
  server = await startServer({
    config: {
      workers: 2,
      listeners: [
        { name: 'pop3', module: 'pop', address: '127.0.0.1', port: 0 },
        { name: 'auth', module: 'auth', path: join(socketDir, 'auth') },
        { name: 'auth-tcp', module: 'auth', address: '0.0.0.0', port: 0 },
      ],
      auth: { authFailureTime: 0.05, authFailureDelay: 0.8 },
      shutdownTimeout: 3,
    },
  });
  await server.waitForLog((r) => r.msg === 'all workers started', 15_000);
  await server.addAccount('ann', 'ann secret');
}, 60_000);
afterAll(async () => {
  await server?.stop();
  await rm(socketDir, { recursive: true, force: true });
});

/** An IPv4 address of this machine other than loopback, or null. */
function otherAddress(): string | null {
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) if (a.family === 'IPv4' && !a.internal) return a.address;
  }
  return null;
}

/** Connections until one from each worker (by SPID), with their handshakes. */
async function oneFromEachWorker(): Promise<Map<string, { client: RawAuth; handshake: string[] }>> {
  const byWorker = new Map<string, { client: RawAuth; handshake: string[] }>();
  for (let i = 0; i < 40 && byWorker.size < 2; i++) {
    const ready = await RawAuth.ready(socket());
    const spid = ready.handshake.find((l) => l.startsWith('SPID\t'))!;
    if (byWorker.has(spid)) ready.client.close();
    else byWorker.set(spid, ready);
  }
  return byWorker;
}

describe('the auth socket with two workers', () => {
  it('both workers sign in on the one socket, and failures from one rip= are throttled across them', async () => {
    const clients = [...(await oneFromEachWorker()).values()].map((r) => r.client);
    expect(clients).toHaveLength(2);
    for (const [i, c] of clients.entries()) {
      c.send(`AUTH\t1\tPLAIN\tservice=smtp\trip=192.0.2.50\tresp=${plain('ann@example.org', 'ann secret')}`);
      expect(await c.line(), `worker ${i}`).toBe('OK\t1\tuser=ann@example.org');
    }
    const fail = async (c: RawAuth, id: number) => {
      const t = performance.now();
      c.send(`AUTH\t${id}\tPLAIN\tservice=smtp\trip=203.0.113.9\tresp=${plain('ann@example.org', 'wrong')}`);
      expect(await c.line()).toBe(`FAIL\t${id}\tuser=ann@example.org`);
      return performance.now() - t;
    };
    // the first two failures on one worker, the third on the other: delayed all the same
    await fail(clients[0], 2);
    await fail(clients[0], 3);
    expect(await fail(clients[1], 4)).toBeGreaterThanOrEqual(800);
    for (const c of clients) c.close();
  }, 60_000);

  it.skipIf(otherAddress() === null)(
    'a TCP listener serves loopback; a connection from another address is refused (passwords would travel in clear)',
    async () => {
      const { client, handshake } = await RawAuth.ready(server.portOf('auth-tcp'));
      expect(handshake[0]).toBe('VERSION\t1\t2');
      client.close();
      const remote = await RawAuth.open({ host: otherAddress()!, port: server.portOf('auth-tcp') });
      expect(await remote.closesWithin(5000)).toBe(true);
      await server.waitForLog((r) => String(r.msg).startsWith('connection refused: passwords would travel unencrypted'));
    },
  );

  it('SIGHUP: a new connection is offered the mechanisms of the reloaded config', async () => {
    const config = parse(await readFile(server.configFile, 'utf8')) as Record<string, Record<string, unknown>>;
    config.auth = { ...config.auth, saslMechanisms: ['PLAIN', 'LOGIN', 'CRAM-MD5'] };
    await writeFile(server.configFile, stringify(config));
    const reloaded = server.logs.filter((r) => r.msg === 'reloaded the config and certificates').length;
    server.process.kill('SIGHUP');
    await expect
      .poll(() => server.logs.filter((r) => r.msg === 'reloaded the config and certificates').length, { timeout: 15_000 })
      .toBeGreaterThanOrEqual(reloaded + 2);
    const workers = await oneFromEachWorker();
    expect(workers.size).toBe(2);
    for (const { client, handshake } of workers.values()) {
      expect(handshake).toContain('MECH\tCRAM-MD5\tdictionary\tactive');
      client.close();
    }
  }, 60_000);

  it('SIGTERM closes an idle MTA connection and the server ends', async () => {
    const { client } = await RawAuth.ready(socket());
    const code = server.stop();
    expect(await client.closesWithin(10_000)).toBe(true);
    expect(await code).toBe(0);
  }, 30_000);
});
