// Dovecot and Postern on one tree see the same Sieve scripts: Pigeonhole's own managesieve (run pre-authenticated
// over a pipe, as `doveadm exec managesieve` does) lists and reads what `postern sieve` wrote, dovecot-lda with
// lda-sieve runs the script Postern made active, and Postern lists, reads and keeps what Pigeonhole wrote (a
// regular .dovecot.sieve of an old installation too). The config is Pigeonhole's usual one:
// sieve = file:~/sieve;active=~/.dovecot.sieve, the home being Postern's account folder.
import { spawn } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readdir, readFile, readlink, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DOVECOT_MAIL_ID, shareWithDovecot } from '../helpers/dovecot.js';
import { startServer, type TestServer } from '../helpers/server.js';

const MANAGESIEVE = '/usr/lib/dovecot/managesieve';
const LDA = '/usr/lib/dovecot/dovecot-lda';
const asRoot = process.getuid?.() === 0;

let env: TestServer;
let conf: string;
let confDir: string;
let home: string;

/** Runs one of Dovecot's programs as its mail user (Dovecot refuses mail access as root), as alice with her home. */
function dovecot(program: string, args: string[], input: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', USER: 'alice', HOME: home };
  const [cmd, argv] = asRoot
    ? ['setpriv', [`--reuid=${DOVECOT_MAIL_ID}`, `--regid=${DOVECOT_MAIL_ID}`, '--clear-groups', program, ...args]]
    : [program, args];
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, argv as string[], { env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(input);
  });
}

/** A pre-authenticated ManageSieve session of Pigeonhole's on alice's home: the commands' answers (CRLF kept). */
async function managesieve(...commands: string[]): Promise<string> {
  const r = await dovecot(MANAGESIEVE, ['-c', conf], [...commands, 'LOGOUT'].map((c) => `${c}\r\n`).join(''));
  expect(r.stdout, r.stderr).toMatch(/OK "Logout completed."\r\n$/);
  return r.stdout;
}

/** LISTSCRIPTS' script lines, sorted (Pigeonhole lists them in the order the folder gives them). */
function scriptLines(answers: string): string[] {
  return answers
    .split('\r\n')
    .filter((l) => l.startsWith('"'))
    .sort();
}

const literal = (text: string) => `{${Buffer.byteLength(text)}+}\r\n${text}`;

/** Gives the Dovecot user the account folder (Postern's CLI, as root, made it), and what the test wrote there. */
async function share(): Promise<void> {
  await shareWithDovecot(env.dir, home);
}

beforeAll(async () => {
  env = await startServer({ noServe: true });
  await env.addAccount('alice', 'a pass');
  expect((await env.cli(['mailbox', 'create', 'alice', 'Junk'])).code).toBe(0);
  home = join(env.dataDir, 'accounts/example.org/alice');
  confDir = await mkdtemp(join(tmpdir(), 'postern-pigeonhole-'));
  await chmod(confDir, 0o755);
  await mkdir(join(confDir, 'run'), { mode: 0o777 });
  await chmod(join(confDir, 'run'), 0o777);
  conf = join(confDir, 'dovecot.conf');
  await writeFile(
    conf,
    `base_dir = ${confDir}/run
log_path = /dev/stderr
ssl = no
mail_location = maildir:~/Maildir
first_valid_uid = 1
postmaster_address = postmaster@example.org
plugin {
  sieve = file:~/sieve;active=~/.dovecot.sieve
}
protocol lda {
  mail_plugins = sieve
}
`,
    { mode: 0o644 },
  );
  await share();
});
afterAll(async () => {
  await env.stop();
  await rm(confDir, { recursive: true, force: true });
});

const RULES = 'require ["fileinto"];\r\nif header :contains "subject" "[spam]" {\r\n  fileinto "Junk";\r\n}\r\n';

describe("Pigeonhole's tools on the scripts Postern keeps", () => {
  it("Dovecot's managesieve lists and reads what postern sieve wrote; dovecot-lda runs the active one", async () => {
    expect((await env.cli(['sieve', 'put', 'alice', 'rules', '-', '--activate'], RULES)).code).toBe(0);
    expect((await env.cli(['sieve', 'put', 'alice', 'Ferien 2026', '-'], 'keep;\r\n')).code).toBe(0);
    // (no share(): running as root, Postern gives what it makes the owner of the folder it is in)
    expect(scriptLines(await managesieve('LISTSCRIPTS'))).toEqual(['"Ferien 2026"', '"rules" ACTIVE']);
    expect(await managesieve('GETSCRIPT "rules"')).toBe(
      `{${RULES.length}}\r\n${RULES}\r\nOK "Getscript completed."\r\nOK "Logout completed."\r\n`,
    );
    const lda = await dovecot(LDA, ['-c', conf, '-f', 'bob@example.net'], 'From: bob@example.net\nSubject: [spam] cheap\n\nbuy\n');
    expect(lda.code, lda.stderr).toBe(0);
    expect(lda.stderr).toContain("fileinto action: stored mail into mailbox 'Junk'");
    expect(await readdir(join(home, 'Maildir/.Junk/new'))).toHaveLength(1);
  });

  it("Postern lists, reads and renames what Dovecot's managesieve wrote", async () => {
    const script = 'require "vacation";\r\nvacation :days 7 "Away until Monday.";\r\n';
    const answers = await managesieve(`PUTSCRIPT "away" ${literal(script)}`, 'SETACTIVE "away"', 'RENAMESCRIPT "Ferien 2026" "old"');
    expect(answers).toBe(
      'OK "PUTSCRIPT completed."\r\nOK "Setactive completed."\r\nOK "Renamescript completed."\r\nOK "Logout completed."\r\n',
    );
    const list = await env.cli(['sieve', 'list', 'alice']);
    expect(list.stdout).toBe(`away\t${script.length}\tactive\nold\t7\nrules\t${RULES.length}\n`);
    expect((await env.cli(['sieve', 'get', 'alice', 'away'])).stdout).toBe(script);
    // Postern renames the active one: Dovecot follows it
    expect((await env.cli(['sieve', 'rename', 'alice', 'away', 'holiday'])).code).toBe(0);
    expect(scriptLines(await managesieve('LISTSCRIPTS'))).toEqual(['"holiday" ACTIVE', '"old"', '"rules"']);
    expect(await readlink(join(home, '.dovecot.sieve'))).toBe('sieve/holiday.sieve');
  });

  it('a regular .dovecot.sieve of an old installation: both run it, and activating another keeps it as dovecot.orig', async () => {
    await rm(join(home, '.dovecot.sieve'));
    await writeFile(join(home, '.dovecot.sieve'), 'require "fileinto";\r\nfileinto "Junk";\r\n');
    await share();
    const lda = await dovecot(LDA, ['-c', conf, '-f', 'bob@example.net'], 'From: bob@example.net\nSubject: hello\n\nhi\n');
    expect(lda.stderr).toContain("stored mail into mailbox 'Junk'");
    expect((await env.cli(['sieve', 'list', 'alice'])).stdout).not.toContain('active');
    expect((await env.cli(['sieve', 'activate', 'alice', 'rules'])).code).toBe(0);
    expect(scriptLines(await managesieve('LISTSCRIPTS'))).toEqual(['"dovecot.orig"', '"holiday"', '"old"', '"rules" ACTIVE']);
    expect(await readFile(join(home, 'sieve/dovecot.orig.sieve'), 'utf8')).toBe('require "fileinto";\r\nfileinto "Junk";\r\n');
  });

  it("Pigeonhole's sieve-test runs the active script through Postern's link, and postern sieve test prints what it prints", async () => {
    const script =
      'require ["fileinto", "imap4flags"];\r\nif header :contains "subject" "[spam]" {\r\n  addflag "\\\\Seen";\r\n' +
      '  fileinto "Junk";\r\n  redirect "archive@example.net";\r\n}\r\n';
    expect((await env.cli(['sieve', 'put', 'alice', 'cmp', '-', '--activate'], script)).code).toBe(0);
    const eml = join(confDir, 'cmp.eml');
    await writeFile(eml, 'Return-Path: <bob@example.net>\nFrom: bob@example.net\nTo: alice@example.org\nSubject: [spam] cheap\n\nbuy\n', {
      mode: 0o644,
    });
    const pigeonhole = await dovecot('sieve-test', ['-c', conf, join(home, '.dovecot.sieve'), eml], '');
    expect(pigeonhole.stderr).toContain('final result: success');
    const postern = await env.cli(['sieve', 'test', 'alice', eml]);
    expect(postern.code).toBe(0);
    expect(postern.stdout).toBe(pigeonhole.stdout);
    expect(postern.stdout).toContain(
      ' * store message in folder: Junk\n        + add IMAP flags: \\seen\n * redirect message to: <archive@example.net>\n',
    );
  });
});
