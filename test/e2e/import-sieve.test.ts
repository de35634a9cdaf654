// `postern import dovecot` brings each user's Sieve scripts from Pigeonhole's layout in the Dovecot home
// (~/sieve/NAME.sieve, ~/.dovecot.sieve) and says which of them Postern cannot run as they are.
import { mkdir, mkdtemp, readdir, readFile, readlink, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type TestServer } from '../helpers/server.js';

let env: TestServer;
let homes: string;
let passwd: string;
const RULES = 'require "fileinto";\nif header :is "x-spam" "yes" { fileinto "Junk"; }\n';
const EXOTIC = 'require ["x-frobnicate", "fileinto"];\nfileinto "Junk";\n';
const OLD = 'require "fileinto";\nfileinto "Old";\n';

beforeAll(async () => {
  env = await startServer({ noServe: true });
  await mkdir(env.dataDir); // (a dry run makes no data folder)
  homes = await mkdtemp(join(tmpdir(), 'postern-dovecot-sieve-'));
  // ann: two scripts, the active one by a relative link (as Pigeonhole makes it), Dovecot's .svbin beside them
  await mkdir(join(homes, 'ann/sieve/tmp'), { recursive: true });
  await mkdir(join(homes, 'ann/Maildir/cur'), { recursive: true });
  await writeFile(join(homes, 'ann/sieve/rules.sieve'), RULES);
  await writeFile(join(homes, 'ann/sieve/rules.svbin'), 'compiled by Pigeonhole');
  await writeFile(join(homes, 'ann/sieve/exotic.sieve'), EXOTIC);
  await symlink('sieve/rules.sieve', join(homes, 'ann/.dovecot.sieve'));
  // ben: an old installation's single script, a regular .dovecot.sieve
  await mkdir(join(homes, 'ben/Maildir/cur'), { recursive: true });
  await writeFile(join(homes, 'ben/.dovecot.sieve'), OLD);
  // cid: no scripts at all
  await mkdir(join(homes, 'cid/Maildir/cur'), { recursive: true });
  passwd = join(env.dir, 'passwd');
  await writeFile(passwd, ['ann', 'ben', 'cid'].map((u) => `${u}:{PLAIN}pw-${u}:1:1::${join(homes, u)}::\n`).join(''));
});
afterAll(async () => {
  await env.stop();
  await rm(homes, { recursive: true, force: true });
});

describe('postern import dovecot: Sieve scripts', () => {
  it('--dry-run says which scripts would come and which Postern cannot run, and changes nothing', async () => {
    const r = await env.cli(['import', 'dovecot', '--passwd-file', passwd, '--maildirs', 'copy', '--dry-run']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('  ann: 2 Sieve scripts (active: rules) would be copied\n');
    expect(r.stdout).toContain(
      '  ann: Sieve script exotic requires an extension Postern lacks (x-frobnicate): exotic: line 1: error: require command: unknown ' +
        "Sieve capability `x-frobnicate'.\n",
    );
    expect(r.stdout).toContain('  ben: 1 Sieve script (active: dovecot.orig) would be copied\n');
    expect(r.stdout).not.toContain('  cid:');
    expect(r.stdout).toMatch(
      /dry run: 3 imported, 0 skipped, 0 failed, 0 need a new password, 1 Sieve scripts Postern cannot run as they are/,
    );
    expect(await readdir(env.dataDir)).toEqual([]);
  });

  it("copies every script into Pigeonhole's layout in the account folder, the active one active, Dovecot's .svbin left", async () => {
    const r = await env.cli(['import', 'dovecot', '--passwd-file', passwd, '--maildirs', 'copy']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('imported ann: Maildir copied from');
    expect(r.stdout).toContain('  ann: 2 Sieve scripts (active: rules) copied\n');
    expect(r.stdout).toContain('  ann: Sieve script exotic requires an extension Postern lacks (x-frobnicate)');
    expect(r.stdout).toContain('  ben: 1 Sieve script (active: dovecot.orig) copied\n');
    const ann = join(env.dataDir, 'accounts/example.org/ann');
    expect((await readdir(join(ann, 'sieve'))).sort()).toEqual(['exotic.sieve', 'rules.sieve', 'tmp']);
    expect(await readFile(join(ann, 'sieve/exotic.sieve'), 'utf8')).toBe(EXOTIC); // kept as the user wrote it
    expect(await readlink(join(ann, '.dovecot.sieve'))).toBe('sieve/rules.sieve');
    expect((await env.cli(['sieve', 'list', 'ann'])).stdout).toBe(`exotic\t${EXOTIC.length}\nrules\t${RULES.length}\tactive\n`);
    expect((await env.cli(['sieve', 'list', 'ben'])).stdout).toBe(`dovecot.orig\t${OLD.length}\tactive\n`);
    expect((await env.cli(['sieve', 'list', 'cid'])).stdout).toBe('');
    // Dovecot's own tree is as it was
    expect(await readlink(join(homes, 'ann/.dovecot.sieve'))).toBe('sieve/rules.sieve');
    expect(await readFile(join(homes, 'ben/.dovecot.sieve'), 'utf8')).toBe(OLD);
  });

  it('run again, it replaces nothing: scripts an account has in Postern are its own', async () => {
    expect((await env.cli(['sieve', 'put', 'ann', 'rules', '-'], 'keep;\n')).code).toBe(0);
    const r = await env.cli(['import', 'dovecot', '--passwd-file', passwd, '--maildirs', 'copy']);
    expect(r.stdout).toContain('  ann: 2 Sieve scripts (active: rules) left in Dovecot: the account has scripts in Postern already\n');
    expect(r.stdout).toMatch(/^0 imported, 3 skipped, 0 failed, 0 need a new password \(/m);
    expect((await env.cli(['sieve', 'get', 'ann', 'rules'])).stdout).toBe('keep;\n');
  });

  it('--sieve names where the scripts are (or none); a setting that is not a file storage is refused per user', async () => {
    const none = await env.cli(['import', 'dovecot', '--passwd-file', passwd, '--maildirs', 'copy', '--sieve', 'none']);
    expect(none.stdout).not.toContain('Sieve');
    const ldap = await env.cli(['import', 'dovecot', '--passwd-file', passwd, '--maildirs', 'copy', '--sieve', 'ldap:/etc/x.conf']);
    expect(ldap.stderr).toContain(`postern: ann (line 1): Sieve scripts not brought: "ldap:/etc/x.conf": only Pigeonhole's file storage`);
  });
});
