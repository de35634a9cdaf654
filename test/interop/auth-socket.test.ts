// The auth socket as MTAs use it: a real Postfix (smtpd_sasl_type = dovecot, smtpd_sasl_path at the socket)
// signs swaks and Python's smtplib in with the right password and refuses a wrong one, against Postern's
// socket and, to prove the expectations, against Dovecot 2.3's own auth socket. Then the same protocol lines
// sent to both sockets get the same answers (the handshake's process id, connection id and cookie aside).
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { b64, plain, RawAuth } from '../helpers/auth-client.js';
import { run } from '../helpers/clients.js';
import { type Dovecot, startDovecot } from '../helpers/dovecot.js';
import { type Postfix, postfixUnavailable, startPostfix } from '../helpers/postfix.js';
import { startServer, type TestServer } from '../helpers/server.js';

const USER = 'ann@example.org';
const PASSWORD = 'ann secret';

let socketDir: string;
let server: TestServer;
let dovecot: Dovecot;
const postern = () => join(socketDir, 'postern-auth');
const dovecotSocket = () => join(socketDir, 'dovecot-auth');

beforeAll(async () => {
  socketDir = await mkdtemp(join(tmpdir(), 'postern-auth-sock-'));
  // Postfix's smtpd runs as the postfix user: it must reach both sockets
  await chmod(socketDir, 0o755);
  server = await startServer({
    config: {
      listeners: [
        { name: 'pop3', module: 'pop', address: '127.0.0.1', port: 0 },
        { name: 'auth', module: 'auth', path: postern() },
      ],
      auth: { authFailureDelay: 0 },
    },
  });
  await server.addAccount(USER, PASSWORD);
  dovecot = await startDovecot([{ name: USER, password: PASSWORD }], join(socketDir, 'homes'), {
    mailLocation: 'maildir:~/Maildir',
    extraConfig: `service auth {\n  unix_listener ${dovecotSocket()} {\n    mode = 0666\n  }\n}\n`,
  });
}, 120_000);
afterAll(async () => {
  await server?.stop();
  await dovecot?.stop();
  await rm(socketDir, { recursive: true, force: true });
});

/** swaks signing in through Postfix's smtpd; its transcript. */
async function swaks(port: number, mechanism: string, password: string): Promise<string> {
  const r = await run('swaks', [
    '--server',
    `127.0.0.1:${port}`,
    '--helo',
    'client.example.net',
    '--from',
    USER,
    '--to',
    USER,
    '--auth',
    mechanism,
    '--auth-user',
    USER,
    '--auth-password',
    password,
    '--quit-after',
    'RCPT',
  ]);
  return r.stdout + r.stderr;
}

/** Python's smtplib: login() with the mechanism asked for; prints "ok" or the SMTP error code. */
async function smtplib(port: number, mechanism: 'PLAIN' | 'LOGIN', password: string): Promise<string> {
  const script = `import smtplib, sys
s = smtplib.SMTP('127.0.0.1', ${port}, timeout=30)
s.ehlo('client.example.net')
s.user, s.password = ${JSON.stringify(USER)}, ${JSON.stringify(password)}
try:
    code, _ = s.auth(${JSON.stringify(mechanism)}, s.auth_${mechanism.toLowerCase()})
    print('ok', code)
except smtplib.SMTPAuthenticationError as e:
    print('refused', e.smtp_code, e.smtp_error.decode())
s.quit()
`;
  const r = await run('python3', ['-c', script]);
  return r.stdout.trim() || r.stderr;
}

const targets = [
  { name: "Postern's auth socket", socket: postern, postern: true },
  { name: "Dovecot's own auth socket (the reference)", socket: dovecotSocket, postern: false },
];

describe.skipIf(postfixUnavailable() !== null).each(targets)(
  'Postfix with smtpd_sasl_type = dovecot against $name',
  ({ socket, postern: ours }) => {
    let postfix: Postfix;
    beforeAll(async () => {
      postfix = await startPostfix({
        lmtp: { port: 9 }, // nothing is delivered here
        main: {
          smtpd_sasl_auth_enable: 'yes',
          smtpd_sasl_type: 'dovecot',
          smtpd_sasl_path: socket(),
          smtpd_tls_auth_only: 'no',
          mynetworks: '',
          smtpd_relay_restrictions: 'permit_sasl_authenticated, reject_unauth_destination',
        },
      });
    }, 60_000);
    afterAll(async () => {
      await postfix?.stop();
    });

    it('swaks signs in with PLAIN and LOGIN; a wrong password is refused with 535 5.7.8', async () => {
      for (const mechanism of ['PLAIN', 'LOGIN']) {
        const ok = await swaks(postfix.smtpPort, mechanism, PASSWORD);
        expect(ok).toMatch(/<- {2}235 2\.7\.0 Authentication successful/);
        expect(ok).toMatch(/<- {2}250 2\.1\.5 Ok/);
        // Postfix names the transaction's user as the auth server answered it
        await expect
          .poll(async () => await postfix.log(), { timeout: 10_000 })
          .toMatch(new RegExp(`sasl_method=${mechanism}, sasl_username=${USER}`));
        const refused = await swaks(postfix.smtpPort, mechanism, 'wrong');
        expect(refused).toMatch(/<\*\* 535 5\.7\.8 Error: authentication failed/);
      }
    }, 60_000);

    it("Python's smtplib signs in with PLAIN and LOGIN (an initial response) and is refused with a wrong password", async () => {
      expect(await smtplib(postfix.smtpPort, 'PLAIN', PASSWORD)).toBe('ok 235');
      expect(await smtplib(postfix.smtpPort, 'LOGIN', PASSWORD)).toBe('ok 235');
      expect(await smtplib(postfix.smtpPort, 'PLAIN', 'wrong')).toMatch(/^refused 535 5\.7\.8 Error: authentication failed/);
      expect(await smtplib(postfix.smtpPort, 'LOGIN', 'wrong')).toMatch(/^refused 535 5\.7\.8 Error: authentication failed/);
    }, 60_000);

    // Postfix 3.7 takes every FAIL as 535 (it ignores `temp`); the reason tells the user to try again later.
    // Postern's socket only: Dovecot reads no account.json (registered for it alone, so no run reports a skip)
    if (ours)
      it('an account that cannot be read is a temporary failure: Postfix shows its reason', async () => {
        await server.addAccount('damaged@example.org', 'damaged secret');
        await writeFile(join(server.dataDir, 'accounts', 'example.org', 'damaged', 'account.json'), '{ not json');
        const r = await run('swaks', [
          ...['--server', `127.0.0.1:${postfix.smtpPort}`, '--from', USER, '--to', USER, '--quit-after', 'AUTH'],
          ...['--auth', 'PLAIN', '--auth-user', 'damaged@example.org', '--auth-password', 'damaged secret'],
        ]);
        expect(r.stdout).toMatch(/<\*\* 535 5\.7\.8 Error: authentication failed: Temporary authentication failure, try again later/);
      }, 60_000);
  },
);

/** One exchange: lines sent in one write, then the answers read (a number of lines, or the close). */
type Step = { send: string[]; read: number } | { send: string[]; closes: true };

const SCRIPT: Step[][] = [
  [{ send: [`AUTH\t1\tPLAIN\tservice=smtp\tnologin\tlip=127.0.0.1\trip=192.0.2.1\tresp=${plain(USER, PASSWORD)}`], read: 1 }],
  [{ send: [`AUTH\t2\tPLAIN\tservice=smtp\tnologin\trip=192.0.2.1\tresp=${plain(USER, 'wrong')}`], read: 1 }],
  [{ send: [`AUTH\t3\tPLAIN\tservice=smtp\tresp=${plain('nobody@example.org', PASSWORD)}`], read: 1 }],
  [
    { send: ['AUTH\t4\tLOGIN\tservice=smtp\tnologin'], read: 1 },
    { send: [`CONT\t4\t${b64(USER)}`], read: 1 },
    { send: [`CONT\t4\t${b64(PASSWORD)}`], read: 1 },
  ],
  [
    { send: [`AUTH\t5\tLOGIN\tservice=smtp\tresp=${b64(USER)}`], read: 1 },
    { send: [`CONT\t5\t${b64('wrong')}`], read: 1 },
  ],
  [
    { send: ['AUTH\t6\tPLAIN\tservice=smtp'], read: 1 },
    { send: [`CONT\t6\t${plain(USER, PASSWORD)}`], read: 1 },
  ],
  [{ send: ['CONT\t77\tYQ=='], read: 1 }],
  [{ send: ['AUTH\t8\tPLAIN\tservice=smtp\tresp=YQ'], read: 1 }],
  [
    { send: ['AUTH\t9\tLOGIN\tservice=smtp'], read: 1 },
    { send: ['CONT\t9\t*'], read: 1 },
  ],
  [
    { send: ['AUTH\t10\tLOGIN\tservice=smtp'], read: 1 },
    { send: ['CANCEL\t10', 'CONT\t10\tYQ=='], read: 1 },
  ],
  [{ send: [`AUTH\t11\tplain\tservice=smtp\tresp=${plain(USER, PASSWORD)}\r`], read: 1 }],
  [{ send: ['HELLO'], closes: true }],
  [{ send: ['AUTH\t1\tGSSAPI\tservice=smtp'], closes: true }],
  [{ send: [`AUTH\t1\tPLAIN\tresp=${plain(USER, PASSWORD)}`], closes: true }],
  [{ send: ['AUTH\t0\tLOGIN\tservice=smtp'], closes: true }],
  [{ send: [`AUTH\t1\tPLAIN\tservice=smtp\tresp=${'A'.repeat(17_000)}`], closes: true }],
];

/** What a socket answers to the script, one connection per group; the handshake's varying values masked. */
async function answers(path: string): Promise<string[][]> {
  const out: string[][] = [];
  for (const group of SCRIPT) {
    const { client, handshake } = await RawAuth.ready({ path });
    const seen = handshake.map((l) => l.replace(/^(SPID|CUID|COOKIE)\t.*/, '$1\t*'));
    for (const step of group) {
      client.send(...step.send);
      if ('closes' in step) seen.push((await client.closesWithin(5000)) ? '<closed>' : '<still open>');
      else for (let i = 0; i < step.read; i++) seen.push((await client.line(20_000)) ?? '<closed>');
    }
    client.close();
    out.push(seen);
  }
  return out;
}

describe('the same lines to both sockets', () => {
  it("Postern's auth socket answers as Dovecot's does", async () => {
    const reference = await answers(dovecotSocket());
    const ours = await answers(postern());
    expect(ours).toEqual(reference);
  }, 180_000);
});
