// Odd entries and symbolic links inside a Maildir. Found in a hostile run: one folder inside new/ made
// every sign-in answer -ERR [SYS/TEMP]; a link in cur/ pointing outside the data folder was followed (RETR
// sent the outside file), and so was a mailbox folder that was a link to another Maildir. Now: what is not
// a plain file is left out and logged, links inside an account are never followed (a server running as
// root must not serve /etc/shadow because someone planted a link in a Maildir).
import { execFileSync } from 'node:child_process';
import { mkdir, readdir, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RawPop } from '../helpers/pop-client.js';
import { startServer, type TestServer } from '../helpers/server.js';

let server: TestServer;
const SECRET = 'root:$6$secret-hash-that-must-never-leave:19000:0:99999:7:::\n';
let secretFile: string;
const maildir = (owner: string) => join(server.dataDir, 'accounts/example.org', owner, 'Maildir');

async function deliverFile(owner: string, name: string, text: string): Promise<void> {
  await writeFile(join(maildir(owner), 'new', name), text);
}

beforeAll(async () => {
  server = await startServer();
  secretFile = join(server.dir, 'outside-secret');
  await writeFile(secretFile, SECRET);
  for (const name of ['alice', 'bob', 'carol', 'dave']) await server.addAccount(name, `${name} secret`);
});
afterAll(async () => {
  await server.stop();
});

describe('entries of new/ and cur/ that are not message files', () => {
  it('a folder, a link to a folder and a named pipe are left out and logged; the mailbox works', async () => {
    await deliverFile('alice', '1700000001.M1P1Q1.test,S=24,W=26', 'Subject: one\n\nbody one\n');
    await mkdir(join(maildir('alice'), 'new', '1700000002.M2P1Q2.test'));
    await mkdir(join(maildir('alice'), 'cur', '1700000003.M3P1Q3.test:2,S'));
    await symlink(server.dir, join(maildir('alice'), 'cur', '1700000004.M4P1Q4.test:2,S'));
    execFileSync('mkfifo', [join(maildir('alice'), 'new', '1700000005.M5P1Q5.test')]);
    await deliverFile('alice', '1700000006.M6P1Q6.test,S=24,W=26', 'Subject: two\n\nbody two\n');

    for (let round = 0; round < 2; round++) {
      const c = await RawPop.signIn(server.port, 'alice', 'alice secret');
      expect(await c.command('STAT')).toBe('+OK 2 52');
      expect(await c.command('RETR 2')).toBe('+OK 26 octets');
      expect((await c.body()).toString()).toContain('body two');
      expect(await c.command('QUIT')).toMatch(/^\+OK/);
    }
    const warnings = server.logs.filter((r) => r.msg === 'left out of the mailbox: not a message file');
    expect(warnings.map((r) => [String(r.path).split('/').slice(-2).join('/'), r.what]).sort()).toEqual([
      ['cur/1700000003.M3P1Q3.test:2,S', 'a folder'],
      ['cur/1700000004.M4P1Q4.test:2,S', 'a symbolic link'],
      ['new/1700000002.M2P1Q2.test', 'a folder'],
      ['new/1700000005.M5P1Q5.test', 'not a plain file'],
    ]);
  });
});

describe('symbolic links are never followed inside an account', () => {
  it('a link in cur/ or new/ to a file outside the data folder is not a message: never listed, never sent', async () => {
    await deliverFile('bob', '1700000001.M1P1Q1.test,S=24,W=26', 'Subject: own\n\nbody own\n');
    await symlink(secretFile, join(maildir('bob'), 'cur', `1700000002.M2P1Q2.test,S=${SECRET.length},W=${SECRET.length + 1}:2,S`));
    await symlink(secretFile, join(maildir('bob'), 'new', '1700000003.M3P1Q3.test')); // no W=: would be measured
    const c = await RawPop.signIn(server.port, 'bob', 'bob secret');
    expect(await c.command('STAT')).toBe('+OK 1 26');
    expect(await c.command('RETR 2')).toMatch(/^-ERR No such message/);
    expect(await c.command('RETR 1')).toBe('+OK 26 octets');
    const body = (await c.body()).toString();
    expect(body).not.toContain('secret-hash');
    expect(await c.command('QUIT')).toMatch(/^\+OK/);
  });

  it('a message file replaced by a link after sign-in: that message is gone, the link is not read', async () => {
    await deliverFile('carol', '1700000001.M1P1Q1.test,S=24,W=26', 'Subject: one\n\nbody one\n');
    const c = await RawPop.signIn(server.port, 'carol', 'carol secret');
    expect(await c.command('STAT')).toBe('+OK 1 26');
    const name = '1700000001.M1P1Q1.test,S=24,W=26';
    await rename(join(maildir('carol'), 'new', name), join(server.dir, 'carol-moved-away'));
    await symlink(secretFile, join(maildir('carol'), 'new', name));
    expect(await c.command('RETR 1')).toBe('-ERR Message 1 was deleted by another session');
    expect(await c.command('TOP 1 5')).toBe('-ERR Message 1 was deleted by another session');
    expect(c.pending).not.toContain('secret-hash');
    expect(await c.command('NOOP')).toBe('+OK'); // the session goes on
    c.close();
    await rm(join(maildir('carol'), 'new', name));
  });

  it('a mailbox folder that is a link to another Maildir is no mailbox; an INBOX that is a link is refused', async () => {
    // dave's "Archive" is a link to alice's Maildir: not a mailbox of dave's
    await symlink(maildir('alice'), join(maildir('dave'), '.Archive'));
    const c = await RawPop.connect(server.port);
    await c.line();
    await c.command('USER Archive#dave');
    expect(await c.command('PASS dave secret')).toBe('-ERR [SYS/PERM] No such mailbox, or no right to read it');
    c.close();
    expect((await server.cli(['mailbox', 'list', 'dave'])).stdout).toBe('INBOX\n');
    // a delivery into it goes to INBOX instead (as for a mailbox that does not exist), not into alice's
    const before = (await readdir(join(maildir('alice'), 'new'))).length;
    const d = await server.cli(['deliver', 'dave', '--mailbox', 'Archive'], 'Subject: to the archive\n\nx\n');
    expect(d.code, d.stderr).toBe(0);
    expect((await readdir(join(maildir('alice'), 'new'))).length).toBe(before);
    expect((await readdir(join(maildir('dave'), 'new'))).length).toBe(1);

    // carol's whole Maildir replaced by a link to bob's: sign-in and delivery are refused, bob's mail untouched
    const carolMaildir = maildir('carol');
    await rename(carolMaildir, `${carolMaildir}.real`);
    await symlink(maildir('bob'), carolMaildir);
    const c2 = await RawPop.connect(server.port);
    await c2.line();
    await c2.command('USER carol');
    expect(await c2.command('PASS carol secret')).toBe('-ERR [SYS/PERM] This mailbox cannot be opened; the server log says why');
    c2.close();
    const logged = await server.waitForLog((r) => r.path === carolMaildir);
    expect(logged.msg).toBe(
      `${carolMaildir} is a symbolic link or not a folder; Postern does not follow links inside an account folder (move the data there, ` +
        `or use a bind mount)`,
    );
    const bobBefore = (await readdir(join(maildir('bob'), 'new'))).sort();
    const refused = await server.cli(['deliver', 'carol'], 'Subject: for carol\n\nx\n');
    expect(refused.code).toBe(75); // the MTA keeps it while the operator fixes the folder
    expect(refused.stderr).toContain(`${carolMaildir} is a symbolic link or not a folder`);
    expect((await readdir(join(maildir('bob'), 'new'))).sort()).toEqual(bobBefore);
    await rm(carolMaildir);
    await rename(`${carolMaildir}.real`, carolMaildir);
  });

  it('cur/ that is a link is refused too', async () => {
    const cur = join(maildir('dave'), 'cur');
    await rename(cur, `${cur}.real`);
    await symlink(join(maildir('bob'), 'cur'), cur);
    const c = await RawPop.connect(server.port);
    await c.line();
    await c.command('USER dave');
    expect(await c.command('PASS dave secret')).toBe('-ERR [SYS/PERM] This mailbox cannot be opened; the server log says why');
    c.close();
    await rm(cur);
    await rename(`${cur}.real`, cur);
  });
});
