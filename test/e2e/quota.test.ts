// Quota on the Maildir store, through a real `postern serve` and the command line: each way mail arrives
// (APPEND, COPY, MOVE, LMTP, `postern deliver`) fills the quota to the last octet, then is refused; nothing
// of the refused message is stored (no file in new/, cur/ or tmp/), and the maildirsize file says what
// the messages on disk add up to. `postern quota`, `quota set` and `quota recalc` as an operator uses them.
import { readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RawImap } from '../helpers/imap-client.js';
import { RawLmtp } from '../helpers/lmtp-client.js';
import { runCli, startServer, type TestServer, testConfig } from '../helpers/server.js';
import { countMaildir, parseMaildirsize } from '../../store/maildir/maildirsize.js';

let server: TestServer;
const maildir = (name: string) => join(server.dataDir, 'accounts', 'example.org', name, 'Maildir');

beforeAll(async () => {
  server = await startServer({
    config: {
      listeners: [
        { name: 'imap', module: 'imap', address: '127.0.0.1', port: 0 },
        { name: 'lmtp', module: 'lmtp', address: '127.0.0.1', port: 0 },
      ],
      quota: { storage: '1M', messages: 1000 },
    },
  });
  for (const name of ['append', 'multi', 'copy', 'move', 'movee', 'lmtp', 'deliver', 'op']) await server.addAccount(name, 'pw');
});
afterAll(async () => {
  await server?.stop();
});

/** The usage the maildirsize file says, beside what the messages on disk add up to, and the files in tmp/. */
async function accounting(
  name: string,
): Promise<{ file: { storage: number; messages: number }; disk: { storage: number; messages: number }; tmp: number }> {
  const root = maildir(name);
  const parsed = parseMaildirsize(await readFile(join(root, 'maildirsize')));
  if (!parsed) throw new Error(`${name}: maildirsize is damaged`);
  let tmp = (await readdir(join(root, 'tmp'))).length;
  for (const e of await readdir(root))
    if (e.startsWith('.') && e !== '.' && e !== '..') tmp += (await readdir(join(root, e, 'tmp'))).length;
  return { file: parsed.usage, disk: (await countMaildir(root)).usage, tmp };
}

/** Sets the account's own limit to exactly what it holds now plus `room` octets. */
async function leaveRoom(name: string, room: number, messages = 1000): Promise<number> {
  const { disk } = await accounting(name);
  const r = await server.cli(['quota', 'set', name, '--storage', String(disk.storage + room), '--messages', String(messages)]);
  expect(r.code, r.stderr).toBe(0);
  return disk.storage + room;
}

function message(octets: number, subject = 'q'): string {
  const head = `Subject: ${subject}\r\n\r\n`;
  return `${head}${'x'.repeat(octets - head.length - 2)}\r\n`;
}

const OVER = /^a\d+ NO \[OVERQUOTA\] Quota exceeded \(mailbox for user is full\)$/;

describe('each way mail arrives fills the quota to the last octet, then is refused with nothing stored', () => {
  it('APPEND', async () => {
    const c = await RawImap.signIn(server.portOf('imap'), 'append', 'pw');
    await server.deliver('append', 'Subject: first\n\nso there is a maildirsize file\n');
    await leaveRoom('append', 2000);
    expect((await c.command(`APPEND INBOX {1000+}\r\n${message(1000)}`)).status).toBe('OK');
    expect((await c.command(`APPEND INBOX {1001+}\r\n${message(1001)}`)).tagged).toMatch(OVER);
    expect((await c.command(`APPEND INBOX {1000+}\r\n${message(1000)}`)).status).toBe('OK');
    expect((await c.command(`APPEND INBOX {30+}\r\n${message(30)}`)).tagged).toMatch(OVER);
    const a = await accounting('append');
    expect(a.file).toEqual(a.disk);
    expect(a.disk.messages).toBe(3);
    expect(a.tmp).toBe(0);
    c.close();
  });

  it('MULTIAPPEND (all of them or none), and APPEND refused before the "+"', async () => {
    const c = await RawImap.signIn(server.portOf('imap'), 'multi', 'pw');
    await server.deliver('multi', 'Subject: first\n\nso there is a maildirsize file\n');
    await leaveRoom('multi', 2000);
    const refused = (tag: string) => `${tag} NO [OVERQUOTA] Quota exceeded (mailbox for user is full)`;
    // the second message does not fit: refused instead of its "+", the first dropped
    c.send('m1 APPEND INBOX {1000}\r\n');
    expect(await c.response()).toBe('+ Ready for literal data');
    c.send(`${message(1000)} {1001}\r\n`);
    expect(await c.response()).toBe(refused('m1'));
    c.send(`m2 APPEND INBOX {1000+}\r\n${message(1000)} {1001+}\r\n${message(1001)}\r\n`);
    expect((await c.until('m2')).tagged).toBe(refused('m2'));
    // binary parts stored base64-encoded: the literals fit (988 + 988), the files (1314 each) do not both
    const head = 'MIME-Version: 1.0\r\nSubject: b\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: binary\r\n\r\n';
    const binary = `${head}${'\x01'.repeat(880)}`;
    c.send(`m3 APPEND INBOX ~{988+}\r\n${binary} ~{988+}\r\n${binary}\r\n`);
    expect((await c.until('m3')).tagged).toBe(refused('m3'));
    let a = await accounting('multi');
    expect(a.file).toEqual(a.disk);
    expect(a.disk.messages).toBe(1);
    expect(a.tmp).toBe(0);
    // two that fill it to the last octet, then one octet more: NO instead of "+"
    expect((await c.command(`APPEND INBOX {1000+}\r\n${message(1000, 'a')} {1000+}\r\n${message(1000, 'b')}`)).tagged).toMatch(
      /^a\d+ OK \[APPENDUID \d+ 2:3\] APPEND completed$/,
    );
    c.send('m4 APPEND INBOX {1}\r\n');
    expect(await c.response()).toBe(refused('m4'));
    a = await accounting('multi');
    expect(a.file).toEqual(a.disk);
    expect(a.disk.messages).toBe(3);
    expect(a.tmp).toBe(0);
    c.close();
  });

  it('COPY (all of them or none)', async () => {
    const c = await RawImap.signIn(server.portOf('imap'), 'copy', 'pw');
    expect((await c.command('CREATE Archive')).status).toBe('OK');
    for (const s of ['a', 'b']) expect((await c.command(`APPEND INBOX {1000+}\r\n${message(1000, s)}`)).status).toBe('OK');
    await leaveRoom('copy', 1000);
    expect((await c.command('SELECT INBOX')).status).toBe('OK');
    expect((await c.command('COPY 1:2 Archive')).tagged).toMatch(OVER);
    expect((await c.command('STATUS Archive (MESSAGES)')).untagged).toEqual(['* STATUS Archive (MESSAGES 0)']);
    expect((await c.command('COPY 2 Archive')).tagged).toMatch(/OK \[COPYUID/);
    expect((await c.command('COPY 1 Archive')).tagged).toMatch(OVER);
    const a = await accounting('copy');
    expect(a.file).toEqual(a.disk);
    expect(a.disk).toEqual({ storage: 3000, messages: 3 });
    expect(a.tmp).toBe(0);
    c.close();
  });

  it('MOVE into another account (a move within the account is not checked: it changes no usage)', async () => {
    const owner = await RawImap.signIn(server.portOf('imap'), 'movee', 'pw');
    expect((await owner.command('CREATE Shared')).status).toBe('OK');
    expect((await owner.command('SETACL Shared move lrswipkxte')).status).toBe('OK');
    expect((await owner.command(`APPEND Shared {500+}\r\n${message(500)}`)).status).toBe('OK');
    await leaveRoom('movee', 1000);
    const c = await RawImap.signIn(server.portOf('imap'), 'move', 'pw');
    expect((await c.command('CREATE Archive')).status).toBe('OK');
    for (const s of ['a', 'b']) expect((await c.command(`APPEND INBOX {1000+}\r\n${message(1000, s)}`)).status).toBe('OK');
    await leaveRoom('move', 0);
    expect((await c.command('SELECT INBOX')).status).toBe('OK');
    expect((await c.command('MOVE 1 Archive')).status).toBe('OK'); // full, within the account
    expect((await c.command('SELECT Archive')).status).toBe('OK');
    expect((await c.command(`APPEND INBOX {1000+}\r\n${message(1000, 'c')}`)).tagged).toMatch(OVER);
    expect((await c.command('MOVE 1 ~movee/Shared')).status).toBe('OK'); // fills movee's to the last octet
    expect((await c.command('SELECT INBOX')).status).toBe('OK');
    expect((await c.command('MOVE 1 ~movee/Shared')).tagged).toMatch(OVER);
    expect((await c.command('STATUS INBOX (MESSAGES)')).untagged).toEqual(['* STATUS INBOX (MESSAGES 1)']);
    for (const name of ['move', 'movee']) {
      const a = await accounting(name);
      expect(a.file, name).toEqual(a.disk);
      expect(a.tmp, name).toBe(0);
    }
    expect((await accounting('move')).disk).toEqual({ storage: 1000, messages: 1 });
    expect((await accounting('movee')).disk).toEqual({ storage: 1500, messages: 2 });
    owner.close();
    c.close();
  });

  it('LMTP: 552 5.2.2', async () => {
    const lmtp = async (): Promise<string> => {
      const c = await RawLmtp.open({ port: server.portOf('lmtp') });
      await c.reply();
      c.send('LHLO mta.example.net\r\nMAIL FROM:<a@example.net>\r\nRCPT TO:<lmtp@example.org>\r\nDATA\r\n');
      await c.replies(4);
      c.send(`${message(800)}.\r\n`);
      const [answer] = await c.replies(1);
      c.close();
      return answer;
    };
    expect(await lmtp()).toMatch(/^250 /);
    const once = (await accounting('lmtp')).disk.storage; // what LMTP stores of it (a Return-Path added)
    await leaveRoom('lmtp', once);
    expect(await lmtp()).toMatch(/^250 /);
    expect(await lmtp()).toBe('552 5.2.2 <lmtp@example.org>: Quota exceeded (mailbox for user is full)');
    const a = await accounting('lmtp');
    expect(a.file).toEqual(a.disk);
    expect(a.disk).toEqual({ storage: 2 * once, messages: 2 });
    expect(a.tmp).toBe(0);
  });

  it('postern deliver: exit 73, or 75 (try again later) with quota.fullTempfail', async () => {
    const body = message(700);
    expect((await server.cli(['deliver', 'deliver'], body)).code).toBe(0);
    const once = (await accounting('deliver')).disk.storage;
    await leaveRoom('deliver', once);
    expect((await server.cli(['deliver', 'deliver'], body)).code).toBe(0);
    const refused = await server.cli(['deliver', 'deliver'], body);
    expect(refused.code).toBe(73);
    expect(refused.stderr).toBe('postern: deliver: Quota exceeded (mailbox for user is full)\n');
    const tempfail = join(server.dir, 'tempfail.yaml');
    await writeFile(tempfail, stringify(testConfig({ dataDir: server.dataDir, quota: { storage: '1M', fullTempfail: true } })));
    const later = await runCli(['--config', tempfail, 'deliver', 'deliver'], body);
    expect(later.code).toBe(75);
    expect(later.stderr).toBe('postern: deliver: Quota exceeded (mailbox for user is full); try again later\n');
    const a = await accounting('deliver');
    expect(a.file).toEqual(a.disk);
    expect(a.disk).toEqual({ storage: 2 * once, messages: 2 });
    expect(a.tmp).toBe(0);
  });
});

describe('postern quota', () => {
  it('shows usage and limits, sets the account its own, and counts a missing or damaged maildirsize again', async () => {
    await server.deliver('op', 'Subject: one\n\n12345\n');
    const file = join(maildir('op'), 'maildirsize');
    expect(await readFile(file, 'utf8')).toBe('1048576S,1000C\n0 0\n20 1\n');
    const shown = await server.cli(['quota', 'op']);
    expect(shown.stdout).toBe('storage 20 octets of 1048576 (1M), 0%\nmessages 1 of 1000, 0%\n');
    expect(shown.stderr).toBe(`postern: quota of op@example.org in the data folder ${server.dataDir}\n`);

    const set = await server.cli(['quota', 'set', 'op', '--storage', '2G', '--messages', '10']);
    expect(set.stdout).toBe('storage 20 octets of 2147483648 (2G), 0%\nmessages 1 of 10, 10%\n');
    expect(JSON.parse(await readFile(join(server.dataDir, 'accounts/example.org/op/account.json'), 'utf8')).quota).toEqual({
      storage: 2147483648,
      messages: 10,
    });
    expect(await readFile(file, 'utf8')).toBe('2147483648S,10C\n20 1\n'); // new limits: written again at once
    expect((await server.cli(['quota', 'set', 'op', '--storage', 'default', '--messages', '0'])).stdout).toBe(
      'storage 20 octets of 1048576 (1M), 0%\nmessages 1 of no limit\n',
    );

    await writeFile(file, '1048576S\n20 one\n'); // damaged
    expect((await server.cli(['quota', 'op'])).stdout).toBe('storage 20 octets of 1048576 (1M), 0%\nmessages 1 of no limit\n');
    await rm(file);
    expect((await server.cli(['quota', 'op'])).stdout).toContain('storage 20 octets');
    await writeFile(file, '1048576S\n999 9\n'); // sound, but wrong: recalc fixes it
    expect((await server.cli(['quota', 'op'])).stdout).toContain('storage 999 octets');
    const recalc = await server.cli(['quota', 'recalc', 'op']);
    expect(recalc.stdout).toContain('storage 20 octets');
    expect(await readFile(file, 'utf8')).toBe('1048576S\n20 1\n');

    expect((await server.cli(['quota', 'set', 'op', '--storage', 'lots'])).stderr).toBe(
      'postern: --storage: "lots" is not a limit; give a number (0 = no limit) or "default"\n',
    );
    expect((await server.cli(['quota', 'set', 'op'])).code).toBe(64);
    const nobody = await server.cli(['quota', 'nobody']);
    expect(nobody.code).toBe(1);
    expect(nobody.stderr).toBe(`postern: no account nobody@example.org in the data folder ${server.dataDir}\n`);
  });

  it('a config with a bad quota key names the key and the fix', async () => {
    const bad = join(server.dir, 'bad.yaml');
    await writeFile(bad, stringify(testConfig({ dataDir: server.dataDir, quota: { storage: 'huge', domains: { 'nowhere.net': {} } } })));
    const r = await runCli(['--config', bad, 'quota', 'op']);
    expect(r.code).toBe(78);
    expect(r.stderr).toContain('quota.storage: expected octets, like 1G, 500M or 1073741824 (0 = no limit)');
    await writeFile(bad, stringify(testConfig({ dataDir: server.dataDir, quota: { domains: { 'nowhere.net': { storage: '1G' } } } })));
    expect((await runCli(['--config', bad, 'quota', 'op'])).stderr).toContain(
      'quota.domains.nowhere.net: not a domain served here; name mainDomain or one of domains',
    );
  });
});
