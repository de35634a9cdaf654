// RFC 1939 commands over a raw socket against the real server, where the Maildir on disk shows what they
// did; every command's answers, success and error paths, are in test/protocol/pop-commands.test.ts.
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RawPop } from '../helpers/pop-client.js';
import { startServer, type TestServer } from '../helpers/server.js';

const MSG1 = 'From: a@example.org\r\nSubject: one\r\n\r\nfirst body line\r\nsecond\r\nthird\r\n';
const MSG2 = 'From: b@example.org\nSubject: two\n\n.starts with a dot\nplain\n';

let server: TestServer;
const inbox = () => join(server.dataDir, 'accounts/example.org/alice/Maildir');

beforeAll(async () => {
  server = await startServer();
  await server.addAccount('alice', 'a secret');
  await server.deliver('alice', MSG1);
  await server.deliver('alice', MSG2);
});
afterAll(async () => {
  expect(await server.stop()).toBe(0);
  const ends = server.logs.filter((r) => r.msg === 'session end' && r.end === 'server shutdown');
  expect(ends).toEqual([]);
});

describe('TRANSACTION state', () => {
  it('TOP sends the header and N body lines and does not set Seen; RETR sets Seen', async () => {
    const c = await RawPop.signIn(server.port, 'alice', 'a secret');
    expect(await c.command('TOP 1 0')).toBe('+OK Top of message follows');
    expect(await c.lines()).toEqual(['From: a@example.org', 'Subject: one', '']);
    expect(await c.command('TOP 1 2')).toMatch(/^\+OK/);
    expect(await c.lines()).toEqual(['From: a@example.org', 'Subject: one', '', 'first body line', 'second']);
    expect(await c.command('TOP 1 100')).toMatch(/^\+OK/);
    expect(await c.lines()).toEqual(['From: a@example.org', 'Subject: one', '', 'first body line', 'second', 'third']);
    const seenFirst = async () => (await readdir(join(inbox(), 'cur'))).filter((n) => n.includes(',W=69:2,S'));
    expect(await seenFirst()).toEqual([]);

    expect(await c.command('RETR 1')).toBe('+OK 69 octets');
    await c.body();
    // the Seen rename runs alongside the next command: it lands within moments
    for (let i = 0; i < 50 && (await seenFirst()).length === 0; i++) await new Promise((r) => setTimeout(r, 20));
    expect(await seenFirst()).toHaveLength(1);
    c.close();
  });
});
