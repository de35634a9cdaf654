// postern who and postern kick across two nodes sharing one tree and a real redis-server: node A is one
// process (127.0.0.2), node B has two workers (127.0.0.3), each with its own control socket. Asked on
// either node, who lists the sessions of A and of both of B's workers (each once); a kick asked on A
// ends an IMAP session on B with `* BYE`; with Redis stopped, who lists the asking node's own sessions
// and says the other nodes did not answer, and both are listed again once Redis is back.
import { mkdtemp, rm } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { WhoSession } from '../../cluster/admin/who.js';
import { RawImap } from '../helpers/imap-client.js';
import { TestRedis } from '../helpers/redis.js';
import { startServer, type TestServer } from '../helpers/server.js';

const A = '127.0.0.2';
const B = '127.0.0.3';
const BYE = '* BYE Disconnected by the administrator';
let redis: TestRedis;
let tree: string;
let a: TestServer;
let b: TestServer;

async function startNode(address: string): Promise<TestServer> {
  const node = await startServer({
    config: {
      workers: address === B ? 2 : 1,
      dataDir: tree,
      sharedTree: true,
      redis: { url: redis.url },
      admin: { socket: './control' }, // beside each node's config: two nodes on one machine and one tree
      listeners: [{ name: 'imap', module: 'imap', address, port: 0 }],
      shutdownTimeout: 2,
    },
  });
  if (address === B) await node.waitForLog((r) => r.msg === 'all workers started', 15_000);
  await node.waitForLog((r) => r.msg.startsWith('Redis reachable'), 10_000);
  await node.waitForLog((r) => r.msg === 'control socket for postern who and postern kick', 5000);
  return node;
}

async function who(node: TestServer): Promise<{ sessions: WhoSession[]; stderr: string }> {
  const r = await node.cli(['who', '--json']);
  expect(r.code, r.stderr).toBe(0);
  return { sessions: (JSON.parse(r.stdout) as { sessions: WhoSession[] }).sessions, stderr: r.stderr };
}

/** Each session as account and worker: node A's have none (one process), node B's are 1 or 2. */
const where = (sessions: readonly WhoSession[]) => sessions.map((s) => `${s.account} ${s.worker ?? '-'}`).sort();

/** A node's name, as its own who says (host:pid of its first process). */
const nodeOf = (node: TestServer) => `${hostname()}:${node.process.pid}`;

async function until(check: () => Promise<boolean>, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not reached');
    await new Promise((r) => setTimeout(r, 250));
  }
}

beforeAll(async () => {
  redis = await TestRedis.start();
  tree = await mkdtemp(join(tmpdir(), 'postern-tree-'));
  a = await startNode(A);
  b = await startNode(B);
  await a.addAccount('alice', 'a secret');
  await a.addAccount('bob', 'b secret');
}, 40_000);

afterAll(async () => {
  await Promise.all([a?.stop(), b?.stop()]);
  await redis?.stop();
  await rm(tree, { recursive: true, force: true });
});

describe('postern who and kick across two nodes (Redis)', () => {
  it('lists the sessions of both nodes and both workers of B, each once, asked on either node; kick on A ends a session on B', async () => {
    const onA = await RawImap.signIn(a.portOf('imap'), 'alice', '"a secret"', A);
    const onB = await Promise.all([1, 2, 3].map(() => RawImap.signIn(b.portOf('imap'), 'alice', '"a secret"', B)));
    const bobOnB = await RawImap.signIn(b.portOf('imap'), 'bob', '"b secret"', B);

    for (const node of [a, b]) {
      const { sessions, stderr } = await who(node);
      expect(stderr).toBe('');
      expect(sessions).toHaveLength(5);
      expect(new Set(sessions.map((s) => s.node)).size).toBe(2);
      expect(where(sessions).filter((w) => w.endsWith(' -'))).toEqual(['alice@example.org -']);
      expect(new Set(sessions.filter((s) => s.worker !== null).map((s) => s.worker))).toEqual(new Set([1, 2]));
    }
    const nodeOfB = (await who(a)).sessions.find((s) => s.worker !== null)!.node;
    const onlyB = await a.cli(['who', '--json', '--node', nodeOfB]);
    expect((JSON.parse(onlyB.stdout) as { sessions: WhoSession[] }).sessions).toHaveLength(4);

    const r = await a.cli(['kick', 'alice']);
    expect(r.stdout).toBe('kicked 4 sessions of alice@example.org\n');
    for (const c of [onA, ...onB]) expect(await c.response()).toBe(BYE);
    expect((await bobOnB.command('NOOP')).status).toBe('OK');
    expect((await who(b)).sessions.map((s) => s.account)).toEqual(['bob@example.org']);
    bobOnB.raw.close();
  });

  it('with Redis down, lists the asking node alone and says the others did not answer; both again once Redis is back', async () => {
    const onA = await RawImap.signIn(a.portOf('imap'), 'alice', '"a secret"', A);
    const onB = await RawImap.signIn(b.portOf('imap'), 'alice', '"a secret"', B);
    await redis.pause();
    await a.waitForLog((r) => r.msg.startsWith('Redis unreachable'), 10_000);
    const alone = await who(a);
    expect(where(alone.sessions)).toEqual(['alice@example.org -']);
    expect(alone.stderr).toMatch(/not listed: the other nodes \(Redis is unreachable\) did not answer/);
    const kick = await a.cli(['kick', 'alice']);
    expect(kick.stdout).toBe('kicked 1 session of alice@example.org\n');
    expect(kick.stderr).toMatch(/not reached: the other nodes/);
    expect(await onA.response()).toBe(BYE);

    await redis.resume();
    await until(async () => (await who(a)).sessions.length === 1 && (await who(a)).stderr === '', 15_000);
    expect((await who(a)).sessions.map((s) => s.node)).toEqual([nodeOf(b)]);
    onB.raw.close();
  });
});
