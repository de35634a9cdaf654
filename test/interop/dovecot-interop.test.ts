// Postern and a real Dovecot IMAP server on the same Maildir++ tree, as the README promises: RETR sets
// the Seen flag IMAP shows, TOP changes nothing, flags Dovecot sets survive POP, UIDLs stay stable when
// Dovecot renames files, and a message POP deletes is gone from IMAP too.
//
// Dovecot runs from test/helpers/dovecot.ts.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Dovecot, shareWithDovecot, startDovecot } from '../helpers/dovecot.js';
import { RawPop } from '../helpers/pop-client.js';
import { startServer, type TestServer } from '../helpers/server.js';

const DOMAIN = 'example.org'; // the test server's mainDomain
const PASSWORD = 'a secret';
const SUBJECTS = ['first message', 'second message', 'third message'];

interface ImapMessage {
  seq: number;
  flags: string[];
  size: number;
  subject: string;
}

let server: TestServer;
let dovecot: Dovecot | null = null;
/** Why Dovecot could not be started: every test fails with it (never skipped). */
let dovecotError: Error | null = null;

const MESSAGES = `def messages():
    out = []
    for item in check(M.fetch('1:*', '(FLAGS RFC822.SIZE BODY.PEEK[HEADER.FIELDS (SUBJECT)])')):
        if not isinstance(item, tuple):
            continue
        head = item[0].decode()
        out.append({
            'seq': int(head.split(' ', 1)[0]),
            'flags': re.search(r'FLAGS \\(([^)]*)\\)', head).group(1).split(),
            'size': int(re.search(r'RFC822\\.SIZE (\\d+)', head).group(1)),
            'subject': item[1].decode().strip().removeprefix('Subject: '),
        })
    return out
`;

/** Runs a python3 imaplib script, signed in as `user` (`M`, `messages()`); its last output line is JSON. */
function imap<T>(user: string, body: string): Promise<T> {
  return dovecot!.imap<T>(user, PASSWORD, `${MESSAGES}${body}`);
}

async function dovecotLogText(): Promise<string> {
  return dovecot ? dovecot.log() : '';
}

/** EXAMINE (read-only, so IMAP changes no flag) and FETCH every message's flags, size and subject. */
function examine(user = 'alice'): Promise<ImapMessage[]> {
  return imap<ImapMessage[]>(
    user,
    `count = int(check(M.select('INBOX', readonly=True))[0])\nprint(json.dumps(messages() if count else []))`,
  );
}

function bySubject(messages: ImapMessage[], subject: string): ImapMessage {
  const found = messages.find((m) => m.subject === subject);
  if (!found) throw new Error(`no IMAP message with subject "${subject}" in ${JSON.stringify(messages)}`);
  return found;
}

/** The Subject of POP message `n`, from TOP n 0 (which never changes flags). */
async function popSubject(c: RawPop, n: number): Promise<string> {
  expect(await c.command(`TOP ${n} 0`)).toMatch(/^\+OK/);
  const header = (await c.lines()).find((l) => l.startsWith('Subject: '));
  return header?.slice('Subject: '.length) ?? '';
}

beforeAll(async () => {
  server = await startServer();
  await server.addAccount('alice', PASSWORD);
  for (const subject of SUBJECTS) {
    await server.deliver(
      'alice',
      `From: bob@example.org\nTo: alice@example.org\nSubject: ${subject}\n\nHello Alice,\nthis is the ${subject}.\n`,
    );
  }
  // bob's INBOX holds files with the names Postern's own delivery writes (SECS.M<usec>P<pid>Q<n>.HOST,
  // usec not zero-padded), two of them in the same second, 99000 and 100000 microseconds in.
  await server.addAccount('bob', PASSWORD);
  const bobNew = join(server.dataDir, 'accounts', DOMAIN, 'bob', 'Maildir', 'new');
  for (const [name, subject] of [
    ['1700000000.M100000P4242Q2.testhost', 'newer'],
    ['1700000000.M99000P4242Q1.testhost', 'older'],
  ]) {
    await writeFile(join(bobNew, name), `Subject: ${subject}\n\nbody\n`, { mode: 0o600 });
  }
  const accounts = join(server.dataDir, 'accounts', DOMAIN);
  for (const user of ['alice', 'bob']) await shareWithDovecot(server.dir, join(accounts, user));
  dovecot = await startDovecot(
    [
      { name: 'alice', password: PASSWORD },
      { name: 'bob', password: PASSWORD },
    ],
    accounts,
  ).catch((err: Error) => {
    dovecotError = err;
    return null;
  });
}, 60_000);

afterAll(async () => {
  await dovecot?.stop();
  if (server) await server.stop();
});

/** A test that needs Dovecot: fails with the reason when Dovecot could not be started. */
function interop(name: string, fn: () => Promise<void>): void {
  it(name, async () => {
    if (dovecotError) throw dovecotError;
    await fn();
  });
}

describe('Postern and Dovecot IMAP on one Maildir', () => {
  // Messages are matched between POP and IMAP by Subject, not by number: the last test but one shows
  // the two can number them differently.
  // POP's view of alice's mailbox before anything changed: subjects and UIDLs by message number (1-based).
  const pop: { subjects: string[]; uidls: string[] } = { subjects: [], uidls: [] };

  interop('Dovecot sees the delivered messages, none \\Seen, with RFC822.SIZE equal to the POP LIST size', async () => {
    const before = await examine();
    expect(before.map((m) => m.subject).sort()).toEqual([...SUBJECTS].sort());
    for (const m of before) expect(m.flags).not.toContain('\\Seen');

    const c = await RawPop.signIn(server.port, 'alice', PASSWORD);
    expect(await c.command('UIDL')).toMatch(/^\+OK/);
    pop.uidls = (await c.lines()).map((l) => l.split(' ')[1]);
    expect(await c.command('LIST')).toMatch(/^\+OK 3 /);
    const sizes = (await c.lines()).map((l) => Number(l.split(' ')[1]));
    for (let n = 1; n <= 3; n++) pop.subjects.push(await popSubject(c, n));
    expect(await c.command('QUIT')).toMatch(/^\+OK/);
    await c.closed();

    expect([...pop.subjects].sort()).toEqual([...SUBJECTS].sort());
    for (let i = 0; i < 3; i++) expect(bySubject(before, pop.subjects[i]).size).toBe(sizes[i]);
    // Dovecot reads the whole files (W= in the name is its RFC822.SIZE) and finds those sizes true.
    const octets = await imap<Record<string, number>>(
      'alice',
      `check(M.select('INBOX', readonly=True))
print(json.dumps({int(i[0].split(b' ', 1)[0]): len(i[1]) for i in check(M.fetch('1:*', '(BODY.PEEK[])')) if isinstance(i, tuple)}))`,
    );
    for (const m of before) expect(octets[m.seq]).toBe(m.size);
    // TOP set no flag
    for (const m of await examine()) expect(m.flags).not.toContain('\\Seen');
  });

  interop('RETR sets \\Seen as IMAP shows it; TOP does not', async () => {
    const c = await RawPop.signIn(server.port, 'alice', PASSWORD);
    expect(await c.command('TOP 1 0')).toMatch(/^\+OK/);
    await c.body();
    expect(await c.command('RETR 2')).toMatch(/^\+OK/);
    expect((await c.body()).toString('latin1')).toContain(`Subject: ${pop.subjects[1]}\r\n`);
    expect(await c.command('QUIT')).toMatch(/^\+OK/);
    await c.closed();

    const after = await examine();
    expect(after).toHaveLength(3);
    expect(bySubject(after, pop.subjects[0]).flags).not.toContain('\\Seen');
    expect(bySubject(after, pop.subjects[1]).flags).toContain('\\Seen');
    expect(bySubject(after, pop.subjects[2]).flags).not.toContain('\\Seen');
  });

  interop("keeps UIDLs and Dovecot's flags when Dovecot renames a file; RETR of it still works", async () => {
    const target = bySubject(await examine(), pop.subjects[2]);
    const stored = await imap<string>(
      'alice',
      `check(M.select('INBOX'))\ncheck(M.store('${target.seq}', '+FLAGS', '(\\\\Seen \\\\Answered)'))\nprint(json.dumps('ok'))`,
    );
    expect(stored).toBe('ok');

    const c = await RawPop.signIn(server.port, 'alice', PASSWORD);
    expect(await c.command('STAT')).toMatch(/^\+OK 3 /);
    expect(await c.command('UIDL')).toMatch(/^\+OK/);
    expect((await c.lines()).map((l) => l.split(' ')[1])).toEqual(pop.uidls);
    expect(await c.command('RETR 3')).toMatch(/^\+OK/);
    expect((await c.body()).toString('latin1')).toContain(`Subject: ${pop.subjects[2]}\r\n`);
    expect(await c.command('QUIT')).toMatch(/^\+OK/);
    await c.closed();

    const after = await examine();
    expect(bySubject(after, pop.subjects[2]).flags).toEqual(expect.arrayContaining(['\\Seen', '\\Answered']));
    expect(bySubject(after, pop.subjects[1]).flags).toContain('\\Seen');
    expect(bySubject(after, pop.subjects[0]).flags).not.toContain('\\Seen');
  });

  interop('a message POP deletes is gone from IMAP', async () => {
    const c = await RawPop.signIn(server.port, 'alice', PASSWORD);
    expect(await c.command('DELE 1')).toMatch(/^\+OK/);
    expect(await c.command('QUIT')).toMatch(/^\+OK/);
    await c.closed();

    const after = await examine();
    expect(after).toHaveLength(2);
    expect(after.map((m) => m.subject).sort()).toEqual([pop.subjects[1], pop.subjects[2]].sort());
  });

  // Dovecot gives UIDs oldest first by the seconds, then the microseconds (M<usec>) compared as numbers
  // (maildir_filename_sort_cmp); "oldest first" in the README means the same, so POP message N should
  // be IMAP message N.
  interop('numbers messages in the same order as Dovecot: oldest first by seconds, then microseconds', async () => {
    const imapOrder = (await examine('bob')).map((m) => m.subject);
    expect(imapOrder).toEqual(['older', 'newer']);
    const c = await RawPop.signIn(server.port, 'bob', PASSWORD);
    const popOrder = [await popSubject(c, 1), await popSubject(c, 2)];
    expect(await c.command('QUIT')).toMatch(/^\+OK/);
    expect(popOrder).toEqual(imapOrder);
  });

  interop('Dovecot logged no error or warning about the shared Maildir', async () => {
    const problems = (await dovecotLogText()).split('\n').filter((l) => /\b(Warning|Error|Fatal|Panic):/.test(l));
    expect(problems).toEqual([]);
  });
});
