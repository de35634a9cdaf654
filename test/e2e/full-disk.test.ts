// A full disk, made real: the data folder lives on a small tmpfs the test mounts (tests run as root,
// here and in CI), filled to its last byte by deliveries of several sizes. On a nearly full file system
// write(2) stores what fits and returns a short count; a delivery that took that for success once stored
// a truncated message and exited 0. Now: a store either holds the whole message or fails (deliver exits
// 75, LMTP answers 452 for each recipient, XTND XMIT answers -ERR [SYS/TEMP], bulletin post exits 75),
// leaves no temp file behind and leaves everything stored before intact.
import { execFileSync } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { statfsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RawLmtp } from '../helpers/lmtp-client.js';
import { RawPop } from '../helpers/pop-client.js';
import { startServer, type TestServer } from '../helpers/server.js';
import { fill, mountTmpfs } from '../helpers/tmpfs.js';

let mountPoint: string;
let server: TestServer;

/** A message of exactly `size` octets: a header and lines of text, LF line ends. */
function message(n: number, size: number): Buffer {
  const head = `From: sender@example.org\nSubject: message ${n} of ${size} octets\n\n`;
  const line = `${n} ${'0123456789abcdefghijklmnopqrstuvwxyz'.repeat(2)}\n`;
  let body = '';
  while (head.length + body.length + line.length <= size) body += line;
  const rest = size - head.length - body.length;
  if (rest > 0) body += `${'x'.repeat(rest - 1)}\n`;
  return Buffer.from(head + body, 'latin1');
}

const crlf = (b: Buffer) => Buffer.from(b.toString('latin1').replace(/\n/g, '\r\n'), 'latin1');
const inbox = (owner: string) => join(mountPoint, 'data/accounts/example.org', owner, 'Maildir');
const freeBytes = () => {
  const s = statfsSync(mountPoint);
  return s.bavail * s.bsize;
};

beforeAll(async () => {
  mountPoint = await mkdtemp(join(tmpdir(), 'postern-full-'));
  mountTmpfs(mountPoint, '3m');
  server = await startServer({
    config: {
      dataDir: join(mountPoint, 'data'),
      pop: { bulletinDir: join(mountPoint, 'bulletins') },
      listeners: [
        { name: 'pop3', module: 'pop', address: '127.0.0.1', port: 0 },
        { name: 'lmtp', module: 'lmtp', address: '127.0.0.1', port: 0 },
      ],
    },
  });
  await server.addAccount('alice', 'a secret');
  await server.addAccount('bob', 'b secret');
});
afterAll(async () => {
  await server?.stop();
  execFileSync('umount', ['-l', mountPoint]);
  await rm(mountPoint, { recursive: true, force: true });
});

describe('a file system filled to the last byte', () => {
  it('every delivery is whole or refused with 75; nothing half-written is ever shown, by POP either', async () => {
    // A bulletin posted while there is room: bob's sign-in on the full disk cannot store it.
    const bulletin = join(server.dir, 'bulletin.eml');
    await writeFile(bulletin, 'From: admin@example.org\nSubject: bulletin one\n\nPlease note.\n');
    expect((await server.cli(['bulletin', 'post', bulletin])).code).toBe(0);

    const stored: Buffer[] = [];
    const outcomes: Record<number, { ok: number; refused: number }> = {};
    let n = 0;
    for (const size of [150_137, 70_001, 20_011, 5_003, 1_009, 101]) {
      outcomes[size] = { ok: 0, refused: 0 };
      // deliver this size until the file system refuses it, then try the next smaller one
      for (;;) {
        const m = message(n++, size);
        const r = await server.cli(['deliver', 'alice'], m);
        if (r.code === 0) {
          outcomes[size].ok += 1;
          stored.push(m);
          continue;
        }
        expect(r.code, r.stderr).toBe(75);
        expect(r.stderr).toMatch(/cannot store the message for alice@example\.org \((ENOSPC|EIO)\) in the data folder .*; try again later/);
        outcomes[size].refused += 1;
        break;
      }
    }
    // whatever the smallest message could not use (part of a page) is filled too: not one byte is left
    await fill(join(mountPoint, 'filler'));
    expect(freeBytes()).toBe(0);
    for (const size of Object.keys(outcomes)) expect(outcomes[Number(size)].refused).toBe(1);
    expect(stored.length).toBeGreaterThan(10);

    // No temp file left, and every stored file is exactly what was sent, with a name that says so.
    expect(await readdir(join(inbox('alice'), 'tmp'))).toEqual([]);
    const files = await readdir(join(inbox('alice'), 'new'));
    expect(files.length).toBe(stored.length);
    const subject = (b: Buffer) => /Subject: (message \d+)/.exec(b.toString('latin1'))?.[1];
    const sent = new Map(stored.map((m) => [subject(m), m]));
    for (const f of files) {
      const data = await readFile(join(inbox('alice'), 'new', f));
      const m = sent.get(subject(data));
      expect(m !== undefined && data.equals(m), `${f} holds ${data.length} octets`).toBe(true);
      expect(f).toContain(`,S=${m!.length},W=${crlf(m!).length}`);
    }

    // POP shows exactly those messages, each whole.
    const c = await RawPop.signIn(server.port, 'alice', 'a secret');
    expect(await c.command('STAT')).toBe(`+OK ${stored.length} ${stored.reduce((sum, m) => sum + crlf(m).length, 0)}`);
    for (const [i, m] of stored.entries()) {
      expect(await c.command(`RETR ${i + 1}`)).toBe(`+OK ${crlf(m).length} octets`);
      const body = await c.body(15_000);
      expect(body.subarray(0, body.length - 3).equals(crlf(m))).toBe(true);
    }

    // XTND XMIT to a local recipient cannot be stored: -ERR [SYS/TEMP], nothing delivered.
    expect(await c.command('XTND XMIT')).toBe('+OK Start sending message.');
    c.send(`From: alice@example.org\r\nTo: bob@example.org\r\nSubject: on a full disk\r\n\r\n${'filler line\r\n'.repeat(400)}.\r\n`);
    expect(await c.line(15_000)).toMatch(/^-ERR \[SYS\/TEMP\] The message could not be stored; nothing was delivered/);
    expect(await readdir(join(inbox('bob'), 'tmp'))).toEqual([]);
    expect(await readdir(join(inbox('bob'), 'new'))).toEqual([]);

    // A bulletin cannot be posted: exit 75, no file, no temp file.
    const second = join(server.dir, 'bulletin2.eml');
    await writeFile(second, `From: admin@example.org\nSubject: bulletin two\n\n${'x'.repeat(20_000)}\n`);
    const post = await server.cli(['bulletin', 'post', second]);
    expect(post.code, post.stderr).toBe(75);
    expect(post.stderr).toMatch(/nothing was posted, try again later/);
    expect(await readdir(join(mountPoint, 'bulletins'))).toEqual(['1.bulletin.eml']);

    // LMTP from an MTA: every recipient gets 452 (the MTA keeps the message and retries), nothing is
    // stored, and the spool holds nothing.
    const lmtp = await RawLmtp.open({ port: server.portOf('lmtp') });
    await lmtp.reply();
    lmtp.send('LHLO mta\r\nMAIL FROM:<x@example.net>\r\nRCPT TO:<alice@example.org>\r\nRCPT TO:<bob@example.org>\r\nDATA\r\n');
    expect((await lmtp.replies(5)).map((r) => r.slice(0, 3))).toEqual(['250', '250', '250', '250', '354']);
    lmtp.send(`Subject: over LMTP on a full disk\r\n\r\n${'filler line\r\n'.repeat(400)}.\r\n`);
    for (const r of await lmtp.replies(2))
      expect(r).toMatch(/^452 4\.\d\.\d <(alice|bob)@example\.org>: cannot store the message .*ENOSPC.*; try again later$/);
    expect(await readdir(join(mountPoint, 'data', 'spool'))).toEqual([]);
    expect(await readdir(join(inbox('bob'), 'new'))).toEqual([]);

    // bob still signs in (to read and delete mail), and gets the bulletin once space is back.
    const bob = await RawPop.signIn(server.port, 'bob', 'b secret');
    expect(await bob.command('STAT')).toBe('+OK 0 0');
    expect(await bob.command('QUIT')).toMatch(/^\+OK/);
    await server.waitForLog((r) => r.msg === 'cannot deliver bulletins now; they follow at a later sign-in');

    // An account change on the full disk fails with 75 and keeps the old record.
    const set = await server.cli(['account', 'set', 'alice', '--password-stdin'], 'new password');
    expect(set.code, set.stderr).toBe(75);
    expect(set.stderr).toMatch(/ENOSPC|no space/i);

    // Deleting mail frees space; then everything works again and the bulletin arrives once.
    await rm(join(mountPoint, 'filler'));
    for (let i = 1; i <= 4; i++) expect(await c.command(`DELE ${i}`)).toMatch(/^\+OK/);
    expect(await c.command('QUIT')).toMatch(/^\+OK/);
    const again = await server.cli(['deliver', 'alice'], message(9999, 20_000));
    expect(again.code, again.stderr).toBe(0);
    // the MTA's retry over the same LMTP connection goes through
    lmtp.send('MAIL FROM:<x@example.net>\r\nRCPT TO:<alice@example.org>\r\nDATA\r\n');
    expect((await lmtp.replies(3)).map((r) => r.slice(0, 3))).toEqual(['250', '250', '354']);
    lmtp.send('Subject: over LMTP, retried\r\n\r\nok\r\n.\r\n');
    expect((await lmtp.reply())[0]).toMatch(/^250 /);
    lmtp.close();
    const bob2 = await RawPop.signIn(server.port, 'bob', 'b secret');
    expect(await bob2.command('STAT')).toMatch(/^\+OK 1 /);
    expect(await bob2.command('QUIT')).toMatch(/^\+OK/);
    const bob3 = await RawPop.signIn(server.port, 'bob', 'b secret');
    expect(await bob3.command('STAT')).toMatch(/^\+OK 1 /);
    expect(await bob3.command('QUIT')).toMatch(/^\+OK/);
    // the old password still works: the failed change left account.json whole
    const old = await RawPop.signIn(server.port, 'alice', 'a secret');
    old.close();
  }, 180_000); // some forty `postern deliver` processes, each a Node start: slow on a busy 2-core machine
});
