// The pieces of postern who and kick that need no server: account masks and address networks as
// doveadm who takes them, the questions the control socket and /admin/* refuse, and /admin/*'s token
// (403 without admin.token, 401 without the right one) over a real HTTP server and a real session list.
import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalAdmin, matcher, queryProblem, type WhoSession } from '../../cluster/admin/who.js';
import { createLogger } from '../../observability/logger.js';
import { SignedInSessions } from '../../sessions/signed-in.js';
import { AdminHttp } from '../../server/admin-http.js';
import { adminAnswer } from '../../server/admin-requests.js';

const session = (account: string, remoteAddress: string, protocol = 'imap'): WhoSession => ({
  id: `c-${account}-${remoteAddress}`,
  account,
  protocol,
  remoteAddress,
  since: 0,
  node: 'host:1',
  worker: null,
});
const quiet = createLogger('error', { write: () => {}, flush: async () => {} });

describe('who: masks and networks', () => {
  it('matches accounts by mask (* and ?, case-insensitive) and nothing else by accident', () => {
    const m = (mask: string) => matcher({ account: mask });
    expect(m('ann@example.org')(session('ann@example.org', '10.0.0.1'))).toBe(true);
    expect(m('ANN@Example.org')(session('ann@example.org', '10.0.0.1'))).toBe(true);
    expect(m('*@example.org')(session('bob@example.org', '10.0.0.1'))).toBe(true);
    expect(m('?nn@*')(session('ann@example.net', '10.0.0.1'))).toBe(true);
    expect(m('ann@example.org')(session('ann@example.orgx', '10.0.0.1'))).toBe(false);
    expect(m('ann@example.org')(session('xann@example.org', '10.0.0.1'))).toBe(false);
    expect(m('a.n@example.org')(session('ann@example.org', '10.0.0.1'))).toBe(false); // a dot is a dot
  });

  it('matches client addresses by address or network, IPv4 and IPv6', () => {
    const m = (address: string) => matcher({ address });
    expect(m('10.0.0.0/8')(session('a@b', '10.1.2.3'))).toBe(true);
    expect(m('10.0.0.0/8')(session('a@b', '11.1.2.3'))).toBe(false);
    expect(m('10.1.2.3')(session('a@b', '10.1.2.3'))).toBe(true);
    expect(m('2001:db8::/32')(session('a@b', '2001:db8::7'))).toBe(true);
    expect(m('2001:db8::/32')(session('a@b', '10.1.2.3'))).toBe(false);
    expect(m('10.0.0.0/8')(session('a@b', 'local'))).toBe(false); // a unix socket's client
  });

  it('refuses what is not a query, with the key and why', () => {
    expect(queryProblem({ address: '10.0.0.0/33' })).toMatch(/^address: expected an IP address or a network/);
    expect(queryProblem({ address: 'example.org' })).toMatch(/^address:/);
    expect(queryProblem({ account: '' })).toMatch(/^account: expected a text/);
    expect(queryProblem({ account: 'ann@*', address: '::1/128' })).toBeNull();
  });

  it('answers only who and kick, and a kick only for name@domain', async () => {
    const admin = new LocalAdmin(new SignedInSessions(), null, 'bye');
    expect(await adminAnswer(admin, { op: 'frob' }, 'test', quiet)).toEqual({ ok: false, error: 'op: expected who or kick' });
    expect(await adminAnswer(admin, { op: 'who', query: { acount: 'x' } }, 'test', quiet)).toMatchObject({
      ok: false,
      error: /query.acount: unknown/,
    });
    expect(await adminAnswer(admin, { op: 'kick', account: 'ann' }, 'test', quiet)).toMatchObject({ ok: false, error: /name@domain/ });
    expect(await adminAnswer(admin, { op: 'kick', account: 'Ann@Example.org' }, 'test', quiet)).toEqual({
      ok: true,
      kicked: 0,
      unanswered: [],
    });
  });
});

describe('/admin/who and /admin/kick: the token', () => {
  const TOKEN = '0123456789abcdef-token';
  const sessions = new SignedInSessions();
  const kicked: string[] = [];
  const http = new AdminHttp(new LocalAdmin(sessions, null, 'bye'), quiet, TOKEN);
  let server: Server;
  let base: string;
  beforeAll(async () => {
    server = createServer((req, res) => {
      if (!http.route(req, res)) res.writeHead(404).end();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    sessions.add({
      id: 'c1',
      account: 'ann@example.org',
      protocol: 'imap',
      remoteAddress: '10.0.0.1',
      since: 1,
      kick: (r) => kicked.push(r),
    });
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  const get = (path: string, token?: string) => fetch(`${base}${path}`, { headers: token ? { Authorization: `Bearer ${token}` } : {} });

  it('401 without the token, with another, or with another scheme; 200 with it', async () => {
    expect((await get('/admin/who')).status).toBe(401);
    expect((await get('/admin/who', 'x')).status).toBe(401);
    expect((await get('/admin/who', `${TOKEN}0`)).status).toBe(401);
    expect((await fetch(`${base}/admin/who`, { headers: { Authorization: `Basic ${TOKEN}` } })).status).toBe(401);
    const ok = await get('/admin/who', TOKEN);
    expect(ok.status).toBe(200);
    expect(ok.headers.get('content-type')).toBe('application/json');
    expect(((await ok.json()) as { sessions: WhoSession[] }).sessions.map((s) => s.account)).toEqual(['ann@example.org']);
    expect((await get('/other')).status).toBe(404); // not an admin path: left to the metrics server
  });

  it('403 while admin.token is not set', async () => {
    http.token = null;
    try {
      const r = await get('/admin/who', TOKEN);
      expect(r.status).toBe(403);
      expect(await r.json()).toEqual({ ok: false, error: 'the admin endpoints are off: set admin.token in the config' });
    } finally {
      http.token = TOKEN;
    }
  });

  it('kick: POST only, JSON body, a bad one answered 400, a large one 413', async () => {
    const post = (body: string) => fetch(`${base}/admin/kick`, { method: 'POST', headers: { Authorization: `Bearer ${TOKEN}` }, body });
    expect((await get('/admin/kick', TOKEN)).status).toBe(405);
    expect((await post('{nope')).status).toBe(400);
    expect((await post('x'.repeat(20_000))).status).toBe(413);
    expect((await post('{"account":"bob@example.org"}')).status).toBe(200);
    expect(kicked).toEqual([]);
    expect(await (await post('{"account":"ann@example.org","protocol":"imap"}')).json()).toEqual({ ok: true, kicked: 1, unanswered: [] });
    expect(kicked).toEqual(['bye']);
  });
});
