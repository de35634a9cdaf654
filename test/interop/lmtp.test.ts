// LMTP delivery (RFC 2033) as an MTA uses it: Postfix-style pipelined sessions over TCP and over a unix
// socket (raw bytes, checked exactly), nodemailer's LMTP client (a real client library), several
// recipients with an unknown one, Direct Mailbox Addressing (X-Real-To), the size limit, and a delivery
// waking an IMAP IDLE. What is stored is read back through POP, byte for byte. The greeting and the LHLO
// answer run in this process: test/protocol/lmtp.test.ts.
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import SMTPConnection from 'nodemailer/lib/smtp-connection/index.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RawImap } from '../helpers/imap-client.js';
import { RawLmtp } from '../helpers/lmtp-client.js';
import { RawPop } from '../helpers/pop-client.js';
import { startServer, type TestServer } from '../helpers/server.js';

let server: TestServer;
let socketDir: string;
let socketPath: string;
const lmtpPort = () => server.portOf('lmtp');

async function popMessages(user: string, password: string): Promise<string[]> {
  const pop = await RawPop.connect(server.port);
  await pop.line();
  expect(await pop.command(`USER ${user}`)).toMatch(/^\+OK/);
  expect(await pop.command(`PASS ${password}`)).toMatch(/^\+OK/);
  const stat = await pop.command('STAT');
  const count = Number(stat.split(' ')[1]);
  const out: string[] = [];
  for (let i = 1; i <= count; i++) {
    expect(await pop.command(`RETR ${i}`)).toMatch(/^\+OK/);
    out.push((await pop.body()).toString('latin1').replace(/\.\r\n$/, '')); // without the final "."
  }
  await pop.command('QUIT');
  return out;
}

beforeAll(async () => {
  socketDir = await mkdtemp(join(tmpdir(), 'postern-lmtp-sock-'));
  socketPath = join(socketDir, 'lmtp');
  server = await startServer({
    config: {
      domains: ['client1.com'],
      delivery: { maxSize: 20_000 },
      lmtp: { maxChannels: 3 },
      listeners: [
        { name: 'pop3', module: 'pop', address: '127.0.0.1', port: 0 },
        { name: 'imap', module: 'imap', address: '127.0.0.1', port: 0 },
        { name: 'lmtp', module: 'lmtp', address: '127.0.0.1', port: 0 },
        { name: 'lmtp-unix', module: 'lmtp', path: socketPath },
      ],
    },
  });
  await server.addAccount('alice', 'a secret');
  await server.addAccount('bob', 'b secret');
  await server.addAccount('Cl1@client1.com', 'c secret');
  const r = await server.cli(['route', 'add', '*@client1.com', 'Cl1@client1.com']);
  expect(r.code, r.stderr).toBe(0);
});
afterAll(async () => {
  await server?.stop();
  await rm(socketDir, { recursive: true, force: true });
});

describe('LMTP (RFC 2033)', () => {
  it(
    'a pipelined Postfix-style transaction: one reply per RCPT, the unknown one 550 5.1.1, ' + 'then one reply per accepted recipient',
    async () => {
      const c = await RawLmtp.open({ port: lmtpPort() });
      await c.reply();
      c.send('LHLO mta.example.net\r\n');
      await c.reply();
      // Postfix pipelines the envelope and DATA in one write
      c.send(
        'MAIL FROM:<sender@example.net> BODY=8BITMIME\r\nRCPT TO:<alice@example.org>\r\nRCPT TO:<nobody@example.org>\r\nRCPT ' +
          'TO:<bob@example.org>\r\nDATA\r\n',
      );
      const [mail, rcpt1, rcpt2, rcpt3, data] = await c.replies(5);
      expect(mail).toMatch(/^250 /);
      expect(rcpt1).toMatch(/^250 /);
      expect(rcpt2).toMatch(/^550 5\.1\.1 <nobody@example\.org>: no such user here$/);
      expect(rcpt3).toMatch(/^250 /);
      expect(data).toMatch(/^354 /);
      c.send('From: sender@example.net\r\nSubject: team lunch\r\n\r\nNoon, caf\xe9.\r\n..a line that starts with a dot\r\n.\r\n');
      const perRecipient = await c.replies(2);
      expect(perRecipient[0]).toMatch(/^250 2\.\d\.\d <alice@example\.org> delivered$/);
      expect(perRecipient[1]).toMatch(/^250 2\.\d\.\d <bob@example\.org> delivered$/);
      c.send('QUIT\r\n');
      await c.reply();
      c.close();

      const expected =
        'Return-Path: <sender@example.net>\r\nFrom: sender@example.net\r\nSubject: team lunch\r\n\r\nNoon, caf\xe9.\r\n.a line that ' +
        'starts with a dot\r\n';
      for (const [user, password] of [
        ['alice', 'a secret'],
        ['bob', 'b secret'],
      ]) {
        const messages = await popMessages(user, password);
        expect(messages.at(-1)).toBe(expected.replace('\r\n.a line', '\r\n..a line')); // RETR dot-stuffs it again
      }
      // nothing is left in the spool
      expect(await readdir(join(server.dataDir, 'spool'))).toEqual([]);
    },
  );

  it('a repeated RCPT (Postfix keeps one per original address) gets its own reply after the data, and one copy is stored', async () => {
    const before = (await popMessages('alice', 'a secret')).length;
    const c = await RawLmtp.open({ port: lmtpPort() });
    await c.reply();
    c.send(
      'LHLO mta\r\nMAIL FROM:<list@example.net>\r\nRCPT TO:<alice@example.org>\r\nRCPT TO:<bob@example.org>\r\nRCPT ' +
        'TO:<Alice@example.org>\r\nDATA\r\n',
    );
    expect((await c.replies(6)).map((r) => r.slice(0, 3))).toEqual(['250', '250', '250', '250', '250', '354']);
    c.send('Subject: to the list\r\n\r\nonce\r\n.\r\n');
    const replies = await c.replies(3);
    expect(replies[0]).toMatch(/^250 .*<alice@example\.org> delivered/);
    expect(replies[1]).toMatch(/^250 .*<bob@example\.org> delivered/);
    expect(replies[2]).toMatch(/^250 .*<alice@example\.org> delivered/);
    c.send('NOOP\r\n');
    expect((await c.reply())[0]).toMatch(/^250 /); // nothing more was sent before it
    c.close();
    expect((await popMessages('alice', 'a secret')).length).toBe(before + 1);
  });

  it('a routed address gets X-Real-To (Direct Mailbox Addressing), as with postern deliver', async () => {
    const c = await RawLmtp.open({ port: lmtpPort() });
    await c.reply();
    c.send('LHLO mta\r\nMAIL FROM:<>\r\nRCPT TO:<abcdef@client1.com>\r\nDATA\r\n');
    const [lhlo, mail, rcpt, data] = await c.replies(4);
    expect([lhlo, mail, rcpt, data].map((r) => r.slice(0, 3))).toEqual(['250', '250', '250', '354']);
    c.send('Subject: for abcdef\r\n\r\nhello\r\n.\r\n');
    expect((await c.reply())[0]).toMatch(/^250 /);
    c.close();
    const [stored] = await popMessages('Cl1@client1.com', 'c secret');
    expect(stored).toBe('X-Real-To: abcdef@client1.com\r\nReturn-Path: <>\r\nSubject: for abcdef\r\n\r\nhello\r\n');
  });

  it(
    'refuses a message over delivery.maxSize: ' + 'at MAIL FROM by its SIZE, and after the data for each recipient, storing nothing',
    async () => {
      const c = await RawLmtp.open({ port: lmtpPort() });
      await c.reply();
      c.send('LHLO mta\r\n');
      await c.reply();
      c.send('MAIL FROM:<big@example.net> SIZE=50000\r\n');
      expect((await c.reply())[0]).toMatch(/^552 /);
      const before = (await popMessages('alice', 'a secret')).length;
      c.send('MAIL FROM:<big@example.net>\r\nRCPT TO:<alice@example.org>\r\nRCPT TO:<bob@example.org>\r\nDATA\r\n');
      expect((await c.replies(4)).map((r) => r.slice(0, 3))).toEqual(['250', '250', '250', '354']);
      c.send(`Subject: big\r\n\r\n${'0123456789012345678901234567890123456789\r\n'.repeat(1000)}.\r\n`);
      const replies = await c.replies(2);
      // too big, not "mailbox full" (5.2.2)
      for (const r of replies) expect(r).toMatch(/^552 5\.3\.4 .*exceeds fixed maximum message size 20000/);
      c.send('QUIT\r\n');
      c.close();
      expect((await popMessages('alice', 'a secret')).length).toBe(before);
      expect(await readdir(join(server.dataDir, 'spool'))).toEqual([]);
    },
  );

  it("serves a unix socket (mode 0666, like Dovecot's) the same way", async () => {
    const c = await RawLmtp.open({ path: socketPath });
    expect((await c.reply())[0]).toMatch(/^220 .* LMTP /);
    c.send('LHLO local\r\nMAIL FROM:<root@localhost>\r\nRCPT TO:<bob@example.org>\r\nDATA\r\n');
    expect((await c.replies(4)).map((r) => r.slice(0, 3))).toEqual(['250', '250', '250', '354']);
    c.send('Subject: over the unix socket\r\n\r\nok\r\n.\r\n');
    expect((await c.reply())[0]).toMatch(/^250 2\.\d\.\d <bob@example.org> delivered/);
    c.close();
    const messages = await popMessages('bob', 'b secret');
    expect(messages.at(-1)).toContain('Subject: over the unix socket');
    const { statSync } = await import('node:fs');
    expect(statSync(socketPath).mode & 0o777).toBe(0o666);
    expect(server.logs.some((r) => r.msg === 'listening' && r.listener === 'lmtp-unix' && r.path === socketPath)).toBe(true);
  });

  it("nodemailer's LMTP client delivers to several recipients and learns which one was refused", async () => {
    const conn = new SMTPConnection({ host: '127.0.0.1', port: lmtpPort(), lmtp: true, ignoreTLS: true });
    await new Promise<void>((resolve, reject) => {
      conn.once('error', reject);
      conn.connect(() => resolve());
    });
    const info = await new Promise<SMTPConnection.SentMessageInfo>((resolve, reject) => {
      conn.send(
        { from: 'news@example.net', to: ['alice@example.org', 'ghost@example.org', 'bob@example.org'] },
        'Subject: news\r\n\r\nnews of the day\r\n',
        (err, i) => (err ? reject(err) : resolve(i)),
      );
    });
    conn.quit();
    expect(info.accepted.sort()).toEqual(['alice@example.org', 'bob@example.org']);
    expect(info.rejected).toEqual(['ghost@example.org']);
    expect((await popMessages('alice', 'a secret')).at(-1)).toContain('news of the day');
  });

  it('a delivery over LMTP wakes an IMAP IDLE on the mailbox within about a second', async () => {
    const imap = await RawImap.signIn(server.portOf('imap'), 'bob', '"b secret"');
    const selected = await imap.command('SELECT INBOX');
    const exists = Number(/\* (\d+) EXISTS/.exec(selected.untagged.join('\n'))![1]);
    imap.send('i1 IDLE\r\n');
    expect(await imap.response()).toMatch(/^\+ /);
    const c = await RawLmtp.open({ port: lmtpPort() });
    await c.reply();
    const t0 = Date.now();
    c.send('LHLO mta\r\nMAIL FROM:<a@example.net>\r\nRCPT TO:<bob@example.org>\r\nDATA\r\n');
    await c.replies(4);
    c.send('Subject: wake up\r\n\r\n!\r\n.\r\n');
    expect((await c.reply())[0]).toMatch(/^250 /);
    expect(await imap.response(3000)).toBe(`* ${exists + 1} EXISTS`);
    expect(Date.now() - t0).toBeLessThan(2000);
    imap.send('DONE\r\n');
    c.close();
    imap.close();
  });

  it('lmtp.maxChannels: past it an MTA is answered 421 and may come back once a connection ends', async () => {
    const open: RawLmtp[] = [];
    for (let i = 0; i < 3; i++) {
      const c = i === 2 ? await RawLmtp.open({ path: socketPath }) : await RawLmtp.open({ port: lmtpPort() }); // both listeners count
      expect((await c.reply())[0]).toMatch(/^220 /);
      open.push(c);
    }
    const from = server.logs.length;
    const fourth = await RawLmtp.open({ port: lmtpPort() });
    expect((await fourth.reply())[0]).toBe('421 4.3.2 Too many connections; try again later');
    fourth.close();
    const refused = await server.waitForLog(
      (r) => r.msg === 'connection refused: too many connections' && r.tag === 'LMTP' && server.logs.indexOf(r) >= from,
    );
    expect(refused.limit).toBe('maxChannels'); // the limit that was reached, not a per-address one
    for (const c of open) {
      c.send('NOOP\r\n'); // the three are served all along
      expect((await c.reply())[0]).toMatch(/^250 /);
    }
    open.shift()!.close();
    await new Promise((r) => setTimeout(r, 300));
    const again = await RawLmtp.open({ port: lmtpPort() });
    expect((await again.reply())[0]).toMatch(/^220 /);
    for (const c of [...open, again]) c.close();
    await new Promise((r) => setTimeout(r, 300));
  });

  it('the spool and the stored message are readable by the server only', async () => {
    const dir = join(server.dataDir, 'accounts/example.org/bob/Maildir/new');
    const names = await readdir(dir);
    const { statSync } = await import('node:fs');
    expect(statSync(join(dir, names[0])).mode & 0o077).toBe(0);
    expect(statSync(join(server.dataDir, 'spool')).mode & 0o077).toBe(0);
    expect((await readFile(join(dir, names[0]), 'latin1')).startsWith('Return-Path: <')).toBe(true);
  });
});
