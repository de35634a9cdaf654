// The two caches behind fast repeated sign-ins must never show stale state: the auth cache is dropped
// when the password changes, and a cached listing of a large mailbox sees every change.
import { writeFileSync } from 'node:fs';
import { readdir, rename, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RawPop } from '../helpers/pop-client.js';
import { startServer, type TestServer } from '../helpers/server.js';

let server: TestServer;

beforeAll(async () => {
  server = await startServer();
  await server.addAccount('alice', 'old password');
  await server.addAccount('big', 'b secret');
  const dir = join(server.dataDir, 'accounts/example.org/big/Maildir/new');
  const body = 'Subject: m\r\n\r\nx\r\n';
  for (let i = 0; i < 1500; i++) writeFileSync(join(dir, `${1700000000 + i}.M${i}P1Q${i}.gen,S=${body.length},W=${body.length}`), body);
});
afterAll(async () => {
  await server.stop();
});

async function tryPassword(password: string): Promise<string> {
  const c = await RawPop.connect(server.port);
  await c.line();
  await c.command('USER alice');
  const answer = await c.command(`PASS ${password}`);
  c.close();
  return answer;
}

describe('auth cache', () => {
  it('a changed password takes effect at once, and a wrong one is never cached', async () => {
    expect(await tryPassword('old password')).toMatch(/^\+OK/);
    expect(await tryPassword('old password')).toMatch(/^\+OK/); // from the cache
    expect(await tryPassword('wrong')).toBe('-ERR [AUTH] Authentication failed');
    expect((await server.cli(['account', 'set', 'alice', '--password-stdin'], 'new password')).code).toBe(0);
    expect(await tryPassword('old password')).toBe('-ERR [AUTH] Authentication failed');
    expect(await tryPassword('new password')).toMatch(/^\+OK/);
    expect((await server.cli(['account', 'set', 'alice', '--disabled'])).code).toBe(0);
    expect(await tryPassword('new password')).toBe('-ERR [AUTH] Authentication failed');
  });
});

describe('listing cache', () => {
  const stat = async () => {
    const c = await RawPop.signIn(server.port, 'big', 'b secret');
    const answer = await c.command('STAT');
    c.close();
    return answer;
  };

  it('sees messages added, flagged and removed since the last sign-in', async () => {
    expect(await stat()).toBe('+OK 1500 25500');
    expect(await stat()).toBe('+OK 1500 25500');
    await server.deliver('big', 'Subject: new\n\nx\n');
    expect(await stat()).toBe('+OK 1501 25519');
    const dir = join(server.dataDir, 'accounts/example.org/big/Maildir');
    const [first] = (await readdir(join(dir, 'new'))).sort();
    await rename(join(dir, 'new', first), join(dir, 'cur', `${first}:2,S`));
    const c = await RawPop.signIn(server.port, 'big', 'b secret');
    expect(await c.command('STAT')).toBe('+OK 1501 25519');
    expect(await c.command('RETR 1')).toMatch(/^\+OK 17 octets/);
    await c.body();
    c.close();
    await unlink(join(dir, 'cur', `${first}:2,S`));
    expect(await stat()).toBe('+OK 1500 25502');
  });
});
