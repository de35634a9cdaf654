// Keywords announced before use, \Recent, and APPEND's date-time, over real sockets and real clients:
// 1. A keyword new to the mailbox reaches every session that has it selected as `* FLAGS (...)` and
//    `* OK [PERMANENTFLAGS (...)]` before any response shows it (RFC 3501 section 7.2.6, RFC 9051
//    section 7.3.5): the session that STOREs it (before its own FETCH, even .SILENT), and the others
//    (before the FETCH or EXISTS of their next sync), whether it came by STORE, APPEND or COPY. Once
//    announced, a keyword stays in FLAGS while the mailbox is selected (as in Dovecot).
// 2. \Recent as RFC 3501 defines it (for clients that do not ENABLE IMAP4rev2): one session sees a new
//    message as recent (the first that SELECTs after it arrived, or the one that has the mailbox
//    selected when it arrives); EXAMINE and STATUS count without taking; `* n RECENT` follows the size
//    change; FETCH FLAGS and SEARCH RECENT/NEW/OLD agree; nothing of it after ENABLE IMAP4rev2. The
//    mark lives in the tree (postern-recent), so two server processes on one tree agree.
// 3. APPEND takes every valid date-time, whatever its zone, and INTERNALDATE gives the same instant.
// Here: what real clients (imapflow, python's imaplib) and two server processes show, and the cases that
// need a STORE's own answer (the in-memory store does not give it as the Maildir one does yet); the other
// raw-socket cases run in this process: test/protocol/imap-flags-recent.test.ts.
import { readlink } from 'node:fs/promises';
import { join } from 'node:path';
import { ImapFlow } from 'imapflow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RawImap } from '../helpers/imap-client.js';
import { announcedBeforeUse, flagsLine, indexOf } from '../helpers/imap-keywords.js';
import { imaplib } from '../helpers/imap-real-tools.js';
import { startServer, type TestServer } from '../helpers/server.js';

const LISTENERS = [{ name: 'imap', module: 'imap', address: '127.0.0.1', port: 0 }];
const PASSWORD = 'a secret';

function message(subject: string): string {
  return (
    `From: Sender <sender@example.net>\nTo: someone@example.org\nSubject: ${subject}\nMessage-ID: ` +
    `<${subject.replace(/\W/g, '')}@example.net>\n\nhello\n`
  );
}

let server: TestServer;
let port: number;

beforeAll(async () => {
  server = await startServer({ config: { listeners: LISTENERS } });
  port = server.portOf('imap');
});
afterAll(() => server.stop());

describe('a keyword new to the mailbox is announced before any response uses it', () => {
  beforeAll(async () => {
    await server.addAccount('kw', PASSWORD);
    for (const s of ['one', 'two', 'three']) await server.deliver('kw', message(s));
  });

  it('to the session that STOREs it (before its FETCH, and with .SILENT) and to another after its next sync', async () => {
    const a = await RawImap.signIn(port, 'kw', `"${PASSWORD}"`);
    const b = await RawImap.signIn(port, 'kw', `"${PASSWORD}"`);
    const selA = await a.command('SELECT INBOX');
    await b.command('SELECT INBOX');
    expect(flagsLine(selA.untagged)).toEqual(['\\Answered', '\\Flagged', '\\Deleted', '\\Seen', '\\Draft']);
    const knownA = new Set(flagsLine(selA.untagged));

    const store = await b.command('STORE 1 +FLAGS (Work)');
    const flagsAt = indexOf(store.untagged, /^\* FLAGS \(.*\bWork\b.*\)$/);
    const permAt = indexOf(store.untagged, /^\* OK \[PERMANENTFLAGS \(.*\bWork \\\*\)\]/);
    const fetchAt = indexOf(store.untagged, /^\* 1 FETCH \(FLAGS \(.*Work.*\)\)$/);
    expect(flagsAt).toBeGreaterThanOrEqual(0);
    expect(permAt).toBeGreaterThan(flagsAt);
    expect(fetchAt).toBeGreaterThan(permAt);
    const silent = await b.command('STORE 2 +FLAGS.SILENT (Quiet)');
    expect(flagsLine(silent.untagged)).toContain('Quiet');
    expect(silent.untagged.some((l) => l.includes('FETCH'))).toBe(false);
    // known already: no second announcement
    expect(flagsLine((await b.command('STORE 3 +FLAGS (Work)')).untagged)).toBeNull();

    // the other session: FLAGS and PERMANENTFLAGS come first, then the FETCH that shows the keyword
    await new Promise((r) => setTimeout(r, 1100)); // past the quiet second even if the watch is slow
    const noop = await a.command('NOOP');
    expect(flagsLine(noop.untagged)).toEqual(expect.arrayContaining(['Work', 'Quiet']));
    expect(noop.untagged.some((l) => /^\* OK \[PERMANENTFLAGS \(.*\bQuiet\b.*\bWork \\\*\)\]/.test(l))).toBe(true);
    expect(indexOf(noop.untagged, /FETCH/)).toBeGreaterThan(indexOf(noop.untagged, /^\* FLAGS/));
    announcedBeforeUse(noop.untagged, knownA);
    announcedBeforeUse((await a.command('FETCH 1:* (FLAGS)')).untagged, knownA);

    // removed from every message, it stays announced while the mailbox is selected (as Dovecot does)
    await b.command('STORE 1:3 -FLAGS (Work)');
    const again = await b.command('STORE 1 +FLAGS (Later)');
    expect(flagsLine(again.untagged)).toEqual(expect.arrayContaining(['Work', 'Quiet', 'Later']));
    a.close();
    b.close();
  });

  it('eight sessions storing random keywords at once: none ever sees a keyword before FLAGS named it', async () => {
    await server.addAccount('kwmix', PASSWORD);
    for (let i = 1; i <= 5; i++) await server.deliver('kwmix', message(`mix${i}`));
    let seed = 20261206;
    const random = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    const sessions = await Promise.all(Array.from({ length: 8 }, () => RawImap.signIn(port, 'kwmix', `"${PASSWORD}"`)));
    await Promise.all(
      sessions.map(async (c) => {
        const known = new Set(flagsLine((await c.command('SELECT INBOX')).untagged));
        for (let round = 0; round < 25; round++) {
          const pick = random(4);
          const command =
            pick === 0
              ? `STORE ${1 + random(5)} +FLAGS (k${random(30)})`
              : pick === 1
                ? `STORE ${1 + random(5)} -FLAGS (k${random(30)})`
                : pick === 2
                  ? 'FETCH 1:* (FLAGS)'
                  : 'NOOP';
          const answer = await c.command(command);
          expect(answer.status, command).toBe('OK');
          announcedBeforeUse(answer.untagged, known);
        }
      }),
    );
    for (const c of sessions) c.close();
  });

  it(
    'imapflow sets a keyword: a raw session in IDLE gets FLAGS and PERMANENTFLAGS before the FETCH, ' +
      "and imapflow's next SELECT lists it",
    async () => {
      const open = async () => {
        const client = new ImapFlow({
          host: '127.0.0.1',
          port,
          secure: false,
          tls: { rejectUnauthorized: false },
          auth: { user: 'kw', pass: PASSWORD },
          logger: false,
        });
        client.on('error', () => {});
        await client.connect();
        return client;
      };
      const watcher = await RawImap.signIn(port, 'kw', `"${PASSWORD}"`);
      const known = new Set(flagsLine((await watcher.command('SELECT INBOX')).untagged));
      watcher.send('i1 IDLE\r\n');
      expect(await watcher.response()).toMatch(/^\+ /);
      const setter = await open();
      await setter.mailboxOpen('INBOX');
      expect(await setter.messageFlagsAdd('1', ['FromFlow'])).toBe(true);
      const lines: string[] = [];
      while (!lines.some((l) => /FETCH/.test(l))) lines.push(await watcher.response(5000));
      expect(lines[0]).toMatch(/^\* FLAGS \(.*\bFromFlow\b/);
      expect(lines[1]).toMatch(/^\* OK \[PERMANENTFLAGS \(.*\bFromFlow\b/);
      announcedBeforeUse(lines, known);
      watcher.send('DONE\r\n');
      await watcher.until('i1');
      const reopened = await setter.mailboxOpen('INBOX');
      expect([...reopened.flags]).toContain('FromFlow');
      expect([...(reopened.permanentFlags ?? [])]).toContain('FromFlow');
      await setter.logout();
      watcher.close();
    },
  );
});

describe('\\Recent (RFC 3501) for clients that do not enable IMAP4rev2', () => {
  it('SELECT takes new messages as recent, EXAMINE and STATUS only count them; FETCH, SEARCH and a later SELECT agree', async () => {
    await server.addAccount('rc', PASSWORD);
    for (const s of ['r1', 'r2']) await server.deliver('rc', message(s));
    const examiner = await RawImap.signIn(port, 'rc', `"${PASSWORD}"`);
    const ex = await examiner.command('EXAMINE INBOX');
    expect(ex.untagged).toContain('* 2 RECENT');
    expect((await examiner.command('FETCH 1:2 (FLAGS)')).untagged).toEqual([
      '* 1 FETCH (FLAGS (\\Recent))',
      '* 2 FETCH (FLAGS (\\Recent))',
    ]);
    const other = await RawImap.signIn(port, 'rc', `"${PASSWORD}"`);
    expect((await other.command('STATUS INBOX (MESSAGES RECENT)')).untagged).toContain('* STATUS INBOX (MESSAGES 2 RECENT 2)');

    const first = await RawImap.signIn(port, 'rc', `"${PASSWORD}"`);
    expect((await first.command('SELECT INBOX')).untagged).toContain('* 2 RECENT');
    expect((await first.command('SEARCH RECENT')).untagged).toContain('* SEARCH 1 2');
    expect((await first.command('STORE 1 +FLAGS (\\Seen)')).untagged).toEqual(['* 1 FETCH (FLAGS (\\Seen \\Recent))']);
    // \Recent after the system flags, before the keywords (as Dovecot words them)
    expect((await first.command('STORE 1 +FLAGS (Work \\Flagged)')).untagged.at(-1)).toMatch(
      /^\* 1 FETCH \(FLAGS \((\\\w+ )*\\Recent Work\)\)$/,
    );
    await first.command('STORE 1 -FLAGS (Work \\Flagged)');
    expect((await first.command('SEARCH NEW')).untagged).toContain('* SEARCH 2');
    expect((await first.command('SEARCH OLD')).untagged).toContain('* SEARCH');
    expect((await first.command('STATUS INBOX (RECENT)')).untagged).toContain('* STATUS INBOX (RECENT 2)'); // its own, as selected

    // taken: nobody else sees them as recent now
    expect((await other.command('STATUS INBOX (RECENT)')).untagged).toContain('* STATUS INBOX (RECENT 0)');
    const second = await RawImap.signIn(port, 'rc', `"${PASSWORD}"`);
    expect((await second.command('SELECT INBOX')).untagged).toContain('* 0 RECENT');
    expect((await second.command('FETCH 1:2 (FLAGS)')).untagged).toEqual(['* 1 FETCH (FLAGS (\\Seen))', '* 2 FETCH (FLAGS ())']);
    expect((await second.command('SEARCH OLD')).untagged).toContain('* SEARCH 1 2');
    expect((await second.command('SEARCH RECENT')).untagged).toContain('* SEARCH');
    for (const c of [examiner, other, first, second]) c.close();
  });

  it('python imaplib: two sessions, EXAMINE and SELECT, STATUS, RECENT responses, SEARCH NEW', async () => {
    await server.addAccount('py', PASSWORD);
    for (const s of ['p1', 'p2', 'p3']) await server.deliver('py', message(s));
    const r = await imaplib<Record<string, unknown>>(
      port,
      `
out = {}
A = imaplib.IMAP4('127.0.0.1', port); A.login('py', '${PASSWORD}')
B = imaplib.IMAP4('127.0.0.1', port); B.login('py', '${PASSWORD}')
A.select('INBOX', readonly=True)
out['examine_recent'] = flat(A.response('RECENT'))
out['status_before'] = flat(B.status('INBOX', '(RECENT)'))
B.select('INBOX')
out['select_recent'] = flat(B.response('RECENT'))
out['search_new'] = flat(B.search(None, 'NEW'))
out['fetch_flags'] = flat(B.fetch('1', '(FLAGS)'))
B.store('1', '+FLAGS', '\\\\Seen')
out['search_new_after_seen'] = flat(B.search(None, 'NEW'))
A.close(); A.select('INBOX')
out['second_select_recent'] = flat(A.response('RECENT'))
out['search_old'] = flat(A.search(None, 'OLD'))
A.logout(); B.logout()
print(json.dumps(out))
`,
    );
    expect(r.examine_recent).toEqual(['RECENT', ['3']]);
    expect(r.status_before).toEqual(['OK', ['INBOX (RECENT 3)']]);
    expect(r.select_recent).toEqual(['RECENT', ['3']]);
    expect(r.search_new).toEqual(['OK', ['1 2 3']]);
    expect(r.fetch_flags).toEqual(['OK', ['1 (FLAGS (\\Recent))']]);
    expect(r.search_new_after_seen).toEqual(['OK', ['2 3']]);
    expect(r.second_select_recent).toEqual(['RECENT', ['0']]);
    expect(r.search_old).toEqual(['OK', ['1 2 3']]);
  });
});

describe('two server processes on one tree agree on \\Recent (the mark is in the tree)', () => {
  let other: TestServer;
  beforeAll(async () => {
    other = await startServer({ config: { listeners: LISTENERS, dataDir: server.dataDir } });
    await server.addAccount('shared', PASSWORD);
    for (let i = 1; i <= 4; i++) await server.deliver('shared', message(`s${i}`));
  });
  afterAll(() => other?.stop());

  it('sessions selecting at once on both processes: each message recent to exactly one; a new delivery too', async () => {
    const ports = [port, other.portOf('imap')];
    const sessions = await Promise.all([0, 1, 0, 1, 0, 1].map((i) => RawImap.signIn(ports[i], 'shared', `"${PASSWORD}"`)));
    await Promise.all(sessions.map((c) => c.command('SELECT INBOX')));
    const recentUids = async () => {
      const seen: number[] = [];
      for (const c of sessions) {
        for (const line of (await c.command('FETCH 1:* (UID FLAGS)')).untagged) {
          const m = /UID (\d+) FLAGS \(([^)]*)\)/.exec(line);
          if (m?.[2].includes('\\Recent')) seen.push(Number(m[1]));
        }
      }
      return seen.sort((x, y) => x - y);
    };
    expect(await recentUids()).toEqual([1, 2, 3, 4]);
    await server.deliver('shared', message('s5'));
    await new Promise((r) => setTimeout(r, 1100));
    const answers = await Promise.all(sessions.map((c) => c.command('NOOP')));
    for (const a of answers) expect(a.untagged).toContain('* 5 EXISTS');
    expect(await recentUids()).toEqual([1, 2, 3, 4, 5]);
    // the mark, in the tree beside dovecot-uidlist: a link to "UIDVALIDITY highest-claimed-UID"
    const mark = await readlink(join(server.dataDir, 'accounts', 'example.org', 'shared', 'Maildir', 'postern-recent'));
    expect(mark).toMatch(/^\d+ 5$/);
    for (const c of sessions) c.close();
  });
});
