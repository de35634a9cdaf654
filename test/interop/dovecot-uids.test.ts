// Dovecot and Postern serve one Maildir tree at the same time and agree on every UID: the UIDLs Dovecot
// POP3 gives equal Postern's, Dovecot IMAP's UID FETCH and Postern's store agree on UIDs and flags,
// deliveries by dovecot-lda and `postern deliver` at the same time get unique UIDs both agree on, a
// keyword Dovecot set keeps its letter when Postern renames the file, and fetchmail (keep + uidl)
// moving from Dovecot POP3 to Postern downloads nothing again.
import { chmod, mkdtemp, readdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MaildirStore } from '../../store/maildir/store.js';
import type { AccountAddress } from '../../accounts/names.js';
import { poplib, run } from '../helpers/clients.js';
import { type Dovecot, shareWithDovecot, startDovecot } from '../helpers/dovecot.js';
import { RawPop } from '../helpers/pop-client.js';
import { startServer, type TestServer } from '../helpers/server.js';

const DOMAIN = 'example.org';
const PASSWORD = 'a secret';
let server: TestServer;
let dovecot: Dovecot;
let accounts: string;

const message = (subject: string) => `From: sender@example.org\nTo: someone@example.org\nSubject: ${subject}\n\nbody of ${subject}\n`;

/** Postern's own view of a mailbox, straight from its store on the same tree: subject -> [uid, flags]. */
async function posternView(user: string): Promise<Map<string, [number, string[]]>> {
  const store = new MaildirStore(
    { accountDir: (a: AccountAddress) => join(accounts, a.name), maildir: (a: AccountAddress) => join(accounts, a.name, 'Maildir') },
    { mainDomain: DOMAIN },
  );
  const view = await store.open({ name: user, domain: DOMAIN }, 'INBOX');
  const out = new Map<string, [number, string[]]>();
  for (const m of view.messages) {
    const subject = /^Subject: (.*)$/m.exec((await view.readHeader(m.uid)).toString())?.[1] ?? '';
    out.set(subject, [m.uid, [...m.flags].sort()]);
  }
  view.close();
  return out;
}

/** Dovecot IMAP's UID FETCH 1:* (UID FLAGS): subject -> [uid, flags without \Recent]. */
async function dovecotView(user: string): Promise<Map<string, [number, string[]]>> {
  const rows = await dovecot.imap<[number, string[], string][]>(
    user,
    PASSWORD,
    `check(M.select('INBOX'))
out = []
for item in check(M.uid('FETCH', '1:*', '(UID FLAGS BODY.PEEK[HEADER.FIELDS (SUBJECT)])')):
    if not isinstance(item, tuple):
        continue
    head = item[0].decode()
    uid = int(re.search(r'UID (\\d+)', head).group(1))
    flags = [f for f in re.search(r'FLAGS \\(([^)]*)\\)', head).group(1).split() if f != '\\\\Recent']
    out.append([uid, sorted(flags), item[1].decode().strip().removeprefix('Subject: ')])
print(json.dumps(out))`,
  );
  return new Map(rows.map(([uid, flags, subject]) => [subject, [uid, flags]]));
}

/** UIDL lines from a POP3 server, with python3 poplib. */
async function uidls(port: number, user: string): Promise<string[]> {
  return poplib<string[]>(
    port,
    `p = poplib.POP3('127.0.0.1', port)\np.user(${JSON.stringify(user)})\np.pass_(${JSON.stringify(PASSWORD)})\n` +
      `print(json.dumps([l.decode() for l in p.uidl()[1]]))\np.quit()`,
  );
}

beforeAll(async () => {
  server = await startServer();
  accounts = join(server.dataDir, 'accounts', DOMAIN);
  const users = ['ann', 'ben', 'cat', 'dan'];
  for (const u of users) await server.addAccount(u, PASSWORD);
  for (const u of users) await shareWithDovecot(server.dir, join(accounts, u));
  dovecot = await startDovecot(
    users.map((name) => ({ name, password: PASSWORD })),
    accounts,
  );
}, 60_000);
afterAll(async () => {
  await dovecot?.stop();
  await server?.stop();
});

describe('one tree, two servers, the same UIDs', () => {
  it('POP3 UIDLs from Dovecot and from Postern are the same, for mail each of them delivered', async () => {
    for (let i = 0; i < 4; i++) {
      expect(await dovecot.lda('ann', message(`lda ${i}`))).toBe(0);
      await server.deliver('ann', message(`postern ${i}`));
    }
    const fromDovecot = await uidls(dovecot.pop3Port, 'ann');
    const fromPostern = await uidls(server.port, 'ann');
    expect(fromDovecot).toHaveLength(8);
    expect(fromPostern).toEqual(fromDovecot);
    // Dovecot's default format: UID and UIDVALIDITY as 8 hex digits each
    for (const line of fromPostern) expect(line).toMatch(/^\d+ [0-9a-f]{16}$/);
    // and IMAP agrees on every UID and flag
    expect(await posternView('ann')).toEqual(await dovecotView('ann'));
  });

  it('a few hundred deliveries by dovecot-lda and postern deliver at the same time get unique UIDs both agree on', async () => {
    const jobs: (() => Promise<unknown>)[] = [];
    for (let i = 0; i < 120; i++) {
      jobs.push(() => dovecot.lda('ben', message(`lda ${i}`)).then((code) => expect(code).toBe(0)));
      jobs.push(() => server.deliver('ben', message(`postern ${i}`)));
    }
    let next = 0;
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        while (next < jobs.length) await jobs[next++]();
      }),
    );
    const theirs = await dovecotView('ben');
    const ours = await posternView('ben');
    expect(theirs.size).toBe(240);
    expect(ours).toEqual(theirs);
    expect(new Set([...ours.values()].map(([uid]) => uid)).size).toBe(240);
    expect(await uidls(server.port, 'ben')).toEqual(await uidls(dovecot.pop3Port, 'ben'));
    const log = await dovecot.log();
    expect(log.split('\n').filter((l) => /\b(Error|Panic|Fatal):/.test(l))).toEqual([]);
  }, 120_000);

  it('a keyword Dovecot set keeps its letter when Postern renames the file (RETR sets Seen)', async () => {
    await server.deliver('cat', message('keep my keywords'));
    await dovecot.imap(
      'cat',
      PASSWORD,
      `check(M.select('INBOX'))\ncheck(M.store('1', '+FLAGS', '($Label1 Work \\\\Flagged)'))\nprint(json.dumps('ok'))`,
    );
    const before = (await readdir(join(accounts, 'cat/Maildir/cur')))[0];
    expect(before).toMatch(/:2,Fab$/);
    const c = await RawPop.signIn(server.port, 'cat', PASSWORD);
    expect(await c.command('RETR 1')).toMatch(/^\+OK/);
    await c.body();
    expect(await c.command('QUIT')).toMatch(/^\+OK/);
    const after = (await readdir(join(accounts, 'cat/Maildir/cur')))[0];
    expect(after).toBe(before.replace(/:2,Fab$/, ':2,FSab'));
    expect((await dovecotView('cat')).get('keep my keywords')).toEqual([1, ['$Label1', 'Work', '\\Flagged', '\\Seen']]);
    expect((await posternView('cat')).get('keep my keywords')).toEqual([1, ['$Label1', 'Work', '\\Flagged', '\\Seen']]);
  });

  it("mailboxes, their UIDVALIDITY and subscriptions are the same in both: names in modified UTF-7, Dovecot's formats", async () => {
    const store = new MaildirStore(
      { accountDir: (a: AccountAddress) => join(accounts, a.name), maildir: (a: AccountAddress) => join(accounts, a.name, 'Maildir') },
      { mainDomain: DOMAIN },
    );
    const ann = { name: 'ann', domain: DOMAIN };
    await store.createMailbox(ann, 'Archive/2024');
    await store.createMailbox(ann, 'Entwürfe');
    await store.subscribe(ann, 'Archive/2024');
    await store.subscribe(ann, 'Entwürfe');
    await shareWithDovecot(server.dir, join(accounts, 'ann'));
    const seen = await dovecot.imap<{ lsub: string[]; list: string[]; validity: Record<string, number> }>(
      'ann',
      PASSWORD,
      `check(M.create('Work'))
check(M.subscribe('Work'))
lsub = sorted(l.decode().rsplit(' ', 1)[1].strip('"') for l in check(M.lsub()))
names = sorted(l.decode().rsplit(' ', 1)[1].strip('"') for l in check(M.list()))
validity = {}
for box in ['INBOX', 'Archive/2024', '"Entw&APw-rfe"']:
    status = check(M.status(box, '(UIDVALIDITY)'))[0].decode()
    validity[box.strip('"')] = int(re.search(r'UIDVALIDITY (\\d+)', status).group(1))
print(json.dumps({'lsub': lsub, 'list': names, 'validity': validity}))`,
    );
    // Dovecot (IMAP4rev1: modified UTF-7 names) lists what Postern made and subscribed
    expect(seen.list).toEqual(expect.arrayContaining(['Archive', 'Archive/2024', 'Entw&APw-rfe', 'INBOX']));
    expect(seen.lsub).toEqual(expect.arrayContaining(['Archive/2024', 'Entw&APw-rfe']));
    // and Postern sees Dovecot's subscription
    expect(await store.subscriptions(ann)).toEqual(['Archive/2024', 'Entwürfe', 'Work']);
    for (const [mailbox, imapName] of [
      ['INBOX', 'INBOX'],
      ['Archive/2024', 'Archive/2024'],
      ['Entwürfe', 'Entw&APw-rfe'],
    ]) {
      const view = await store.open(ann, mailbox);
      expect(view.uidValidity, mailbox).toBe(seen.validity[imapName]);
      view.close();
    }
  });

  it('fetchmail (keep, uidl) moving from Dovecot POP3 to Postern downloads nothing twice', async () => {
    for (let i = 0; i < 5; i++) expect(await dovecot.lda('dan', message(`old ${i}`))).toBe(0);
    const home = await mkdtemp(join(tmpdir(), 'postern-move-'));
    const out = join(home, 'out');
    await run('mkdir', ['-p', out]);
    await writeFile(join(home, 'mda.sh'), `#!/bin/sh\ncat > "${out}/$(date +%s%N)"\n`);
    await chmod(join(home, 'mda.sh'), 0o755);
    const rc = join(home, 'fetchmailrc');
    const env = { ...process.env, HOME: home, FETCHMAILHOME: home };
    const fetchFrom = async (port: number) => {
      await writeFile(
        rc,
        `set no bouncemail\npoll 127.0.0.1 protocol pop3 port ${port} uidl auth password\n  user "dan" password "${PASSWORD}" keep mda ` +
          `"${join(home, 'mda.sh')}"\n  sslproto ''\n`,
      );
      await chmod(rc, 0o600);
      return run('fetchmail', ['-f', rc, '--idfile', join(home, 'ids'), '-v', '--nodetach'], { env, timeoutMs: 30_000 });
    };
    const first = await fetchFrom(dovecot.pop3Port);
    expect(first.code, first.stdout + first.stderr).toBe(0);
    expect(await readdir(out)).toHaveLength(5);
    // the same mailbox, now served by Postern: nothing new
    const second = await fetchFrom(server.port);
    expect(second.code, second.stdout + second.stderr).toBe(1); // PS_NOMAIL
    expect(await readdir(out)).toHaveLength(5);
    // a new message is fetched, once
    await server.deliver('dan', message('new after the move'));
    const third = await fetchFrom(server.port);
    expect(third.code, third.stdout + third.stderr).toBe(0);
    expect(await readdir(out)).toHaveLength(6);
  });
});
