// The ManageSieve module (RFC 5804) in this process over the memory store (test/helpers/in-process.ts), byte by
// byte: the greeting and capabilities, sign-in (SASL-IR, continuations, "*", the cleartext policy, STARTTLS),
// each command's answers in Pigeonhole's words, the compiler's messages, the quotas, literals and the limits.
// The real clients (sieve-connect) and Dovecot's managesieved on the same tree are test/interop/managesieve.test.ts.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SIEVE_EXTENSIONS } from '../../sieve/extensions.js';
import { type InProcessServer, startInProcess } from '../helpers/in-process.js';
import { literal, RawSieve } from '../helpers/managesieve-client.js';
import type { Endpoint } from '../helpers/pop-client.js';

const SIEVE = `"SIEVE" "${SIEVE_EXTENSIONS.join(' ')}"\r\n`;
const LISTENERS = [
  { name: 'sieve', module: 'managesieve', address: '127.0.0.1', port: 0 },
  { name: 'sieve-strict', module: 'managesieve', address: '127.0.0.1', port: 0 },
];
const b64 = (s: string) => Buffer.from(s).toString('base64');
const plain = (user: string, password: string) => `AUTHENTICATE "PLAIN" "${b64(`\0${user}\0${password}`)}"`;

describe('ManageSieve: greeting, capabilities, sign-in', () => {
  let server: InProcessServer;
  let port: Endpoint;
  beforeAll(async () => {
    server = await startInProcess({ config: { listeners: LISTENERS, managesieve: { authFailureDelay: 0, maxAuthAttempts: 3 } } });
    port = server.portOf('sieve');
    await server.addAccount('jsmith', 'secret');
  });
  afterAll(() => server.stop());

  it('greets with its capabilities: SIEVE lists exactly the extensions, SASL, STARTTLS, VERSION "1.0"', async () => {
    const { client, greeting } = await RawSieve.connect(port);
    expect(greeting.text).toBe(
      `"IMPLEMENTATION" "Postern"\r\n${SIEVE}"MAXREDIRECTS" "4"\r\n"SASL" "PLAIN LOGIN"\r\n"STARTTLS"\r\n"VERSION" "1.0"\r\n` +
        'OK "Postern ManageSieve ready."\r\n',
    );
    expect((await client.command('CAPABILITY')).text).toBe(greeting.text.replace('Postern ManageSieve ready.', 'Capability completed.'));
    expect((await client.command('NOOP')).text).toBe('OK "NOOP Completed"\r\n');
    expect((await client.command('NOOP "x\\"y"')).text).toBe('OK (TAG "x\\"y") "Done"\r\n');
    expect((await client.command('NOOP {3+}\r\na\nb')).text).toBe('OK (TAG {3}\r\na\nb) "Done"\r\n');
    expect((await client.command('LISTSCRIPTS')).text).toBe('NO "Error in MANAGESIEVE command LISTSCRIPTS: Authenticate first."\r\n');
    expect((await client.command('FROB')).text).toBe('NO "Error in MANAGESIEVE command FROB: Unknown command."\r\n');
    expect((await client.command('LOGOUT')).text).toBe('OK "Logout completed."\r\n');
    client.close();
  });

  it('signs in with PLAIN and an initial response; after it CAPABILITY has OWNER and UNAUTHENTICATE, no SASL or STARTTLS', async () => {
    const { client } = await RawSieve.connect(port);
    expect((await client.command(plain('jsmith', 'secret'))).text).toBe('OK "Logged in."\r\n');
    expect((await client.command('CAPABILITY')).text).toBe(
      `"IMPLEMENTATION" "Postern"\r\n${SIEVE}"MAXREDIRECTS" "4"\r\n"VERSION" "1.0"\r\n` +
        '"OWNER" "jsmith@example.org"\r\n"UNAUTHENTICATE"\r\n' +
        'OK "Capability completed."\r\n',
    );
    expect((await client.command('AUTHENTICATE "PLAIN"')).text).toBe(
      'NO "Error in MANAGESIEVE command AUTHENTICATE: Not allowed after signing in."\r\n',
    );
    expect((await client.command('UNAUTHENTICATE')).text).toBe('OK "Unauthenticate completed."\r\n');
    expect((await client.command('LISTSCRIPTS')).status).toBe('NO');
    expect((await client.command(plain('jsmith', 'secret'))).status).toBe('OK');
    client.close();
  });

  it('runs PLAIN and LOGIN with continuations (quoted strings and literals), "*" aborts, bad base64 is refused', async () => {
    const { client } = await RawSieve.connect(port);
    client.send('AUTHENTICATE "PLAIN"\r\n');
    expect(await client.item()).toBe('""\r\n');
    expect((await client.command('"*"')).text).toBe('NO "Authentication aborted by client."\r\n');
    client.send('AUTHENTICATE "LOGIN"\r\n');
    expect(await client.item()).toBe(`"${b64('Username:')}"\r\n`);
    client.send(`"${b64('jsmith')}"\r\n`);
    expect(await client.item()).toBe(`"${b64('Password:')}"\r\n`);
    expect((await client.command(literal(b64('secret')))).text).toBe('OK "Logged in."\r\n');
    client.close();
    const { client: c2 } = await RawSieve.connect(port);
    expect((await c2.command('AUTHENTICATE "FOO"')).text).toBe('NO "Unsupported authentication mechanism."\r\n');
    expect((await c2.command('AUTHENTICATE "PLAIN" "!!!"')).text).toBe('NO "Invalid base64 in the SASL response"\r\n');
    expect((await c2.command('AUTHENTICATE PLAIN')).text).toBe('NO "Error in MANAGESIEVE command AUTHENTICATE: Invalid arguments."\r\n');
    c2.close();
  });

  it('answers a wrong password after the failure time, and closes after maxAuthAttempts', async () => {
    const { client } = await RawSieve.connect(port);
    const t0 = performance.now();
    expect((await client.command(plain('jsmith', 'wrong'))).text).toBe('NO "Authentication failed."\r\n');
    expect(performance.now() - t0).toBeGreaterThan(180);
    expect((await client.command(plain('nobody', 'secret'))).text).toBe('NO "Authentication failed."\r\n');
    expect((await client.command(plain('jsmith', 'wrong'))).text).toBe(
      'BYE "Authentication failed; too many failed attempts, closing connection."\r\n',
    );
    await expect(client.command('NOOP')).rejects.toThrow(/closed/);
    const record = await server.waitForLog((r) => r.msg === 'sign-in refused' && r.reason === 'unknown-user');
    expect(JSON.stringify(record)).not.toContain('secret');
  });
});

describe('ManageSieve: the scripts', () => {
  let server: InProcessServer;
  let client: RawSieve;
  beforeAll(async () => {
    server = await startInProcess({ config: { listeners: LISTENERS, managesieve: { authFailureDelay: 0 } } });
    await server.addAccount('jsmith', 'secret');
    client = await RawSieve.signIn(server.portOf('sieve'), 'jsmith', 'secret');
  });
  afterAll(async () => {
    client.close();
    await server.stop();
  });

  const filing = 'require "fileinto";\r\nfileinto "Junk";\r\n';

  it("stores, lists, activates, gets, renames and deletes scripts with Pigeonhole's answers", async () => {
    expect((await client.command(`PUTSCRIPT "one" ${literal(filing)}`)).text).toBe('OK "PUTSCRIPT completed."\r\n');
    expect((await client.command('PUTSCRIPT "two" "keep;"')).text).toBe('OK "PUTSCRIPT completed."\r\n');
    expect((await client.command('LISTSCRIPTS')).text).toBe('"one"\r\n"two"\r\nOK "Listscripts completed."\r\n');
    expect((await client.command('SETACTIVE "one"')).text).toBe('OK "Setactive completed."\r\n');
    expect((await client.command('SETACTIVE "one"')).text).toBe('OK "Script is already active."\r\n');
    expect((await client.command('LISTSCRIPTS')).text).toBe('"one" ACTIVE\r\n"two"\r\nOK "Listscripts completed."\r\n');
    expect((await client.command('GETSCRIPT "one"')).text).toBe(`{39}\r\n${filing}\r\nOK "Getscript completed."\r\n`);
    expect((await client.command('GETSCRIPT "none"')).text).toBe('NO (NONEXISTENT) "Sieve script `none\' not found"\r\n');
    expect((await client.command('DELETESCRIPT "one"')).text).toBe('NO (ACTIVE) "Cannot delete the active Sieve script."\r\n');
    expect((await client.command('DELETESCRIPT "none"')).text).toBe('NO (NONEXISTENT) "Sieve script `none\' not found"\r\n');
    expect((await client.command('RENAMESCRIPT "two" "one"')).text).toBe(
      'NO (ALREADYEXISTS) "A sieve script with that name already exists."\r\n',
    );
    expect((await client.command('RENAMESCRIPT "one" "three"')).text).toBe('OK "Renamescript completed."\r\n');
    expect((await client.command('LISTSCRIPTS')).text).toBe('"three" ACTIVE\r\n"two"\r\nOK "Listscripts completed."\r\n');
    expect((await client.command('SETACTIVE ""')).text).toBe('OK "Active script is now deactivated."\r\n');
    expect((await client.command('SETACTIVE ""')).text).toBe('OK "No scripts currently active."\r\n');
    expect((await client.command('DELETESCRIPT "three"')).text).toBe('OK "Deletescript completed."\r\n');
    expect((await client.command('DELETESCRIPT "two"')).text).toBe('OK "Deletescript completed."\r\n');
    expect((await client.command('LISTSCRIPTS')).text).toBe('OK "Listscripts completed."\r\n');
    // what a delivery reads: the store's active script
    await client.command('PUTSCRIPT "vacation" "keep;"');
    await client.command('SETACTIVE "vacation"');
    const scripts = server.ctx.store.sieveScripts({ name: 'jsmith', domain: 'example.org' });
    expect((await scripts.active())?.content.toString()).toBe('keep;');
    const metrics = await server.ctx.metrics.registry.metrics();
    expect(metrics).toMatch(/postern_managesieve_commands_total\{command="PUTSCRIPT"\} [1-9]/);
    expect(metrics).toMatch(/postern_managesieve_scripts_total\{command="PUTSCRIPT",result="stored"\} [1-9]/);
    expect(metrics).toMatch(/postern_sign_ins_total\{result="ok",mechanism="managesieve-PLAIN"\} [1-9]/);
  });

  it("refuses a script that does not compile with the compiler's lines, as Dovecot sends them", async () => {
    const bad = 'require "foo";\r\nkeep;\r\nfrob;\r\n';
    expect((await client.command(`PUTSCRIPT "bad" ${literal(bad)}`)).text).toBe(
      'NO {188}\r\n' +
        "bad: line 1: error: require command: unknown Sieve capability `foo'.\r\n" +
        "bad: line 3: error: unknown command 'frob' (only reported once at first occurrence).\r\n" +
        'bad: error: validation failed.\r\n\r\n',
    );
    expect((await client.command(`CHECKSCRIPT ${literal(bad)}`)).text).toBe(
      'NO {173}\r\n' +
        "line 1: error: require command: unknown Sieve capability `foo'.\r\n" +
        "line 3: error: unknown command 'frob' (only reported once at first occurrence).\r\n" +
        'error: validation failed.\r\n\r\n',
    );
    expect((await client.command('CHECKSCRIPT "keep;"')).text).toBe('OK "Script checked successfully."\r\n');
    expect((await client.command('GETSCRIPT "bad"')).status).toBe('NO'); // nothing was stored
    // an include of a script not there yet: a warning on upload, an error on activation
    const inc = 'require "include";\r\ninclude :personal "missing";\r\n';
    expect((await client.command(`PUTSCRIPT "inc" ${literal(inc)}`)).text).toBe(
      "OK (WARNINGS) {98}\r\ninc: line 2: warning: included personal script 'missing' does not exist (ignored during upload).\r\n\r\n",
    );
    expect((await client.command('SETACTIVE "inc"')).text).toBe(
      "NO {104}\r\ninc: line 2: error: included personal script 'missing' does not exist.\r\ninc: error: validation failed.\r\n\r\n",
    );
    await client.command('PUTSCRIPT "missing" "keep;"');
    expect((await client.command('SETACTIVE "inc"')).text).toBe('OK "Setactive completed."\r\n');
  });

  it('checks names and arguments as Pigeonhole does', async () => {
    expect((await client.command('PUTSCRIPT "a/b" "keep;"')).text).toBe('NO "Invalid Sieve script name `a/b\'."\r\n');
    expect((await client.command('GETSCRIPT "a/b"')).text).toBe('NO "Invalid script name `a/b\'."\r\n');
    // a name with a line end in it (a literal) is shown, never sent as it is
    expect((await client.command('PUTSCRIPT {7+}\r\na\r\nOK x "keep;"')).text).toBe(
      'NO "Invalid Sieve script name `a\\\\x0d\\\\x0aOK x\'."\r\n', // the backslashes quoted: the client reads a\x0d\x0aOK x
    );
    expect((await client.command('PUTSCRIPT ok "keep;"')).text).toBe('NO "Error in MANAGESIEVE command PUTSCRIPT: Invalid arguments."\r\n');
    expect((await client.command('PUTSCRIPT "ok"')).text).toBe('NO "Error in MANAGESIEVE command PUTSCRIPT: Invalid arguments."\r\n');
    expect((await client.command('PUTSCRIPT "ok" "keep;" "x"')).text).toBe(
      'NO "Error in MANAGESIEVE command PUTSCRIPT: Too many command arguments."\r\n',
    );
    expect((await client.command('GETSCRIPT "ok" "x"')).text).toBe('NO "Error in MANAGESIEVE command GETSCRIPT: Too many arguments."\r\n');
    expect((await client.command('NOOP "a')).text).toBe('NO "Error in MANAGESIEVE command NOOP: String contains invalid character."\r\n');
    expect((await client.command('NOOP "a\\nb"')).text).toBe(
      'NO "Error in MANAGESIEVE command NOOP: Escaped quoted-string character is not a QUOTED-SPECIAL."\r\n',
    );
    expect((await client.command('NOOP a')).text).toBe('NO "Invalid echo tag."\r\n');
    expect((await client.command('HAVESPACE "x" 0')).text).toBe('NO "Cannot upload empty script."\r\n');
    expect((await client.command('HAVESPACE x 10')).text).toBe('NO "Invalid string for scriptname."\r\n');
    expect((await client.command('HAVESPACE "x" abc')).text).toBe('NO "Invalid scriptsize argument."\r\n');
    expect((await client.command('HAVESPACE "x" 1000')).text).toBe('OK "Putscript would succeed."\r\n');
    expect((await client.command('HAVESPACE "x" 100000000')).text).toBe(
      'NO (QUOTA/MAXSIZE) "Script is too large (max 1048576 bytes)."\r\n',
    );
    // UTF-8 names are names; an empty script is a script
    expect((await client.command('PUTSCRIPT "ü€" ""')).text).toBe('OK "PUTSCRIPT completed."\r\n');
    expect((await client.command('LISTSCRIPTS')).text).toContain('"ü€"\r\n');
  });
});

describe('ManageSieve: quotas and limits', () => {
  let server: InProcessServer;
  let port: Endpoint;
  beforeAll(async () => {
    server = await startInProcess({
      config: {
        listeners: LISTENERS,
        managesieve: { authFailureDelay: 0, maxLineLength: 1024, maxBadCommands: 3 },
        sieve: { maxScriptSize: 100, maxScripts: 2, maxStorage: 150 },
      },
    });
    port = server.portOf('sieve');
    await server.addAccount('jsmith', 'secret');
  });
  afterAll(() => server.stop());

  it('answers QUOTA/MAXSIZE, /MAXSCRIPTS and /MAXSTORAGE; a script literal too large is dropped and the session goes on', async () => {
    const client = await RawSieve.signIn(port, 'jsmith', 'secret');
    const big = `# ${'x'.repeat(200)}\r\nkeep;\r\n`;
    expect((await client.command(`PUTSCRIPT "big" ${literal(big)}`)).text).toBe(
      'NO (QUOTA/MAXSIZE) "Script is too large (max 100 bytes)."\r\n',
    );
    expect((await client.command(`CHECKSCRIPT ${literal(big)}`)).text).toBe(
      'NO (QUOTA/MAXSIZE) "Script is too large (max 100 bytes)."\r\n',
    );
    expect((await client.command('NOOP')).text).toBe('OK "NOOP Completed"\r\n');
    const eighty = `# ${'y'.repeat(71)}\r\nkeep;\r\n`; // 82 octets: two pass sieve.maxStorage
    expect((await client.command(`PUTSCRIPT "a" ${literal(eighty)}`)).status).toBe('OK');
    expect((await client.command(`PUTSCRIPT "b" ${literal(eighty)}`)).text).toBe(
      'NO (QUOTA/MAXSTORAGE) "Script storage quota exceeded (max 150 bytes)."\r\n',
    );
    expect((await client.command('PUTSCRIPT "b" "keep;"')).status).toBe('OK');
    expect((await client.command('PUTSCRIPT "c" "keep;"')).text).toBe(
      'NO (QUOTA/MAXSCRIPTS) "Script count quota exceeded (max 2 scripts)."\r\n',
    );
    expect((await client.command('HAVESPACE "c" 5')).text).toBe('NO (QUOTA/MAXSCRIPTS) "Script count quota exceeded (max 2 scripts)."\r\n');
    // replacing a script counts it once
    expect((await client.command('HAVESPACE "a" 90')).text).toBe('OK "Putscript would succeed."\r\n');
    expect((await client.command(`PUTSCRIPT "a" ${literal(eighty)}`)).status).toBe('OK');
    client.close();
  });

  it('refuses a command over the line limit and goes on; a run of bad commands ends with BYE', async () => {
    const client = await RawSieve.signIn(port, 'jsmith', 'secret');
    expect((await client.command(`NOOP "${'z'.repeat(2000)}"`)).text).toBe(
      'NO "Error in MANAGESIEVE command NOOP: Too long argument."\r\n',
    );
    expect((await client.command(`NOOP ${literal('q'.repeat(2000))}`)).text).toBe(
      'NO "Error in MANAGESIEVE command NOOP: Literal size too large"\r\n',
    );
    expect((await client.command('NOOP')).text).toBe('OK "NOOP Completed"\r\n');
    await client.command('FROB');
    await client.command('FROB');
    expect((await client.command('FROB')).text).toBe('NO "Error in MANAGESIEVE command FROB: Unknown command."\r\n');
    expect((await client.answer()).text).toBe('BYE "Too many invalid MANAGESIEVE commands."\r\n');
    client.close();
  });

  it('closes a connection not signed in that announces a literal larger than a command may be', async () => {
    const { client } = await RawSieve.connect(port);
    expect((await client.command('AUTHENTICATE "PLAIN" {100000+}')).text).toBe('BYE "Literal size too large"\r\n');
    await expect(client.command('NOOP')).rejects.toThrow(/closed/);
  });
});

describe('ManageSieve: the cleartext policy', () => {
  let server: InProcessServer;
  beforeAll(async () => {
    server = await startInProcess({
      config: { listeners: LISTENERS, managesieve: { authFailureDelay: 0, cleartextAuth: 'never' } },
    });
    await server.addAccount('jsmith', 'secret');
  });
  afterAll(() => server.stop());

  it('offers no cleartext mechanism before TLS, refuses one with ENCRYPT-NEEDED (STARTTLS: test/interop/managesieve.test.ts)', async () => {
    const { client, greeting } = await RawSieve.connect(server.portOf('sieve'));
    expect(greeting.text).toContain('"SASL" ""\r\n"STARTTLS"\r\n');
    expect((await client.command(plain('jsmith', 'secret'))).text).toBe(
      'NO (ENCRYPT-NEEDED) "Plaintext authentication disallowed on non-secure connections; use STARTTLS first."\r\n',
    );
    expect((await client.command('AUTHENTICATE "CRAM-MD5"')).text).toBe('NO "Unsupported authentication mechanism."\r\n');
    client.close();
  });
});

describe('ManageSieve: a script is bounded by sieve.maxScriptSize, not by the line limit', () => {
  let server: InProcessServer;
  beforeAll(async () => {
    server = await startInProcess({
      config: { listeners: LISTENERS, managesieve: { authFailureDelay: 0, maxLineLength: 1024 }, sieve: { global: 'global' } },
    });
    await server.addAccount('jsmith', 'secret');
    await mkdir(join(server.dir, 'global'));
    await writeFile(
      join(server.dir, 'global', 'spam.sieve'),
      'require "fileinto";\nif header :contains "x-spam" "yes" { fileinto "Junk"; }\n',
    );
  });
  afterAll(() => server.stop());

  it('stores a script literal longer than a command may be; the session end record counts what was done', async () => {
    const client = await RawSieve.signIn(server.portOf('sieve'), 'jsmith', 'secret');
    const long = `${'# a comment line of the script\r\n'.repeat(100)}keep;\r\n`;
    expect(Buffer.byteLength(long)).toBeGreaterThan(3000);
    expect((await client.command(`PUTSCRIPT "long" ${literal(long)}`)).text).toBe('OK "PUTSCRIPT completed."\r\n');
    expect((await client.command('GETSCRIPT "long"')).text).toBe(
      `{${Buffer.byteLength(long)}}\r\n${long}\r\nOK "Getscript completed."\r\n`,
    );
    // a quoted string is part of the command line
    expect((await client.command(`PUTSCRIPT "long" "${'#'.repeat(2000)}"`)).text).toBe(
      'NO "Error in MANAGESIEVE command PUTSCRIPT: Too long argument."\r\n',
    );
    // include :global reads sieve.global
    const global = 'require "include";\r\ninclude :global "spam";\r\n';
    expect((await client.command(`PUTSCRIPT "site" ${literal(global)}`)).text).toBe('OK "PUTSCRIPT completed."\r\n');
    expect((await client.command('SETACTIVE "site"')).text).toBe('OK "Setactive completed."\r\n');
    const absent = 'require "include";\r\ninclude :global "absent";\r\n';
    expect((await client.command(`CHECKSCRIPT ${literal(absent)}`)).text).toBe(
      "OK (WARNINGS) {90}\r\nline 2: warning: included global script 'absent' does not exist (ignored during upload).\r\n\r\n",
    );
    expect((await client.command('LOGOUT')).text).toBe('OK "Logout completed."\r\n');
    const end = await server.waitForLog((r) => r.msg === 'session end' && r.tag === 'MANAGESIEVE' && r.putCount === 2);
    expect(end).toMatchObject({ user: 'jsmith@example.org', putCount: 2, getCount: 1, checkCount: 1, end: 'logout' });
  });
});
