// The Maildir store shared with other agents: files another delivery agent wrote (no W=), flags set
// by an IMAP server, stable UIDLs.
import { mkdir, readdir, readFile, rename, symlink, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RawPop } from '../helpers/pop-client.js';
import { startServer, type TestServer } from '../helpers/server.js';

let server: TestServer;
let maildir: string;

beforeAll(async () => {
  server = await startServer();
  await server.addAccount('alice', 'a secret');
  maildir = join(server.dataDir, 'accounts/example.org/alice/Maildir');
});
afterAll(async () => {
  await server.stop();
});

describe('Maildir written by others', () => {
  it('measures a message without W= once and remembers it', async () => {
    await writeFile(join(maildir, 'new', '1700000000.M1P1.otherhost'), 'Subject: foreign\n\nline\n');
    await mkdir(join(maildir, 'cur'), { recursive: true });
    await writeFile(join(maildir, 'cur', '1700000001.M2P2.otherhost,S=20:2,FS'), 'Subject: seen\r\n\r\nx\r\n');
    const c = await RawPop.signIn(server.port, 'alice', 'a secret');
    expect(await c.command('LIST')).toMatch(/^\+OK 2 /);
    expect(await c.lines()).toEqual(['1 26', '2 20']);
    c.close();
    const cache = JSON.parse(await readFile(join(maildir, 'postern-sizes-v2.json'), 'utf8'));
    expect(cache).toEqual({ '1700000000.M1P1.otherhost': 26, '1700000001.M2P2.otherhost,S=20': 20 });
  });

  it("keeps UIDLs stable across sessions and flag renames, and keeps other agents' flags when setting Seen", async () => {
    const first = await RawPop.signIn(server.port, 'alice', 'a secret');
    await first.command('UIDL');
    const before = await first.lines();
    expect(await first.command('RETR 1')).toMatch(/^\+OK 26 octets/);
    await first.body();
    expect(await first.command('QUIT')).toMatch(/^\+OK/);
    // an IMAP server flags message 2 as answered meanwhile
    await rename(join(maildir, 'cur', '1700000001.M2P2.otherhost,S=20:2,FS'), join(maildir, 'cur', '1700000001.M2P2.otherhost,S=20:2,FRS'));
    const second = await RawPop.signIn(server.port, 'alice', 'a secret');
    await second.command('UIDL');
    expect(await second.lines()).toEqual(before);
    expect(await second.command('RETR 2')).toMatch(/^\+OK 20 octets/);
    await second.body();
    expect(await second.command('QUIT')).toMatch(/^\+OK/);
    expect((await readdir(join(maildir, 'cur'))).sort()).toEqual(['1700000000.M1P1.otherhost:2,S', '1700000001.M2P2.otherhost,S=20:2,FRS']);
  });

  it('follows a message renamed by another agent during a session', async () => {
    const c = await RawPop.signIn(server.port, 'alice', 'a secret');
    await rename(join(maildir, 'cur', '1700000000.M1P1.otherhost:2,S'), join(maildir, 'cur', '1700000000.M1P1.otherhost:2,RS'));
    expect(await c.command('RETR 1')).toBe('+OK 26 octets');
    await c.body();
    expect(await c.command('DELE 1')).toMatch(/^\+OK/);
    expect(await c.command('QUIT')).toMatch(/^\+OK Postern signing off \(1 messages left\)/);
    expect(await readdir(join(maildir, 'cur'))).toEqual(['1700000001.M2P2.otherhost,S=20:2,FRS']);
  });

  it('leaves out a name that cannot be opened (a dangling link) and shows the rest', async () => {
    await symlink('/nonexistent/message', join(maildir, 'new', '1700000002.M3P3.otherhost'));
    const c = await RawPop.signIn(server.port, 'alice', 'a secret');
    expect(await c.command('STAT')).toBe('+OK 1 20');
    expect(await c.command('QUIT')).toMatch(/^\+OK/);
    await unlink(join(maildir, 'new', '1700000002.M3P3.otherhost'));
  });
});
