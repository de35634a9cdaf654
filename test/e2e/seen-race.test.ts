// RETR sets Seen by renaming the file while the client asks for the next thing. The session's own rename
// must never make its next command think another session deleted the message (RFC 1939 allows -ERR only
// for a message that does not exist or is marked deleted). Found by a hostile test run: RETR n then TOP n 1
// answered "-ERR Message n was deleted by another session" 38 times in 40.
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RawPop } from '../helpers/pop-client.js';
import { startServer, type TestServer } from '../helpers/server.js';

let server: TestServer;
const COUNT = 100;
let round = 0;

/** Puts COUNT unread messages into new/ of `owner`'s INBOX, as a delivery agent would. */
async function unreadMailbox(owner: string): Promise<void> {
  round += 1;
  const maildir = join(server.dataDir, 'accounts/example.org', owner, 'Maildir');
  for (const sub of ['cur', 'new'])
    for (const f of await readdir(join(maildir, sub))) await import('node:fs/promises').then((fs) => fs.unlink(join(maildir, sub, f)));
  await mkdir(join(maildir, 'new'), { recursive: true });
  for (let i = 0; i < COUNT; i++) {
    const text = `From: a@example.org\r\nSubject: message ${i}\r\n\r\nline one of ${i}\r\nline two\r\n`;
    await writeFile(join(maildir, 'new', `${1_700_000_000 + round * 1000 + i}.M${i}P1Q${i}.test,S=${text.length},W=${text.length}`), text);
  }
}

beforeAll(async () => {
  server = await startServer();
  await server.addAccount('alice', 'a secret');
});
afterAll(async () => {
  await server.stop();
});

describe('RETR then another command on the same message, one session, nobody else', () => {
  it('one command at a time: RETR n, TOP n 1, RETR n, STAT all answer +OK', async () => {
    await unreadMailbox('alice');
    const c = await RawPop.signIn(server.port, 'alice', 'a secret');
    const failures: string[] = [];
    for (let n = 1; n <= COUNT; n++) {
      for (const command of [`RETR ${n}`, `TOP ${n} 1`, `RETR ${n}`, 'STAT', `TOP ${n} 0`]) {
        const answer = await c.command(command);
        if (!answer.startsWith('+OK')) failures.push(`${command}: ${answer}`);
        else if (command !== 'STAT') await c.body();
      }
    }
    expect(failures).toEqual([]);
    expect(await c.command('QUIT')).toMatch(/^\+OK/);
    // every message now has Seen, exactly once in cur/
    const cur = await readdir(join(server.dataDir, 'accounts/example.org/alice/Maildir/cur'));
    expect(cur.length).toBe(COUNT);
    expect(cur.every((f) => f.endsWith(':2,S'))).toBe(true);
  });

  it('pipelined: RETR n, TOP n 1, RETR n for every message in one write, every answer +OK and whole', async () => {
    await unreadMailbox('alice');
    const c = await RawPop.signIn(server.port, 'alice', 'a secret');
    let script = '';
    for (let n = 1; n <= COUNT; n++) script += `RETR ${n}\r\nTOP ${n} 1\r\nRETR ${n}\r\n`;
    c.send(script);
    const failures: string[] = [];
    for (let n = 1; n <= COUNT; n++) {
      for (const what of ['RETR', 'TOP', 'RETR again']) {
        const answer = await c.line();
        if (!answer.startsWith('+OK')) {
          failures.push(`${what} ${n}: ${answer}`);
          continue;
        }
        const body = (await c.body()).toString('latin1');
        if (!body.includes(`Subject: message ${n - 1}\r\n`)) failures.push(`${what} ${n}: wrong message`);
      }
    }
    expect(failures).toEqual([]);
    expect(await c.command('QUIT')).toMatch(/^\+OK/);
  });
});
