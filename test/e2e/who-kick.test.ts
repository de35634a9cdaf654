// postern who and postern kick against a real `postern serve --workers 2`: the sessions of both worker
// processes listed through the control socket (by account and protocol with counts, one by one, as
// JSON, filtered), a kick ending IMAP (`* BYE`), POP (`-ERR [SYS/TEMP]`, nothing applied) and ManageSieve
// (`BYE`) sessions on whichever worker holds them, and the same over HTTP (/admin/who, /admin/kick on
// the metrics server) with and without the token. Across nodes (Redis): test/interop/who-kick-nodes.test.ts.
import { hostname } from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { WhoSession } from '../../cluster/admin/who.js';
import { RawImap } from '../helpers/imap-client.js';
import { RawSieve } from '../helpers/managesieve-client.js';
import { RawPop } from '../helpers/pop-client.js';
import { freePort } from '../helpers/ports.js';
import { runCli, startServer, type TestServer } from '../helpers/server.js';

const TOKEN = 'a-test-token-of-some-length-0123456789';
const BYE = '* BYE Disconnected by the administrator';
let server: TestServer;
let metricsPort: number;

const who = async (...args: string[]): Promise<WhoSession[]> => {
  const r = await server.cli(['who', '--json', ...args]);
  expect(r.code, r.stderr).toBe(0);
  return (JSON.parse(r.stdout) as { sessions: WhoSession[] }).sessions;
};

const admin = (path: string, init: RequestInit = {}) => fetch(`http://127.0.0.1:${metricsPort}${path}`, init);
const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });

async function until(check: () => Promise<boolean>, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not reached');
    await new Promise((r) => setTimeout(r, 50));
  }
}

beforeAll(async () => {
  metricsPort = await freePort();
  server = await startServer({
    config: {
      workers: 2,
      metrics: { address: '127.0.0.1', port: metricsPort },
      admin: { token: TOKEN },
      listeners: [
        { name: 'pop3', module: 'pop', address: '127.0.0.1', port: 0 },
        { name: 'imap', module: 'imap', address: '127.0.0.1', port: 0 },
        { name: 'sieve', module: 'managesieve', address: '127.0.0.1', port: 0 },
      ],
      shutdownTimeout: 2,
    },
  });
  await server.waitForLog((r) => r.msg === 'all workers started', 15_000);
  await server.waitForLog((r) => r.msg === 'control socket for postern who and postern kick', 5000);
  await server.addAccount('ann', 'secret');
  await server.addAccount('bob', 'secret');
  await server.deliver('ann', 'Subject: kept\n\nbody\n');
}, 30_000);
afterAll(() => server?.stop());

describe('postern who and kick over two workers', () => {
  it('lists every signed-in session of both workers, grouped with counts, one by one, as JSON and filtered', async () => {
    const imap = await Promise.all([1, 2, 3, 4].map(() => RawImap.signIn(server.portOf('imap'), 'ann', 'secret')));
    const pop = await RawPop.signIn(server.port, 'ann', 'secret');
    const sieve = await RawSieve.signIn(server.portOf('sieve'), 'ann', 'secret');
    const bob = await RawImap.signIn(server.portOf('imap'), 'bob', 'secret');
    const notSignedIn = await RawImap.connect(server.portOf('imap'));

    const all = await who();
    expect(all).toHaveLength(7);
    expect(new Set(all.filter((s) => s.protocol === 'imap').map((s) => s.worker))).toEqual(new Set([1, 2]));
    const node = all[0].node;
    expect(node).toMatch(new RegExp(`^${hostname()}:\\d+$`));
    expect(all.every((s) => s.node === node && s.remoteAddress === '127.0.0.1')).toBe(true);

    const table = await server.cli(['who']);
    expect(table.code).toBe(0);
    const lines = table.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^account\s+#\s+protocol\s+\(nodes\)\s+\(addresses\)$/);
    expect(lines.slice(1).map((l) => l.split(/\s+/).slice(0, 3).join(' '))).toEqual([
      'ann@example.org 4 imap',
      'ann@example.org 1 managesieve',
      'ann@example.org 1 pop',
      'bob@example.org 1 imap',
    ]);
    expect(lines[1]).toMatch(new RegExp(`\\((${node}/[12] ?){2}\\)`));
    expect(lines[1]).toMatch(/\(127\.0\.0\.1\)$/);

    const one = await server.cli(['who', '--sessions']);
    expect(one.stdout.trimEnd().split('\n')).toHaveLength(8);

    expect((await who('bob@*')).map((s) => s.account)).toEqual(['bob@example.org']);
    expect((await who('--protocol', 'pop')).map((s) => s.protocol)).toEqual(['pop']);
    expect(await who('--address', '10.0.0.0/8')).toEqual([]);
    expect(await who('--address', '127.0.0.0/8')).toHaveLength(7);

    for (const c of imap) c.raw.close();
    pop.close();
    sieve.close();
    bob.raw.close();
    notSignedIn.client.raw.close();
    await until(async () => (await who()).length === 0);
  });

  it('kick ends IMAP (* BYE), POP (nothing applied) and ManageSieve sessions of the account on both workers; others stay', async () => {
    const imap = await Promise.all([1, 2, 3].map(() => RawImap.signIn(server.portOf('imap'), 'ann', 'secret')));
    await imap[0].command('SELECT INBOX');
    imap[0].raw.send('i1 IDLE\r\n');
    expect(await imap[0].response()).toBe('+ idling');
    const pop = await RawPop.signIn(server.port, 'ann', 'secret');
    expect(await pop.command('DELE 1')).toMatch(/^\+OK/);
    const sieve = await RawSieve.signIn(server.portOf('sieve'), 'ann', 'secret');
    const bob = await RawImap.signIn(server.portOf('imap'), 'bob', 'secret');
    expect(new Set((await who('ann')).map((s) => s.worker)).size).toBe(2);

    const imapOnly = await server.cli(['kick', 'ann', '--protocol', 'managesieve']);
    expect(imapOnly.stdout).toBe('kicked 1 managesieve session of ann@example.org\n');
    expect((await sieve.answer()).text).toBe('BYE "Disconnected by the administrator"\r\n');

    const r = await server.cli(['kick', 'ann']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe('kicked 4 sessions of ann@example.org\n');
    for (const c of imap) {
      expect(await c.response()).toBe(BYE);
      await c.raw.closed();
    }
    expect(await pop.line()).toBe('-ERR [SYS/TEMP] Disconnected by the administrator; no changes were made');
    await pop.closed();
    expect((await bob.command('NOOP')).status).toBe('OK');
    expect((await who()).map((s) => s.account)).toEqual(['bob@example.org']);

    const again = await server.cli(['kick', 'ann@example.org']);
    expect(again.code).toBe(1);
    expect(again.stdout).toBe('no session of ann@example.org to kick\n');
    const check = await RawPop.signIn(server.port, 'ann', 'secret');
    expect(await check.command('STAT')).toMatch(/^\+OK 1 /); // the kicked session's DELE was not applied
    check.close();
    bob.raw.close();
  });

  it('answers /admin/who and /admin/kick with the token only (401 without it or with another)', async () => {
    const none = await admin('/admin/who');
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toMatch(/^Bearer /);
    expect((await admin('/admin/who', { headers: bearer(`${TOKEN}x`) })).status).toBe(401);
    expect((await admin('/admin/kick', { method: 'POST', body: '{"account":"ann@example.org"}' })).status).toBe(401);
    expect((await admin('/metrics')).status).toBe(200); // /metrics stays open

    const imap = await RawImap.signIn(server.portOf('imap'), 'ann', 'secret');
    const listed = await admin('/admin/who?protocol=imap', { headers: bearer(TOKEN) });
    expect(listed.status).toBe(200);
    const body = (await listed.json()) as { sessions: WhoSession[]; unanswered: string[] };
    expect(body.sessions.map((s) => `${s.account} ${s.protocol}`)).toEqual(['ann@example.org imap']);
    expect(body.unanswered).toEqual([]);

    expect((await admin('/admin/kick', { headers: bearer(TOKEN) })).status).toBe(405);
    expect((await admin('/admin/who?address=nonsense', { headers: bearer(TOKEN) })).status).toBe(400);
    const kicked = await admin('/admin/kick', {
      method: 'POST',
      headers: bearer(TOKEN),
      body: '{"account":"ann@example.org","protocol":"imap"}',
    });
    expect(await kicked.json()).toEqual({ ok: true, kicked: 1, unanswered: [] });
    expect(await imap.response()).toBe(BYE);
  });
});

describe('postern who without a server', () => {
  it('says no server answers on the control socket, exit 69', async () => {
    const idle = await startServer({ noServe: true });
    const r = await runCli(['--config', idle.configFile, 'who']);
    expect(r.code).toBe(69);
    expect(r.stderr).toMatch(/no server answers on the control socket .*postern-control .*is postern serve running with this config\?/);
    await idle.stop();
  });
});
