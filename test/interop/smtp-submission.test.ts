// SMTP submission (RFC 6409, RFC 8314) as mail clients use it, against a real `postern serve`: swaks, python3's
// smtplib, nodemailer and curl send through 587 (STARTTLS) and 465 (TLS from the first byte); a local
// recipient's message is read back over IMAP, a remote one reaches the relay (a real smtp-server on port 0),
// a forged sender is refused, AUTH is not offered before TLS (cleartextAuth: never), and a relay that is down
// gives 4xx with nothing delivered.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import nodemailer from 'nodemailer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from '../helpers/clients.js';
import { RawImap } from '../helpers/imap-client.js';
import { RawPop } from '../helpers/pop-client.js';
import { startServer, type TestServer } from '../helpers/server.js';
import { type SmtpRecorder, startSmtpRecorder } from '../helpers/smtp-recorder.js';

let server: TestServer;
let relay: SmtpRecorder<string>;
let dir: string;
const submission = () => server.portOf('submission');
const submissions = () => server.portOf('submissions');

beforeAll(async () => {
  relay = await startSmtpRecorder((data) => data.toString('latin1'));
  dir = await mkdtemp(join(tmpdir(), 'postern-submit-'));
  server = await startServer({
    config: {
      domains: ['client1.com'],
      listeners: [
        { name: 'pop3', module: 'pop', address: '127.0.0.1', port: 0 },
        { name: 'imap', module: 'imap', address: '127.0.0.1', port: 0 },
        { name: 'submission', module: 'submission', address: '127.0.0.1', port: 0 },
        { name: 'submissions', module: 'submission', address: '127.0.0.1', port: 0, tls: 'implicit' },
      ],
      submission: { maxSize: 64 * 1024, senders: 'domain', relay: { host: '127.0.0.1', port: relay.port } },
      // passwords only under TLS, even from this machine: every client here starts TLS
      submissionService: { cleartextAuth: 'never', authFailureDelay: 0 },
    },
  });
  await server.addAccount('alice', 'a secret');
  await server.addAccount('bob', 'b secret');
  // alice answers for client1.com: its postmaster reaches her (senders: domain)
  expect((await server.cli(['route', 'add', 'postmaster@client1.com', 'alice'])).code).toBe(0);
});
afterAll(async () => {
  await server.stop();
  await relay.close();
  await rm(dir, { recursive: true, force: true });
});

/** The Subject fields of the messages in `user`'s INBOX, read over IMAP. */
async function subjects(user: string, password: string): Promise<string[]> {
  const imap = await RawImap.signIn(server.portOf('imap'), user, `"${password}"`);
  expect((await imap.command('SELECT INBOX')).status).toBe('OK');
  const fetched = await imap.command('FETCH 1:* (BODY.PEEK[HEADER.FIELDS (SUBJECT)])');
  imap.close();
  return fetched.untagged.flatMap((line) => [...line.matchAll(/Subject: ([^\r\n]*)/g)].map((m) => m[1]));
}

function swaks(args: string[]): Promise<{ code: number; stdout: string }> {
  return run('swaks', ['--server', '127.0.0.1', '--helo', 'client.test', ...args], { timeoutMs: 30_000 });
}

/** swaks on 465 (TLS from the first byte), signed in as `user` with AUTH PLAIN. */
function swaksAs(user: string, password: string, args: string[]): Promise<{ code: number; stdout: string }> {
  return swaks(['--port', String(submissions()), '--tlsc', '--auth', 'PLAIN', '--auth-user', user, '--auth-password', password, ...args]);
}

const relayed = (subject: string) => relay.received.find((m) => m.data.includes(`Subject: ${subject}`));

describe('SMTP submission with real clients', () => {
  it('swaks: STARTTLS on 587, AUTH PLAIN, a local recipient; the message is read over IMAP with the Received field added', async () => {
    const r = await swaks([
      '--port',
      String(submission()),
      '--tls',
      '--auth',
      'PLAIN',
      '--auth-user',
      'alice@example.org',
      '--auth-password',
      'a secret',
      '--from',
      'alice@example.org',
      '--to',
      'bob@example.org',
      '--header',
      'Subject: swaks 587',
    ]);
    expect(r.stdout).toMatch(/<~ {2}250 2\.0\.0 Ok: sent as /);
    expect(r.code).toBe(0);
    expect(await subjects('bob', 'b secret')).toContain('swaks 587');
  });

  it('swaks: implicit TLS on 465, AUTH LOGIN, a remote recipient reaches the relay', async () => {
    const r = await swaks([
      '--port',
      String(submissions()),
      '--tlsc',
      '--auth',
      'LOGIN',
      '--auth-user',
      'alice@example.org',
      '--auth-password',
      'a secret',
      '--from',
      'alice@example.org',
      '--to',
      'carol@remote.test',
      '--header',
      'Subject: swaks 465',
    ]);
    expect(r.code).toBe(0);
    const mail = relayed('swaks 465');
    expect(mail?.from).toBe('alice@example.org');
    expect(mail?.to).toEqual(['carol@remote.test']);
    expect(mail?.data).toMatch(/^Received: from client\.test \(\[127\.0\.0\.1\]\) by example\.org \(Postern\) with ESMTPSA id /);
  });

  it('python3 smtplib: SMTP_SSL on 465 and SMTP with starttls() on 587, one local and one remote recipient', async () => {
    const script = `
import smtplib, ssl, json
ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
msg = "From: alice@example.org\\r\\nTo: bob@example.org, dave@remote.test\\r\\nSubject: %s\\r\\n\\r\\nHello\\r\\n"
with smtplib.SMTP_SSL("127.0.0.1", ${submissions()}, context=ctx) as s:
    s.login("alice@example.org", "a secret")
    a = s.sendmail("alice@example.org", ["bob@example.org", "dave@remote.test"], msg % "smtplib 465")
with smtplib.SMTP("127.0.0.1", ${submission()}) as s:
    s.starttls(context=ctx)
    s.login("alice@example.org", "a secret")
    b = s.sendmail("alice@example.org", ["bob@example.org", "dave@remote.test"], msg % "smtplib 587")
print(json.dumps([a, b]))
`;
    const r = await run('python3', ['-c', script]);
    expect(r.stderr).toBe('');
    expect(JSON.parse(r.stdout.trim())).toEqual([{}, {}]); // no recipient refused
    expect(await subjects('bob', 'b secret')).toEqual(expect.arrayContaining(['smtplib 465', 'smtplib 587']));
    expect(relayed('smtplib 465')?.to).toEqual(['dave@remote.test']);
    expect(relayed('smtplib 587')?.to).toEqual(['dave@remote.test']);
  });

  it('nodemailer: 587 with requireTLS and 465 with secure, a local and a remote recipient', async () => {
    for (const [port, secure, subject] of [
      [submission(), false, 'nodemailer 587'],
      [submissions(), true, 'nodemailer 465'],
    ] as const) {
      const transport = nodemailer.createTransport({
        host: '127.0.0.1',
        port,
        secure,
        requireTLS: !secure,
        auth: { user: 'alice@example.org', pass: 'a secret' },
        tls: { rejectUnauthorized: false },
      });
      const info = await transport.sendMail({
        from: 'alice@example.org',
        to: ['bob@example.org', 'erin@remote.test'],
        subject,
        text: 'Grüße aus Köln\n',
      });
      transport.close();
      expect(info.accepted).toEqual(['bob@example.org', 'erin@remote.test']);
      expect(info.response).toMatch(/^250 2\.0\.0 Ok: sent as /);
      expect(relayed(subject)?.to).toEqual(['erin@remote.test']);
    }
    expect(await subjects('bob', 'b secret')).toEqual(expect.arrayContaining(['nodemailer 587', 'nodemailer 465']));
  });

  it('curl: smtp:// on 587 with --ssl-reqd, and smtps:// on 465', async () => {
    const file = join(dir, 'curl.eml');
    for (const [url, subject] of [
      [`smtp://127.0.0.1:${submission()}`, 'curl 587'],
      [`smtps://127.0.0.1:${submissions()}`, 'curl 465'],
    ]) {
      await writeFile(file, `From: alice@example.org\r\nTo: bob@example.org\r\nSubject: ${subject}\r\n\r\nfrom curl\r\n`);
      const r = await run('curl', [
        '-sS',
        '--ssl-reqd',
        '-k',
        url,
        '-u',
        'alice@example.org:a secret',
        '--mail-from',
        'alice@example.org',
        '--mail-rcpt',
        'bob@example.org',
        '-T',
        file,
      ]);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
    }
    expect(await subjects('bob', 'b secret')).toEqual(expect.arrayContaining(['curl 587', 'curl 465']));
  });
});

describe('SMTP submission on the wire', () => {
  it('PIPELINING on 465: MAIL, RCPT and DATA in one write; BODY=8BITMIME SMTPUTF8 text stored byte for byte', async () => {
    const c = await RawPop.connectTls(submissions());
    expect(await c.line()).toMatch(/^220 /);
    c.send('EHLO client.test\r\n');
    for (let line = await c.line(); !line.startsWith('250 '); line = await c.line());
    const plain = Buffer.from('\0alice@example.org\0a secret').toString('base64');
    expect(await c.command(`AUTH PLAIN ${plain}`)).toMatch(/^235 2\.7\.0 /);
    c.send('MAIL FROM:<alice@example.org> BODY=8BITMIME SMTPUTF8\r\nRCPT TO:<bob@example.org>\r\nDATA\r\n');
    expect(await c.line()).toMatch(/^250 2\.1\.0 /);
    expect(await c.line()).toMatch(/^250 2\.1\.5 /);
    expect(await c.line()).toMatch(/^354 /);
    const body = Buffer.from('Grüße aus Köln, 東京\r\n', 'utf8');
    c.send(Buffer.concat([Buffer.from('From: alice@example.org\r\nSubject: eight bit\r\n\r\n'), body, Buffer.from('.\r\n')]));
    expect(await c.line(10_000)).toMatch(/^250 2\.0\.0 Ok: sent as /);
    expect(await c.command('QUIT')).toMatch(/^221 /);
    c.close();
    const imap = await RawImap.signIn(server.portOf('imap'), 'bob', '"b secret"');
    expect((await imap.command('SELECT INBOX')).status).toBe('OK');
    const found = await imap.command('SEARCH SUBJECT "eight bit"');
    const n = /\* SEARCH (\d+)/.exec(found.untagged.join('\n'))![1];
    const text = await imap.command(`FETCH ${n} (BODY.PEEK[TEXT])`);
    imap.close();
    expect(text.untagged.join('\n')).toContain(body.toString('latin1'));
  });

  it("some recipients reached, one refused by the relay: 250 naming it, a delivery report (RFC 3464) in the sender's INBOX", async () => {
    const r = await swaksAs('alice@example.org', 'a secret', [
      '--from',
      'alice@example.org',
      '--to',
      'bob@example.org,ivan@remote.test,refuse-me@remote.test',
      '--header',
      'Subject: partly',
    ]);
    expect(r.stdout).toMatch(
      /<~ {2}250 2\.0\.0 Ok: sent as \S+, but not to <refuse-me@remote\.test> \(a delivery report is in your INBOX\)/,
    );
    expect(relayed('partly')?.to).toEqual(['ivan@remote.test']); // the relay refused the other at RCPT
    expect(await subjects('bob', 'b secret')).toContain('partly');
    expect(await subjects('alice', 'a secret')).toContain('Undelivered Mail Returned to Sender');
  });
});

describe('what submission refuses', () => {
  it('before TLS: EHLO offers STARTTLS and no AUTH, AUTH is answered 538 5.7.11, MAIL 530 5.7.0', async () => {
    const c = await RawPop.connect(submission());
    expect(await c.line()).toMatch(/^220 example\.org /);
    c.send('EHLO client.test\r\n');
    const ehlo: string[] = [];
    for (let line = await c.line(); ; line = await c.line()) {
      ehlo.push(line);
      if (line.startsWith('250 ')) break;
    }
    expect(ehlo).toContain('250-STARTTLS');
    expect(ehlo.some((l) => /AUTH/.test(l))).toBe(false);
    expect(ehlo).toEqual(expect.arrayContaining(['250-PIPELINING', '250-8BITMIME', '250-SMTPUTF8', '250-ENHANCEDSTATUSCODES']));
    expect(ehlo.at(-1)).toBe('250 SIZE 65536');
    expect(await c.command('AUTH PLAIN AGFsaWNlQGV4YW1wbGUub3JnAGEgc2VjcmV0')).toMatch(/^538 5\.7\.11 /);
    expect(await c.command('MAIL FROM:<alice@example.org>')).toMatch(/^530 5\.7\.0 /);
    c.close();
  });

  it('a wrong password: 535 5.7.8', async () => {
    const r = await swaksAs('alice@example.org', 'wrong', ['--from', 'alice@example.org', '--to', 'bob@example.org']);
    expect(r.stdout).toMatch(/<~\* 535 5\.7\.8 Authentication credentials invalid/);
    expect(r.code).not.toBe(0);
  });

  it('a forged sender: MAIL FROM another account 553 5.7.1, a From field that is not hers 550 5.7.1; nothing sent', async () => {
    const before = relay.received.length;
    const forged = await swaksAs('alice@example.org', 'a secret', ['--from', 'bob@example.org', '--to', 'frank@remote.test']);
    expect(forged.stdout).toMatch(/<~\* 553 5\.7\.1 <bob@example\.org>: Sender address rejected: not owned by alice@example\.org/);
    const header = await swaksAs('alice@example.org', 'a secret', [
      '--from',
      'alice@example.org',
      '--to',
      'frank@remote.test',
      '--header',
      'From: Bob <bob@example.org>',
    ]);
    expect(header.stdout).toMatch(/<~\* 550 5\.7\.1 From: bob@example\.org is not one of your addresses/);
    expect(relay.received.length).toBe(before);
  });

  it('senders: domain: alice answers for client1.com (its postmaster reaches her), so she may send as any address there', async () => {
    const r = await swaksAs('alice@example.org', 'a secret', [
      '--from',
      'sales@client1.com',
      '--to',
      'gina@remote.test',
      '--header',
      'From: sales@client1.com',
      '--header',
      'Subject: as sales',
    ]);
    expect(r.code).toBe(0);
    expect(relayed('as sales')?.from).toBe('sales@client1.com');
    // bob does not
    const bob = await swaksAs('bob@example.org', 'b secret', ['--from', 'sales@client1.com', '--to', 'gina@remote.test']);
    expect(bob.stdout).toMatch(/<~\* 553 5\.7\.1 /);
  });

  it('an unknown local recipient: 550 5.1.1 at RCPT; a message over submission.maxSize: 552', async () => {
    const unknown = await swaksAs('alice@example.org', 'a secret', ['--from', 'alice@example.org', '--to', 'nobody@example.org']);
    expect(unknown.stdout).toMatch(/<~\* 550 5\.1\.1 <nobody@example\.org>: no such user here/);
    const big = await swaksAs('alice@example.org', 'a secret', [
      '--from',
      'alice@example.org',
      '--to',
      'bob@example.org',
      '--header',
      'Subject: too big',
      '--body',
      'x'.repeat(70 * 1024),
    ]);
    expect(big.stdout).toMatch(/<~\* 552 5\.3\.4 /);
    expect(await subjects('bob', 'b secret')).not.toContain('too big');
  });

  it('a relay that is down: 451 4.4.1, and the local recipient of the same message got nothing (the client keeps it)', async () => {
    await relay.close();
    const r = await swaksAs('alice@example.org', 'a secret', [
      '--from',
      'alice@example.org',
      '--to',
      'bob@example.org,henry@remote.test',
      '--header',
      'Subject: relay down',
    ]);
    expect(r.stdout).toMatch(/<~\* 451 4\.4\.1 The relay is not available/);
    expect(await subjects('bob', 'b secret')).not.toContain('relay down');
  });
});
