// ManageSieve (RFC 5804) from a real `postern serve` over the Maildir store, with real peers: the Debian
// `sieve-connect` client (STARTTLS, SASL PLAIN, upload, list, activate, download, delete, check), a raw socket for
// the bytes of STARTTLS, and Dovecot's managesieved on the same tree, each reading the scripts the other wrote and
// activated (Pigeonhole's layout: home/sieve/NAME.sieve and the home/.dovecot.sieve link).
import { mkdtemp, readFile, readlink, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from '../helpers/clients.js';
import { type Dovecot, shareWithDovecot, startDovecot } from '../helpers/dovecot.js';
import { literal, RawSieve } from '../helpers/managesieve-client.js';
import { freePort } from '../helpers/ports.js';
import { startServer, type TestServer } from '../helpers/server.js';

const DOMAIN = 'example.org';
const PASSWORD = 'a secret';
const FILING =
  'require ["fileinto", "imap4flags"];\nif header :contains "subject" "offer" {\n  fileinto "Junk";\n  addflag "\\\\Seen";\n}\n';

const REDIRECT = 'require "copy";\r\nredirect :copy "x@example.net";\r\n'; // 50 octets

let server: TestServer;
let port: number;
let dovecot: Dovecot | null = null;
let dovecotError: Error | null = null;
let dovecotSieve = 0;
let work: string;

function accepts(p: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(p, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** sieve-connect as a user runs it: the password on a descriptor, STARTTLS with a self-signed certificate. */
function sieveConnect(args: string[], user = 'alice') {
  return run(
    'sieve-connect',
    ['--server', '127.0.0.1', '--port', String(port), '--user', user, '--passwordfd', '0', '--nosslverify', '--nosrv', ...args],
    { input: `${PASSWORD}\n`, timeoutMs: 30_000 },
  );
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'postern-managesieve-'));
  server = await startServer({
    config: {
      listeners: [{ name: 'sieve', module: 'managesieve', address: '127.0.0.1', port: 0 }],
      managesieve: { authFailureDelay: 0 },
    },
  });
  port = server.portOf('sieve');
  await server.addAccount('alice', PASSWORD);
  await server.addAccount('bob', PASSWORD);
  const accounts = join(server.dataDir, 'accounts', DOMAIN);
  for (const user of ['alice', 'bob']) await shareWithDovecot(server.dir, join(accounts, user));
  dovecotSieve = await freePort();
  dovecot = await startDovecot(
    [
      { name: 'alice', password: PASSWORD },
      { name: 'bob', password: PASSWORD },
    ],
    accounts,
    {
      // Dovecot's managesieved beside its IMAP and POP, on Pigeonhole's layout in the same homes
      extraConfig: `protocols = imap pop3 sieve
service managesieve-login {
  inet_listener sieve {
    address = 127.0.0.1
    port = ${dovecotSieve}
  }
${process.getuid?.() === 0 ? '' : '  chroot =\n'}}
plugin {
  sieve = file:~/sieve;active=~/.dovecot.sieve
}
`,
    },
  ).catch((err: Error) => {
    dovecotError = err;
    return null;
  });
  for (let i = 0; dovecot && i < 100 && !(await accepts(dovecotSieve)); i++) await new Promise((r) => setTimeout(r, 100));
}, 60_000);

afterAll(async () => {
  await dovecot?.stop();
  if (server) await server.stop();
});

describe('ManageSieve with sieve-connect', () => {
  it('uploads, lists, activates, downloads and deletes over STARTTLS; a script that does not compile is refused', async () => {
    const file = join(work, 'filing.sieve');
    await writeFile(file, FILING);
    const up = await sieveConnect(['--upload', '--localsieve', file, '--remotesieve', 'filing']);
    expect(up.code, up.stderr).toBe(0);
    expect((await sieveConnect(['--activate', '--remotesieve', 'filing'])).code).toBe(0);
    const list = await sieveConnect(['--list']);
    expect(list.code, list.stderr).toBe(0);
    expect(list.stdout).toMatch(/"filing"\s+ACTIVE/);
    const down = await sieveConnect(['--download', '--remotesieve', 'filing', '--localsieve', '-']);
    expect(down.stdout).toBe(FILING);
    // on disk where Pigeonhole keeps it
    const home = join(server.dataDir, 'accounts', DOMAIN, 'alice');
    expect(await readFile(join(home, 'sieve', 'filing.sieve'), 'utf8')).toBe(FILING);
    expect(await readlink(join(home, '.dovecot.sieve'))).toBe('sieve/filing.sieve');

    const broken = join(work, 'broken.sieve');
    await writeFile(broken, 'require "frobnicate";\nkeep;\n');
    const refused = await sieveConnect(['--upload', '--localsieve', broken, '--remotesieve', 'broken']);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr + refused.stdout).toContain("unknown Sieve capability `frobnicate'");
    expect((await sieveConnect(['--list'])).stdout).not.toContain('broken');
    const checked = await sieveConnect(['--checkscript', '--localsieve', broken]);
    expect(checked.code).not.toBe(0);
    expect(checked.stderr + checked.stdout).toContain("line 1: error: require command: unknown Sieve capability `frobnicate'");
    expect((await sieveConnect(['--checkscript', '--localsieve', file])).code).toBe(0);

    // the active one cannot be deleted; once another is active it can
    await writeFile(file, 'keep;\n');
    expect((await sieveConnect(['--upload', '--localsieve', file, '--remotesieve', 'plain'])).code).toBe(0);
    expect((await sieveConnect(['--delete', '--remotesieve', 'filing'])).code).not.toBe(0);
    expect((await sieveConnect(['--activate', '--remotesieve', 'plain'])).code).toBe(0);
    expect((await sieveConnect(['--delete', '--remotesieve', 'filing'])).code).toBe(0);
    expect((await sieveConnect(['--list'])).stdout).not.toContain('filing');
    expect((await sieveConnect(['--deactivate'])).code).toBe(0);
    expect((await sieveConnect(['--list'])).stdout).not.toContain('ACTIVE');
  }, 120_000);

  it('sends the capabilities again after STARTTLS, without STARTTLS, and signs in over TLS', async () => {
    const { client, greeting } = await RawSieve.connect(port);
    expect(greeting.text).toContain('"STARTTLS"\r\n');
    expect((await client.command('STARTTLS')).text).toBe('OK "Begin TLS negotiation now."\r\n');
    await client.raw.upgrade();
    const again = await client.answer();
    expect(again.text).toMatch(
      /^"IMPLEMENTATION" "Postern"\r\n"SIEVE" "[^"]*"\r\n"MAXREDIRECTS" "4"\r\n"SASL" "PLAIN LOGIN"\r\n"VERSION" "1.0"\r\n/,
    );
    expect(again.text).not.toContain('STARTTLS');
    expect(again.text.endsWith('OK "TLS negotiation successful."\r\n')).toBe(true);
    const ir = Buffer.from(`\0bob\0${PASSWORD}`).toString('base64');
    expect((await client.command(`AUTHENTICATE "PLAIN" "${ir}"`)).text).toBe('OK "Logged in."\r\n');
    client.close();
  });
});

describe('ManageSieve when the store fails', () => {
  it('answers NO (TRYLATER) and logs why when the scripts folder cannot be used; the session goes on', async () => {
    await server.addAccount('dave', PASSWORD);
    // the place of the scripts folder taken by a file: the store refuses it (a fault for the operator)
    await writeFile(join(server.dataDir, 'accounts', DOMAIN, 'dave', 'sieve'), 'not a folder\n');
    const client = await RawSieve.signIn(port, 'dave', PASSWORD);
    const trylater = 'NO (TRYLATER) "Internal error occurred. Refer to server log for more information."\r\n';
    expect((await client.command('PUTSCRIPT "x" "keep;"')).text).toBe(trylater);
    expect((await client.command('LISTSCRIPTS')).text).toBe(trylater);
    expect((await client.command('NOOP')).text).toBe('OK "NOOP Completed"\r\n');
    const record = await server.waitForLog((r) => r.msg === 'script storage failed' && r.user === 'dave@example.org');
    expect(record.command).toBe('PUTSCRIPT');
    client.close();
  });
});

describe("Postern's and Dovecot's managesieved on one tree", () => {
  /** A raw session with Dovecot's managesieved, signed in. */
  async function dovecotSession(user: string): Promise<RawSieve> {
    if (dovecotError) throw dovecotError;
    const { client } = await RawSieve.connect(dovecotSieve);
    const ir = Buffer.from(`\0${user}\0${PASSWORD}`).toString('base64');
    const answer = await client.command(`AUTHENTICATE "PLAIN" "${ir}"`);
    if (answer.status !== 'OK') throw new Error(`Dovecot: ${answer.text}\n${await dovecot!.log()}`);
    return client;
  }

  it('Dovecot lists and gets the scripts Postern stored and activated', async () => {
    const postern = await RawSieve.signIn(port, 'bob', PASSWORD);
    expect((await postern.command(`PUTSCRIPT "rules" ${literal(FILING)}`)).status).toBe('OK');
    expect((await postern.command('PUTSCRIPT "spare" "keep;"')).status).toBe('OK');
    expect((await postern.command('SETACTIVE "rules"')).status).toBe('OK');
    postern.close();
    const theirs = await dovecotSession('bob');
    const list = await theirs.command('LISTSCRIPTS');
    expect(list.text.split('\r\n').sort()).toEqual(['', '"rules" ACTIVE', '"spare"', 'OK "Listscripts completed."']);
    expect((await theirs.command('GETSCRIPT "rules"')).text).toBe(
      `{${Buffer.byteLength(FILING)}}\r\n${FILING}\r\nOK "Getscript completed."\r\n`,
    );
    theirs.close();
  });

  it('Postern lists and gets what Dovecot stored and activated, and answers its compile errors alike', async () => {
    const theirs = await dovecotSession('bob');
    expect((await theirs.command(`PUTSCRIPT "from-dovecot" ${literal(REDIRECT)}`)).status).toBe('OK');
    expect((await theirs.command('SETACTIVE "from-dovecot"')).status).toBe('OK');
    const bad = `PUTSCRIPT "bad" ${literal('require "foo";\r\nkeep;\r\nfrob;\r\n')}`;
    const dovecotAnswer = (await theirs.command(bad)).text;
    theirs.close();
    const postern = await RawSieve.signIn(port, 'bob', PASSWORD);
    const list = await postern.command('LISTSCRIPTS');
    expect(list.text).toContain('"from-dovecot" ACTIVE\r\n');
    expect(list.text).toContain('"rules"\r\n');
    expect((await postern.command('GETSCRIPT "from-dovecot"')).text).toBe(`{50}\r\n${REDIRECT}\r\nOK "Getscript completed."\r\n`);
    expect((await postern.command(bad)).text).toBe(dovecotAnswer);
    // Postern deletes what Dovecot stored (not the active one)
    expect((await postern.command('DELETESCRIPT "from-dovecot"')).text).toBe('NO (ACTIVE) "Cannot delete the active Sieve script."\r\n');
    expect((await postern.command('SETACTIVE "rules"')).status).toBe('OK');
    expect((await postern.command('DELETESCRIPT "from-dovecot"')).status).toBe('OK');
    postern.close();
    const again = await dovecotSession('bob');
    expect((await again.command('LISTSCRIPTS')).text).not.toContain('from-dovecot');
    expect((await again.command('LISTSCRIPTS')).text).toContain('"rules" ACTIVE');
    again.close();
  });
});
