// The smaller IMAP extensions of issue 22, byte by byte over the in-memory store (test/helpers/in-process.ts):
// MULTIAPPEND (RFC 3502), LIST-MYRIGHTS (RFC 8440), WITHIN (RFC 5032), SAVEDATE (RFC 8514), OBJECTID (RFC 8474),
// PREVIEW (RFC 8970). What needs the Maildir store or Dovecot is in test/interop/imap-small-extensions.test.ts.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RawImap } from '../helpers/imap-client.js';
import { type InProcessServer, startInProcess } from '../helpers/in-process.js';
import type { Endpoint } from '../helpers/pop-client.js';

const LISTENERS = [{ name: 'imap', module: 'imap', address: '127.0.0.1', port: 0 }];

function message(subject: string, body = 'hello\r\n'): string {
  return `From: Sender <sender@example.net>\r\nSubject: ${subject}\r\nDate: Tue, 01 Dec 2026 09:00:00 +0000\r\n\r\n${body}`;
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** An APPEND date-time `seconds` ago, in UTC. */
function secondsAgo(seconds: number): string {
  const d = new Date(Date.now() - seconds * 1000);
  const two = (n: number) => String(n).padStart(2, '0');
  const time = `${two(d.getUTCHours())}:${two(d.getUTCMinutes())}:${two(d.getUTCSeconds())}`;
  return `"${two(d.getUTCDate())}-${MONTHS[d.getUTCMonth()]}-${d.getUTCFullYear()} ${time} +0000"`;
}

/** APPENDs `body` to `mailbox` with a non-synchronising literal; the tagged answer. */
async function appendTo(c: RawImap, mailbox: string, body: string, options = ''): Promise<string> {
  const tag = c.nextTag();
  c.send(`${tag} APPEND ${mailbox} ${options}${options ? ' ' : ''}{${Buffer.byteLength(body)}+}\r\n${body}\r\n`);
  return (await c.until(tag)).tagged;
}

describe('IMAP: the smaller extensions', () => {
  let server: InProcessServer;
  let port: Endpoint;
  beforeAll(async () => {
    server = await startInProcess({ config: { listeners: LISTENERS, imap: { maxLiteralSize: 4096 } } });
    port = server.portOf('imap');
    await server.addAccount('jsmith', 'secret');
    await server.addAccount('boss', 'secret');
  });
  afterAll(() => server.stop());

  it('advertises each extension after sign-in', async () => {
    const c = await RawImap.signIn(port, 'jsmith', 'secret');
    const caps = (await c.command('CAPABILITY')).untagged[0].split(' ');
    expect(caps).toContain('MULTIAPPEND');
    expect(caps).toContain('LIST-MYRIGHTS');
    expect(caps).toContain('WITHIN');
    for (const cap of ['SAVEDATE', 'OBJECTID', 'PREVIEW', 'UTF8=ACCEPT']) expect(caps).toContain(cap);
    c.close();
  });

  it('MULTIAPPEND: several messages in one APPEND, committed together, APPENDUID with a UID set', async () => {
    const c = await RawImap.signIn(port, 'jsmith', 'secret');
    expect((await c.command('CREATE Multi')).status).toBe('OK');
    const one = message('one');
    const two = message('two');
    const three = message('three');
    c.send(`m1 APPEND Multi (\\Seen) {${one.length}}\r\n`);
    expect(await c.response()).toBe('+ Ready for literal data');
    c.send(`${one} (\\Flagged) " 5-Nov-2026 08:00:00 +0100" {${two.length}}\r\n`);
    expect(await c.response()).toBe('+ Ready for literal data');
    // a third one as a non-synchronising literal (LITERAL+)
    c.send(`${two} {${three.length}+}\r\n${three}\r\n`);
    const done = await c.until('m1');
    expect(done.untagged).toEqual([]);
    expect(done.tagged).toMatch(/^m1 OK \[APPENDUID \d+ 1:3\] APPEND completed$/);
    await c.command('SELECT Multi');
    const f = await c.command('FETCH 1:3 (FLAGS INTERNALDATE BODY.PEEK[HEADER.FIELDS (SUBJECT)])');
    expect(f.untagged[0]).toMatch(
      /^\* 1 FETCH \(FLAGS \(\\Seen \\Recent\) INTERNALDATE "[^"]+" BODY\[HEADER\.FIELDS \(SUBJECT\)\] \{\d+\}\r\nSubject: one/,
    );
    expect(f.untagged[1]).toMatch(/^\* 2 FETCH \(FLAGS \(\\Flagged \\Recent\) INTERNALDATE " 5-Nov-2026 07:00:00 \+0000" .*Subject: two/s);
    expect(f.untagged[2]).toMatch(/^\* 3 FETCH \(FLAGS \(\\Recent\) .*Subject: three/s);
    c.close();
  });

  it('MULTIAPPEND is all or nothing: a second message too large or bad, or a client gone mid-way, stores none', async () => {
    const c = await RawImap.signIn(port, 'jsmith', 'secret');
    expect((await c.command('CREATE Whole')).status).toBe('OK');
    const one = message('first');
    // the second one past imap.maxLiteralSize, synchronising: NO before its "+", the first dropped
    c.send(`n1 APPEND Whole {${one.length}}\r\n`);
    expect(await c.response()).toBe('+ Ready for literal data');
    c.send(`${one} {5000}\r\n`);
    expect(await c.response()).toMatch(/^n1 NO \[TOOBIG\] The message is too large \(5000 octets; the limit is 4096\)$/);
    // non-synchronising: its octets and a third message after it are read and dropped, not taken as commands
    c.send(`n2 APPEND Whole {${one.length}+}\r\n${one} {5000+}\r\n${'x'.repeat(5000)} {${one.length}+}\r\n${one}\r\n`);
    expect((await c.until('n2')).tagged).toMatch(/^n2 NO \[TOOBIG\]/);
    // a bad argument between the messages
    c.send(`n3 APPEND Whole {${one.length}+}\r\n${one} (\\Bogus) {${one.length}+}\r\n${one}\r\n`);
    expect((await c.until('n3')).tagged).toMatch(/^n3 BAD /);
    expect((await c.command('NOOP')).status).toBe('OK');
    expect((await c.command('STATUS Whole (MESSAGES)')).untagged).toEqual(['* STATUS Whole (MESSAGES 0)']);
    // the client goes away in the middle of the second message
    c.send(`n5 APPEND Whole {${one.length}+}\r\n${one} {${one.length}+}\r\n${one.slice(0, 10)}`);
    await new Promise((r) => setTimeout(r, 100));
    c.close();
    await new Promise((r) => setTimeout(r, 100));
    const d = await RawImap.signIn(port, 'jsmith', 'secret');
    expect((await d.command('STATUS Whole (MESSAGES)')).untagged).toEqual(['* STATUS Whole (MESSAGES 0)']);
    d.close();
  });

  it('LIST-MYRIGHTS: RETURN (MYRIGHTS) answers each listed mailbox with its rights, after STATUS when both are asked', async () => {
    const boss = await RawImap.signIn(port, 'boss', 'secret');
    expect((await boss.command('CREATE Shared')).status).toBe('OK');
    expect((await boss.command('SETACL Shared jsmith lrs')).status).toBe('OK');
    boss.close();
    const c = await RawImap.signIn(port, 'jsmith', 'secret');
    expect((await c.command('CREATE Lists/Rights')).status).toBe('OK');
    const own = await c.command('LIST "" "Lists*" RETURN (MYRIGHTS)');
    expect(own.untagged).toEqual([
      '* LIST (\\HasChildren) "/" Lists',
      '* MYRIGHTS Lists lrwstipekxa',
      '* LIST (\\HasNoChildren) "/" Lists/Rights',
      '* MYRIGHTS Lists/Rights lrwstipekxa',
    ]);
    const others = await c.command('LIST "" "~boss/*" RETURN (STATUS (MESSAGES) MYRIGHTS)');
    expect(others.untagged).toEqual([
      '* LIST (\\HasNoChildren) "/" ~boss/Shared',
      '* STATUS ~boss/Shared (MESSAGES 0)',
      '* MYRIGHTS ~boss/Shared lrs',
    ]);
    // the "~boss" level is no mailbox: LIST alone
    expect((await c.command('LIST "" "~boss" RETURN (MYRIGHTS)')).untagged).toEqual(['* LIST (\\Noselect \\HasChildren) "/" ~boss']);
    c.close();
  });

  it('WITHIN: SEARCH OLDER and YOUNGER count seconds back from now against the internal date', async () => {
    const c = await RawImap.signIn(port, 'jsmith', 'secret');
    expect((await c.command('CREATE Within')).status).toBe('OK');
    expect(await appendTo(c, 'Within', message('two hours old'), secondsAgo(7200))).toMatch(/OK/);
    expect(await appendTo(c, 'Within', message('a minute old'), secondsAgo(60))).toMatch(/OK/);
    expect(await appendTo(c, 'Within', message('new'))).toMatch(/OK/);
    await c.command('SELECT Within');
    expect((await c.command('SEARCH YOUNGER 3600')).untagged).toEqual(['* SEARCH 2 3']);
    expect((await c.command('SEARCH OLDER 3600')).untagged).toEqual(['* SEARCH 1']);
    expect((await c.command('UID SEARCH OLDER 30 YOUNGER 600')).untagged).toEqual(['* SEARCH 2']);
    expect((await c.command('SEARCH NOT YOUNGER 86400')).untagged).toEqual(['* SEARCH']);
    expect((await c.command('SEARCH OLDER 0')).tagged).toMatch(/BAD OLDER needs an interval of at least one second$/);
    expect((await c.command('SEARCH YOUNGER x')).tagged).toMatch(/BAD Expected an interval in seconds at "x"$/);
    c.close();
  });

  it('SAVEDATE: FETCH SAVEDATE is when the message was saved here, a copy has its own; SEARCH SAVED* by that day', async () => {
    const c = await RawImap.signIn(port, 'jsmith', 'secret');
    expect((await c.command('CREATE Saved')).status).toBe('OK');
    expect((await c.command('CREATE SavedCopy')).status).toBe('OK');
    expect(await appendTo(c, 'Saved', message('old'), '"01-Feb-2020 10:00:00 +0000"')).toMatch(/OK/);
    await c.command('SELECT Saved');
    const today = new Date();
    const f = await c.command('FETCH 1 (INTERNALDATE SAVEDATE)');
    const m = /^\* 1 FETCH \(INTERNALDATE " 1-Feb-2020 10:00:00 \+0000" SAVEDATE "([^"]+)"\)$/.exec(f.untagged[0]);
    expect(m, f.untagged[0]).not.toBeNull();
    const saved = new Date(m![1].replace(/^ /, '').replace(/^(\d+)-(\w+)-(\d+) /, '$2 $1 $3 '));
    expect(Math.abs(saved.getTime() - today.getTime())).toBeLessThan(5000);
    const day = `${today.getUTCDate()}-${MONTHS[today.getUTCMonth()]}-${today.getUTCFullYear()}`;
    expect((await c.command(`SEARCH SAVEDON ${day}`)).untagged).toEqual(['* SEARCH 1']);
    expect((await c.command(`SEARCH SAVEDBEFORE ${day}`)).untagged).toEqual(['* SEARCH']);
    expect((await c.command('SEARCH SAVEDSINCE 1-Jan-2021 ON 1-Feb-2020')).untagged).toEqual(['* SEARCH 1']);
    expect((await c.command('SEARCH SAVEDATESUPPORTED')).untagged).toEqual(['* SEARCH 1']);
    await new Promise((r) => setTimeout(r, 1100));
    expect((await c.command('COPY 1 SavedCopy')).status).toBe('OK');
    await c.command('SELECT SavedCopy');
    const copy = /SAVEDATE "([^"]+)"/.exec((await c.command('FETCH 1 SAVEDATE')).untagged[0])![1];
    expect(copy).not.toBe(m![1]);
    c.close();
  });

  it('OBJECTID: MAILBOXID in CREATE, SELECT, STATUS, kept by RENAME; EMAILID kept by COPY; THREADID NIL; SEARCH EMAILID', async () => {
    const c = await RawImap.signIn(port, 'jsmith', 'secret');
    const created = (await c.command('CREATE Ids')).tagged;
    expect(created).toMatch(/^a\d+ OK \[MAILBOXID \([A-Za-z0-9_-]+\)\] CREATE completed$/);
    expect((await c.command('CREATE IdsCopy')).status).toBe('OK');
    expect(await appendTo(c, 'Ids', message('one'))).toMatch(/OK/);
    expect(await appendTo(c, 'Ids', message('two'))).toMatch(/OK/);
    const sel = await c.command('SELECT Ids');
    const line = sel.untagged.find((l) => l.includes('MAILBOXID'))!;
    const mailboxId = /^\* OK \[MAILBOXID \(([A-Za-z0-9_-]{1,255})\)\] Ok$/.exec(line)![1];
    expect(created).toContain(`[MAILBOXID (${mailboxId})]`);
    expect((await c.command('STATUS Ids (MESSAGES MAILBOXID)')).untagged).toEqual([`* STATUS Ids (MESSAGES 2 MAILBOXID (${mailboxId}))`]);
    const ids = await c.command('FETCH 1:2 (EMAILID THREADID)');
    const one = /^\* 1 FETCH \(EMAILID \(([A-Za-z0-9_-]+)\) THREADID NIL\)$/.exec(ids.untagged[0])![1];
    const two = /^\* 2 FETCH \(EMAILID \(([A-Za-z0-9_-]+)\) THREADID NIL\)$/.exec(ids.untagged[1])![1];
    expect(one).not.toBe(two);
    expect((await c.command(`SEARCH EMAILID ${two}`)).untagged).toEqual(['* SEARCH 2']);
    expect((await c.command('SEARCH THREADID T1')).untagged).toEqual(['* SEARCH']);
    expect((await c.command('UID COPY 2 IdsCopy')).status).toBe('OK');
    await c.command('UNSELECT');
    expect((await c.command('RENAME Ids IdsRenamed')).status).toBe('OK');
    expect((await c.command('STATUS IdsRenamed (MAILBOXID)')).untagged).toEqual([`* STATUS IdsRenamed (MAILBOXID (${mailboxId}))`]);
    const other = (await c.command('STATUS IdsCopy (MAILBOXID)')).untagged[0];
    expect(other).not.toContain(mailboxId);
    await c.command('EXAMINE IdsCopy');
    expect((await c.command('FETCH 1 (UID EMAILID)')).untagged).toEqual([`* 1 FETCH (UID 1 EMAILID (${two}))`]);
    expect((await c.command('LIST "" IdsRenamed RETURN (STATUS (MAILBOXID))')).untagged).toEqual([
      '* LIST (\\HasNoChildren) "/" IdsRenamed',
      `* STATUS IdsRenamed (MAILBOXID (${mailboxId}))`,
    ]);
    c.close();
  });

  it('PREVIEW: the first text of the message, quoted lines left out, whitespace folded, HTML tags stripped, 200 characters', async () => {
    const c = await RawImap.signIn(port, 'jsmith', 'secret');
    expect((await c.command('CREATE Preview')).status).toBe('OK');
    const plain = message('plain', '> quoted reply\r\n\r\nHello   there,\r\n\tthis is  the body.\r\n');
    const html =
      'Subject: html\r\nMIME-Version: 1.0\r\nContent-Type: multipart/alternative; boundary=b\r\n\r\n--b\r\n' +
      'Content-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n' +
      '<html><head><style>p {color: red}</style></head><body><p>Caf=C3=A9 &amp; <b>cr=C3=A8me</b></p></body></html>\r\n--b--\r\n';
    const long = message('long', `${'word '.repeat(100)}\r\n`);
    const none = 'Subject: image\r\nMIME-Version: 1.0\r\nContent-Type: image/png\r\nContent-Transfer-Encoding: base64\r\n\r\niVBORw0K\r\n';
    for (const m of [plain, html, long, none]) expect(await appendTo(c, 'Preview', m)).toMatch(/OK/);
    await c.command('SELECT Preview');
    const f = await c.command('FETCH 1:4 (PREVIEW)');
    expect(f.untagged[0]).toBe('* 1 FETCH (PREVIEW "Hello there, this is the body.")');
    const utf8 = Buffer.from('Café & crème'); // the client reads octets as latin1
    expect(f.untagged[1]).toBe(`* 2 FETCH (PREVIEW {${utf8.length}}\r\n${utf8.toString('latin1')})`);
    expect(f.untagged[2]).toBe(`* 3 FETCH (PREVIEW "${'word '.repeat(40).trimEnd()}")`);
    expect(f.untagged[3]).toBe('* 4 FETCH (PREVIEW "")');
    expect((await c.command('FETCH 1 (UID PREVIEW (LAZY) FLAGS)')).untagged[0]).toBe(
      '* 1 FETCH (UID 1 PREVIEW "Hello there, this is the body." FLAGS (\\Recent))',
    );
    expect((await c.command('FETCH 1 (PREVIEW (FAST))')).tagged).toMatch(/BAD Unknown PREVIEW modifier "FAST"$/);
    c.close();
  });

  it('UTF8=ACCEPT: after ENABLE, mailbox names in UTF-8 both ways, APPEND UTF8 (~{n}) kept as sent, no SEARCH CHARSET', async () => {
    const latin1 = (text: string) => Buffer.from(text).toString('latin1'); // how the raw client reads UTF-8 octets
    const old = await RawImap.signIn(port, 'jsmith', 'secret');
    const c = await RawImap.signIn(port, 'jsmith', 'secret');
    expect((await c.command('APPEND INBOX UTF8 (~{6+}\r\nab\r\n\r\n)')).tagged).toMatch(
      /BAD APPEND with UTF8 needs ENABLE UTF8=ACCEPT first$/,
    );
    expect((await c.command('ENABLE UTF8=ACCEPT')).untagged).toEqual(['* ENABLED UTF8=ACCEPT']);
    expect((await c.command(Buffer.from('CREATE "Résumé/Été"'))).status).toBe('OK');
    expect((await c.command('LIST "" "R*"')).untagged).toEqual([
      latin1('* LIST (\\HasChildren) "/" "Résumé"'),
      latin1('* LIST (\\HasNoChildren) "/" "Résumé/Été"'),
    ]);
    // a session that did not enable it sees modified UTF-7 (RFC 3501 section 5.1.3)
    expect((await old.command('LIST "" "R*"')).untagged).toEqual([
      '* LIST (\\HasChildren) "/" R&AOk-sum&AOk-',
      '* LIST (\\HasNoChildren) "/" R&AOk-sum&AOk-/&AMk-t&AOk-',
    ]);
    const msg = Buffer.from('From: Jérôme <jérôme@exämple.org>\r\nSubject: Ünïcode\r\n\r\nbody\r\n');
    c.send(Buffer.concat([Buffer.from(`u1 APPEND "Résumé/Été" (\\Seen) UTF8 (~{${msg.length}}\r\n`)]));
    expect(await c.response()).toBe('+ Ready for literal data');
    c.send(Buffer.concat([msg, Buffer.from(`) UTF8 (~{${msg.length}+}\r\n`), msg, Buffer.from(')\r\n')]));
    expect((await c.until('u1')).tagged).toMatch(/^u1 OK \[APPENDUID \d+ 1:2\] APPEND completed$/);
    const status = await c.command(Buffer.from('STATUS "Résumé/Été" (MESSAGES SIZE)'));
    expect(status.untagged).toEqual([latin1(`* STATUS "Résumé/Été" (MESSAGES 2 SIZE ${2 * msg.length})`)]);
    await c.command(Buffer.from('SELECT "Résumé/Été"'));
    expect((await c.command('FETCH 1 BODY.PEEK[HEADER]')).untagged[0]).toBe(
      `* 1 FETCH (BODY[HEADER] {${msg.length - 6}}\r\n${latin1(msg.subarray(0, msg.length - 6).toString())})`,
    );
    expect((await c.command('SEARCH CHARSET UTF-8 SUBJECT x')).tagged).toMatch(/BAD No CHARSET after ENABLE UTF8=ACCEPT/);
    expect((await c.command(Buffer.from('SEARCH SUBJECT "ünïcode"'))).untagged).toEqual(['* SEARCH 1 2']);
    expect((await c.command('APPEND INBOX UTF8 ({6+}\r\nab\r\n\r\n)')).tagged).toMatch(/BAD UTF8 takes the message as a literal8/);
    old.close();
    c.close();
  });
});
