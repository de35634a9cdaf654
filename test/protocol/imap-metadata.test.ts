// METADATA (RFC 5464) and CREATE-SPECIAL-USE (RFC 6154) in this process over the memory store, byte by
// byte: server and mailbox entries, DEPTH and MAXSIZE, the limits (imap.metadata), entry-name rules,
// rights on another user's mailbox, special uses in LIST. What Delta Chat sends is here too. The Maildir
// side (the entries on disk, across restarts, RENAME and DELETE) is test/e2e/imap-metadata.test.ts.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RawImap } from '../helpers/imap-client.js';
import { type InProcessServer, startInProcess } from '../helpers/in-process.js';
import type { Endpoint } from '../helpers/pop-client.js';

const LISTENERS = [{ name: 'imap', module: 'imap', address: '127.0.0.1', port: 0 }];

describe('IMAP METADATA and CREATE-SPECIAL-USE', () => {
  let server: InProcessServer;
  let port: Endpoint;
  beforeAll(async () => {
    server = await startInProcess({
      config: { listeners: LISTENERS, imap: { metadata: { maxSize: 1024, maxEntries: 10, comment: 'test server' } } },
    });
    port = server.portOf('imap');
    await server.addAccount('jsmith', 'secret');
    await server.addAccount('bob', 'secret');
  });
  afterAll(() => server.stop());

  it('offers METADATA, METADATA-SERVER and CREATE-SPECIAL-USE once signed in', async () => {
    const c = await RawImap.signIn(port, 'jsmith', 'secret');
    const caps = (await c.command('CAPABILITY')).untagged[0];
    expect(caps).toMatch(/ METADATA /);
    expect(caps).toMatch(/ METADATA-SERVER /);
    expect(caps).toMatch(/ CREATE-SPECIAL-USE /);
    c.close();
  });

  it('keeps what Delta Chat keeps: its push token on INBOX and the server, and reads /shared/comment and /shared/admin', async () => {
    const c = await RawImap.signIn(port, 'jsmith', 'secret');
    // as Delta Chat formats it (a non-synchronising literal)
    expect((await c.command('SETMETADATA "INBOX" (/private/devicetoken {9+}\r\nfoobarbaz)')).status).toBe('OK');
    const token = await c.command('GETMETADATA "INBOX" /private/devicetoken');
    expect(token.untagged).toEqual(['* METADATA INBOX (/private/devicetoken {9}\r\nfoobarbaz)']);
    expect(token.tagged).toMatch(/^a\d+ OK GETMETADATA completed$/);
    const server = await c.command('GETMETADATA "" (/shared/comment /shared/admin)');
    expect(server.untagged).toEqual(['* METADATA "" (/shared/comment {11}\r\ntest server /shared/admin NIL)']);
    // the server's comment and admin are the operator's (imap.metadata), as Dovecot's mail_server_comment and mail_server_admin
    expect((await c.command('SETMETADATA "" (/shared/admin "mailto:me@example.org")')).tagged).toMatch(/^a\d+ NO \[CANNOT\] /);
    expect((await c.command('SETMETADATA "" (/private/devicetoken "tok\\"en")')).status).toBe('OK');
    expect((await c.command('GETMETADATA "" /PRIVATE/DeviceToken')).untagged).toEqual([
      '* METADATA "" (/private/devicetoken {6}\r\ntok"en)',
    ]);
    // the server's entries and INBOX's are apart
    expect((await c.command('GETMETADATA "INBOX" /private/devicetoken')).untagged[0]).toContain('foobarbaz');
    c.close();
  });

  it('answers DEPTH 0, 1 and infinity, leaves out what is past MAXSIZE with [METADATA LONGENTRIES n], and removes with NIL', async () => {
    const c = await RawImap.signIn(port, 'jsmith', 'secret');
    await c.command('CREATE depth');
    const set = await c.command(
      'SETMETADATA depth (/shared/comment "top" /shared/vendor/acme/a "1" /shared/vendor/acme/a/b "2" /private/vendor/acme/big {20}\r\n' +
        `${'x'.repeat(20)})`,
    );
    expect(set.status).toBe('OK');
    const d0 = await c.command('GETMETADATA depth (/shared/vendor/acme)');
    expect(d0.untagged).toEqual(['* METADATA depth (/shared/vendor/acme NIL)']);
    const d1 = await c.command('GETMETADATA (DEPTH 1) depth (/shared/vendor/acme)');
    expect(d1.untagged).toEqual(['* METADATA depth (/shared/vendor/acme NIL /shared/vendor/acme/a {1}\r\n1)']);
    const all = await c.command('GETMETADATA (DEPTH infinity) depth (/shared /private)');
    expect(all.untagged).toEqual([
      '* METADATA depth (/shared NIL /shared/comment {3}\r\ntop /shared/vendor/acme/a {1}\r\n1 /shared/vendor/acme/a/b {1}\r\n2 ' +
        `/private NIL /private/vendor/acme/big {20}\r\n${'x'.repeat(20)})`,
    ]);
    const small = await c.command('GETMETADATA (MAXSIZE 10 DEPTH infinity) depth (/private/vendor)');
    expect(small.untagged).toEqual(['* METADATA depth (/private/vendor NIL)']);
    expect(small.tagged).toMatch(/^a\d+ OK \[METADATA LONGENTRIES 20\] GETMETADATA completed$/);
    expect((await c.command('SETMETADATA depth (/shared/comment NIL)')).status).toBe('OK');
    expect((await c.command('GETMETADATA depth /shared/comment')).untagged).toEqual(['* METADATA depth (/shared/comment NIL)']);
    c.close();
  });

  it('keeps any octet but NUL in a literal8 value, as Dovecot does', async () => {
    const c = await RawImap.signIn(port, 'jsmith', 'secret');
    const bytes = Buffer.from([0xff, 0x0d, 0x0a, 0x01, 0x09, 0x80]);
    const tag = c.nextTag();
    c.send(Buffer.concat([Buffer.from(`${tag} SETMETADATA INBOX (/private/vendor/acme/bin ~{6+}\r\n`), bytes, Buffer.from(')\r\n')]));
    expect((await c.until(tag)).status).toBe('OK');
    const got = await c.command('GETMETADATA INBOX /private/vendor/acme/bin');
    expect(got.untagged).toEqual([`* METADATA INBOX (/private/vendor/acme/bin {6}\r\n${bytes.toString('latin1')})`]);
    const nul = c.nextTag();
    c.send(`${nul} SETMETADATA INBOX (/private/vendor/acme/nul ~{3+}\r\na\0b)\r\n`);
    expect((await c.until(nul)).tagged).toMatch(/^a\d+ NO \[CANNOT\] .*NUL/);
    c.close();
  });

  it('refuses a value past maxSize ([METADATA MAXSIZE n]) and entries past maxEntries ([METADATA TOOMANY]), changing nothing', async () => {
    const c = await RawImap.signIn(port, 'jsmith', 'secret');
    await c.command('CREATE limits');
    const big = await c.command(`SETMETADATA limits (/shared/comment "a" /private/x {1025+}\r\n${'y'.repeat(1025)})`);
    expect(big.tagged).toMatch(/^a\d+ NO \[METADATA MAXSIZE 1024\] /);
    expect((await c.command('GETMETADATA limits /shared/comment')).untagged).toEqual(['* METADATA limits (/shared/comment NIL)']);
    const nine = Array.from({ length: 9 }, (_, i) => `/private/n${i} "v"`).join(' ');
    expect((await c.command(`SETMETADATA limits (${nine})`)).status).toBe('OK');
    const over = await c.command('SETMETADATA limits (/shared/n9 "v" /shared/n10 "v")');
    expect(over.tagged).toMatch(/^a\d+ NO \[METADATA TOOMANY\] /);
    expect((await c.command('GETMETADATA limits /shared/n9')).untagged).toEqual(['* METADATA limits (/shared/n9 NIL)']);
    // at the limit: replacing a value or removing one still works
    expect((await c.command('SETMETADATA limits (/shared/n9 "v")')).status).toBe('OK');
    expect((await c.command('SETMETADATA limits (/private/n0 "w")')).status).toBe('OK');
    expect((await c.command('SETMETADATA limits (/private/n0 NIL /private/n1 NIL /shared/new "v")')).status).toBe('OK');
    c.close();
  });

  it('answers bad entry names BAD (RFC 5464 section 3.2) and a missing mailbox NO [NONEXISTENT]', async () => {
    const c = await RawImap.signIn(port, 'jsmith', 'secret');
    for (const entry of [
      'comment',
      '/shared//comment',
      '/shared/comment/',
      '/shared/co*',
      '/shared/co%',
      '/other/comment',
      '"/shared/\x7f"',
    ])
      expect((await c.command(`GETMETADATA INBOX ${entry}`)).status).toBe('BAD');
    expect((await c.command('SETMETADATA INBOX (/shared "v")')).status).toBe('BAD');
    expect((await c.command('SETMETADATA INBOX (/shared/comment)')).status).toBe('BAD');
    expect((await c.command('GETMETADATA (DEPTH 2) INBOX /shared')).status).toBe('BAD');
    expect((await c.command('GETMETADATA (COLOR 2) INBOX /shared')).status).toBe('BAD');
    expect((await c.command('GETMETADATA nosuch /shared/comment')).tagged).toMatch(/^a\d+ NO \[NONEXISTENT\] /);
    expect((await c.command('GETMETADATA nosuch comment')).status).toBe('BAD'); // the syntax first, whatever the mailbox
    expect((await c.command('SETMETADATA nosuch (/shared/comment "x")')).tagged).toMatch(/^a\d+ NO \[NONEXISTENT\] /);
    expect((await c.command('SETMETADATA INBOX (/private/vendor/vendor.dovecot/pvt/x "x")')).tagged).toMatch(/^a\d+ NO \[CANNOT\] /);
    c.close();
  });

  it('makes a mailbox with a special use (CREATE ... USE), shows it in LIST, and refuses a use it cannot keep with [USEATTR]', async () => {
    const c = await RawImap.signIn(port, 'jsmith', 'secret');
    expect((await c.command('CREATE Entwürfe (USE (\\Drafts))')).status).toBe('OK');
    expect((await c.command('CREATE "Old mail" (USE (\\Archive \\Junk))')).status).toBe('OK');
    const list = await c.command('LIST "" "*" RETURN (SPECIAL-USE)');
    expect(list.untagged).toContain('* LIST (\\HasNoChildren \\Drafts) "/" Entw&APw-rfe');
    expect(list.untagged).toContain('* LIST (\\HasNoChildren \\Archive \\Junk) "/" "Old mail"');
    const only = await c.command('LIST (SPECIAL-USE) "" "*"');
    expect(only.untagged.map((l) => l.split('"/" ')[1]).sort()).toEqual(['"Old mail"', 'Entw&APw-rfe']);
    expect((await c.command('GETMETADATA "Old mail" /private/specialuse')).untagged).toEqual([
      '* METADATA "Old mail" (/private/specialuse {14}\r\n\\Archive \\Junk)',
    ]);
    const virtual = await c.command('CREATE Everything (USE (\\All))');
    expect(virtual.tagged).toMatch(/^a\d+ NO \[USEATTR\] /);
    expect((await c.command('CREATE Odd (USE (\\Important))')).tagged).toMatch(/^a\d+ NO \[USEATTR\] /);
    expect((await c.command('LIST "" Everything')).untagged).toEqual([]); // nothing was made
    expect((await c.command('CREATE Odd (COLOR (red))')).status).toBe('BAD');
    // the usual names keep their uses; SETMETADATA changes them (an empty value: none)
    await c.command('CREATE Sent');
    expect((await c.command('GETMETADATA Sent /private/specialuse')).untagged).toEqual([
      '* METADATA Sent (/private/specialuse {5}\r\n\\Sent)',
    ]);
    expect((await c.command('SETMETADATA Sent (/private/specialuse "\\\\Flagged")')).tagged).toMatch(/^a\d+ NO \[USEATTR\] /);
    expect((await c.command('SETMETADATA Sent (/private/specialuse "")')).status).toBe('OK');
    expect((await c.command('LIST "" Sent')).untagged).toEqual(['* LIST (\\HasNoChildren) "/" Sent']);
    expect((await c.command('SETMETADATA Sent (/private/specialuse "\\\\sent \\\\archive")')).status).toBe('OK');
    expect((await c.command('LIST "" Sent')).untagged).toEqual(['* LIST (\\HasNoChildren \\Sent \\Archive) "/" Sent']);
    c.close();
  });

  it('moves entries with RENAME (mailboxes below too) and forgets them with DELETE', async () => {
    const c = await RawImap.signIn(port, 'jsmith', 'secret');
    await c.command('CREATE proj/sub');
    await c.command('SETMETADATA proj (/shared/comment "p")');
    await c.command('SETMETADATA proj/sub (/private/comment "s")');
    expect((await c.command('RENAME proj work')).status).toBe('OK');
    expect((await c.command('GETMETADATA work /shared/comment')).untagged).toEqual(['* METADATA work (/shared/comment {1}\r\np)']);
    expect((await c.command('GETMETADATA work/sub /private/comment')).untagged).toEqual([
      '* METADATA work/sub (/private/comment {1}\r\ns)',
    ]);
    await c.command('DELETE work/sub');
    await c.command('CREATE work/sub');
    expect((await c.command('GETMETADATA work/sub /private/comment')).untagged).toEqual(['* METADATA work/sub (/private/comment NIL)']);
    c.close();
  });

  it("reads another user's shared entries with r and writes them with w; private entries stay the user's own", async () => {
    const owner = await RawImap.signIn(port, 'jsmith', 'secret');
    await owner.command('CREATE team');
    await owner.command('SETMETADATA team (/shared/comment "team box" /private/comment "mine")');
    const other = await RawImap.signIn(port, 'bob', 'secret');
    expect((await other.command('GETMETADATA ~jsmith/team /shared/comment')).tagged).toMatch(/^a\d+ NO \[NONEXISTENT\] /);
    await owner.command('SETACL team bob lr');
    expect((await other.command('GETMETADATA ~jsmith/team (/shared/comment /private/comment)')).untagged).toEqual([
      '* METADATA ~jsmith/team (/shared/comment {8}\r\nteam box /private/comment NIL)',
    ]);
    expect((await other.command('SETMETADATA ~jsmith/team (/shared/comment "mine now")')).tagged).toMatch(/^a\d+ NO \[NOPERM\] /);
    expect((await other.command('SETMETADATA ~jsmith/team (/private/comment "bob\'s")')).status).toBe('OK');
    expect((await other.command('GETMETADATA ~jsmith/team /private/comment')).untagged[0]).toContain("bob's");
    expect((await owner.command('GETMETADATA team /private/comment')).untagged[0]).toContain('mine');
    await owner.command('SETACL team bob lrw');
    expect((await other.command('SETMETADATA ~jsmith/team (/shared/comment "both")')).status).toBe('OK');
    expect((await owner.command('GETMETADATA team /shared/comment')).untagged).toEqual(['* METADATA team (/shared/comment {4}\r\nboth)']);
    await owner.command('SETACL team bob l');
    expect((await other.command('GETMETADATA ~jsmith/team /shared/comment')).tagged).toMatch(/^a\d+ NO \[NOPERM\] /);
    owner.close();
    other.close();
  });
});
