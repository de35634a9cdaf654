// The SEARCH index (store/search-index/, README "Index for SEARCH") against the index-free path, on real
// servers over one tree: a server with the index (`index: true`) and one with `index: false` serve the same
// generated mailbox (test/helpers/search-corpus.ts: mixed charsets, encoded words, multipart, attachments,
// attached messages), and every generated SEARCH command gets the same answer from both. Then the faults:
// the index file removed under the running server, and the server killed (-9) while it indexes; the
// answers stay those of the index-free server throughout.
import { readdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RawImap } from '../helpers/imap-client.js';
import { searchCommands, searchCorpus } from '../helpers/search-corpus.js';
import { startServer, type TestServer } from '../helpers/server.js';

/** The corpus size (SEARCH_INDEX_MESSAGES overrides it) and the commands compared. */
const MESSAGES = Number(process.env.SEARCH_INDEX_MESSAGES ?? 5000);
const COMMANDS = Number(process.env.SEARCH_INDEX_COMMANDS ?? 300);
const IMAP = [{ name: 'imap', module: 'imap', address: '127.0.0.1', port: 0 }];
const PASSWORD = 'secret';

let indexed: TestServer;
let plain: TestServer;
let maildir: string;
/** Folders of servers killed on purpose (their data folder is the one the others use until the end). */
const leftovers: string[] = [];

/** Waits until `postern index status` says the index holds every message; returns the status line. */
async function indexComplete(server: TestServer, ms = 600_000): Promise<string> {
  const until = Date.now() + ms;
  for (;;) {
    const r = await server.cli(['index', 'status', 'corpus']);
    const line = r.stdout.split('\n').find((l) => l.includes('\tINBOX\t')) ?? '';
    const m = /messages (\d+)\tindexed (\d+)/.exec(line);
    if (m && m[1] === m[2] && Number(m[1]) > 0) return line;
    if (Date.now() > until) throw new Error(`the index is not complete: ${r.stdout} ${r.stderr}`);
    await new Promise((resolve) => setTimeout(resolve, 2000));
  }
}

/** What a client sees of a SEARCH: its status and its untagged answers. */
async function answer(c: RawImap, command: string): Promise<string> {
  const a = await c.command(command, 300_000);
  return `${a.status} ${a.untagged.join(' | ')}`;
}

async function selected(server: TestServer): Promise<RawImap> {
  const c = await RawImap.signIn(server.portOf('imap'), 'corpus', PASSWORD);
  const a = await c.command('SELECT INBOX', 120_000);
  if (a.status !== 'OK') throw new Error(a.tagged);
  return c;
}

/** Both servers' answers to `commands`, compared one by one. */
async function compare(commands: readonly string[], withIndex: RawImap, without: RawImap): Promise<void> {
  for (const command of commands) expect(await answer(withIndex, command), command).toBe(await answer(without, command));
}

beforeAll(async () => {
  indexed = await startServer({ config: { listeners: IMAP, index: true } });
  await indexed.addAccount('corpus', PASSWORD);
  maildir = join(indexed.dataDir, 'accounts', 'example.org', 'corpus', 'Maildir');
  // written as another delivery agent would: files in cur/ with their flags, the arrival as the mtime
  searchCorpus(MESSAGES, 25).forEach((m, i) => {
    const file = join(maildir, 'cur', `${1709251200 + i}.M${i}P25.corpus:2,${m.flags}`);
    writeFileSync(file, m.raw);
    utimesSync(file, m.arrival, m.arrival);
  });
  plain = await startServer({ config: { listeners: IMAP, dataDir: indexed.dataDir, index: false } });
}, 120_000);

afterAll(async () => {
  await plain?.stop();
  await indexed?.stop();
  for (const dir of leftovers) rmSync(dir, { recursive: true, force: true });
});

describe('SEARCH with the index answers as SEARCH without it', () => {
  it(`${COMMANDS} generated commands over ${MESSAGES} generated messages: the same answers`, async () => {
    const a = await selected(indexed); // the SELECT starts the indexing
    const b = await selected(plain);
    const status = await indexComplete(indexed);
    expect(readdirSync(maildir)).toContain('postern-search.sqlite');
    expect(status).toMatch(new RegExp(`messages ${MESSAGES}\tindexed ${MESSAGES}`));
    await compare(searchCommands(COMMANDS, 2025, MESSAGES), a, b);
    a.close();
    b.close();
  }, 1_800_000);

  it('the index file removed under the running server: answers stay exact, and it is made again with a log line', async () => {
    const a = await selected(indexed);
    const b = await selected(plain);
    for (const suffix of ['', '-wal', '-shm']) rmSync(join(maildir, `postern-search.sqlite${suffix}`), { force: true });
    const commands = searchCommands(40, 7, MESSAGES);
    await compare(commands, a, b);
    await indexed.waitForLog((r) => String(r.msg).includes('search index file was missing'), 60_000);
    await indexComplete(indexed);
    await compare(commands, a, b);
    a.close();
    b.close();
  }, 1_800_000);

  it('killed (-9) while it indexes: after a restart the answers are exact, and the index is completed', async () => {
    const a = await selected(indexed);
    for (const suffix of ['', '-wal', '-shm']) rmSync(join(maildir, `postern-search.sqlite${suffix}`), { force: true });
    const seen = indexed.logs.length;
    await a.command('SEARCH TEXT "start it again"', 300_000); // finds the file missing: made again, and filled in the background
    const started = Date.now();
    while (!indexed.logs.slice(seen).some((r) => r.msg === 'indexing messages for SEARCH') && Date.now() - started < 60_000)
      await new Promise((resolve) => setTimeout(resolve, 20));
    expect(indexed.logs.slice(seen).some((r) => r.msg === 'indexing messages for SEARCH')).toBe(true);
    await new Promise((resolve) => setTimeout(resolve, 300)); // well into it
    expect(indexed.logs.slice(seen).some((r) => r.msg === 'indexed messages for SEARCH')).toBe(false);
    indexed.process.kill('SIGKILL');
    a.close();
    leftovers.push(indexed.dir);
    indexed = await startServer({ config: { listeners: IMAP, dataDir: indexed.dataDir, index: true } });
    const again = await selected(indexed);
    const b = await selected(plain);
    const commands = searchCommands(40, 11, MESSAGES);
    await compare(commands, again, b); // whatever the index holds now
    await indexComplete(indexed);
    await compare(commands, again, b);
    again.close();
    b.close();
  }, 1_800_000);

  it('postern index rebuild empties the index and makes it again; the server answers exactly meanwhile', async () => {
    const a = await selected(indexed);
    const b = await selected(plain);
    const rebuild = indexed.cli(['index', 'rebuild', 'corpus']);
    await compare(searchCommands(20, 13, MESSAGES), a, b);
    const r = await rebuild;
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`corpus@example.org\tINBOX\tindexed ${MESSAGES}`));
    expect(await indexComplete(indexed)).toMatch(/size \d+/);
    await compare(searchCommands(20, 17, MESSAGES), a, b);
    a.close();
    b.close();
  }, 1_800_000);
});
