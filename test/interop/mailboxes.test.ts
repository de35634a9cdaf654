// Addressing mailboxes from a POP client: every login-name form, Direct Mailbox Addressing through
// routes, rights from dovecot-acl files, sessions racing on one mailbox, and login names that try to
// escape the account tree.
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { poplib } from '../helpers/clients.js';
import { RawPop } from '../helpers/pop-client.js';
import { startServer, type TestServer } from '../helpers/server.js';

let server: TestServer;
const ok = async (args: string[], input?: string) => {
  const r = await server.cli(args, input);
  expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(0);
  return r.stdout;
};
const msg = (subject: string, extra = '') => `${extra}Subject: ${subject}\n\nbody of ${subject}\n`;
const maildir = (domain: string, name: string) => join(server.dataDir, 'accounts', domain, name, 'Maildir');

beforeAll(async () => {
  server = await startServer({ config: { domains: ['client1.com'] } });
  await server.addAccount('jsmith', 'j pass');
  await server.addAccount('jsmith@client1.com', 'jc pass');
  await server.addAccount('boss', 'b pass');
  await server.addAccount('carol', 'c pass');
  await server.addAccount('cl1@client1.com', 'cl1 pass');
  await server.deliver('jsmith', msg('inbox 1'));
  await server.deliver('jsmith', msg('inbox 2'));
  await ok(['mailbox', 'create', 'jsmith', 'private']);
  await ok(['deliver', 'jsmith', '--mailbox', 'private'], msg('private 1'));
  await ok(['mailbox', 'create', 'jsmith@client1.com', 'lists/info']);
  await ok(['deliver', 'jsmith@client1.com', '--mailbox', 'lists/info'], msg('info 1'));
  await ok(['deliver', 'jsmith@client1.com', '--mailbox', 'lists/info'], msg('info 2'));
  await ok(['deliver', 'jsmith@client1.com', '--mailbox', 'lists/info'], msg('info 3'));
  await ok(['mailbox', 'create', 'public', 'announces']);
  await ok(['deliver', 'public', '--mailbox', 'announces'], msg('announce 1'));
  await ok(['mailbox', 'acl', 'public', 'announces', 'anyone', 'lr']);
  for (let i = 1; i <= 4; i++) await server.deliver('boss', msg(`boss ${i}`));
  await ok(['mailbox', 'acl', 'boss', 'INBOX', 'jsmith', 'lrs']);
});
afterAll(async () => {
  await server.stop();
});

describe('login names through python3 poplib', () => {
  it("opens the mailbox each form names, with ADDRESS's own password", async () => {
    const cases: [string, string, number][] = [
      ['jsmith', 'j pass', 2],
      ['jsmith@example.org', 'j pass', 2],
      ['private#jsmith', 'j pass', 1],
      ['lists/info#jsmith@client1.com', 'jc pass', 3],
      ['~public/announces#jsmith', 'j pass', 1],
      ['~public/announces#carol', 'c pass', 1],
      ['~boss/INBOX#jsmith', 'j pass', 4],
      ['~boss@example.org/INBOX#jsmith', 'j pass', 4],
    ];
    const results = await poplib<[string, number | string][]>(
      server.port,
      `
cases = ${JSON.stringify(cases)}
out = []
for login, password, _ in cases:
    p = poplib.POP3('127.0.0.1', port)
    p.user(login)
    try:
        p.pass_(password)
        out.append([login, p.stat()[0]])
        p.quit()
    except poplib.error_proto as e:
        out.append([login, e.args[0].decode()])
print(json.dumps(out))`,
    );
    expect(results).toEqual(cases.map(([login, , n]) => [login, n]));
  });

  it('answers a missing mailbox and a forbidden one the same way, after the password', async () => {
    const answers: string[] = [];
    for (const [login, password] of [
      ['nosuch#jsmith', 'j pass'],
      ['~boss/INBOX#carol', 'c pass'],
      ['~boss/nosuch#jsmith', 'j pass'],
      ['~nobody/INBOX#jsmith', 'j pass'],
      ['~public/nosuch#jsmith', 'j pass'],
    ]) {
      const c = await RawPop.connect(server.port);
      await c.line();
      await c.command(`USER ${login}`);
      answers.push(await c.command(`PASS ${password}`));
      c.close();
    }
    expect(new Set(answers)).toEqual(new Set(['-ERR [SYS/PERM] No such mailbox, or no right to read it']));
    // with a wrong password nothing about the mailbox is revealed
    const c = await RawPop.connect(server.port);
    await c.line();
    await c.command('USER ~boss/INBOX#carol');
    expect(await c.command('PASS wrong')).toBe('-ERR [AUTH] Authentication failed');
    c.close();
  });

  it(
    'mailbox rename moves a mailbox and those below it; mailbox delete removes one (keeping those below it); both refuse what cannot ' +
      'be done',
    async () => {
      expect(await ok(['mailbox', 'create', 'jsmith', 'old/inner'])).toMatch(/^mailbox old\/inner created/);
      await server.cli(['deliver', 'jsmith', '--mailbox', 'old/inner'], 'Subject: inside\n\nx\n');
      expect(await ok(['mailbox', 'rename', 'jsmith', 'old', 'new'])).toMatch(/^mailbox old of jsmith@example.org renamed to new/);
      expect(await ok(['mailbox', 'list', 'jsmith'])).toContain('new\nnew/inner\n');
      const c = await RawPop.signIn(server.port, 'new/inner#jsmith', 'j pass');
      expect(await c.command('STAT')).toMatch(/^\+OK 1 /);
      expect(await c.command('QUIT')).toMatch(/^\+OK/);
      // the mailboxes below one deleted stay (RFC 9051 section 6.3.4); it is then a level above them only
      expect(await ok(['mailbox', 'delete', 'jsmith', 'new'])).toMatch(/^mailbox new of jsmith@example.org deleted/);
      expect(await ok(['mailbox', 'list', 'jsmith'])).toMatch(/^INBOX\nnew\/inner\n/); // "new" is no mailbox now
      expect((await server.cli(['mailbox', 'delete', 'jsmith', 'new'])).stderr).toMatch(/there is no mailbox new/);
      expect(await ok(['mailbox', 'delete', 'jsmith', 'new/inner'])).toMatch(/^mailbox new\/inner of jsmith@example.org deleted/);
      const inbox = await server.cli(['mailbox', 'delete', 'jsmith', 'INBOX']);
      expect(inbox.code).toBe(1);
      expect(inbox.stderr).toMatch(/INBOX cannot be deleted/);
      expect((await server.cli(['mailbox', 'rename', 'jsmith', 'nothing', 'x'])).stderr).toMatch(/there is no mailbox nothing/);
    },
  );

  it('mailbox list shows the Maildir++ folders as nested names', async () => {
    // the level above is made too (RFC 9051 6.3.4)
    expect(await ok(['mailbox', 'list', 'jsmith@client1.com'])).toBe('INBOX\nlists\nlists/info\n');
    expect(existsSync(join(maildir('client1.com', 'jsmith'), '.lists.info', 'maildirfolder'))).toBe(true);
  });
});

describe('rights (dovecot-acl)', () => {
  it('a grantee with lrs reads and sets Seen but may not delete', async () => {
    const c = await RawPop.signIn(server.port, '~boss/INBOX#jsmith', 'j pass');
    expect(await c.command('RETR 1')).toMatch(/^\+OK/);
    await c.body();
    expect(await c.command('DELE 1')).toBe('-ERR [SYS/PERM] You may not delete messages in this mailbox');
    expect(await c.command('QUIT')).toMatch(/^\+OK/);
    const cur = await readdir(join(maildir('example.org', 'boss'), 'cur'));
    expect(cur.filter((n) => n.endsWith(':2,S'))).toHaveLength(1);
    expect(await readFile(join(maildir('example.org', 'boss'), 'dovecot-acl'), 'utf8')).toBe(
      'owner lrwstipekxa\nuser=jsmith@example.org lrs\n',
    );
  });

  it('"anyone lr" lets every account read a public mailbox without changing its flags', async () => {
    const c = await RawPop.signIn(server.port, '~public/announces#carol', 'c pass');
    expect(await c.command('RETR 1')).toMatch(/^\+OK/);
    await c.body();
    expect(await c.command('DELE 1')).toMatch(/^-ERR \[SYS\/PERM\]/);
    expect(await c.command('QUIT')).toMatch(/^\+OK/);
    expect(await readdir(join(maildir('example.org', 'public'), '.announces', 'cur'))).toEqual([]);
  });

  it("with t granted, DELE works and QUIT removes the owner's message; the owner always may", async () => {
    expect(await ok(['mailbox', 'acl', 'boss', 'INBOX', 'carol', 'lrst'])).toContain('user=carol@example.org lrst');
    const c = await RawPop.signIn(server.port, '~boss/INBOX#carol', 'c pass');
    expect(await c.command('DELE 4')).toBe('+OK Message 4 deleted');
    expect(await c.command('QUIT')).toBe('+OK Postern signing off (3 messages left)');
    const owner = await RawPop.signIn(server.port, 'boss', 'b pass');
    expect(await owner.command('STAT')).toMatch(/^\+OK 3 /);
    expect(await owner.command('DELE 3')).toMatch(/^\+OK/);
    expect(await owner.command('QUIT')).toBe('+OK Postern signing off (2 messages left)');
    expect(await ok(['mailbox', 'acl', 'boss', 'INBOX', 'carol', 'none'])).not.toContain('carol');
  });

  it('refuses bad rights and unknown grantees', async () => {
    expect((await server.cli(['mailbox', 'acl', 'boss', 'INBOX', 'carol', 'lrz'])).code).toBe(64);
    expect((await server.cli(['mailbox', 'acl', 'boss', 'INBOX', 'nobody', 'lr'])).code).toBe(1);
    expect((await server.cli(['mailbox', 'acl', 'boss', 'nosuch', 'carol', 'lr'])).code).toBe(1);
  });
});

describe('Direct Mailbox Addressing', () => {
  it('a routed address sees only mail addressed to it; the account itself sees everything', async () => {
    expect(await ok(['route', 'add', 'abcdef@client1.com', 'cl1@client1.com'])).toBe(
      `route abcdef@client1.com -> cl1@client1.com added in the data folder ${server.dataDir}\n`,
    );
    expect(await ok(['route', 'add', '*@client1.com', 'cl1@client1.com'])).toBe(
      `route *@client1.com -> cl1@client1.com added in the data folder ${server.dataDir}\n`,
    );
    expect(await ok(['route', 'list'])).toBe('*@client1.com -> cl1@client1.com\nabcdef@client1.com -> cl1@client1.com\n');
    await ok(['deliver', 'abcdef@client1.com'], msg('for abcdef'));
    await ok(['deliver', 'xyz@client1.com'], msg('for xyz'));
    await ok(['deliver', 'xyz@client1.com'], msg('for xyz again'));
    await ok(['deliver', 'cl1@client1.com'], msg('for the account'));
    // an account of that name wins over the domain-wide route
    await ok(['deliver', 'jsmith@client1.com'], msg('jsmith direct'));

    const stat = async (login: string, password: string) => {
      const c = await RawPop.signIn(server.port, login, password);
      const r = await c.command('STAT');
      const list: string[] = [];
      const n = Number(r.split(' ')[1]);
      for (let i = 1; i <= n; i++) {
        await c.command(`TOP ${i} 0`);
        list.push((await c.lines()).find((l) => l.startsWith('Subject:'))!);
      }
      c.close();
      return list;
    };
    expect(await stat('abcdef@client1.com', 'cl1 pass')).toEqual(['Subject: for abcdef']);
    expect(await stat('xyz@client1.com', 'cl1 pass')).toEqual(['Subject: for xyz', 'Subject: for xyz again']);
    expect(await stat('cl1@client1.com', 'cl1 pass')).toHaveLength(4);
    expect(await stat('jsmith@client1.com', 'jc pass')).toEqual(['Subject: jsmith direct']);
    // the stored message carries the header that did it
    const files = await readdir(join(maildir('client1.com', 'cl1'), 'new'));
    const texts = await Promise.all(files.map((f) => readFile(join(maildir('client1.com', 'cl1'), 'new', f), 'utf8')));
    expect(texts.filter((t) => t.startsWith('X-Real-To: abcdef@client1.com\nSubject: for abcdef'))).toHaveLength(1);
  });

  it("a routed login needs the routed account's password", async () => {
    const c = await RawPop.connect(server.port);
    await c.line();
    await c.command('USER abcdef@client1.com');
    expect(await c.command('PASS jc pass')).toBe('-ERR [AUTH] Authentication failed');
    c.close();
  });
});

describe('non-locking shared mailboxes', () => {
  it('sessions racing on DELE, RETR and QUIT all finish, and a message already gone counts as deleted', async () => {
    await server.addAccount('race', 'r pass');
    for (let i = 0; i < 6; i++) await server.deliver('race', msg(`race ${i}`));
    const a = await RawPop.signIn(server.port, 'race', 'r pass');
    const b = await RawPop.signIn(server.port, 'race', 'r pass');
    expect(await a.command('DELE 1')).toMatch(/^\+OK/);
    expect(await b.command('DELE 1')).toMatch(/^\+OK/);
    expect(await b.command('DELE 2')).toMatch(/^\+OK/);
    expect(await a.command('QUIT')).toBe('+OK Postern signing off (5 messages left)');
    // b's message 1 is gone already: RETR says so, QUIT still succeeds and counts it
    expect(await b.command('RETR 1')).toBe('-ERR Message 1 is already deleted');
    expect(await b.command('RETR 3')).toMatch(/^\+OK/);
    await b.body();
    expect(await b.command('QUIT')).toBe('+OK Postern signing off (4 messages left)');

    // five sessions at once retrieving everything and deleting it
    const sessions = await Promise.all(Array.from({ length: 5 }, () => RawPop.signIn(server.port, 'race', 'r pass')));
    const results = await Promise.all(
      sessions.map(async (s) => {
        const n = Number((await s.command('STAT')).split(' ')[1]);
        const answers: string[] = [];
        for (let i = 1; i <= n; i++) {
          const r = await s.command(`RETR ${i}`);
          if (r.startsWith('+OK')) await s.body();
          answers.push(r.startsWith('+OK') ? 'ok' : r);
          answers.push((await s.command(`DELE ${i}`)).slice(0, 3));
        }
        answers.push(await s.command('QUIT'));
        return answers;
      }),
    );
    for (const r of results) {
      expect(r.at(-1)).toMatch(/^\+OK Postern signing off/);
      for (const a of r.slice(0, -1)) expect(a).toMatch(/^(ok|\+OK|-ERR Message \d+ was deleted by another session)$/);
    }
    const left = await RawPop.signIn(server.port, 'race', 'r pass');
    expect(await left.command('STAT')).toBe('+OK 0 0');
    left.close();
    expect(server.logs.filter((r) => r.level >= 50)).toEqual([]);
  });
});

describe('containment', () => {
  async function tree(dir: string): Promise<string[]> {
    const out: string[] = [];
    for (const e of await readdir(dir, { withFileTypes: true, recursive: true })) out.push(join(e.parentPath, e.name));
    return out.filter((p) => !p.endsWith('.lock')).sort();
  }

  it('no login name reaches outside the account tree or creates anything', async () => {
    const attempts = [
      '..#jsmith',
      '.#jsmith',
      '../boss#jsmith',
      '../../etc#jsmith',
      '../../../../tmp/postern-escape#jsmith',
      '/etc#jsmith',
      '/tmp/postern-escape#jsmith',
      'a//b#jsmith',
      'a/../../boss#jsmith',
      'lists/../..#jsmith',
      '/#jsmith',
      'a/#jsmith',
      '/a#jsmith',
      'a\\b#jsmith',
      '..\\..\\boss#jsmith',
      'a.b#jsmith',
      '.hidden#jsmith',
      'INBOX/..#jsmith',
      '~../INBOX#jsmith',
      '~../../etc/INBOX#jsmith',
      '~/INBOX#jsmith',
      '~boss/../carol/INBOX#jsmith',
      '~boss/..#jsmith',
      '~boss#jsmith',
      '~./INBOX#jsmith',
      '~public/../../boss#jsmith',
      '#jsmith',
      'private#',
      'private#../boss',
      'private#jsmith/../boss',
      `${'x'.repeat(300)}#jsmith`,
      `${'a/'.repeat(60)}a#jsmith`,
      'tab\there#jsmith',
      'cr\rhere#jsmith',
      'esc\x1bhere#jsmith',
      'del\x7fhere#jsmith',
      'nul\x00here#jsmith',
      '~boss\x00/INBOX#jsmith',
      'private#jsmith\x00',
      'private#j\x01smith',
    ];
    expect(attempts.length).toBeGreaterThanOrEqual(30);
    const before = await tree(server.dataDir);
    for (const login of attempts) {
      const c = await RawPop.connect(server.port);
      await c.line();
      const user = await c.command(`USER ${login}`);
      const answer = user.startsWith('+OK') ? await c.command('PASS j pass') : user;
      expect(answer, JSON.stringify(login)).toMatch(/^-ERR/);
      c.close();
    }
    expect(await tree(server.dataDir)).toEqual(before);
    expect(existsSync('/tmp/postern-escape')).toBe(false);
  });

  it('mailbox create refuses names that would escape', async () => {
    for (const name of ['..', '../x', '/abs', 'a//b', 'a\\b', 'a.b', 'x\ty']) {
      const r = await server.cli(['mailbox', 'create', 'jsmith', name]);
      expect(r.code, name).toBe(64);
    }
  });
});
