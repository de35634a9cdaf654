// Keywords announced before use, \Recent, and APPEND's date-time, against the IMAP module in this process
// (test/helpers/in-process.ts); what real clients (imapflow, python's imaplib) and two server processes on
// one tree show is in test/interop/imap-flags-recent.test.ts, with the rules in its opening comment.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RawImap } from '../helpers/imap-client.js';
import { announcedBeforeUse, flagsLine, indexOf } from '../helpers/imap-keywords.js';
import { type InProcessServer, startInProcess } from '../helpers/in-process.js';
import type { Endpoint } from '../helpers/pop-client.js';

const LISTENERS = [{ name: 'imap', module: 'imap', address: '127.0.0.1', port: 0 }];
const PASSWORD = 'a secret';

function message(subject: string): string {
  return (
    `From: Sender <sender@example.net>\nTo: someone@example.org\nSubject: ${subject}\nMessage-ID: ` +
    `<${subject.replace(/\W/g, '')}@example.net>\n\nhello\n`
  );
}

let server: InProcessServer;
let port: Endpoint;

beforeAll(async () => {
  server = await startInProcess({ config: { listeners: LISTENERS } });
  port = server.portOf('imap');
});
afterAll(() => server.stop());

describe('a keyword new to the mailbox is announced before any response uses it', () => {
  beforeAll(async () => {
    await server.addAccount('kw', PASSWORD);
    for (const s of ['one', 'two', 'three']) await server.deliver('kw', message(s));
  });

  it('a keyword that arrives with APPEND or COPY is announced before the EXISTS and FETCH that show it', async () => {
    const a = await RawImap.signIn(port, 'kw', `"${PASSWORD}"`);
    const b = await RawImap.signIn(port, 'kw', `"${PASSWORD}"`);
    const sel = await a.command('SELECT INBOX');
    const known = new Set(flagsLine(sel.untagged));
    const body = 'Subject: appended\r\n\r\nhi\r\n';
    expect((await b.command(`APPEND INBOX (Appended) {${body.length}+}\r\n${body}`)).status).toBe('OK');
    await b.command('CREATE Other');
    expect((await b.command(`APPEND Other (Copied) {${body.length}+}\r\n${body}`)).status).toBe('OK');
    await b.command('SELECT Other');
    expect((await b.command('COPY 1 INBOX')).status).toBe('OK');
    await new Promise((r) => setTimeout(r, 1100));
    const noop = await a.command('NOOP');
    expect(flagsLine(noop.untagged)).toEqual(expect.arrayContaining(['Appended', 'Copied']));
    expect(indexOf(noop.untagged, /^\* FLAGS/)).toBeLessThan(indexOf(noop.untagged, /EXISTS$/));
    announcedBeforeUse(noop.untagged, known);
    announcedBeforeUse((await a.command('FETCH 1:* (FLAGS)')).untagged, known);
    expect(known.has('Appended') && known.has('Copied')).toBe(true);
    a.close();
    b.close();
  });
});

describe('\\Recent (RFC 3501) for clients that do not enable IMAP4rev2', () => {
  it('a delivery during IDLE or before NOOP: `* n EXISTS` then `* n RECENT` to the one session that takes it', async () => {
    await server.addAccount('idle', PASSWORD);
    await server.deliver('idle', message('before'));
    const idler = await RawImap.signIn(port, 'idle', `"${PASSWORD}"`);
    expect((await idler.command('SELECT INBOX')).untagged).toContain('* 1 RECENT');
    const later = await RawImap.signIn(port, 'idle', `"${PASSWORD}"`);
    expect((await later.command('SELECT INBOX')).untagged).toContain('* 0 RECENT');
    idler.send('i1 IDLE\r\n');
    expect(await idler.response()).toMatch(/^\+ /);
    await server.deliver('idle', message('during'));
    expect(await idler.response(5000)).toBe('* 2 EXISTS');
    expect(await idler.response(5000)).toBe('* 2 RECENT');
    idler.send('DONE\r\n');
    expect((await idler.until('i1')).status).toBe('OK');
    expect((await idler.command('FETCH 2 (FLAGS)')).untagged).toEqual(['* 2 FETCH (FLAGS (\\Recent))']);
    // the other session learns of the message, not as recent (its count did not change: no RECENT)
    await new Promise((r) => setTimeout(r, 1100));
    const noop = await later.command('NOOP');
    expect(noop.untagged).toContain('* 2 EXISTS');
    expect(noop.untagged.some((l) => l.endsWith('RECENT'))).toBe(false);

    // with the mailbox selected by a session that only NOOPs
    await server.deliver('idle', message('third'));
    await new Promise((r) => setTimeout(r, 1100));
    expect((await later.command('NOOP')).untagged).toEqual(['* 3 EXISTS', '* 1 RECENT']);
    // expunged: the count drops, and the client is told
    await later.command('STORE 3 +FLAGS (\\Deleted)');
    expect((await later.command('EXPUNGE')).untagged).toEqual(['* 3 EXPUNGE', '* 0 RECENT']);
    idler.close();
    later.close();
  });

  it(
    'after ENABLE IMAP4rev2 nothing about \\Recent is sent (RFC 9051), though its SELECT takes them; ' +
      'a rev1 session beside it hears it',
    async () => {
      await server.addAccount('rev2', PASSWORD);
      await server.deliver('rev2', message('x'));
      const rev1 = await RawImap.signIn(port, 'rev2', `"${PASSWORD}"`);
      expect((await rev1.command('EXAMINE INBOX')).untagged).toContain('* 1 RECENT');
      await rev1.command('UNSELECT');
      const c = await RawImap.signIn(port, 'rev2', `"${PASSWORD}"`);
      await c.command('ENABLE IMAP4rev2');
      const sel = await c.command('SELECT INBOX');
      expect(sel.untagged.some((l) => /RECENT/.test(l))).toBe(false);
      expect((await c.command('FETCH 1 (FLAGS)')).untagged).toEqual(['* 1 FETCH (FLAGS ())']);
      expect((await c.command('SEARCH RETURN (COUNT) ALL')).untagged).toEqual(['* ESEARCH (TAG "a5") COUNT 1']);
      expect((await rev1.command('STATUS INBOX (RECENT)')).untagged).toContain('* STATUS INBOX (RECENT 0)'); // taken by the rev2 SELECT
      c.send('i IDLE\r\n');
      await c.response();
      await server.deliver('rev2', message('y'));
      expect(await c.response(5000)).toBe('* 2 EXISTS');
      c.send('DONE\r\n');
      expect((await c.until('i')).untagged).toEqual([]);
      expect((await rev1.command('STATUS INBOX (MESSAGES RECENT)')).untagged).toContain('* STATUS INBOX (MESSAGES 2 RECENT 0)');
      c.close();
      rev1.close();
    },
  );
});

describe('APPEND date-time', () => {
  beforeAll(() => server.addAccount('dates', PASSWORD));

  it('accepts every valid date-time whatever its zone, and INTERNALDATE is the same instant', async () => {
    const c = await RawImap.signIn(port, 'dates', `"${PASSWORD}"`);
    const body = 'Subject: dated\r\n\r\nx\r\n';
    const cases: [string, string][] = [
      ['06-Mar-2025 01:00:00 +0200', ' 5-Mar-2025 23:00:00 +0000'],
      ['05-Mar-2025 23:30:00 -0100', ' 6-Mar-2025 00:30:00 +0000'],
      [' 1-Jan-2026 00:15:00 +0530', '31-Dec-2025 18:45:00 +0000'],
      ['31-Dec-2025 22:00:00 -0300', ' 1-Jan-2026 01:00:00 +0000'],
      ['29-Feb-2024 00:00:00 +1400', '28-Feb-2024 10:00:00 +0000'],
      ['01-Mar-2024 23:59:59 -1200', ' 2-Mar-2024 11:59:59 +0000'],
    ];
    await c.command('SELECT INBOX');
    for (const [given, utc] of cases) {
      const appended = await c.command(`APPEND INBOX "${given}" {${body.length}+}\r\n${body}`);
      expect(appended.status, given).toBe('OK');
      const uid = /APPENDUID \d+ (\d+)/.exec(appended.tagged)![1];
      const fetched = await c.command(`UID FETCH ${uid} (INTERNALDATE)`);
      expect(fetched.untagged.join('\n')).toContain(`INTERNALDATE "${utc}"`);
    }
    for (const bad of [
      '31-Feb-2025 10:00:00 +0000',
      '29-Feb-2025 10:00:00 +0000',
      '06-Mar-2025 24:00:00 +0000',
      '06-Mar-2025 10:60:00 +0000',
      '06-Mar-2025 10:00:60 +0000',
      '06-Mar-2025 10:00:00 +0060',
      '00-Mar-2025 10:00:00 +0000',
      '06-Foo-2025 10:00:00 +0000',
    ]) {
      const answer = await c.command(`APPEND INBOX "${bad}" {${body.length}+}\r\n${body}`);
      expect(answer.tagged, bad).toMatch(/^a\d+ BAD /);
    }
    c.close();
  });
});
