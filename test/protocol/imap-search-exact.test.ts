// SEARCH's exact answers over the in-memory store (issue 25): TEXT reads MIME part headers, BODY skips an
// attached message's header, a multipart without a boundary is no text, i;unicode-casemap folds the needle
// and the text alike, FROM/TO/CC/BCC match each address on its own. The same cases against a real Dovecot:
// test/interop/imap-search-dovecot.test.ts.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RawImap } from '../helpers/imap-client.js';
import { type InProcessServer, startInProcess } from '../helpers/in-process.js';

const LISTENERS = [{ name: 'imap', module: 'imap', address: '127.0.0.1', port: 0 }];

const MESSAGES = [
  // 1: an attachment with its own header, and an attached message
  [
    'From: alice@example.org, Bob <bob@example.net>',
    'Subject: report',
    'MIME-Version: 1.0',
    'Content-Type: multipart/mixed; boundary="b1"',
    '',
    '--b1',
    'Content-Type: text/plain; charset=utf-8',
    '',
    'the Bücher are attached',
    '--b1',
    'Content-Type: application/pdf; name="figures.pdf"',
    'Content-Disposition: attachment; filename="figures.pdf"',
    'Content-Transfer-Encoding: base64',
    '',
    Buffer.from('%PDF pdfword').toString('base64'),
    '--b1',
    'Content-Type: message/rfc822',
    '',
    'From: Fwd Sender <fwd@example.com>',
    'Subject: innersubject',
    '',
    'innerbody ＡＢＣ',
    '--b1--',
    '',
  ].join('\n'),
  // 2: a multipart without a boundary
  ['From: carol@example.org', 'Subject: lonely', 'MIME-Version: 1.0', 'Content-Type: multipart/mixed', '', 'lonelyword text', ''].join(
    '\n',
  ),
  // 3: plain text in ISO-8859-1, a subject with runs of white space
  Buffer.from(
    'From: "Doe, John" <john@example.com>\nSubject: Hello \t  world\nContent-Type: text/plain; charset=iso-8859-1\n\nStra\xdfe caf\xe9\n',
    'latin1',
  ),
];

describe('SEARCH exact answers (in process)', () => {
  let server: InProcessServer;
  let c: RawImap;
  beforeAll(async () => {
    server = await startInProcess({ config: { listeners: LISTENERS } });
    await server.addAccount('finder', 'secret');
    for (const m of MESSAGES) await server.deliver('finder', m);
    c = await RawImap.signIn(server.portOf('imap'), 'finder', 'secret');
    expect((await c.command('SELECT INBOX')).status).toBe('OK');
  });
  afterAll(async () => {
    c?.close();
    await server.stop();
  });

  const search = async (command: string | Buffer) => {
    const a = await c.command(command);
    expect(a.status, a.tagged).toBe('OK');
    return a.untagged.find((l) => l.startsWith('* SEARCH'));
  };
  const utf8 = (key: string, needle: string) => Buffer.from(`SEARCH CHARSET UTF-8 ${key} {${Buffer.byteLength(needle)}+}\r\n${needle}`);

  it('TEXT finds words of MIME part headers, BODY does not', async () => {
    expect(await search('SEARCH TEXT figures.pdf')).toBe('* SEARCH 1');
    expect(await search('SEARCH TEXT "content-disposition: attachment"')).toBe('* SEARCH 1');
    expect(await search('SEARCH BODY figures.pdf')).toBe('* SEARCH');
    expect(await search('SEARCH TEXT pdfword')).toBe('* SEARCH'); // a non-text part's body
  });

  it('an attached message: BODY finds its body, not its header; TEXT finds both', async () => {
    expect(await search('SEARCH BODY innerbody')).toBe('* SEARCH 1');
    expect(await search('SEARCH BODY innersubject')).toBe('* SEARCH');
    expect(await search('SEARCH TEXT innersubject')).toBe('* SEARCH 1');
    expect(await search('SEARCH FROM fwd')).toBe('* SEARCH'); // FROM is the message's own
  });

  it('a multipart without a boundary holds no text', async () => {
    expect(await search('SEARCH BODY lonelyword')).toBe('* SEARCH');
    expect(await search('SEARCH TEXT lonelyword')).toBe('* SEARCH');
    expect(await search('SEARCH TEXT lonely')).toBe('* SEARCH 2'); // its Subject
  });

  it('i;unicode-casemap: "bu" finds "Bücher", "abc" finds "ＡＢＣ", in any charset', async () => {
    expect(await search('SEARCH BODY bu')).toBe('* SEARCH 1');
    expect(await search(utf8('BODY', 'BÜCHER'))).toBe('* SEARCH 1');
    expect(await search('SEARCH BODY abc')).toBe('* SEARCH 1');
    expect(await search(utf8('BODY', 'CAFÉ'))).toBe('* SEARCH 3');
    expect(await search(utf8('BODY', 'straße'))).toBe('* SEARCH 3');
    expect(await search('SEARCH BODY strasse')).toBe('* SEARCH'); // ß has no simple titlecase
  });

  it('FROM matches each address on its own; SUBJECT reads runs of white space as one space', async () => {
    expect(await search('SEARCH FROM "bob <bob@"')).toBe('* SEARCH 1');
    expect(await search('SEARCH FROM ", "')).toBe('* SEARCH 3'); // inside "Doe, John" only, never between two addresses
    expect(await search('SEARCH FROM "\\"doe, john\\" <john@example.com>"')).toBe('* SEARCH 3');
    expect(await search('SEARCH SUBJECT "hello world"')).toBe('* SEARCH 3');
    expect(await search('SEARCH HEADER Subject "hello world"')).toBe('* SEARCH');
  });
});
