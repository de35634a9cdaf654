// The IMAP module in this process (test/helpers/in-process.ts), byte by byte (RFC 9051 and RFC 3501):
// framing with literals and limits, sign-in, what the client learns of other sessions' changes (and when:
// never an EXPUNGE during FETCH, STORE or SEARCH), IDLE, APPEND, COPY/MOVE with UIDPLUS, SEARCH, rights.
// STARTTLS, the trace file, the metrics port, SIGTERM and what POP sees are in
// test/interop/imap-protocol.test.ts.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RawImap } from '../helpers/imap-client.js';
import { type InProcessServer, startInProcess } from '../helpers/in-process.js';
import type { Endpoint } from '../helpers/pop-client.js';

const LISTENERS = [
  { name: 'pop3', module: 'pop', address: '127.0.0.1', port: 0 },
  { name: 'imap', module: 'imap', address: '127.0.0.1', port: 0 },
  { name: 'imaps', module: 'imap', address: '127.0.0.1', port: 0, tls: 'implicit' },
];

function message(subject: string, body = 'hello\n'): string {
  return (
    `From: Sender <sender@example.net>\nTo: jsmith@example.org\nSubject: ${subject}\nDate: Tue, 01 Dec 2026 09:00:00 +0000\n` +
    `Message-ID: <${subject.replace(/\W/g, '')}@example.net>\n\n${body}`
  );
}

describe('IMAP: framing, limits, sign-in', () => {
  let server: InProcessServer;
  let port: Endpoint;
  beforeAll(async () => {
    server = await startInProcess({
      config: { listeners: LISTENERS, imap: { maxLineLength: 2048, maxLiteralSize: 4096, maxBadCommands: 5 }, log: { trace: 'trace.log' } },
    });
    port = server.portOf('imap');
    await server.addAccount('jsmith', 'pass word');
  });
  afterAll(() => server.stop());

  it('greets with its capabilities and offers STARTTLS and SASL on the clear port', async () => {
    const { client, greeting } = await RawImap.connect(port);
    expect(greeting).toMatch(/^\* OK \[CAPABILITY [^\]]*IMAP4rev1[^\]]*IMAP4rev2[^\]]*STARTTLS[^\]]*AUTH=PLAIN/);
    const caps = await client.command('CAPABILITY');
    expect(caps.untagged[0]).toContain('LITERAL+');
    expect(caps.untagged[0]).not.toContain('LOGINDISABLED'); // loopback may send passwords (imap.cleartextAuth: loopback)
    expect(caps.status).toBe('OK');
    expect((await client.command('LOGOUT')).untagged[0]).toMatch(/^\* BYE/);
    client.close();
  });

  it(
    'signs in with quoted strings, literals and SASL PLAIN with an initial response; ' + 'a wrong password takes the failure time',
    async () => {
      const { client } = await RawImap.connect(port);
      const t0 = performance.now();
      const bad = await client.command('LOGIN jsmith wrong');
      expect(performance.now() - t0).toBeGreaterThan(180);
      expect(bad.tagged).toMatch(/^a1 NO \[AUTHENTICATIONFAILED\]/);
      // a synchronising literal: the server asks for it with "+"
      client.send('a2 LOGIN jsmith {9}\r\n');
      expect(await client.response()).toMatch(/^\+ /);
      client.send('pass word\r\n');
      expect((await client.until('a2')).tagged).toMatch(/^a2 OK \[CAPABILITY .*ACL.*\] Logged in/);
      client.close();
      const { client: c2 } = await RawImap.connect(port);
      // a non-synchronising literal (LITERAL+): no "+" is awaited
      c2.send('b1 LOGIN {6+}\r\njsmith "pass word"\r\n');
      expect((await c2.until('b1')).status).toBe('OK');
      c2.close();
      const { client: c3 } = await RawImap.connect(port);
      const ir = Buffer.from('\0jsmith\0pass word').toString('base64');
      expect((await c3.command(`AUTHENTICATE PLAIN ${ir}`)).status).toBe('OK');
      c3.close();
    },
  );

  it('refuses an over-long line or literal with [TOOBIG] and stays usable; ends a run of bad commands with BYE', async () => {
    // signed in: before, a literal past 8 KiB is answered * BYE (test/protocol/imap-hostile-wire.test.ts)
    const client = await RawImap.signIn(port, 'jsmith', '"pass word"');
    const long = await client.command(`NOOP ${'x'.repeat(5000)}`);
    expect(long.tagged).toMatch(/^a2 BAD \[TOOBIG\]/);
    client.send('a3 SELECT {100000}\r\n');
    expect(await client.response()).toMatch(/^a3 BAD \[TOOBIG\]/); // no "+": the client sends nothing more
    client.send(`a4 SELECT {100000+}\r\n${'y'.repeat(100000)}\r\n`); // sent anyway: dropped, to its end
    expect((await client.until('a4')).tagged).toMatch(/^a4 BAD \[TOOBIG\]/);
    expect((await client.command('NOOP')).status).toBe('OK');
    for (let i = 0; i < 4; i++) expect((await client.command('FROB')).status).toBe('BAD');
    const last = await client.command('FROB').catch(() => null);
    void last;
    await client.raw.closed();
    client.close();
  });

  it('APPEND past imap.maxLiteralSize: NO [TOOBIG] before the "+", or the octets dropped for {n+}; nothing stored', async () => {
    const c = await RawImap.signIn(port, 'jsmith', '"pass word"');
    c.send('t1 APPEND INBOX {5000}\r\n');
    expect(await c.response()).toMatch(/^t1 NO \[TOOBIG\]/);
    c.send(`t2 APPEND INBOX {5000+}\r\nSubject: big\r\n\r\n${'z'.repeat(5000 - 17)}\r\n`);
    expect((await c.until('t2')).tagged).toMatch(/^t2 NO \[TOOBIG\]/);
    const status = await c.command('STATUS INBOX (MESSAGES)');
    expect(status.untagged).toEqual(['* STATUS INBOX (MESSAGES 0)']);
    // the mailbox name as a literal, then the message (streamed too)
    const body = `Subject: named by a literal\r\n\r\n${'q'.repeat(3000)}\r\n`;
    c.send(`t4 APPEND {5+}\r\nINBOX (\\Flagged) {${body.length}+}\r\n${body}\r\n`);
    expect((await c.until('t4')).tagged).toMatch(/^t4 OK \[APPENDUID \d+ 1\]/);
    c.close();
  });
});

describe('IMAP: mailboxes, messages and other sessions', () => {
  let server: InProcessServer;
  let port: Endpoint;
  beforeAll(async () => {
    server = await startInProcess({ config: { listeners: LISTENERS } });
    port = server.portOf('imap');
    await server.addAccount('jsmith', 'secret');
    await server.addAccount('boss', 'secret');
    for (const s of ['one', 'two', 'three']) await server.deliver('jsmith', message(s));
  });
  afterAll(() => server.stop());

  it('a FETCH of ENVELOPE, BODY and BODYSTRUCTURE answered from memory the second time gives the same octets as the first', async () => {
    await server.addAccount('lister', 'secret');
    await server.deliver('lister', message('plain'));
    await server.deliver('lister', message('=?UTF-8?Q?B=C3=BCcher?= and "quotes"', 'caf\u00e9 au lait\n'));
    const multipart =
      'From: a@example.net\nSubject: parts\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=b\n\n' +
      '--b\nContent-Type: text/plain\n\none\n--b\nContent-Type: application/pdf; name=x.pdf\n' +
      'Content-Transfer-Encoding: base64\n\nAAAA\n--b--\n';
    await server.deliver('lister', multipart);
    const c = await RawImap.signIn(port, 'lister', 'secret');
    await c.command('SELECT INBOX');
    await c.command('STORE 2 +FLAGS (\\Flagged $Work)');
    for (const items of ['(UID FLAGS ENVELOPE)', '(ENVELOPE RFC822.SIZE BODYSTRUCTURE FLAGS BODY UID)']) {
      const first = await c.command(`FETCH 1:* ${items}`); // rendered from the messages (and kept)
      const second = await c.command(`FETCH 1:* ${items}`); // from memory
      expect(first.untagged).toHaveLength(3);
      expect(second.untagged).toEqual(first.untagged);
    }
    // with CONDSTORE on, FLAGS come with MODSEQ on both paths
    const fetched = async () =>
      (await c.command('UID FETCH 1:* (FLAGS ENVELOPE) (CHANGEDSINCE 1)')).untagged.filter((l) => / FETCH /.test(l));
    const before = await fetched();
    expect(before.length).toBeGreaterThan(0);
    for (const line of before) expect(line).toMatch(/^\* \d FETCH \(UID \d FLAGS \(.*\) ENVELOPE \(.*\) MODSEQ \(\d+\)\)$/);
    expect(await fetched()).toEqual(before);
    c.close();
  });

  it(
    "never shifts numbers under FETCH, STORE or SEARCH: another session's expunge is told on NOOP; its body answers NO [EXPUNGEISSUED]," +
      ' its ENVELOPE as before',
    async () => {
      await server.deliver('jsmith', message('four'));
      const a = await RawImap.signIn(port, 'jsmith', 'secret');
      const b = await RawImap.signIn(port, 'jsmith', 'secret');
      const selA = await a.command('SELECT INBOX');
      expect(selA.untagged).toContain('* 4 EXISTS');
      const envelope = await a.command('FETCH 1 ENVELOPE');
      expect(envelope.untagged[0]).toMatch(/^\* 1 FETCH \(ENVELOPE \(.*"one".*\)\)$/);
      await b.command('SELECT INBOX');
      await b.command('STORE 1 +FLAGS.SILENT (\\Deleted)');
      await b.command('EXPUNGE');
      await new Promise((r) => setTimeout(r, 300));
      const fetch = await a.command('FETCH 1:4 (FLAGS)');
      expect(fetch.untagged.filter((l) => l.includes('EXPUNGE'))).toEqual([]);
      expect(fetch.untagged.filter((l) => / FETCH /.test(l)).length).toBeGreaterThanOrEqual(4);
      const body = await a.command('FETCH 1 BODY.PEEK[]');
      expect(body.tagged).toMatch(/NO \[EXPUNGEISSUED\]/);
      // the ENVELOPE the server already rendered still answers (as Dovecot answers from its cache)
      const again = await a.command('FETCH 1 ENVELOPE');
      expect(again.tagged).toMatch(/OK/);
      expect(again.untagged).toEqual(envelope.untagged);
      const search = await a.command('SEARCH ALL');
      expect(search.untagged.some((l) => l.includes('EXPUNGE'))).toBe(false);
      const noop = await a.command('NOOP');
      expect(noop.untagged).toContain('* 1 EXPUNGE');
      expect((await a.command('FETCH 1:* (UID)')).untagged).toEqual(['* 1 FETCH (UID 2)', '* 2 FETCH (UID 3)', '* 3 FETCH (UID 4)']);
      a.close();
      b.close();
    },
  );

  it('an ENVELOPE answered from memory carries the octets of the first answer: ASCII, raw UTF-8 and latin1 header text', async () => {
    await server.addAccount('octets', 'secret');
    const raw = (subject: Buffer) =>
      Buffer.concat([
        Buffer.from('From: A <a@example.net>\nSubject: '),
        subject,
        Buffer.from('\nDate: Tue, 01 Dec 2026 09:00:00 +0000\n\nhi\n'),
      ]);
    await server.deliver('octets', raw(Buffer.from('plain')));
    await server.deliver('octets', raw(Buffer.from('café ✓', 'utf8')));
    await server.deliver('octets', raw(Buffer.from([0x63, 0x61, 0x66, 0xe9]))); // "café" in latin1
    const c = await RawImap.signIn(port, 'octets', 'secret');
    await c.command('SELECT INBOX');
    const first = await c.command('FETCH 1:3 (UID FLAGS ENVELOPE)'); // rendered from the files
    const again = await c.command('FETCH 1:3 (UID FLAGS ENVELOPE)'); // from memory
    expect(again.untagged).toEqual(first.untagged);
    expect(again.untagged).toHaveLength(3);
    expect(again.untagged[1]).toContain(Buffer.from('café ✓', 'utf8').toString('latin1'));
    expect(again.untagged[2]).toContain('caf\u00e9'); // the latin1 octet as it came
    c.close();
  });

  it('IDLE hears of a delivery within about a second, and of a flag another session set', async () => {
    const a = await RawImap.signIn(port, 'jsmith', 'secret');
    const b = await RawImap.signIn(port, 'jsmith', 'secret');
    await a.command('SELECT INBOX');
    await b.command('SELECT INBOX');
    a.send('i1 IDLE\r\n');
    expect(await a.response()).toBe('+ idling');
    const t0 = Date.now();
    await server.deliver('jsmith', message('five'));
    expect(await a.response(3000)).toBe('* 4 EXISTS');
    expect(Date.now() - t0).toBeLessThan(2000);
    expect(await a.response(3000)).toMatch(/^\* \d+ RECENT$/); // a has INBOX selected as it arrives: recent to a (RFC 3501)
    await b.command('STORE 1 +FLAGS (\\Flagged)');
    expect(await a.response(3000)).toMatch(/^\* 1 FETCH \(FLAGS \(.*\\Flagged.*\)\)$/);
    a.send('DONE\r\n');
    expect((await a.until('i1')).tagged).toBe('i1 OK IDLE completed');
    a.close();
    b.close();
  });

  it('APPEND with flags and date, COPY and MOVE with UIDPLUS codes, TRYCREATE for a missing mailbox', async () => {
    const c = await RawImap.signIn(port, 'jsmith', 'secret');
    const msg = 'Subject: appended\r\n\r\nappended body\r\n';
    c.send(`a1 APPEND Missing {${msg.length}}\r\n`);
    expect((await c.until('a1')).tagged).toMatch(/^a1 NO \[TRYCREATE\]/); // refused before the "+"
    expect((await c.command('CREATE Work/Projects')).status).toBe('OK');
    c.send(`a3 APPEND Work/Projects (\\Seen $Important) " 5-Nov-2026 08:00:00 +0100" {${msg.length}}\r\n`);
    expect(await c.response()).toMatch(/^\+ /);
    c.send(`${msg}\r\n`);
    expect((await c.until('a3')).tagged).toMatch(/^a3 OK \[APPENDUID \d+ 1\]/);
    const st = await c.command('STATUS Work/Projects (MESSAGES UNSEEN SIZE UIDNEXT)');
    expect(st.untagged[0]).toBe(`* STATUS Work/Projects (MESSAGES 1 UNSEEN 0 SIZE ${msg.length} UIDNEXT 2)`);
    await c.command('SELECT Work/Projects');
    const f = await c.command('FETCH 1 (FLAGS INTERNALDATE)');
    expect(f.untagged[0]).toBe('* 1 FETCH (FLAGS (\\Seen \\Recent $Important) INTERNALDATE " 5-Nov-2026 07:00:00 +0000")');
    await c.command('SELECT INBOX');
    const copy = await c.command('UID COPY 2:3 Work/Projects');
    expect(copy.tagged).toMatch(/OK \[COPYUID \d+ 2:3 2:3\]/);
    const move = await c.command('UID MOVE 2 Work');
    expect(move.untagged[0]).toMatch(/^\* OK \[COPYUID \d+ 2 1\]/);
    expect(move.untagged).toContain('* 1 EXPUNGE');
    const list = await c.command('LIST "" "*"');
    expect(list.untagged).toEqual([
      '* LIST (\\HasNoChildren) "/" INBOX',
      '* LIST (\\HasChildren) "/" Work',
      '* LIST (\\HasNoChildren) "/" Work/Projects',
    ]);
    c.close();
  });

  it('SEARCH across keys; ESEARCH for RETURN and after ENABLE IMAP4rev2', async () => {
    const c = await RawImap.signIn(port, 'jsmith', 'secret');
    await c.command('SELECT INBOX');
    const all = (await c.command('UID SEARCH ALL')).untagged[0];
    expect(all).toMatch(/^\* SEARCH( \d+)+$/);
    expect((await c.command('SEARCH SUBJECT five')).untagged).toEqual(['* SEARCH 3']);
    expect((await c.command('SEARCH OR SUBJECT three SUBJECT five')).untagged).toEqual(['* SEARCH 1 3']);
    expect((await c.command('SEARCH NOT OR SUBJECT three SUBJECT five')).untagged).toEqual(['* SEARCH 2']);
    expect((await c.command('SEARCH CHARSET UTF-8 NOT SEEN BODY hello')).untagged[0]).toMatch(/^\* SEARCH/);
    expect((await c.command('SEARCH CHARSET KOI8-R ALL')).tagged).toMatch(/NO \[BADCHARSET/);
    expect((await c.command('SEARCH RETURN (COUNT MIN) ALL')).untagged).toEqual(['* ESEARCH (TAG "a9") MIN 1 COUNT 3']);
    expect((await c.command('ENABLE IMAP4rev2')).untagged).toEqual(['* ENABLED IMAP4rev2']);
    expect((await c.command('SEARCH SUBJECT five')).untagged).toEqual(['* ESEARCH (TAG "a11") ALL 3']);
    // a day the month does not have is a bad date, as in APPEND; a leap day is a day
    expect((await c.command('SEARCH BEFORE 32-Jan-2026')).tagged).toMatch(/BAD .*not a date/);
    expect((await c.command('SEARCH SINCE 29-Feb-2024')).status).toBe('OK');
    c.close();
  });

  it("other users' mailboxes: invisible without rights, readable with lr, and the rights hold", async () => {
    const boss = await RawImap.signIn(port, 'boss', 'secret');
    expect((await boss.command('SELECT ~jsmith/INBOX')).tagged).toMatch(/NO \[NONEXISTENT\]/);
    expect((await boss.command('LIST "" "~*"')).untagged).toEqual([]);
    const owner = await RawImap.signIn(port, 'jsmith', 'secret');
    expect((await owner.command('SETACL INBOX boss lr')).status).toBe('OK');
    expect((await owner.command('GETACL INBOX')).untagged[0]).toBe('* ACL INBOX jsmith lrwstipekxa boss lr');
    expect((await boss.command('LIST "" "~*"')).untagged).toEqual([
      '* LIST (\\Noselect \\HasChildren) "/" ~jsmith',
      '* LIST (\\HasNoChildren) "/" ~jsmith/INBOX',
    ]);
    expect((await boss.command('MYRIGHTS ~jsmith/INBOX')).untagged).toEqual(['* MYRIGHTS ~jsmith/INBOX lr']);
    const sel = await boss.command('SELECT ~jsmith/INBOX');
    expect(sel.tagged).toMatch(/OK \[READ-ONLY\]/);
    const body = await boss.command('FETCH 1 (BODY[HEADER.FIELDS (SUBJECT)])');
    expect(body.untagged[0]).toContain('Subject:');
    expect((await boss.command('GETACL ~jsmith/INBOX')).tagged).toMatch(/NO \[NOPERM\]/);
    expect((await owner.command('DELETEACL INBOX boss')).status).toBe('OK');
    expect((await boss.command('MYRIGHTS ~jsmith/INBOX')).tagged).toMatch(/NO \[NONEXISTENT\]/);
    boss.close();
    owner.close();
  });
});
