// `index` is read again at SIGHUP (README "Index for SEARCH", the config table): turned off, the sessions that
// start after the reload search without an index and make no index file; turned on again, the next session's
// SELECT has its mailbox indexed. The answers are the same throughout.
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { RawImap } from '../helpers/imap-client.js';
import { startServer, type TestServer } from '../helpers/server.js';

const message = (n: number) => `From: sender@example.org\nSubject: message ${n}\n\nthe word is quokka${n}x and nothing else\n`;
const indexFile = (s: TestServer, name: string) => join(s.dir, 'data', 'accounts', 'example.org', name, 'Maildir', 'postern-search.sqlite');

async function reload(s: TestServer, index: boolean): Promise<void> {
  const config = parse(await readFile(s.configFile, 'utf8')) as Record<string, unknown>;
  config.index = index;
  await writeFile(s.configFile, stringify(config));
  const since = s.logs.length;
  s.process.kill('SIGHUP');
  await s.waitForLog((r) => s.logs.indexOf(r) >= since && r.msg === 'reloaded the config and certificates');
}

/** A new session of `name`: SELECT, then SEARCH BODY for the second message's word; the numbers found. */
async function searchAsNewSession(s: TestServer, name: string): Promise<string[]> {
  const c = await RawImap.signIn(s.portOf('imap'), name, '"a secret"');
  try {
    expect((await c.command('SELECT INBOX')).status).toBe('OK');
    const a = await c.command('SEARCH BODY "quokka2x"');
    expect(a.status, a.tagged).toBe('OK');
    return a.untagged.filter((l) => l.startsWith('* SEARCH'));
  } finally {
    c.close();
  }
}

async function until(what: () => boolean, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!what()) {
    if (Date.now() > end) throw new Error('waited in vain');
    await new Promise((r) => setTimeout(r, 100));
  }
}

it('index: false at SIGHUP: new sessions make no index file; true again: the next SELECT has the mailbox indexed', async () => {
  const s = await startServer({ config: { index: true, listeners: [{ name: 'imap', module: 'imap', address: '127.0.0.1', port: 0 }] } });
  try {
    for (const name of ['alice', 'bob', 'carol']) await s.addAccount(name, 'a secret');
    // (each account's mail delivered under the config of its part: `postern deliver` reads the file too)
    const deliver = async (name: string) => {
      for (let n = 1; n <= 3; n++) await s.deliver(name, message(n));
    };
    // on: SELECT has alice's INBOX indexed
    await deliver('alice');
    expect(await searchAsNewSession(s, 'alice')).toEqual(['* SEARCH 2']);
    await until(() => existsSync(indexFile(s, 'alice')));

    await reload(s, false);
    await deliver('bob');
    expect(await searchAsNewSession(s, 'bob')).toEqual(['* SEARCH 2']);
    await new Promise((r) => setTimeout(r, 1500)); // time for an upkeep that should not happen
    expect(existsSync(indexFile(s, 'bob'))).toBe(false);

    await reload(s, true);
    await deliver('carol');
    expect(await searchAsNewSession(s, 'carol')).toEqual(['* SEARCH 2']);
    await until(() => existsSync(indexFile(s, 'carol')));
  } finally {
    await s.stop();
  }
});
