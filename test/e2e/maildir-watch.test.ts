// While a mailbox is selected, the server trusts its file watch instead of reading new/ and cur/ again
// on every command (store/maildir/folder-watch.ts). These tests change the Maildir behind its back,
// as Dovecot or an MTA would, right before a command, mixed with the server's own changes, and check
// that the very next NOOP shows each change: no change is ever missed or shown late.
import { readdirSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RawImap } from '../helpers/imap-client.js';
import { startServer, type TestServer } from '../helpers/server.js';

const LISTENERS = [{ name: 'imap', module: 'imap', address: '127.0.0.1', port: 0 }];
const message = (subject: string) => `From: a@example.org\r\nTo: watch@example.org\r\nSubject: ${subject}\r\n\r\nhello\r\n`;

describe("a selected mailbox changed behind the server's back", () => {
  let server: TestServer;
  let port: number;
  let maildir: string;

  beforeAll(async () => {
    server = await startServer({ config: { listeners: LISTENERS } });
    port = server.portOf('imap');
    await server.addAccount('watch', 'secret');
    for (let i = 0; i < 5; i++) await server.deliver('watch', message(`m${i}`));
    maildir = join(server.dataDir, 'accounts', 'example.org', 'watch', 'Maildir');
  }, 60_000);

  afterAll(async () => {
    await server?.stop();
  });

  /** The file of the message with subject-less index `n` (oldest first by name), wherever it is. */
  const files = () =>
    [
      ...readdirSync(join(maildir, 'new')).map((n) => join(maildir, 'new', n)),
      ...readdirSync(join(maildir, 'cur')).map((n) => join(maildir, 'cur', n)),
    ]
      .filter((p) => !p.split('/').pop()!.startsWith('.'))
      .sort((a, b) => a.split('/').pop()!.localeCompare(b.split('/').pop()!));

  it('shows a flag set, a message added and one removed by another program in the very next NOOP, ' +
    '60 times, between its own changes', async () => {
    const a = await RawImap.signIn(port, 'watch', 'secret');
    const b = await RawImap.signIn(port, 'watch', 'secret');
    let exists = Number(/\* (\d+) EXISTS/.exec((await a.command('SELECT INBOX')).untagged.join('\n'))![1]);
    await b.command('SELECT INBOX');
    for (let round = 0; round < 60; round++) {
      // the server's own change first (b's STORE and a's FETCH of it), so its file watch is busy with them
      await b.command(`STORE 1 ${round % 2 ? '-' : '+'}FLAGS (\\Answered)`);
      const kind = round % 3;
      const all = files();
      if (kind === 0) {
        // another program flags the last message (as Dovecot does: a rename into cur/ with F)
        const path = all[all.length - 1];
        const name = path.split('/').pop()!;
        const base = name.split(':')[0];
        const letters = name.includes(':2,') ? name.split(':2,')[1] : '';
        const flagged = letters.includes('F') ? letters.replace('F', '') : `${letters}F`.split('').sort().join('');
        renameSync(path, join(maildir, 'cur', `${base}:2,${flagged}`));
        const noop = await a.command('NOOP');
        expect(
          noop.untagged.some(
            (l) => new RegExp(`^\\* ${exists} FETCH \\(.*FLAGS \\(`).test(l) && l.includes('\\Flagged') === !letters.includes('F'),
          ),
          `round ${round}: ${noop.untagged.join(' | ')}`,
        ).toBe(true);
      } else if (kind === 1) {
        // an MTA delivers: a file written in tmp/ and renamed into new/
        const base = `${Date.now()}.M${round}P${process.pid}.watchtest`;
        writeFileSync(join(maildir, 'tmp', base), message(`external ${round}`));
        renameSync(join(maildir, 'tmp', base), join(maildir, 'new', base));
        const noop = await a.command('NOOP');
        exists++;
        expect(noop.untagged, `round ${round}`).toContain(`* ${exists} EXISTS`);
      } else {
        // another program removes the newest message
        unlinkSync(all[all.length - 1]);
        const noop = await a.command('NOOP');
        expect(noop.untagged, `round ${round}`).toContain(`* ${exists} EXPUNGE`);
        exists--;
      }
      await b.command('NOOP');
    }
    // and the server's own view agrees with the disk at the end
    const uids = (await a.command('UID SEARCH ALL')).untagged.join(' ');
    expect(uids.split(' ').length - 2).toBe(files().length);
    a.close();
    b.close();
  }, 120_000);
});
