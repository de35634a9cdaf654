// The SEARCH index of one mailbox kept by two worker processes at once (`workers: 2`): sessions on both search
// it while it is built, and deliveries arrive meanwhile, so both processes write to one postern-search.sqlite
// (one writer at a time: BEGIN IMMEDIATE, the other waits). Every answer equals that of a server without the
// index on the same tree, no process reports the file failed or damaged, and the index ends up complete.
import { utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { RawImap } from '../helpers/imap-client.js';
import { searchCommands, searchCorpus } from '../helpers/search-corpus.js';
import { startServer, type TestServer } from '../helpers/server.js';

const MESSAGES = 1500;
const IMAP = [{ name: 'imap', module: 'imap', address: '127.0.0.1', port: 0 }];
const PASSWORD = 'secret';

let workers: TestServer;
let plain: TestServer;

async function selected(server: TestServer): Promise<RawImap> {
  const c = await RawImap.signIn(server.portOf('imap'), 'corpus', PASSWORD);
  const a = await c.command('SELECT INBOX', 120_000);
  if (a.status !== 'OK') throw new Error(a.tagged);
  return c;
}

async function answer(c: RawImap, command: string): Promise<string> {
  const a = await c.command(command, 300_000);
  return `${a.status} ${a.untagged.filter((l) => !/^\* \d+ (EXISTS|RECENT)$/.test(l)).join(' | ')}`;
}

/** `postern index status` of the corpus INBOX: [messages, indexed]. */
async function counts(): Promise<[number, number]> {
  const r = await workers.cli(['index', 'status', 'corpus']);
  const m = /messages (\d+)\tindexed (\d+)/.exec(r.stdout.split('\n').find((l) => l.includes('\tINBOX\t')) ?? '');
  return m ? [Number(m[1]), Number(m[2])] : [-1, -1];
}

beforeAll(async () => {
  workers = await startServer({ config: { workers: 2, listeners: IMAP, index: true } });
  await workers.waitForLog((r) => r.msg === 'all workers started', 30_000);
  await workers.addAccount('corpus', PASSWORD);
  const maildir = join(workers.dataDir, 'accounts', 'example.org', 'corpus', 'Maildir');
  searchCorpus(MESSAGES, 31).forEach((m, i) => {
    const file = join(maildir, 'cur', `${1709251200 + i}.M${i}P31.corpus:2,${m.flags}`);
    writeFileSync(file, m.raw);
    utimesSync(file, m.arrival, m.arrival);
  });
  plain = await startServer({ config: { listeners: IMAP, dataDir: workers.dataDir, index: false } });
}, 120_000);

afterAll(async () => {
  await plain?.stop();
  await workers?.stop();
});

it('two workers build and keep one mailbox index at once: the same answers as without it, and a complete index', async () => {
  // four sessions, spread over the two workers by the kernel; each asks, so both processes index at once
  const sessions = await Promise.all(Array.from({ length: 4 }, () => selected(workers)));
  const reference = await selected(plain);
  const commands = searchCommands(60, 13, MESSAGES);
  const expected = new Map<string, string>();
  for (const command of commands) expected.set(command, await answer(reference, command));
  await Promise.all(
    sessions.map(async (c, i) => {
      for (const command of commands.filter((_, k) => k % 4 === i)) expect(await answer(c, command), command).toBe(expected.get(command));
    }),
  );

  // deliveries while both keep it up to date
  for (let n = 0; n < 20; n++)
    await workers.deliver('corpus', `From: late@example.org\nSubject: late ${n}\n\narrived late, word zebrafinch${n}q\n`);
  const late = [...commands.slice(0, 20), 'SEARCH BODY "zebrafinch"', 'SEARCH FROM "late@example.org"', 'SEARCH TEXT "zebrafinch1"'];
  for (const command of late) expected.set(command, await answer(reference, command));
  expect(expected.get('SEARCH BODY "zebrafinch"')).toMatch(/^OK \* SEARCH( \d+){20}$/);
  await Promise.all(
    sessions.map(async (c) => {
      for (const command of late) expect(await answer(c, command), command).toBe(expected.get(command));
    }),
  );

  // both workers' writes went through, one at a time: the index ends up holding every message
  const until = Date.now() + 300_000;
  let [total, indexed] = await counts();
  while (!(total === MESSAGES + 20 && indexed === total) && Date.now() < until) {
    await sessions[0].command('SEARCH BODY "nudge"', 300_000);
    await new Promise((r) => setTimeout(r, 2000));
    [total, indexed] = await counts();
  }
  expect([total, indexed]).toEqual([MESSAGES + 20, MESSAGES + 20]);
  for (const c of sessions) for (const command of late) expect(await answer(c, command), command).toBe(expected.get(command));
  const troubles = workers.logs.filter((r) => /search index (failed|is damaged|was made again)/.test(String(r.msg)));
  expect(troubles).toEqual([]);
  for (const c of [...sessions, reference]) c.close();
}, 900_000);
