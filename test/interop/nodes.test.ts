// Two nodes on one mail tree with one Redis: two `serve` processes on different loopback addresses
// (127.0.0.2 with one process, 127.0.0.3 with two workers) sharing one data folder, with `sharedTree: true` (no file watch: as on NFS,
// where a node does not see another machine's changes through it) and a real redis-server started
// here. A limit holds across the nodes; a delivery over LMTP to one wakes an IDLE on the other within
// a second (only Redis can carry that: nothing else tells node B before imap.idleCheckInterval);
// one node killed with SIGKILL leaves the other serving and gives its places back; Redis stopped and
// started again leaves both serving throughout, each on its own count, and both share again after.
import { mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RawImap } from '../helpers/imap-client.js';
import { RawLmtp } from '../helpers/lmtp-client.js';
import { RawPop } from '../helpers/pop-client.js';
import { TestRedis } from '../helpers/redis.js';
import { startServer, type TestServer } from '../helpers/server.js';

const A = '127.0.0.2';
const B = '127.0.0.3';
let redis: TestRedis;
let tree: string;
let a: TestServer;
let b: TestServer;

/** Node B runs two worker processes: each is a node of its own in Redis, under B's primary. */
function nodeConfig(address: string): Record<string, unknown> {
  return {
    workers: address === B ? 2 : 1,
    dataDir: tree,
    sharedTree: true,
    redis: { url: redis.url },
    listeners: [
      { name: 'pop3', module: 'pop', address, port: 0 },
      { name: 'imap', module: 'imap', address, port: 0 },
      { name: 'lmtp', module: 'lmtp', address, port: 0 },
    ],
    pop: { maxChannels: 3, maxUnauthenticated: 2, authFailureDelay: 1 },
    lmtp: { maxChannels: 2 },
    shutdownTimeout: 2,
  };
}

async function startNode(address: string): Promise<TestServer> {
  const node = await startServer({ config: nodeConfig(address) });
  if (address === B) await node.waitForLog((r) => r.msg === 'all workers started', 15_000);
  await node.waitForLog((r) => r.msg.startsWith('Redis reachable'), 10_000);
  return node;
}

const pop = (node: TestServer, host: string) => RawPop.signIn(node.port, 'alice', 'a secret', host);

/** The first line a new POP connection gets. */
async function greeting(node: TestServer, host: string): Promise<{ c: RawPop; line: string }> {
  const c = await RawPop.connect(node.port, host);
  return { c, line: await c.line() };
}

async function lmtpDeliver(node: TestServer, host: string, subject: string): Promise<void> {
  const c = await RawLmtp.open({ port: node.portOf('lmtp'), host });
  await c.reply();
  c.send('LHLO mta.example.net\r\nMAIL FROM:<news@example.net>\r\nRCPT TO:<alice@example.org>\r\nDATA\r\n');
  const replies = await c.replies(4);
  expect(replies.at(-1)).toMatch(/^354 /);
  c.send(`Subject: ${subject}\r\n\r\nhello\r\n.\r\n`);
  expect((await c.reply())[0]).toMatch(/^250 /);
  c.send('QUIT\r\n');
  c.close();
}

/** Selects INBOX on node B and enters IDLE; returns the session and the message count. */
/** The next response, past the `* n RECENT` an IMAP4rev1 session gets after each EXISTS (RFC 3501 7.3.2). */
async function told(imap: RawImap, ms?: number): Promise<string> {
  for (;;) {
    const line = await imap.response(ms);
    if (!/^\* \d+ RECENT$/.test(line)) return line;
  }
}

async function idleOnB(): Promise<{ imap: RawImap; exists: number }> {
  const imap = await RawImap.signIn(b.portOf('imap'), 'alice', '"a secret"', B);
  const selected = await imap.command('SELECT INBOX');
  const exists = Number(/\* (\d+) EXISTS/.exec(selected.untagged.join('\n'))![1]);
  imap.send('i1 IDLE\r\n');
  expect(await told(imap)).toMatch(/^\+ /);
  return { imap, exists };
}

async function until(check: () => Promise<boolean>, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await check()) return true;
    await new Promise((r) => setTimeout(r, 250));
  }
  return false;
}

beforeAll(async () => {
  redis = await TestRedis.start();
  tree = await mkdtemp(join(tmpdir(), 'postern-tree-'));
  a = await startNode(A);
  b = await startNode(B);
  await a.addAccount('alice', 'a secret');
  await a.deliver('alice', 'Subject: first\n\nbody\n');
}, 30_000);

afterAll(async () => {
  await Promise.all([a?.stop(), b?.stop()]);
  await redis?.stop();
  await rm(tree, { recursive: true, force: true });
});

describe('two nodes sharing one tree and one Redis', () => {
  it('pop.maxChannels counts the sessions of both nodes', async () => {
    const held = [await pop(a, A), await pop(a, A), await pop(b, B)];
    for (const [node, host] of [
      [b, B],
      [a, A],
    ] as const) {
      const fourth = await greeting(node, host);
      expect(fourth.line).toMatch(/^-ERR \[SYS\/TEMP\] Too many connections/);
      fourth.c.close();
    }
    expect(await held[0].command('QUIT')).toMatch(/^\+OK/);
    await new Promise((r) => setTimeout(r, 300));
    const again = await pop(b, B); // the place given back on A is free on B
    for (const c of [again, held[1], held[2]]) expect(await c.command('QUIT')).toMatch(/^\+OK/);
  });

  it('lmtp.maxChannels counts the MTA connections of both nodes', async () => {
    const onA = await RawLmtp.open({ port: a.portOf('lmtp'), host: A });
    expect((await onA.reply())[0]).toMatch(/^220 /);
    const onB = await RawLmtp.open({ port: b.portOf('lmtp'), host: B });
    expect((await onB.reply())[0]).toMatch(/^220 /);
    const third = await RawLmtp.open({ port: a.portOf('lmtp'), host: A });
    expect((await third.reply())[0]).toBe('421 4.3.2 Too many connections; try again later');
    third.close();
    onB.send('QUIT\r\n');
    await onB.reply();
    onB.close();
    await new Promise((r) => setTimeout(r, 300));
    const again = await RawLmtp.open({ port: a.portOf('lmtp'), host: A }); // B's place is free again
    expect((await again.reply())[0]).toMatch(/^220 /);
    for (const c of [onA, again]) c.close();
    await new Promise((r) => setTimeout(r, 300));
  });

  it('pop.maxUnauthenticated counts both nodes: a connection on B makes room by closing the oldest waiting one on A', async () => {
    const first = await greeting(a, A);
    const second = await greeting(a, A);
    expect(first.line).toMatch(/^\+OK/);
    const third = await greeting(b, B); // over maxUnauthenticated 2 across the nodes
    expect(third.line).toMatch(/^\+OK/);
    expect(await first.c.line(3000)).toBe('-ERR [SYS/TEMP] Too many connections waiting to sign in; closing the oldest, try again later');
    // the one closed was the oldest, on the other node; the others are served
    for (const c of [second.c, third.c]) {
      expect(await c.command('USER alice')).toMatch(/^\+OK/);
      expect(await c.command('PASS a secret')).toMatch(/^\+OK/);
      expect(await c.command('QUIT')).toMatch(/^\+OK/);
    }
    first.c.close();
  });

  it('the sign-in delay counts failures on both nodes: the third from one address waits', async () => {
    const times: number[] = [];
    for (const [node, host] of [
      [a, A],
      [b, B],
      [a, A],
    ] as const) {
      const { c } = await greeting(node, host);
      expect(await c.command('USER alice')).toMatch(/^\+OK/);
      const t0 = Date.now();
      expect(await c.command('PASS wrong')).toMatch(/^-ERR \[AUTH\]/);
      times.push(Date.now() - t0);
      c.close();
    }
    expect(times[1]).toBeLessThan(900);
    expect(times[2]).toBeGreaterThanOrEqual(1000 + 150); // authFailureTime 0.2 s + 1 s for the third failure
  });

  it('a delivery over LMTP to node A wakes an IDLE on node B within a second, and so do flag changes and expunges', async () => {
    const { imap, exists } = await idleOnB();
    const t0 = Date.now();
    await lmtpDeliver(a, A, 'wake up');
    const delivered = Date.now();
    expect(await told(imap, 3000)).toBe(`* ${exists + 1} EXISTS`);
    expect(Date.now() - delivered).toBeLessThan(1000);
    expect(delivered - t0).toBeLessThan(2000);

    // a flag set and a message expunged on node A reach the IDLE on node B too
    const onA = await RawImap.signIn(a.portOf('imap'), 'alice', '"a secret"', A);
    await onA.command('SELECT INBOX');
    let t = Date.now();
    expect((await onA.command(`STORE ${exists + 1} +FLAGS.SILENT (\\Flagged)`)).status).toBe('OK');
    expect(await told(imap, 3000)).toMatch(new RegExp(`^\\* ${exists + 1} FETCH \\(FLAGS \\(.*\\\\Flagged.*\\)\\)$`));
    expect(Date.now() - t).toBeLessThan(1000);
    t = Date.now();
    expect((await onA.command(`STORE ${exists + 1} +FLAGS.SILENT (\\Deleted)`)).status).toBe('OK');
    expect(await told(imap, 3000)).toMatch(/FETCH .*Deleted/);
    expect((await onA.command('EXPUNGE')).status).toBe('OK');
    expect(await told(imap, 3000)).toBe(`* ${exists + 1} EXPUNGE`);
    expect(Date.now() - t).toBeLessThan(2000);
    imap.send('DONE\r\n');
    expect(await told(imap)).toMatch(/^i1 OK/);
    onA.close();
    imap.close();
  });

  it('postern deliver run beside node A tells node B too', async () => {
    const { imap, exists } = await idleOnB();
    await a.deliver('alice', 'Subject: piped by the MTA\n\nhello\n');
    // from the command's end: its own start-up (node, the config), seen to take over 2 s on a busy CI machine, is not the notice's
    const delivered = Date.now();
    expect(await told(imap, 3000)).toBe(`* ${exists + 1} EXISTS`);
    expect(Date.now() - delivered).toBeLessThan(1000);
    imap.send('DONE\r\n');
    imap.close();
  });

  it("node A killed with SIGKILL: node B keeps serving, and A's places are given back", async () => {
    const onB = await pop(b, B);
    const idle = await idleOnB();
    const onA = [await pop(a, A), await pop(a, A)];
    expect((await greeting(b, B)).line).toMatch(/^-ERR \[SYS\/TEMP\] Too many connections/); // 3 of 3 in use
    await a.stop('SIGKILL');
    for (const c of onA) c.close();
    // B's sessions go on as if nothing happened
    expect(await onB.command('STAT')).toMatch(/^\+OK \d+ \d+/);
    idle.imap.send('DONE\r\n');
    expect(await told(idle.imap)).toMatch(/^i1 OK/);
    expect((await idle.imap.command('NOOP')).status).toBe('OK');
    // A never said goodbye: its two places come back when Redis hears nothing from it (10 s)
    const t0 = Date.now();
    const freed = await until(async () => {
      const g = await greeting(b, B);
      g.c.close();
      return g.line.startsWith('+OK');
    }, 20_000);
    expect(freed).toBe(true);
    expect(Date.now() - t0).toBeLessThan(16_000);
    expect(await onB.command('QUIT')).toMatch(/^\+OK/);
    idle.imap.close();
    a = await startNode(A); // a node comes back: the same config, the same tree
    expect(await (await pop(a, A)).command('QUIT')).toMatch(/^\+OK/);
  }, 40_000);

  it('Redis stopped and started again: both nodes serve throughout, on their own counts, and share again after', async () => {
    const fromA = a.logs.length;
    const fromB = b.logs.length;
    await redis.pause();
    await a.waitForLog((r) => r.msg.startsWith('Redis unreachable'), 10_000);
    await b.waitForLog((r) => r.msg.startsWith('Redis unreachable'), 10_000);

    // each node serves on its own count: 3 signed-in sessions on A and 1 on B, more than the shared limit
    const during = [await pop(a, A), await pop(a, A), await pop(a, A), await pop(b, B)];
    expect((await greeting(a, A)).line).toMatch(/^-ERR \[SYS\/TEMP\] Too many connections/); // A's own count still holds
    // delivery and reading go on: a message delivered over LMTP to A is read on B
    await lmtpDeliver(a, A, 'while Redis was away');
    const piped = await a.cli(['deliver', 'alice'], 'Subject: piped while Redis was away\n\nhi\n');
    expect(piped.code).toBe(0); // stored; only the notice could not go out
    expect(piped.stderr).toMatch(/Redis could not be told/);
    const fresh = await pop(b, B);
    const count = Number((await fresh.command('STAT')).split(' ')[1]);
    expect(await fresh.command(`TOP ${count - 1} 0`)).toMatch(/^\+OK/);
    expect((await fresh.body()).toString()).toContain('Subject: while Redis was away');
    expect(await fresh.command(`TOP ${count} 0`)).toMatch(/^\+OK/);
    expect((await fresh.body()).toString()).toContain('Subject: piped while Redis was away');
    expect(await fresh.command('QUIT')).toMatch(/^\+OK/);
    for (const c of during.slice(2)) expect(await c.command('QUIT')).toMatch(/^\+OK/);
    await new Promise((r) => setTimeout(r, 3000));
    // the outage was logged once per node, not once per reconnect attempt
    expect(a.logs.slice(fromA).filter((r) => r.msg.startsWith('Redis unreachable'))).toHaveLength(1);
    // node B: once by each of its two workers
    expect(
      b.logs
        .slice(fromB)
        .filter((r) => r.msg.startsWith('Redis unreachable'))
        .map((r) => r.worker)
        .sort(),
    ).toEqual([1, 2]);

    await redis.resume();
    await a.waitForLog((r) => r.msg.startsWith('Redis reachable again'), 10_000);
    for (const w of [1, 2]) await b.waitForLog((r) => r.msg.startsWith('Redis reachable again') && r.worker === w, 10_000);
    await new Promise((r) => setTimeout(r, 500));
    // Redis came back empty; the two sessions A opened during the outage are counted again
    const onB = await pop(b, B);
    expect((await greeting(b, B)).line).toMatch(/^-ERR \[SYS\/TEMP\] Too many connections/);
    for (const c of [during[0], during[1], onB]) expect(await c.command('QUIT')).toMatch(/^\+OK/);
    // and change notices cross again
    const { imap, exists } = await idleOnB();
    const t0 = Date.now();
    await lmtpDeliver(a, A, 'Redis is back');
    expect(await told(imap, 3000)).toBe(`* ${exists + 1} EXISTS`);
    expect(Date.now() - t0).toBeLessThan(1500);
    imap.send('DONE\r\n');
    imap.close();
  }, 60_000);

  it('Redis restarted with what it held before: sessions that ended meanwhile are not counted any more', async () => {
    const onA = [await pop(a, A), await pop(a, A)]; // counted in Redis
    await new Promise((r) => setTimeout(r, 300));
    await redis.save();
    let from = a.logs.length;
    await redis.pause();
    await a.waitForLog((r) => r.msg.startsWith('Redis unreachable') && a.logs.indexOf(r) >= from, 10_000);
    for (const c of onA) expect(await c.command('QUIT')).toMatch(/^\+OK/); // Redis cannot be told
    from = a.logs.length;
    await redis.resume(); // it comes back still counting A's two sessions
    await a.waitForLog((r) => r.msg.startsWith('Redis reachable again') && a.logs.indexOf(r) >= from, 10_000);
    await new Promise((r) => setTimeout(r, 1000));
    // A told Redis what it holds now (nothing): B may have all three places
    const onB = [await pop(b, B), await pop(b, B), await pop(b, B)];
    for (const c of onB) expect(await c.command('QUIT')).toMatch(/^\+OK/);
  }, 40_000);
});

describe('a shared tree without Redis', () => {
  /** A message written straight into the Maildir, as Dovecot on another machine would. */
  async function writtenElsewhere(server: TestServer, n: number): Promise<void> {
    const maildir = join(server.dataDir, 'accounts/example.org/alice/Maildir');
    const name = `${Math.floor(Date.now() / 1000)}.M${n}P${n}.elsewhere`;
    await writeFile(join(maildir, 'tmp', name), `Subject: from another machine ${n}\r\n\r\nhi\r\n`);
    await rename(join(maildir, 'tmp', name), join(maildir, 'new', name));
  }

  async function idleOn(server: TestServer): Promise<{ imap: RawImap; exists: number }> {
    const imap = await RawImap.signIn(server.portOf('imap'), 'alice', '"a secret"');
    const selected = await imap.command('SELECT INBOX');
    const exists = Number(/\* (\d+) EXISTS/.exec(selected.untagged.join('\n'))![1]);
    imap.send('i1 IDLE\r\n');
    expect(await told(imap)).toMatch(/^\+ /);
    return { imap, exists };
  }

  it('IDLE looks at the mailbox every imap.idleCheckInterval: it sees what no watch reports', async () => {
    const config = (interval: number) => ({
      sharedTree: true,
      listeners: [{ name: 'imap', module: 'imap', address: '127.0.0.1', port: 0 }],
      imap: { idleCheckInterval: interval },
    });
    // sharedTree: no file watch, so with the default 30 s check a write by another machine is not seen at once
    const slow = await startServer({ config: config(30) });
    try {
      await slow.addAccount('alice', 'a secret');
      const { imap, exists } = await idleOn(slow);
      await writtenElsewhere(slow, 1);
      await expect(told(imap, 2500)).rejects.toThrow();
      imap.close();
      expect(exists).toBe(0);
    } finally {
      await slow.stop();
    }
    const quick = await startServer({ config: config(1) });
    try {
      await quick.addAccount('alice', 'a secret');
      const { imap, exists } = await idleOn(quick);
      const t0 = Date.now();
      await writtenElsewhere(quick, 2);
      expect(await told(imap, 3000)).toBe(`* ${exists + 1} EXISTS`);
      expect(Date.now() - t0).toBeLessThan(2500);
      imap.send('DONE\r\n');
      expect(await told(imap)).toMatch(/^i1 OK/);
      imap.close();
    } finally {
      await quick.stop();
    }
  }, 30_000);
});
