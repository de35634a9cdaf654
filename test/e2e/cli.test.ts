// The command line as an operator and scripts use it: accounts, delivery exit codes, config errors,
// and the serve start-up errors.
import { chmod, chown, mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, startServer, type TestServer } from '../helpers/server.js';

let env: TestServer; // config and data dir only; no server running

beforeAll(async () => {
  env = await startServer({ noServe: true, config: { domains: ['client1.com'] } });
});
afterAll(async () => {
  await env.stop();
});

describe('postern account', () => {
  it('adds, lists, changes and removes accounts; account.json holds a scrypt hash, never the password', async () => {
    expect((await env.cli(['account', 'add', 'carol', '--password', 'c pass'])).code).toBe(0);
    const r = await env.cli(['account', 'add', 'dave@client1.com', '--password-stdin', '--apop-secret', 'tanstaaf'], 'd pass\n');
    expect(r.stdout).toBe(`account dave@client1.com created in the data folder ${env.dataDir}\n`);
    const file = join(env.dataDir, 'accounts/client1.com/dave/account.json');
    const text = await readFile(file, 'utf8');
    expect(text).not.toContain('d pass');
    expect(JSON.parse(text).passwordHash).toMatch(/^\{SCRYPT\}\$scrypt\$ln=14,r=8,p=1\$/);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect((await stat(join(env.dataDir, 'accounts/client1.com/dave/Maildir/new'))).isDirectory()).toBe(true);

    expect((await env.cli(['account', 'set', 'dave@client1.com', '--disabled', '--expires', '2030-01-31'])).code).toBe(0);
    expect((await env.cli(['account', 'list'])).stdout).toBe(
      'dave@client1.com\tdisabled, expires 2030-01-31T00:00:00.000Z, apop\ncarol@example.org\n',
    );

    expect((await env.cli(['account', 'remove', 'carol'])).code).toBe(0);
    expect((await env.cli(['account', 'list'])).stdout).not.toContain('carol');
    // the holder of public mailboxes is shown as what it is, not as a disabled account
    expect((await env.cli(['mailbox', 'create', 'public', 'announces'])).code).toBe(0);
    expect((await env.cli(['account', 'list'])).stdout).toContain('public@example.org\tholds the public mailboxes; no sign-in\n');
  });

  it('says which data folder it used, and only a set-up command makes a new one', async () => {
    // run from a folder without postern.yaml: the embedded default, ./data there
    const elsewhere = await mkdtemp(join(tmpdir(), 'postern-elsewhere-'));
    const list = await runCli(['account', 'list'], undefined, elsewhere);
    expect(list.code).toBe(78);
    expect(list.stderr).toBe(
      `postern: there is no data folder ${join(elsewhere, 'data')} (no postern.yaml in ${elsewhere}: the embedded default); run postern ` +
        `in the folder that holds your postern.yaml, or give --config FILE\n`,
    );
    const deliver = await runCli(['deliver', 'zed'], 'Subject: x\n\ny\n', elsewhere);
    expect(deliver.code).toBe(78); // a config problem: the MTA keeps the message (4.3.5), no bounce
    const add = await runCli(['account', 'add', 'zed', '--password-stdin'], 'z pass', elsewhere);
    expect(add.code).toBe(0);
    expect(add.stderr).toBe(
      `postern: created a new data folder ${join(elsewhere, 'data')} (no postern.yaml in ${elsewhere}: the embedded default)\n`,
    );
    expect(add.stdout).toBe(`account zed@localhost created in the data folder ${join(elsewhere, 'data')}\n`);
    const again = await runCli(['account', 'list'], undefined, elsewhere);
    expect(again.stderr).toBe(`postern: accounts in the data folder ${join(elsewhere, 'data')}\n`);
    expect(again.stdout).toBe('zed@localhost\n');
  });

  it('explains every bad input with a non-zero exit', async () => {
    const cases: [string[], string | undefined, number, RegExp][] = [
      [['account', 'add', 'erin'], undefined, 64, /a password is needed/],
      [['account', 'add', 'erin', '--password', 'x', '--password-stdin'], 'y', 64, /not both/],
      [['account', 'add', '../etc', '--password', 'x'], undefined, 64, /not a valid account name/],
      [['account', 'add', 'erin@elsewhere.net', '--password', 'x'], undefined, 64, /elsewhere.net is not a local domain/],
      [['account', 'add', 'dave@client1.com', '--password', 'x'], undefined, 1, /already exists/],
      [['account', 'set', 'nobody', '--password', 'x'], undefined, 1, /no account nobody@example.org/],
      [['account', 'set', 'dave@client1.com'], undefined, 64, /nothing to change/],
      [['account', 'set', 'dave@client1.com', '--expires', 'soon'], undefined, 64, /not an ISO date/],
      [['account', 'frobnicate'], undefined, 64, /unknown command/],
    ];
    for (const [args, input, code, message] of cases) {
      const r = await env.cli(args, input);
      expect(r.code, args.join(' ')).toBe(code);
      expect(r.stderr, args.join(' ')).toMatch(message);
    }
  });

  it('refuses to remove an account that still holds mail unless --force', async () => {
    await env.addAccount('frank', 'f pass');
    await env.deliver('frank', 'Subject: keep me\n\nbody\n');
    const r = await env.cli(['account', 'remove', 'frank']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/still has 1 messages.*--force/);
    expect((await env.cli(['account', 'remove', 'frank', '--force'])).code).toBe(0);
  });
});

describe('postern deliver', () => {
  it('writes into new/ with S= and W= and exits 0', async () => {
    await env.addAccount('gina', 'g pass');
    const r = await env.cli(['deliver', 'gina@example.org'], 'Subject: hi\n\nhello\n');
    expect(r.code).toBe(0);
    const names = await readdir(join(env.dataDir, 'accounts/example.org/gina/Maildir/new'));
    expect(names).toHaveLength(1);
    expect(names[0]).toMatch(/^\d+\.M\d+P\d+Q\d+\.[^,]+,S=19,W=22$/);
    expect(await readdir(join(env.dataDir, 'accounts/example.org/gina/Maildir/tmp'))).toEqual([]);
  });

  it('drops an mbox "From " envelope line and completes an unterminated last line', async () => {
    await env.addAccount('hank', 'h pass');
    expect((await env.cli(['deliver', 'hank'], 'From sender@example.org Mon Jan  1 00:00:00 2026\nSubject: x\n\nno newline')).code).toBe(0);
    const dir = join(env.dataDir, 'accounts/example.org/hank/Maildir/new');
    const [name] = await readdir(dir);
    expect(await readFile(join(dir, name), 'utf8')).toBe('Subject: x\n\nno newline\n');
  });

  it('exits 67 for an unknown user, 65 for an empty message, 64 for a bad mailbox name', async () => {
    const unknown = await env.cli(['deliver', 'nobody'], 'Subject: x\n\ny\n');
    expect(unknown.code).toBe(67);
    expect(unknown.stderr).toMatch(/nobody: no such account or route/);
    expect((await env.cli(['deliver', 'nobody@elsewhere.net'], 'x\n')).code).toBe(67);
    expect((await env.cli(['deliver', '../../etc'], 'x\n')).code).toBe(67);
    expect((await env.cli(['deliver', 'gina'], '')).code).toBe(65);
    const bad = await env.cli(['deliver', 'gina', '--mailbox', '../x'], 'x\n');
    expect(bad.code).toBe(64);
    expect(bad.stderr).toMatch(/not a valid mailbox name/);
  });

  it('falls back to INBOX for a mailbox that does not exist, and says so', async () => {
    const r = await env.cli(['deliver', 'gina', '--mailbox', 'Archive'], 'Subject: a\n\nb\n');
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/mailbox "Archive" does not exist; delivering to INBOX/);
  });

  it('exits 75 when the message cannot be stored, and leaves nothing behind', async () => {
    await env.addAccount('ivy', 'i pass');
    const maildir = join(env.dataDir, 'accounts/example.org/ivy/Maildir');
    const { chmod } = await import('node:fs/promises');
    await chmod(join(maildir, 'new'), 0o500);
    try {
      const r = await env.cli(['deliver', 'ivy'], 'Subject: a\n\nb\n');
      // root ignores directory permissions; then the delivery simply succeeds
      if (process.getuid?.() === 0) expect(r.code).toBe(0);
      else {
        expect(r.code).toBe(75);
        expect(await readdir(join(maildir, 'tmp'))).toEqual([]);
      }
    } finally {
      await chmod(join(maildir, 'new'), 0o700);
    }
  });

  it('refuses a message over delivery.maxSize with 65 (the MTA bounces it) and stores nothing', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'postern-max-'));
    const config = join(dir, 'postern.yaml');
    await writeFile(config, 'dataDir: ./data\nmainDomain: example.org\ndelivery:\n  maxSize: 1024\n');
    expect((await runCli(['--config', config, 'account', 'add', 'kim', '--password-stdin'], 'k pass')).code).toBe(0);
    const fits = `Subject: fits\n\n${'x'.repeat(1024 - 15 - 1)}\n`;
    expect(Buffer.byteLength(fits)).toBe(1024);
    expect((await runCli(['--config', config, 'deliver', 'kim'], fits)).code).toBe(0);
    const big = await runCli(['--config', config, 'deliver', 'kim'], `${fits}y\n`);
    expect(big.code).toBe(65);
    expect(big.stderr).toMatch(/larger than the limit of 1024 octets \(delivery\.maxSize\)/);
    const maildir = join(dir, 'data/accounts/example.org/kim/Maildir');
    expect((await readdir(join(maildir, 'new'))).length).toBe(1);
    expect(await readdir(join(maildir, 'tmp'))).toEqual([]);
    await rm(dir, { recursive: true, force: true });
  });

  it('a delivery killed before it finishes leaves no message in new/', async () => {
    await env.addAccount('jack', 'j pass');
    const { spawn } = await import('node:child_process');
    const { BIN } = await import('../helpers/server.js');
    const child = spawn(process.execPath, [BIN, '--config', env.configFile, 'deliver', 'jack'], { stdio: ['pipe', 'ignore', 'ignore'] });
    child.stdin.on('error', () => {}); // the kill below may cut the pipe while data is still queued
    child.stdin.write(`Subject: partial\n\n${'x'.repeat(300_000)}`);
    await new Promise((r) => setTimeout(r, 400));
    child.kill('SIGKILL');
    await new Promise((r) => child.on('exit', r));
    expect(await readdir(join(env.dataDir, 'accounts/example.org/jack/Maildir/new'))).toEqual([]);
  });
});

describe('config errors', () => {
  const withConfig = async (yaml: string, args: string[] = ['account', 'list']) => {
    const dir = await mkdtemp(join(tmpdir(), 'postern-cfg-'));
    await writeFile(join(dir, 'postern.yaml'), yaml);
    return runCli(['--config', join(dir, 'postern.yaml'), ...args]);
  };

  it('names an unknown key and lists the keys allowed there', async () => {
    const r = await withConfig('pop:\n  idleTimout: 30\n');
    expect(r.code).toBe(78);
    expect(r.stderr).toMatch(/unknown key pop\.idleTimout; the keys here are: [^\n]*\bidleTimeout\b/);
    // A retired key says where it went, and is not offered among the keys.
    expect(r.stderr).not.toMatch(/realToHeader/);
    const moved = await withConfig('pop:\n  realToHeader: X-To\n');
    expect(moved.code).toBe(78);
    expect(moved.stderr).toMatch(/pop\.realToHeader is now the top-level key realToHeader/);
  });

  it('names a malformed key and the expected form', async () => {
    const r = await withConfig('pop:\n  idleTimeout: soon\n');
    expect(r.code).toBe(78);
    expect(r.stderr).toMatch(/pop\.idleTimeout: expected a number of seconds/);
    const l = await withConfig('listeners:\n  - { name: a, port: 99999 }\n');
    expect(l.stderr).toMatch(/listeners\[0\]\.port: expected a whole number 0-65535/);
    const y = await withConfig('pop: [unclosed\n');
    expect(y.stderr).toMatch(/line \d+, column \d+: not valid YAML/);
    const m = await withConfig('listeners:\n  - { name: a, module: smtp, port: 1025 }\n', ['serve']);
    expect(m.code).toBe(78);
    expect(m.stderr).toMatch(/listeners\[0\]\.module: no module "smtp"; the modules are: pop, imap, lmtp/);
    const both = await withConfig('listeners:\n  - { name: a, module: lmtp, port: 24, path: /run/postern/lmtp }\n');
    expect(both.code).toBe(78);
    expect(both.stderr).toMatch(/listeners\[0\]: give either port \(TCP\) or path \(a unix socket\), not both/);
    const neither = await withConfig('listeners:\n  - { name: a, module: lmtp }\n');
    expect(neither.stderr).toMatch(/listeners\[0\]\.port: missing/);
    const from = await withConfig('listeners:\n  - { name: a, port: 1110, proxyProtocol: true, proxyFrom: [10.0.0.0/33] }\n');
    expect(from.stderr).toMatch(/listeners\[0\]\.proxyFrom: "10\.0\.0\.0\/33": the prefix must be a whole number 0-32/);
    const redis = await withConfig('redis:\n  url: localhost:6379\n');
    expect(redis.code).toBe(78);
    expect(redis.stderr).toMatch(/redis\.url: expected a Redis URL, like redis:\/\/10\.0\.0\.9:6379/);
    const big = await withConfig('delivery:\n  maxSize: huge\n');
    expect(big.stderr).toMatch(/delivery\.maxSize: expected a whole number/);
    const i = await withConfig('imap:\n  maxLiteralSize: lots\n');
    expect(i.code).toBe(78);
    expect(i.stderr).toMatch(/imap\.maxLiteralSize: expected a whole number/);
  });

  it('a missing config file named with --config is an error', async () => {
    const r = await runCli(['--config', '/nonexistent/postern.yaml', 'account', 'list']);
    expect(r.code).toBe(78);
    expect(r.stderr).toMatch(/cannot read config file \/nonexistent\/postern.yaml: ENOENT/);
  });
});

describe('postern serve start-up', () => {
  it('exits non-zero naming the port, the reason and the fix when the port is taken', async () => {
    const blocker = createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
    const port = (blocker.address() as { port: number }).port;
    const dir = await mkdtemp(join(tmpdir(), 'postern-bind-'));
    await writeFile(join(dir, 'postern.yaml'), `listeners:\n  - { name: pop3, address: 127.0.0.1, port: ${port} }\n`);
    const r = await runCli(['--config', join(dir, 'postern.yaml'), 'serve']);
    blocker.close();
    expect(r.code).toBe(69);
    expect(r.stderr).toContain(`cannot listen on 127.0.0.1:${port} for listener "pop3": the port is already in use`);
    expect(r.stderr).toMatch(/listeners\[0\]\.port .* --port-offset/);
  });

  it("a listener address that is not this machine's names listeners[i].address, not the port", async () => {
    const dir = await mkdtemp(join(tmpdir(), 'postern-bind-'));
    for (const [address, why] of [
      ['192.0.2.1', "the address is not one of this machine's"],
      ['no-such-host.invalid', 'no such host name'],
    ]) {
      await writeFile(join(dir, 'postern.yaml'), `listeners:\n  - { name: pop3, address: ${address}, port: 0 }\n`);
      const r = await runCli(['--config', join(dir, 'postern.yaml'), 'serve']);
      expect(r.code).toBe(69);
      expect(r.stderr).toContain(`cannot listen on ${address}:0 for listener "pop3": ${why}. Change listeners[0].address in the config`);
      expect(r.stderr).not.toMatch(/port-offset/);
    }
  });

  it('a unix socket in a folder other users may write to (no sticky bit) is refused, naming the key', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'postern-sock-'));
    const open = join(dir, 'open');
    await mkdir(open);
    await chmod(open, 0o777);
    await writeFile(join(dir, 'postern.yaml'), 'listeners:\n  - { name: lmtp, module: lmtp, path: open/lmtp }\n');
    const r = await runCli(['--config', join(dir, 'postern.yaml'), 'serve']);
    expect(r.code).toBe(69);
    expect(r.stderr).toContain(`other users can write to the folder ${open} (mode 777), so they could replace the socket`);
    expect(r.stderr).toContain('change listeners[0].path');
    await chmod(open, 0o770); // the group's members could swap it too
    expect((await runCli(['--config', join(dir, 'postern.yaml'), 'serve'])).stderr).toContain(
      '(mode 770), so they could replace the socket',
    );
    await chmod(open, 0o755);
    await chown(open, 12345, 12345); // a folder another user owns
    const owned = await runCli(['--config', join(dir, 'postern.yaml'), 'serve']);
    expect(owned.code).toBe(69);
    expect(owned.stderr).toContain(`the folder ${open} belongs to another user (uid 12345)`);
    await chown(open, 0, 0);
    // the sticky bit (as on /tmp) keeps others from renaming our socket: allowed
    await chmod(open, 0o1777);
    const sticky = await startServer({ config: { listeners: [{ name: 'lmtp', module: 'lmtp', path: join(open, 'lmtp') }] } });
    expect((await stat(join(open, 'lmtp'))).isSocket()).toBe(true);
    await sticky.stop();
  });

  it('a missing certificate file names tls.cert, the file and the fix', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'postern-cert-'));
    await writeFile(
      join(dir, 'postern.yaml'),
      'tls: { cert: missing.pem, key: missing.key }\nlisteners:\n  - { name: pop3, address: 127.0.0.1, port: 0 }\n',
    );
    const r = await runCli(['--config', join(dir, 'postern.yaml'), 'serve']);
    expect(r.code).toBe(78);
    expect(r.stderr).toContain(
      `cannot read tls.cert ${join(dir, 'missing.pem')} (in ${join(dir, 'postern.yaml')}): there is no such file (ENOENT); fix tls.cert,` +
        ` or remove tls.cert and tls.key`,
    );
  });
});
