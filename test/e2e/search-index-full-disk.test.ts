// The SEARCH index on a full disk, made real: the data folder lives on a small tmpfs the test mounts (tests run
// as root, here and in CI). Messages that arrive while the server is stopped fill the disk to its last byte,
// so that the index cannot take them in when the server goes on (SQLite's SQLITE_FULL). SEARCH must still find
// them (it checks every message the index does not hold), the mail must stay as it was, and once there is
// room again the index takes them in by itself.
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { RawImap } from '../helpers/imap-client.js';
import { startServer, type TestServer } from '../helpers/server.js';
import { fill, mountTmpfs } from '../helpers/tmpfs.js';

let mountPoint: string;
let server: TestServer;

/** A message with its own word, found by SEARCH BODY and by nothing else. */
const message = (n: number) => `From: sender@example.org\nSubject: message ${n}\n\nthe word is quokka${n}x and nothing else\n`;

/** The `postern index status` counts of alice's INBOX: [messages, indexed]. */
async function counts(): Promise<[number, number]> {
  const r = await server.cli(['index', 'status', 'alice']);
  const line = r.stdout.split('\n').find((l) => l.includes('\tINBOX\t')) ?? '';
  const m = /messages (\d+)\tindexed (\d+)/.exec(line);
  return m ? [Number(m[1]), Number(m[2])] : [-1, -1];
}

async function untilIndexed(messages: number, c: RawImap): Promise<void> {
  const until = Date.now() + 90_000; // after a failure the upkeep rests 30 s
  for (;;) {
    const [total, indexed] = await counts();
    if (total === messages && indexed === messages) return;
    if (Date.now() > until) throw new Error(`the index holds ${indexed} of ${total} messages`);
    await c.command('SEARCH BODY "nudge"'); // a SEARCH asks for the upkeep of what the index does not hold
    await new Promise((r) => setTimeout(r, 500));
  }
}

/** The sequence numbers SEARCH answers. */
async function search(c: RawImap, key: string): Promise<number[]> {
  const a = await c.command(`SEARCH ${key}`);
  expect(a.status, a.tagged).toBe('OK');
  const line = a.untagged.find((l) => l.startsWith('* SEARCH')) ?? '';
  return line.slice('* SEARCH'.length).trim().split(' ').filter(Boolean).map(Number);
}

beforeAll(async () => {
  mountPoint = await mkdtemp(join(tmpdir(), 'postern-index-full-'));
  mountTmpfs(mountPoint, '4m');
  server = await startServer({
    config: {
      dataDir: join(mountPoint, 'data'),
      index: true,
      listeners: [{ name: 'imap', module: 'imap', address: '127.0.0.1', port: 0 }],
    },
  });
  await server.addAccount('alice', 'a secret');
});

afterAll(async () => {
  await server?.stop();
  execFileSync('umount', ['-l', mountPoint]);
  await rm(mountPoint, { recursive: true, force: true });
});

it('messages the index cannot take in on a full disk are found all the same, and indexed once there is room', async () => {
  for (let n = 1; n <= 10; n++) await server.deliver('alice', message(n));
  const c = await RawImap.signIn(server.portOf('imap'), 'alice', '"a secret"');
  expect((await c.command('SELECT INBOX')).status).toBe('OK');
  await untilIndexed(10, c);

  // the server stopped (SIGSTOP), five messages arrive through postern deliver, and the disk is filled behind them
  server.process.kill('SIGSTOP');
  try {
    for (let n = 11; n <= 15; n++) await server.deliver('alice', message(n));
    await fill(join(mountPoint, 'filler'));
    await writeFile(join(mountPoint, 'filler-2'), '').catch(() => {}); // not even an empty file's inode may be left
  } finally {
    server.process.kill('SIGCONT');
  }
  const seen = server.logs.length;
  expect((await c.command('NOOP')).untagged).toContain('* 15 EXISTS');
  for (let n = 1; n <= 15; n++) expect(await search(c, `BODY "quokka${n}x"`), `message ${n}`).toEqual([n]);
  expect(await search(c, 'BODY "quokka1"')).toEqual([1, 10, 11, 12, 13, 14, 15]);
  // the upkeep tried and failed: said in the log, and the index still holds only the first ten
  await server.waitForLog((r) => /search index/.test(String(r.msg)), 30_000);
  expect(server.logs.slice(seen).some((r) => /search index/.test(String(r.msg)))).toBe(true);
  expect((await counts())[1]).toBeLessThanOrEqual(10);
  // once, not at each SEARCH: the mailbox's upkeep rests after a failed job (store/search-index/upkeep.ts)
  expect(server.logs.slice(seen).filter((r) => /search index/.test(String(r.msg))).length).toBeLessThanOrEqual(2);
  for (let n = 11; n <= 15; n++) expect(await search(c, `BODY "quokka${n}x"`), `message ${n} again`).toEqual([n]);

  // room again: the index takes the five in at a SEARCH after the rest, and the answers stay the same
  await rm(join(mountPoint, 'filler'));
  await untilIndexed(15, c);
  for (let n = 1; n <= 15; n++) expect(await search(c, `BODY "quokka${n}x"`), `message ${n} indexed`).toEqual([n]);
  const fetched = await c.command('FETCH 11:15 (BODY.PEEK[TEXT])');
  expect(fetched.untagged.filter((l) => l.includes('quokka'))).toHaveLength(5);
  c.close();
}, 180_000);
