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
});
