// Real mail clients against the real server: python3 poplib, curl and fetchmail.
import { mkdtemp, readdir, readFile, writeFile, chmod } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { curlPop, poplib, run } from '../helpers/clients.js';
import { startServer, type TestServer } from '../helpers/server.js';

// Each message and the exact bytes a client must receive for it (CRLF line ends, unstuffed).
const CASES: { name: string; stored: Buffer; served: Buffer }[] = [
  {
    name: 'CRLF',
    stored: Buffer.from('Subject: crlf\r\n\r\nline one\r\nline two\r\n'),
    served: Buffer.from('Subject: crlf\r\n\r\nline one\r\nline two\r\n'),
  },
  {
    name: 'bare LF',
    stored: Buffer.from('Subject: lf\n\nline one\nline two\n'),
    served: Buffer.from('Subject: lf\r\n\r\nline one\r\nline two\r\n'),
  },
  {
    name: 'lines starting with "."',
    stored: Buffer.from('Subject: dots\n\n.\n..\n.hidden\nend\n'),
    served: Buffer.from('Subject: dots\r\n\r\n.\r\n..\r\n.hidden\r\nend\r\n'),
  },
  {
    name: 'no final newline',
    stored: Buffer.from('Subject: unterminated\n\nlast line without newline'),
    served: Buffer.from('Subject: unterminated\r\n\r\nlast line without newline\r\n'),
  },
  {
    name: '8-bit body',
    stored: Buffer.concat([
      Buffer.from('Subject: 8bit\nContent-Type: text/plain; charset=latin1\n\n'),
      Buffer.from([0xe9, 0xe8, 0xff, 0x80, 0x0a]),
      Buffer.from('caf\u00e9 \u20ac\n'),
    ]),
    served: Buffer.concat([
      Buffer.from('Subject: 8bit\r\nContent-Type: text/plain; charset=latin1\r\n\r\n'),
      Buffer.from([0xe9, 0xe8, 0xff, 0x80, 0x0d, 0x0a]),
      Buffer.from('caf\u00e9 \u20ac\r\n'),
    ]),
  },
  {
    name: 'mixed line ends and a bare CR',
    stored: Buffer.from('Subject: mixed\r\n\nA\rB\r\n.x\n'),
    served: Buffer.from('Subject: mixed\r\n\r\nA\rB\r\n.x\r\n'),
  },
];

let server: TestServer;

beforeAll(async () => {
  server = await startServer();
  await server.addAccount('alice', 'a secret');
  for (const c of CASES) await server.deliver('alice', c.stored);
});
afterAll(async () => {
  await server.stop();
});

describe('python3 poplib', () => {
  it('LIST sizes equal the octets poplib counts for every kind of message', async () => {
    const result = await poplib<{ list: string[]; retr: { octets: number; lines: string[] }[] }>(
      server.port,
      `
p = poplib.POP3('127.0.0.1', port)
p.user('alice'); p.pass_('a secret')
resp, listing, _ = p.list()
out = {'list': [l.decode() for l in listing], 'retr': []}
for i in range(1, len(listing) + 1):
    resp, lines, octets = p.retr(i)
    out['retr'].append({'octets': octets, 'lines': [l.decode('latin1') for l in lines]})
p.quit()
print(json.dumps(out))`,
    );
    expect(result.list).toHaveLength(CASES.length);
    CASES.forEach((c, i) => {
      const listed = Number(result.list[i].split(' ')[1]);
      expect(listed, c.name).toBe(c.served.length);
      expect(result.retr[i].octets, c.name).toBe(c.served.length);
      expect(`${result.retr[i].lines.join('\r\n')}\r\n`, c.name).toBe(c.served.toString('latin1'));
    });
  });

  it('STAT, UIDL, TOP, NOOP, RSET, DELE and QUIT through poplib', async () => {
    const r = await poplib<{ stat: number[]; uidl: string[]; top: string[]; noop: string; rset: string; after: number[] }>(
      server.port,
      `
p = poplib.POP3('127.0.0.1', port)
p.user('alice'); p.pass_('a secret')
stat = list(p.stat())
uidl = [l.decode() for l in p.uidl()[1]]
top = [l.decode() for l in p.top(2, 1)[1]]
noop = p.noop().decode()
p.dele(1)
rset = p.rset().decode()
after = list(p.stat())
p.quit()
print(json.dumps({'stat': stat, 'uidl': uidl, 'top': top, 'noop': noop, 'rset': rset, 'after': after}))`,
    );
    const total = CASES.reduce((s, c) => s + c.served.length, 0);
    expect(r.stat).toEqual([CASES.length, total]);
    expect(new Set(r.uidl.map((l) => l.split(' ')[1])).size).toBe(CASES.length);
    expect(r.top).toEqual(['Subject: lf', '', 'line one']);
    expect(r.noop).toBe('+OK');
    expect(r.rset).toMatch(/^\+OK/);
    expect(r.after).toEqual([CASES.length, total]);
  });

  it('a wrong password raises poplib.error_proto with [AUTH]', async () => {
    const r = await poplib<{ error: string }>(
      server.port,
      `
p = poplib.POP3('127.0.0.1', port)
p.user('alice')
try:
    p.pass_('wrong')
    print(json.dumps({'error': ''}))
except poplib.error_proto as e:
    print(json.dumps({'error': e.args[0].decode()}))`,
    );
    expect(r.error).toBe('-ERR [AUTH] Authentication failed');
  });
});

describe('curl', () => {
  it('prints each message byte-exact and lists the sizes', async () => {
    for (let i = 0; i < CASES.length; i++) {
      const r = await curlPop(server.port, String(i + 1), 'alice', 'a secret');
      expect(r.code, r.stderr).toBe(0);
      expect(r.body.equals(CASES[i].served), CASES[i].name).toBe(true);
    }
    const list = await curlPop(server.port, '', 'alice', 'a secret');
    expect(list.body.toString().trim().split('\r\n')).toEqual(CASES.map((c, i) => `${i + 1} ${c.served.length}`));
  });

  it('fails with a login error for a wrong password', async () => {
    const r = await curlPop(server.port, '1', 'alice', 'nope');
    expect(r.code).toBe(67); // CURLE_LOGIN_DENIED
  });
});

describe('fetchmail', () => {
  it('with keep and uidl downloads each message exactly once across runs', async () => {
    const home = await mkdtemp(join(tmpdir(), 'postern-fetchmail-'));
    const out = join(home, 'out');
    await writeFile(join(home, 'mda.sh'), `#!/bin/sh\ncat > "${out}/$(date +%s%N)"\n`);
    await chmod(join(home, 'mda.sh'), 0o755);
    await run('mkdir', ['-p', out]);
    const rc = join(home, 'fetchmailrc');
    await writeFile(
      rc,
      `set no bouncemail\npoll 127.0.0.1 protocol pop3 port ${server.port} uidl auth password\n  user "bob" password "b secret" keep ` +
        `mda "${join(home, 'mda.sh')}"\n  sslproto ''\n`,
    );
    await chmod(rc, 0o600);
    await server.addAccount('bob', 'b secret');
    await server.deliver('bob', 'Subject: one\n\nfirst\n');
    await server.deliver('bob', 'Subject: two\n\nsecond\n');
    const env = { ...process.env, HOME: home, FETCHMAILHOME: home };
    const fetch = () => run('fetchmail', ['-f', rc, '--idfile', join(home, 'ids'), '-v', '--nodetach'], { env, timeoutMs: 30_000 });

    const first = await fetch();
    expect(first.code, first.stderr + first.stdout).toBe(0);
    expect(await readdir(out)).toHaveLength(2);

    const second = await fetch();
    expect(second.code, second.stderr + second.stdout).toBe(1); // PS_NOMAIL
    expect(await readdir(out)).toHaveLength(2);

    await server.deliver('bob', 'Subject: three\n\nthird\n');
    const third = await fetch();
    expect(third.code, third.stderr + third.stdout).toBe(0);
    const files = await readdir(out);
    expect(files).toHaveLength(3);
    const bodies = await Promise.all(files.map((f) => readFile(join(out, f), 'utf8')));
    expect(bodies.filter((b) => b.includes('Subject: three'))).toHaveLength(1);
    // keep: the messages are still on the server
    const stat = await poplib<number[]>(
      server.port,
      `p = poplib.POP3('127.0.0.1', port); p.user('bob'); p.pass_('b secret'); print(json.dumps(list(p.stat())))`,
    );
    expect(stat[0]).toBe(3);
  });
});
