// Operator features from the seeds: bulletins (popper -b), the trace file and statistics records,
// the message maximum and ID headers (OpenVMS), delete and read actions, and /metrics.
import { spawn } from 'node:child_process';
import { mkdir, readdir, readFile, utimes, writeFile } from 'node:fs/promises';
import { parse, stringify } from 'yaml';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { poplib } from '../helpers/clients.js';
import { RawPop } from '../helpers/pop-client.js';
import { BIN, startServer, type TestServer } from '../helpers/server.js';

const maildirOf = (s: TestServer, name: string) => join(s.dataDir, 'accounts/example.org', name, 'Maildir');

async function subjects(port: number, user: string, password: string): Promise<string[]> {
  const c = await RawPop.signIn(port, user, password);
  const n = Number((await c.command('STAT')).split(' ')[1]);
  const out: string[] = [];
  for (let i = 1; i <= n; i++) {
    await c.command(`TOP ${i} 0`);
    out.push((await c.lines()).find((l) => l.startsWith('Subject:'))!.slice(9));
  }
  expect(await c.command('QUIT')).toMatch(/^\+OK/);
  return out;
}

describe('bulletins (popper -b)', () => {
  it('delivers each new bulletin once to existing accounts, none of the old ones to new accounts', async () => {
    const s = await startServer({ config: { pop: { bulletinDir: './bulletins' } } });
    try {
      await s.addAccount('old', 'o pass');
      const post = async (name: string, subject: string) => {
        const file = join(s.dir, name);
        await writeFile(
          file,
          `From admin Mon Jan  1 00:00:00 2026\nFrom: admin@example.org\nTo: all-users\nStatus: RO\nSubject: ${subject}\n\nPlease note.\n`,
        );
        const r = await s.cli(['bulletin', 'post', file]);
        expect(r.code, r.stderr).toBe(0);
        return r.stdout;
      };
      expect(await post('pophost_down_sunday', 'one')).toMatch(/^bulletin 1 posted as .*\/bulletins\/1\.pophost_down_sunday\n$/);
      expect(await subjects(s.port, 'old', 'o pass')).toEqual(['one']);
      await post('b2', 'two');
      expect(await subjects(s.port, 'old', 'o pass')).toEqual(['one', 'two']);
      expect(await subjects(s.port, 'old', 'o pass')).toEqual(['one', 'two']); // once only

      await s.addAccount('new', 'n pass'); // created after bulletins 1 and 2: seeded with 2
      await post('b3', 'three');
      expect(await subjects(s.port, 'new', 'n pass')).toEqual(['three']);
      expect(await subjects(s.port, 'old', 'o pass')).toEqual(['one', 'two', 'three']);
      expect((await readdir(join(s.dir, 'bulletins'))).sort()).toEqual(['1.pophost_down_sunday', '2.b2', '3.b3']);

      // To: rewritten to the user, Status: removed, the mbox From line dropped
      const dir = join(maildirOf(s, 'new'), 'new');
      const [file] = await readdir(dir);
      const text = await readFile(join(dir, file), 'utf8');
      expect(text).toBe('From: admin@example.org\nTo: new@example.org\nSubject: three\n\nPlease note.\n');
    } finally {
      await s.stop();
    }
  });

  it('an account made before bulletins were turned on gets those posted after it was created, never older ones', async () => {
    const s = await startServer();
    try {
      await s.addAccount('early', 'e pass'); // no bulletinDir yet: the account has no mark
      await new Promise((r) => setTimeout(r, 20));
      // an old bulletin brought over from another server, posted long before the account existed
      const dir = join(s.dir, 'bulletins');
      await mkdir(dir);
      await writeFile(join(dir, '1.from_the_old_server'), 'From: admin@example.org\nSubject: old\n\nLong ago.\n');
      await utimes(join(dir, '1.from_the_old_server'), new Date('2020-01-01'), new Date('2020-01-01'));
      // bulletins turned on (SIGHUP), then one posted
      const config = parse(await readFile(s.configFile, 'utf8')) as Record<string, Record<string, unknown>>;
      config.pop = { ...config.pop, bulletinDir: './bulletins' };
      await writeFile(s.configFile, stringify(config));
      const since = s.logs.length;
      s.process.kill('SIGHUP');
      await s.waitForLog((r) => s.logs.indexOf(r) >= since && r.msg === 'reloaded the config and certificates');
      await writeFile(join(s.dir, 'news.eml'), 'From: admin@example.org\nSubject: two\n\nNews.\n');
      expect((await s.cli(['bulletin', 'post', join(s.dir, 'news.eml')])).stdout).toMatch(/^bulletin 2 posted/);
      expect(await subjects(s.port, 'early', 'e pass')).toEqual(['two']);
      await writeFile(join(s.dir, 'more.eml'), 'From: admin@example.org\nSubject: three\n\nMore.\n');
      await s.cli(['bulletin', 'post', join(s.dir, 'more.eml')]);
      expect(await subjects(s.port, 'early', 'e pass')).toEqual(['two', 'three']);
      expect(await subjects(s.port, 'early', 'e pass')).toEqual(['two', 'three']); // once only
    } finally {
      await s.stop();
    }
  });

  it('bulletin post explains a missing bulletinDir', async () => {
    const s = await startServer({ noServe: true });
    try {
      await s.addAccount('someone', 's pass');
      const r = await s.cli(['bulletin', 'post', '/etc/hostname']);
      expect(r.code).toBe(78);
      expect(r.stderr).toMatch(/set pop\.bulletinDir/);
    } finally {
      await s.stop();
    }
  });
});

describe('logs', () => {
  it('records carry ISO 8601 times, and the start record names the config and the data folder', async () => {
    const s = await startServer();
    try {
      const started = s.logs.find((r) => r.msg === 'Postern started')!;
      expect(started.config).toBe(s.configFile);
      expect(started.dataDir).toBe(s.dataDir);
      for (const r of s.logs) expect(r.time).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
    } finally {
      await s.stop();
    }
  });

  it('log.format: text writes one readable line per record', async () => {
    const s = await startServer({ noServe: true, config: { log: { format: 'text' } } });
    const child = spawn(process.execPath, [BIN, '--config', s.configFile, 'serve'], { stdio: ['ignore', 'pipe', 'pipe'] });
    try {
      let out = '';
      child.stdout.on('data', (d) => (out += d));
      const deadline = Date.now() + 15_000;
      while (!out.includes('Postern started') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      expect(out).toMatch(/^\[\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\.\d{3}\] INFO: listening \{"listener":"pop3",/m);
      expect(out).toMatch(/^\[.*\] INFO: Postern started \{"config":".*","dataDir":".*"\}$/m);
    } finally {
      child.kill('SIGKILL');
      await s.stop();
    }
  });

  it('the trace file holds every command and response, never a password or SASL data', async () => {
    const s = await startServer({ config: { log: { level: 'protocol', trace: './trace.log' } } });
    try {
      await s.addAccount('alice', 'sekrit-password');
      await s.deliver('alice', 'Subject: x\n\nbody\n');
      const c = await RawPop.connect(s.port);
      await c.line();
      await c.command('USER alice');
      expect(await c.command('PASS sekrit-password')).toMatch(/^\+OK/);
      await c.command('LIST');
      await c.lines();
      expect(await c.command('RETR 1')).toMatch(/^\+OK/);
      await c.body();
      expect(await c.command('QUIT')).toMatch(/^\+OK/);
      const c2 = await RawPop.connect(s.port);
      await c2.line();
      await c2.command('AUTH PLAIN');
      expect(await c2.command(Buffer.from('\0alice\0sekrit-password').toString('base64'))).toMatch(/^\+OK/);
      c2.close();
      await s.waitForLog((r) => r.msg === 'session end' && r.user === 'alice@example.org' && r.end !== 'quit');
      const trace = await readFile(join(s.dir, 'trace.log'), 'utf8');
      expect(trace).toMatch(/ C: USER alice\n/);
      expect(trace).toMatch(/ C: PASS \[redacted\]\n/);
      expect(trace).toMatch(/ S: \+OK alice@example\.org has 1 messages/);
      expect(trace).toMatch(/ C: RETR 1\n.* S: \+OK 20 octets\n.* S: \[message 1: 20 octets\]\n/);
      expect(trace).toMatch(/ C: AUTH \[redacted\]\n/);
      expect(trace).toMatch(/ C: \[SASL response redacted\]\n/);
      expect(trace).not.toContain('sekrit');
      expect(trace).not.toContain(Buffer.from('\0alice\0sekrit-password').toString('base64'));
      // log.level protocol: commands and first response lines in the log, redacted the same way
      expect(s.logs.some((r) => r.msg === 'command' && r.command === 'PASS [redacted]')).toBe(true);
      expect(s.logs.some((r) => r.msg === 'response' && r.response === '+OK 20 octets')).toBe(true);
      expect(JSON.stringify(s.logs)).not.toContain('sekrit');
    } finally {
      await s.stop();
    }
  });

  it('writes a statistics record at the end of each session with the right counts', async () => {
    const s = await startServer();
    try {
      await s.addAccount('alice', 'a secret');
      for (let i = 0; i < 3; i++) await s.deliver('alice', `Subject: ${i}\n\nbody ${i}\n`);
      const c = await RawPop.signIn(s.port, 'alice', 'a secret');
      expect(await c.command('RETR 1')).toBe('+OK 22 octets');
      await c.body();
      expect(await c.command('RETR 2')).toBe('+OK 22 octets');
      await c.body();
      expect(await c.command('DELE 1')).toMatch(/^\+OK/);
      expect(await c.command('QUIT')).toMatch(/^\+OK/);
      const stats = await s.waitForLog((r) => r.msg === 'session end' && r.end === 'quit');
      expect(stats).toMatchObject({
        tag: 'POP',
        user: 'alice@example.org',
        mailbox: 'alice@example.org/INBOX',
        retrieved: 2,
        retrievedOctets: 44,
        deleted: 1,
        deletedOctets: 22,
        left: 2,
      });
      expect(stats.durationMs).toEqual(expect.any(Number));
    } finally {
      await s.stop();
    }
  });
});

describe('OpenVMS message maximum and ID headers', () => {
  it('pop.messageMaximum shows at most N messages, oldest first', async () => {
    const s = await startServer({ config: { pop: { messageMaximum: 2 } } });
    try {
      await s.addAccount('alice', 'a secret');
      for (const n of ['first', 'second', 'third']) await s.deliver('alice', `Subject: ${n}\n\nx\n`);
      expect(await subjects(s.port, 'alice', 'a secret')).toEqual(['first', 'second']);
      const c = await RawPop.signIn(s.port, 'alice', 'a secret');
      expect(await c.command('DELE 1')).toMatch(/^\+OK/);
      expect(await c.command('QUIT')).toMatch(/^\+OK/);
      expect(await subjects(s.port, 'alice', 'a secret')).toEqual(['second', 'third']);
    } finally {
      await s.stop();
    }
  });

  it('pop.idHeaders adds X-POP3-Server and X-POP3-ID with exact octet counts', async () => {
    const s = await startServer({ config: { pop: { idHeaders: true } } });
    try {
      await s.addAccount('alice', 'a secret');
      await s.deliver('alice', 'Subject: one\n\n.dot line\n');
      await s.deliver('alice', 'Subject: two\r\n\r\nbody\r\n');
      const r = await poplib<{ list: string[]; stat: number[]; retr: [string[], number][]; uidl: string[] }>(
        s.port,
        `
p = poplib.POP3('127.0.0.1', port); p.user('alice'); p.pass_('a secret')
out = {'list': [l.decode() for l in p.list()[1]], 'stat': list(p.stat()), 'uidl': [l.decode() for l in p.uidl()[1]], 'retr': []}
for i in (1, 2):
    resp, lines, octets = p.retr(i)
    out['retr'].append([[l.decode() for l in lines], octets])
print(json.dumps(out))`,
      );
      const sizes = r.list.map((l) => Number(l.split(' ')[1]));
      r.retr.forEach(([lines, octets], i) => {
        expect(octets).toBe(sizes[i]);
        expect(lines[0]).toBe('X-POP3-Server: example.org Postern');
        expect(lines[1]).toBe(`X-POP3-ID: ${r.uidl[i].split(' ')[1]}`);
      });
      expect(r.retr[0][0].slice(2)).toEqual(['Subject: one', '', '.dot line']);
      expect(r.stat).toEqual([2, sizes[0] + sizes[1]]);
      const c = await RawPop.signIn(s.port, 'alice', 'a secret');
      expect(await c.command('TOP 2 0')).toMatch(/^\+OK/);
      expect(await c.lines()).toEqual(['X-POP3-Server: example.org Postern', `X-POP3-ID: ${r.uidl[1].split(' ')[1]}`, 'Subject: two', '']);
      c.close();
    } finally {
      await s.stop();
    }
  });
});

describe('delete and read actions', () => {
  async function deleteFirst(s: TestServer): Promise<void> {
    await s.addAccount('alice', 'a secret');
    await s.deliver('alice', 'Subject: doomed\n\nx\n');
    await s.deliver('alice', 'Subject: kept\n\nx\n');
    const c = await RawPop.signIn(s.port, 'alice', 'a secret');
    expect(await c.command('DELE 1')).toMatch(/^\+OK/);
    expect(await c.command('QUIT')).toBe('+OK Postern signing off (1 messages left)');
  }

  it('expunge (default) removes the file', async () => {
    const s = await startServer();
    try {
      await deleteFirst(s);
      expect(await readdir(join(maildirOf(s, 'alice'), 'new'))).toHaveLength(1);
      expect(await subjects(s.port, 'alice', 'a secret')).toEqual(['kept']);
    } finally {
      await s.stop();
    }
  });

  it('flag sets the Trashed flag: POP hides the message, the file stays for IMAP', async () => {
    const s = await startServer({ config: { pop: { deleteAction: 'flag' } } });
    try {
      await deleteFirst(s);
      const cur = await readdir(join(maildirOf(s, 'alice'), 'cur'));
      expect(cur).toHaveLength(1);
      expect(cur[0]).toMatch(/:2,T$/);
      expect(await subjects(s.port, 'alice', 'a secret')).toEqual(['kept']);
    } finally {
      await s.stop();
    }
  });

  it('move:Trash moves the message into the Trash mailbox, which POP can open', async () => {
    const s = await startServer({ config: { pop: { deleteAction: 'move:Trash' } } });
    try {
      await deleteFirst(s);
      expect(await readdir(join(maildirOf(s, 'alice'), '.Trash', 'new'))).toHaveLength(1);
      expect(await subjects(s.port, 'alice', 'a secret')).toEqual(['kept']);
      expect(await subjects(s.port, 'Trash#alice', 'a secret')).toEqual(['doomed']);
      // deleting inside Trash itself expunges
      const c = await RawPop.signIn(s.port, 'Trash#alice', 'a secret');
      expect(await c.command('DELE 1')).toMatch(/^\+OK/);
      expect(await c.command('QUIT')).toMatch(/^\+OK/);
      expect(await readdir(join(maildirOf(s, 'alice'), '.Trash', 'new'))).toEqual([]);
    } finally {
      await s.stop();
    }
  });

  it('moveReadTo moves messages retrieved but not deleted at QUIT, and nothing on a dropped session', async () => {
    const s = await startServer({ config: { pop: { moveReadTo: 'Read' } } });
    try {
      await s.addAccount('alice', 'a secret');
      for (const n of ['read me', 'leave me', 'delete me']) await s.deliver('alice', `Subject: ${n}\n\nx\n`);
      const dropped = await RawPop.signIn(s.port, 'alice', 'a secret');
      expect(await dropped.command('RETR 1')).toMatch(/^\+OK/);
      await dropped.body();
      dropped.close();
      await s.waitForLog((r) => r.msg === 'session end');
      const c = await RawPop.signIn(s.port, 'alice', 'a secret');
      expect(await c.command('RETR 1')).toMatch(/^\+OK/);
      await c.body();
      expect(await c.command('RETR 3')).toMatch(/^\+OK/);
      await c.body();
      expect(await c.command('DELE 3')).toMatch(/^\+OK/);
      expect(await c.command('QUIT')).toMatch(/^\+OK/);
      expect(await subjects(s.port, 'alice', 'a secret')).toEqual(['leave me']);
      expect(await subjects(s.port, 'Read#alice', 'a secret')).toEqual(['read me']);
      const read = await readdir(join(maildirOf(s, 'alice'), '.Read', 'cur'));
      expect(read[0]).toMatch(/:2,S$/); // the Seen flag moved with it
    } finally {
      await s.stop();
    }
  });

  it('rejects a malformed delete action naming the key', async () => {
    const s = await startServer({ noServe: true });
    try {
      await writeFile(s.configFile, 'pop:\n  deleteAction: shred\n');
      const r = await s.cli(['account', 'list']);
      expect(r.code).toBe(78);
      expect(r.stderr).toMatch(/pop\.deleteAction: expected expunge, flag, or move:FOLDER/);
    } finally {
      await s.stop();
    }
  });
});

describe('metrics', () => {
  it('serves Prometheus text at /metrics on loopback, and the counters move with a session', async () => {
    const s = await startServer({ config: { metrics: { port: 0 } } });
    try {
      await s.addAccount('alice', 'a secret');
      await s.deliver('alice', 'Subject: x\n\nbody\n');
      const { port, address } = await s.waitForLog((r) => r.msg === 'metrics at /metrics');
      expect(address).toBe('127.0.0.1');
      const get = async (path = '/metrics') => {
        const res = await fetch(`http://127.0.0.1:${port}${path}`);
        return { status: res.status, text: await res.text() };
      };
      const value = (text: string, series: string) =>
        Number(new RegExp(`^${series.replace(/[{}"]/g, (c) => `\\${c}`)} (\\S+)$`, 'm').exec(text)?.[1] ?? 0);
      const before = (await get()).text;
      const c = await RawPop.signIn(s.port, 'alice', 'a secret');
      expect(await c.command('RETR 1')).toMatch(/^\+OK/);
      await c.body();
      const during = (await get()).text;
      expect(value(during, 'postern_pop_sessions_open')).toBe(1);
      expect(await c.command('QUIT')).toMatch(/^\+OK/);
      const bad = await RawPop.connect(s.port);
      await bad.line();
      await bad.command('USER alice');
      await bad.command('PASS wrong');
      bad.close();
      await s.waitForLog((r) => r.msg === 'sign-in refused');
      const after = (await get()).text;
      expect(value(after, 'postern_connections_total{listener="pop3"}') - value(before, 'postern_connections_total{listener="pop3"}')).toBe(
        2,
      );
      expect(value(after, 'postern_sign_ins_total{result="ok",mechanism="USER"}')).toBe(1);
      expect(value(after, 'postern_sign_ins_total{result="bad-password",mechanism="USER"}')).toBe(1);
      expect(value(after, 'postern_pop_commands_total{command="RETR"}')).toBe(1);
      expect(value(after, 'postern_pop_message_octets_sent_total')).toBe(20);
      expect(value(after, 'postern_pop_sessions_open')).toBeLessThanOrEqual(1);
      expect(after).toMatch(/^postern_process_cpu_seconds_total /m);
      expect((await get('/other')).status).toBe(404);
    } finally {
      await s.stop();
    }
  });
});
