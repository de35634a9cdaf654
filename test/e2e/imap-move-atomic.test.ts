// MOVE is never a duplicate (RFC 6851): a message moved by two sessions at once ends up in the
// target once, and a server killed with SIGKILL in the middle of many MOVEs leaves every message in
// exactly one mailbox after a restart (counted by Message-ID across the mailboxes and on disk).
// Writes interrupted by SIGKILL (an APPEND, a delivery) leave nothing behind in tmp/.
import { type ChildProcess, spawn } from 'node:child_process';
import { readdir, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RawImap } from '../helpers/imap-client.js';
import { BIN, startServer, type TestServer } from '../helpers/server.js';

const LISTENERS = [{ name: 'imap', module: 'imap', address: '127.0.0.1', port: 0 }];

function message(id: string): string {
  return `From: a@example.net\r\nTo: jsmith@example.org\r\nSubject: ${id}\r\nMessage-ID: <${id}@example.net>\r\n\r\nbody of ${id}\r\n`;
}

async function append(c: RawImap, mailbox: string, id: string): Promise<number> {
  const text = message(id);
  const answer = await c.command(`APPEND ${mailbox} {${Buffer.byteLength(text)}+}\r\n${text}`);
  expect(answer.status).toBe('OK');
  return Number(/APPENDUID \d+ (\d+)/.exec(answer.tagged)![1]);
}

/** Message-ID -> how many times it is in `mailbox`. */
async function messageIds(c: RawImap, mailbox: string, into: Map<string, number>): Promise<void> {
  expect((await c.command(`EXAMINE ${mailbox}`)).status).toBe('OK');
  const answer = await c.command('FETCH 1:* (BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)])', 30_000);
  for (const line of answer.untagged) {
    const id = /Message-ID: <([^>]+)>/i.exec(line)?.[1];
    if (id) into.set(id, (into.get(id) ?? 0) + 1);
  }
}

async function filesIn(folder: string): Promise<number> {
  return (await readdir(join(folder, 'cur'))).length + (await readdir(join(folder, 'new'))).length;
}

describe('MOVE: two sessions moving one message at once', () => {
  let server: TestServer;
  let port: number;
  beforeAll(async () => {
    server = await startServer({ config: { listeners: LISTENERS } });
    port = server.portOf('imap');
    await server.addAccount('jsmith', 'secret');
  });
  afterAll(() => server.stop());

  it('100 rounds: the message is in the target exactly once every time, and one session says it moved it', async () => {
    const a = await RawImap.signIn(port, 'jsmith', 'secret');
    const b = await RawImap.signIn(port, 'jsmith', 'secret');
    expect((await a.command('CREATE Target')).status).toBe('OK');
    expect((await a.command('SELECT INBOX')).status).toBe('OK');
    expect((await b.command('SELECT INBOX')).status).toBe('OK');
    const answers = new Map<string, number>();
    for (let round = 0; round < 100; round++) {
      const uid = await append(a, 'INBOX', `race${round}`);
      await a.command('NOOP');
      await b.command('NOOP');
      // both commands are on the wire before either is answered
      const ta = a.nextTag();
      const tb = b.nextTag();
      a.send(`${ta} UID MOVE ${uid} Target\r\n`);
      b.send(`${tb} UID MOVE ${uid} Target\r\n`);
      const [ra, rb] = await Promise.all([a.until(ta), b.until(tb)]);
      const moved = [ra, rb].filter((r) => r.untagged.some((l) => l.includes('[COPYUID ')));
      expect(moved).toHaveLength(1);
      for (const r of [ra, rb]) {
        const key = r.tagged.replace(/^\S+ /, '');
        answers.set(key, (answers.get(key) ?? 0) + 1);
        // the loser is told, as Dovecot tells it, and never copies
        if (r !== moved[0]) expect(r.tagged).toMatch(/^\S+ NO \[EXPUNGEISSUED\]/);
      }
    }
    const ids = new Map<string, number>();
    await messageIds(a, 'Target', ids);
    await messageIds(a, 'INBOX', ids);
    expect(ids.size).toBe(100);
    expect([...ids.values()].filter((n) => n !== 1)).toEqual([]);
    const maildir = join(server.dataDir, 'accounts/example.org/jsmith/Maildir');
    expect(await filesIn(join(maildir, '.Target'))).toBe(100);
    expect(await filesIn(maildir)).toBe(0);
    a.close();
    b.close();
  }, 120_000);

  it("MOVE into another user's mailbox (~owner/...) moves the file once, and two racing sessions still leave one copy", async () => {
    await server.addAccount('boss', 'secret');
    const owner = await RawImap.signIn(port, 'jsmith', 'secret');
    expect((await owner.command('CREATE Shared')).status).toBe('OK');
    expect((await owner.command('SETACL Shared boss lrsi')).status).toBe('OK');
    const a = await RawImap.signIn(port, 'boss', 'secret');
    const b = await RawImap.signIn(port, 'boss', 'secret');
    const uid = await append(a, 'INBOX', 'to-shared');
    await a.command('SELECT INBOX');
    await b.command('SELECT INBOX');
    const ta = a.nextTag();
    const tb = b.nextTag();
    a.send(`${ta} UID MOVE ${uid} ~jsmith/Shared\r\n`);
    b.send(`${tb} UID MOVE ${uid} ~jsmith/Shared\r\n`);
    const answers = await Promise.all([a.until(ta), b.until(tb)]);
    expect(answers.map((r) => r.status).sort()).toEqual(['NO', 'OK']);
    const ids = new Map<string, number>();
    await messageIds(owner, 'Shared', ids);
    await messageIds(a, 'INBOX', ids);
    expect([...ids.entries()]).toEqual([['to-shared@example.net', 1]]);
    const data = join(server.dataDir, 'accounts/example.org');
    expect(await filesIn(join(data, 'jsmith/Maildir/.Shared'))).toBe(1);
    expect(await filesIn(join(data, 'boss/Maildir'))).toBe(0);
    for (const c of [owner, a, b]) c.close();
  });

  it('MOVE keeps flags, keywords and the internal date, and the target gives the next UIDs', async () => {
    const c = await RawImap.signIn(port, 'jsmith', 'secret');
    expect((await c.command('CREATE Kept')).status).toBe('OK');
    const text = message('kept');
    expect((await c.command(`APPEND INBOX (\\Flagged $Important) "06-Mar-2025 12:00:00 +0000" {${text.length}+}\r\n${text}`)).status).toBe(
      'OK',
    );
    const sel = await c.command('SELECT INBOX');
    const exists = Number(/\* (\d+) EXISTS/.exec(sel.untagged.join('\n'))![1]);
    const moved = await c.command(`MOVE ${exists} Kept`);
    expect(moved.status).toBe('OK');
    expect(moved.untagged.join('\n')).toMatch(/\* OK \[COPYUID \d+ \d+ 1\] /);
    expect(moved.untagged).toContain(`* ${exists} EXPUNGE`);
    await c.command('SELECT Kept');
    const f = await c.command('FETCH 1 (UID FLAGS INTERNALDATE)');
    expect(f.untagged[0]).toMatch(/UID 1 /);
    expect(f.untagged[0]).toMatch(/FLAGS \((?=.*\\Flagged)(?=.*\$Important)[^)]*\)/);
    expect(f.untagged[0]).toContain('INTERNALDATE " 6-Mar-2025 12:00:00 +0000"');
    c.close();
  });
});

/** Starts `postern serve` again on the server's config and data; resolves with the IMAP port. */
/** Warnings and errors the restarted servers logged (shown when a check fails). */
const restartedLogs: string[] = [];

function restart(server: TestServer): Promise<{ child: ChildProcess; port: number }> {
  const child = spawn(process.execPath, [BIN, '--config', server.configFile, 'serve'], { stdio: ['ignore', 'pipe', 'pipe'] });
  return new Promise((resolve, reject) => {
    let port = 0;
    let buffered = '';
    const timer = setTimeout(() => reject(new Error('the restarted server did not start')), 20_000);
    child.stdout!.on('data', (d) => {
      buffered += d;
      let nl: number;
      while ((nl = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        try {
          const r = JSON.parse(line) as { msg: string; listener?: string; port?: number; level?: number };
          if ((r.level ?? 0) >= 40) restartedLogs.push(line.slice(0, 400));
          if (r.msg === 'listening' && r.listener === 'imap') port = Number(r.port);
          if (r.msg === 'Postern started') {
            clearTimeout(timer);
            resolve({ child, port });
          }
        } catch {
          // not a log record
        }
      }
    });
    child.on('exit', (code) => reject(new Error(`exited with ${code}`)));
  });
}

describe('MOVE: the server killed with SIGKILL in the middle of MOVEs', () => {
  let server: TestServer;
  const children: ChildProcess[] = [];
  beforeAll(async () => {
    server = await startServer({ config: { listeners: LISTENERS } });
    await server.addAccount('jsmith', 'secret');
  });
  afterAll(async () => {
    for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await server.stop();
  });

  it('after each of three kills and a restart, every message is in exactly one mailbox and none is lost', async () => {
    const COUNT = 120;
    let port = server.portOf('imap');
    let process_ = server.process;
    const setup = await RawImap.signIn(port, 'jsmith', 'secret');
    expect((await setup.command('CREATE Work')).status).toBe('OK');
    for (let i = 0; i < COUNT; i++) await append(setup, 'INBOX', `m${i}`);
    setup.close();
    const maildir = join(server.dataDir, 'accounts/example.org/jsmith/Maildir');
    for (let run = 0; run < 3; run++) {
      // two sessions move messages back and forth, one at a time, until the server dies under them
      const sessions = await Promise.all([0, 1].map(() => RawImap.signIn(port, 'jsmith', 'secret')));
      let moves = 0;
      const ended: string[] = [];
      const loops = sessions.map(async (c, i) => {
        try {
          for (let turn = 0; ; turn++) {
            const from = (turn + i) % 2 === 0 ? 'INBOX' : 'Work';
            const to = from === 'INBOX' ? 'Work' : 'INBOX';
            const selected = await c.command(`SELECT ${from}`);
            const exists = Number(/\* (\d+) EXISTS/.exec(selected.untagged.join('\n'))?.[1] ?? 0);
            // one message at a time in one session, five at a time in the other
            for (let n = 0; n < Math.min(10, exists); n++) {
              const r = await c.command(i === 0 ? `MOVE 1 ${to}` : `MOVE 1:5 ${to}`);
              if (r.status === 'OK') moves++;
            }
          }
        } catch (err) {
          // the server died (or stopped answering: said when the count falls short)
          ended.push(`run ${run}, session ${i}: ${String(err)}`);
        }
      });
      const target = 40 + run * 25;
      const deadline = Date.now() + 20_000;
      while (moves < target && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
      expect(
        moves,
        `${ended.join('; ')}; the restarted server logged: ${restartedLogs.slice(-5).join(' | ') || 'no warning'}`,
      ).toBeGreaterThanOrEqual(target);
      process_.kill('SIGKILL');
      await Promise.all(loops);
      for (const c of sessions) c.close();
      const again = await restart(server);
      children.push(again.child);
      port = again.port;
      process_ = again.child;
      const c = await RawImap.signIn(port, 'jsmith', 'secret');
      const ids = new Map<string, number>();
      await messageIds(c, 'INBOX', ids);
      await messageIds(c, 'Work', ids);
      c.close();
      expect([...ids.entries()].filter(([, n]) => n !== 1)).toEqual([]);
      expect(ids.size).toBe(COUNT);
      expect((await filesIn(maildir)) + (await filesIn(join(maildir, '.Work')))).toBe(COUNT);
    }
  }, 120_000);
});

async function waitFor(what: string, check: () => Promise<boolean>, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`not in time: ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('interrupted writes leave nothing in tmp/', () => {
  let server: TestServer;
  const children: ChildProcess[] = [];
  beforeAll(async () => {
    server = await startServer({ config: { listeners: LISTENERS } });
    await server.addAccount('jsmith', 'secret');
  });
  afterAll(async () => {
    for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await server.stop();
  });

  it('deliveries and APPENDs killed with SIGKILL half way: ' +
    "their files are gone once the folder is opened again; a running writer's stay", async () => {
    const maildir = join(server.dataDir, 'accounts/example.org/jsmith/Maildir');
    const tmp = join(maildir, 'tmp');
    let port = server.portOf('imap');
    let serving = server.process;
    const first = await RawImap.signIn(port, 'jsmith', 'secret');
    await append(first, 'INBOX', 'complete');
    first.close();
    const big = Buffer.alloc(1024 * 1024, `${'x'.repeat(76)}\r\n`);
    // three deliveries (postern deliver, its own process) killed while they write
    for (let i = 0; i < 3; i++) {
      const before = (await readdir(tmp)).length;
      const deliver = spawn(process.execPath, [BIN, '--config', server.configFile, 'deliver', 'jsmith'], {
        stdio: ['pipe', 'ignore', 'ignore'],
      });
      deliver.stdin!.on('error', () => {});
      deliver.stdin!.write(`Subject: cut delivery ${i}\r\n\r\n`);
      deliver.stdin!.write(big);
      await waitFor('the delivery writing into tmp/', async () => (await readdir(tmp)).length > before);
      deliver.kill('SIGKILL');
      await new Promise((r) => deliver.on('exit', r));
    }
    // three APPENDs of 5 MB, the server killed when a third of the message is in
    for (let i = 0; i < 3; i++) {
      const before = (await readdir(tmp)).length;
      const c = await RawImap.signIn(port, 'jsmith', 'secret');
      c.send(`x APPEND INBOX {${5 * big.length}+}\r\n`);
      c.send(big);
      c.send(big);
      await waitFor('the APPEND writing into tmp/', async () => (await readdir(tmp)).length > before);
      serving.kill('SIGKILL');
      await new Promise((r) => serving.on('exit', r));
      c.close();
      const again = await restart(server);
      children.push(again.child);
      port = again.port;
      serving = again.child;
    }
    // what writers that still run (this test's process), or another host, have there is left alone
    const secs = Math.floor(Date.now() / 1000);
    const running = `${secs}.M1P${process.pid}Q1.${hostname()}`;
    const elsewhere = `${secs}.M2P999999Q1.another-host.example`;
    await writeFile(join(tmp, running), 'in progress');
    await writeFile(join(tmp, elsewhere), 'in progress elsewhere');
    expect((await readdir(tmp)).length).toBeGreaterThanOrEqual(6 + 2);
    // the server started after the last kill opens INBOX for the first time now
    const c = await RawImap.signIn(port, 'jsmith', 'secret');
    const sel = await c.command('SELECT INBOX');
    expect(sel.untagged).toContain('* 1 EXISTS');
    c.close();
    await waitFor('tmp/ cleaned', async () => (await readdir(tmp)).length === 2, 3000);
    expect((await readdir(tmp)).sort()).toEqual([running, elsewhere].sort());
  }, 120_000);
});
