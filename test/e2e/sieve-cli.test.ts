// `postern sieve` as an operator uses it (the built bin/postern.js): an account's scripts put (compiled first),
// listed, fetched, activated, renamed and deleted in Pigeonhole's layout, with the exit codes scripts rely on.
import { lstat, readdir, readFile, readlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type TestServer } from '../helpers/server.js';

let env: TestServer;
let home: string;
const RULES = 'require ["fileinto", "imap4flags"];\r\nif header :contains "subject" "[spam]" {\r\n  fileinto "Junk";\r\n}\r\n';
const VACATION = 'require "vacation";\nvacation :days 3 "I am away.";\n';

beforeAll(async () => {
  // a site-wide script run before the user's, as Pigeonhole's sieve_before (relative to the config's folder)
  env = await startServer({ noServe: true, config: { sieve: { before: ['site-before.sieve'] } } });
  await writeFile(join(env.dir, 'site-before.sieve'), 'require "fileinto";\nif header :is "x-spam" "yes" { fileinto "Spam"; }\n');
  await env.addAccount('alice', 'a pass');
  home = join(env.dataDir, 'accounts/example.org/alice');
  await writeFile(join(env.dir, 'rules.sieve'), RULES);
  await writeFile(join(env.dir, 'bad.sieve'), 'require "fileinto";\nfileinto "Junk"\nkeep;\n');
  await writeFile(join(env.dir, 'unknown.sieve'), 'require "x-frobnicate";\nkeep;\n');
});
afterAll(async () => {
  await env.stop();
});

describe('postern sieve', () => {
  it('put (from a file and from stdin), list, get, activate, rename, activate --none, delete', async () => {
    const put = await env.cli(['sieve', 'put', 'alice', 'rules', join(env.dir, 'rules.sieve'), '--activate']);
    expect(put).toEqual({
      code: 0,
      stdout: `script rules stored and active for alice@example.org in the data folder ${env.dataDir}\n`,
      stderr: '',
    });
    expect((await env.cli(['sieve', 'put', 'alice', 'vacation', '-'], VACATION)).code).toBe(0);
    expect(await readFile(join(home, 'sieve/rules.sieve'), 'utf8')).toBe(RULES);
    expect(await readlink(join(home, '.dovecot.sieve'))).toBe('sieve/rules.sieve');

    const list = await env.cli(['sieve', 'list', 'alice@example.org']);
    expect(list.code).toBe(0);
    expect(list.stdout).toBe(`rules\t${RULES.length}\tactive\nvacation\t${VACATION.length}\n`);
    expect(list.stderr).toBe(`postern: Sieve scripts of alice@example.org in the data folder ${env.dataDir}\n`);
    expect(await env.cli(['sieve', 'get', 'alice', 'rules'])).toEqual({ code: 0, stdout: RULES, stderr: '' });

    expect((await env.cli(['sieve', 'activate', 'alice', 'vacation'])).stdout).toBe(
      `script vacation is active for alice@example.org in the data folder ${env.dataDir}\n`,
    );
    expect((await env.cli(['sieve', 'rename', 'alice', 'vacation', 'away'])).code).toBe(0);
    expect((await env.cli(['sieve', 'list', 'alice'])).stdout).toBe(`away\t${VACATION.length}\tactive\nrules\t${RULES.length}\n`);
    expect(await readlink(join(home, '.dovecot.sieve'))).toBe('sieve/away.sieve');

    const none = await env.cli(['sieve', 'activate', 'alice', '--none']);
    expect(none.stdout).toBe(`no script is active for alice@example.org in the data folder ${env.dataDir}\n`);
    await expect(lstat(join(home, '.dovecot.sieve'))).rejects.toThrow(/ENOENT/);
    expect((await env.cli(['sieve', 'delete', 'alice', 'away'])).code).toBe(0);
    expect((await env.cli(['sieve', 'list', 'alice'])).stdout).toBe(`rules\t${RULES.length}\n`);
  });

  it("refuses a script that does not compile with the compiler's lines and exit 65, and stores nothing", async () => {
    const bad = await env.cli(['sieve', 'put', 'alice', 'bad', join(env.dir, 'bad.sieve')]);
    expect(bad.code).toBe(65);
    expect(bad.stdout).toBe('');
    expect(bad.stderr).toMatch(
      /^(bad: line \d+: error: .*\n)+bad: error: validation failed\.\npostern: bad: the script does not compile; nothing was stored\n$/,
    );
    const unknown = await env.cli(['sieve', 'put', 'alice', 'x', '-'], 'require "x-frobnicate";\nkeep;\n');
    expect(unknown.code).toBe(65);
    expect(unknown.stderr).toContain("x: line 1: error: require command: unknown Sieve capability `x-frobnicate'.\n");
    expect((await env.cli(['sieve', 'get', 'alice', 'bad'])).code).toBe(1);
    expect((await env.cli(['sieve', 'list', 'alice'])).stdout).not.toMatch(/^(bad|x)\t/m);
  });

  it('check compiles a file only: exit 0 when it compiles, 65 with the lines when not', async () => {
    const ok = await env.cli(['sieve', 'check', join(env.dir, 'rules.sieve')]);
    expect(ok).toEqual({ code: 0, stdout: 'rules: the script compiles\n', stderr: '' });
    const unknown = await env.cli(['sieve', 'check', join(env.dir, 'unknown.sieve')]);
    expect(unknown.code).toBe(65);
    expect(unknown.stderr).toBe(
      "unknown: line 1: error: require command: unknown Sieve capability `x-frobnicate'.\nunknown: error: validation failed.\n" +
        'postern: unknown: the script does not compile\n',
    );
  });

  it('explains every bad input with the exit code scripts can tell apart', async () => {
    const cases: [string[], string | undefined, number, RegExp][] = [
      [['sieve', 'list', 'nobody'], undefined, 67, /^postern: no account nobody@example.org in the data folder /],
      [['sieve', 'put', 'nobody', 'x', '-'], 'keep;', 67, /no account nobody@example.org/],
      [['sieve', 'list', '../etc'], undefined, 64, /not a valid account name/],
      [['sieve', 'put', 'alice', '../../x', '-'], 'keep;', 64, /is not a valid script name/],
      [['sieve', 'put', 'alice', 'x', join(env.dir, 'missing.sieve')], undefined, 65, /cannot read .*missing.sieve: ENOENT/],
      [['sieve', 'get', 'alice', 'missing'], undefined, 1, /alice@example.org has no script missing/],
      [['sieve', 'activate', 'alice', 'missing'], undefined, 1, /there is no script named "missing"/],
      [['sieve', 'activate', 'alice'], undefined, 64, /give the name of a script, or --none/],
      [['sieve', 'activate', 'alice', 'rules', '--none'], undefined, 64, /give the name of a script, or --none/],
      [['sieve', 'delete', 'alice', 'missing'], undefined, 1, /there is no script named "missing"/],
      [['sieve', 'rename', 'alice', 'rules', 'rules'], undefined, 1, /a script named "rules" exists already/],
      [['sieve', 'frobnicate'], undefined, 64, /unknown command/],
      [['sieve', 'check', join(env.dir, 'missing.sieve')], undefined, 65, /cannot read/],
    ];
    for (const [args, input, code, message] of cases) {
      const r = await env.cli(args, input);
      expect(r.code, args.join(' ')).toBe(code);
      expect(r.stderr, args.join(' ')).toMatch(message);
    }
    // the active script cannot be deleted (RFC 5804 section 2.10)
    await env.cli(['sieve', 'activate', 'alice', 'rules']);
    const active = await env.cli(['sieve', 'delete', 'alice', 'rules']);
    expect(active.code).toBe(1);
    expect(active.stderr).toBe('postern: the active script cannot be deleted\n');
  });
});

describe('postern sieve test', () => {
  const message = (subject: string, extra = '') =>
    `Return-Path: <bob@example.net>\nFrom: bob@example.net\nTo: alice@example.org\n${extra}Subject: ${subject}\n` +
    `Message-ID: <${subject.length}@example.net>\n\nHello.\n`;
  const FILE_SPAM = 'require ["fileinto", "imap4flags"];\nif header :contains "subject" "[spam]" { fileinto :flags "\\\\Seen" "Spam"; }\n';

  it('prints the actions as sieve-test does; a fileinto a missing mailbox is the keep into INBOX a delivery would do', async () => {
    await writeFile(join(env.dir, 'file-spam.sieve'), FILE_SPAM);
    await writeFile(join(env.dir, 'spam.eml'), message('[spam] cheap'));
    const missing = await env.cli(['sieve', 'test', 'alice', join(env.dir, 'spam.eml'), '--script', join(env.dir, 'file-spam.sieve')]);
    expect(missing.code).toBe(0);
    expect(missing.stdout).toBe(
      '\nPerformed actions:\n\n  (none)\n\nImplicit keep:\n\n * store message in folder: INBOX\n        + add IMAP flags: \\seen\n\n',
    );
    expect(missing.stderr).toBe('postern: alice@example.org has no mailbox Spam: a delivery keeps the message in INBOX\n');
    expect((await env.cli(['mailbox', 'create', 'alice', 'Spam'])).code).toBe(0);
    const filed = await env.cli(['sieve', 'test', 'alice', join(env.dir, 'spam.eml'), '--script', join(env.dir, 'file-spam.sieve')]);
    expect(filed).toEqual({
      code: 0,
      stdout:
        '\nPerformed actions:\n\n * store message in folder: Spam\n        + add IMAP flags: \\seen\n\nImplicit keep:\n\n  (none)\n\n',
      stderr: '',
    });
    // nothing was stored
    expect(await readdir(join(home, 'Maildir/new'))).toEqual([]);
    expect(await readdir(join(home, 'Maildir/.Spam/new'))).toEqual([]);
  });

  it("runs the site's before script, then the account's active one; +detail is routed and kept in the envelope", async () => {
    const vacation =
      'require ["vacation", "envelope", "subaddress"];\n' +
      'if envelope :detail "to" "work" { vacation :days 2 :subject "Away" "Back on Monday."; }\n';
    expect((await env.cli(['sieve', 'put', 'alice', 'away', '-', '--activate'], vacation)).code).toBe(0);
    const r = await env.cli(['sieve', 'test', 'alice+work@example.org', '-', '--from', 'carol@example.net'], message('hello'));
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout.split('\n')).toEqual([
      '',
      'Performed actions:',
      '',
      ' * send vacation message:',
      '    => seconds : 172800',
      '    => subject : Away',
      '    => from    : <alice@example.org>',
      expect.stringMatching(/^ {4}=> handle {2}: \S+$/),
      '',
      'START MESSAGE',
      'Back on Monday.',
      'END MESSAGE',
      '',
      'Implicit keep:',
      '',
      ' * store message in folder: INBOX',
      '',
      '',
    ]);
    // without the detail, the user's script does nothing
    const plain = await env.cli(['sieve', 'test', 'alice', '-'], message('hello'));
    expect(plain.stdout).toBe('\nPerformed actions:\n\n  (none)\n\nImplicit keep:\n\n * store message in folder: INBOX\n\n');
    // the site's script runs first: filed, the sequence ends there (as Pigeonhole's multiscript)
    const site = await env.cli(['sieve', 'test', 'alice+work', '-'], message('hello', 'X-Spam: yes\n'));
    expect(site.stdout).toBe('\nPerformed actions:\n\n * store message in folder: Spam\n\nImplicit keep:\n\n  (none)\n\n');
    await env.cli(['sieve', 'activate', 'alice', '--none']);
  });

  it('exit codes: 67 for an address nothing here takes, 65 for a script that does not compile or an empty message', async () => {
    const unknown = await env.cli(['sieve', 'test', 'nobody@example.org', '-'], message('x'));
    expect(unknown.code).toBe(67);
    expect(unknown.stderr).toBe(`postern: nobody@example.org: no such account or route in the data folder ${env.dataDir}\n`);
    const bad = await env.cli(['sieve', 'test', 'alice', '-', '--script', join(env.dir, 'unknown.sieve')], message('x'));
    expect(bad.code).toBe(65);
    expect(bad.stderr).toBe(
      "unknown: line 1: error: require command: unknown Sieve capability `x-frobnicate'.\nunknown: error: validation failed.\n" +
        'failed to compile sieve script\npostern: unknown: the script does not compile\n',
    );
    expect((await env.cli(['sieve', 'test', 'alice', '-'], '')).code).toBe(65);
    expect((await env.cli(['sieve', 'test', 'alice'])).code).toBe(64);
  });
});
