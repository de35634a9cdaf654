// METADATA (RFC 5464) on the Maildir store of a real `postern serve`: the entries are in each account's
// dovecot-attributes (Dovecot's attribute dict) under the mailbox GUID of its dovecot-uidlist, so they
// follow a RENAME (mailboxes below too), go with a DELETE, are the user's own on another user's mailbox,
// and are there again after a restart. Dovecot reading and writing the same file: test/interop/imap-metadata-dovecot.test.ts.
import { type ChildProcess, spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RawImap } from '../helpers/imap-client.js';
import { BIN, LogBook, startServer, type TestServer } from '../helpers/server.js';

const LISTENERS = [{ name: 'imap', module: 'imap', address: '127.0.0.1', port: 0 }];

let server: TestServer;
let again: ChildProcess | null = null;

async function guidOf(folder: string): Promise<string> {
  const header = (await readFile(join(folder, 'dovecot-uidlist'), 'latin1')).split('\n')[0];
  return / G([0-9a-f]{32})/.exec(header)![1];
}

async function attributes(account: string): Promise<string> {
  return readFile(join(server.dataDir, `accounts/example.org/${account}/Maildir/dovecot-attributes`), 'latin1').catch(() => '');
}

beforeAll(async () => {
  server = await startServer({ config: { listeners: LISTENERS } });
  await server.addAccount('jsmith', 'secret');
  await server.addAccount('bob', 'secret');
});
afterAll(async () => {
  again?.kill('SIGKILL');
  await server.stop();
});

describe('METADATA on the Maildir store', () => {
  it("keeps entries in Dovecot's attribute dict, by mailbox GUID, and moves them with RENAME and DELETE", async () => {
    const c = await RawImap.signIn(server.portOf('imap'), 'jsmith', 'secret');
    expect((await c.command('CREATE proj/sub (USE (\\Archive))')).status).toBe('OK');
    expect((await c.command('SETMETADATA proj (/shared/comment {6+}\r\nline\r\n /private/vendor/x/y "z")')).status).toBe('OK');
    expect((await c.command('SETMETADATA proj/sub (/shared/comment "below")')).status).toBe('OK');
    expect((await c.command('SETMETADATA "" (/private/devicetoken "tok")')).status).toBe('OK');
    const maildir = join(server.dataDir, 'accounts/example.org/jsmith/Maildir');
    const proj = await guidOf(join(maildir, '.proj'));
    const sub = await guidOf(join(maildir, '.proj.sub'));
    const inbox = await guidOf(maildir);
    const file = await attributes('jsmith');
    // Dovecot's keys; a value's CR and LF tab-escaped as Dovecot writes them
    expect(file).toContain(`shared/${proj}/comment\nline\x01r\x01n\n`);
    expect(file).toContain(`priv/${proj}/vendor/x/y\nz\n`);
    expect(file).toContain(`priv/${sub}/specialuse\n\\Archive\n`);
    expect(file).toContain(`priv/${inbox}/vendor/vendor.dovecot/pvt/server/devicetoken\ntok\n`);
    // INBOX's own entries leave the server's out
    expect((await c.command('GETMETADATA (DEPTH infinity) INBOX /private')).untagged).toEqual(['* METADATA INBOX (/private NIL)']);

    expect((await c.command('RENAME proj work')).status).toBe('OK');
    expect((await c.command('GETMETADATA work (/shared/comment /private/vendor/x/y)')).untagged).toEqual([
      '* METADATA work (/shared/comment {6}\r\nline\r\n /private/vendor/x/y {1}\r\nz)',
    ]);
    expect((await c.command('GETMETADATA work/sub /shared/comment')).untagged).toEqual([
      '* METADATA work/sub (/shared/comment {5}\r\nbelow)',
    ]);
    expect((await c.command('LIST "" work/sub')).untagged).toEqual(['* LIST (\\HasNoChildren \\Archive) "/" work/sub']);

    expect((await c.command('DELETE work/sub')).status).toBe('OK');
    expect(await attributes('jsmith')).not.toContain(sub);
    expect((await c.command('CREATE work/sub')).status).toBe('OK');
    expect((await c.command('GETMETADATA work/sub /shared/comment')).untagged).toEqual(['* METADATA work/sub (/shared/comment NIL)']);
    expect((await c.command('LIST "" work/sub')).untagged).toEqual(['* LIST (\\HasNoChildren) "/" work/sub']);
    c.close();
  });

  it("keeps a user's private entries on another user's mailbox in the user's own file; shared ones need r and w", async () => {
    const owner = await RawImap.signIn(server.portOf('imap'), 'jsmith', 'secret');
    await owner.command('CREATE team');
    await owner.command('SETACL team bob lr');
    const bob = await RawImap.signIn(server.portOf('imap'), 'bob', 'secret');
    expect((await bob.command('SETMETADATA ~jsmith/team (/private/comment "for bob")')).status).toBe('OK');
    expect((await bob.command('SETMETADATA ~jsmith/team (/shared/comment "x")')).tagged).toMatch(/^a\d+ NO \[NOPERM\] /);
    const team = await guidOf(join(server.dataDir, 'accounts/example.org/jsmith/Maildir/.team'));
    expect(await attributes('bob')).toContain(`priv/${team}/comment\nfor bob\n`);
    expect(await attributes('jsmith')).not.toContain('for bob');
    await owner.command('SETACL team bob lrw');
    expect((await bob.command('SETMETADATA ~jsmith/team (/shared/comment "from bob")')).status).toBe('OK');
    expect(await attributes('jsmith')).toContain(`shared/${team}/comment\nfrom bob\n`);
    expect((await owner.command('GETMETADATA team (/shared/comment /private/comment)')).untagged).toEqual([
      '* METADATA team (/shared/comment {8}\r\nfrom bob /private/comment NIL)',
    ]);
    owner.close();
    bob.close();
  });

  it("removes an account's entries with the account", async () => {
    const removed = await server.cli(['account', 'remove', 'bob', '--force']);
    expect(removed.code, removed.stderr).toBe(0);
    await server.addAccount('bob', 'secret');
    expect(await attributes('bob')).toBe('');
    const bob = await RawImap.signIn(server.portOf('imap'), 'bob', 'secret');
    // jsmith's ACL still names bob: the new bob sees the mailbox, but none of the old bob's entries
    expect((await bob.command('GETMETADATA ~jsmith/team (/private/comment /shared/comment)')).untagged).toEqual([
      '* METADATA ~jsmith/team (/private/comment NIL /shared/comment {8}\r\nfrom bob)',
    ]);
    bob.close();
  });

  it('has every entry again after a restart', async () => {
    const exited = new Promise((r) => server.process.once('exit', r));
    server.process.kill('SIGTERM');
    await exited;
    const book = new LogBook();
    again = spawn(process.execPath, [BIN, '--config', server.configFile, 'serve'], { stdio: ['ignore', 'pipe', 'ignore'] });
    let buffered = '';
    again.stdout!.on('data', (d) => {
      buffered += d;
      const lines = buffered.split('\n');
      buffered = lines.pop()!;
      for (const line of lines) {
        try {
          book.add(JSON.parse(line));
        } catch {
          // not a log record
        }
      }
    });
    const listening = await book.waitFor((r) => r.msg === 'listening' && r.listener === 'imap', 20_000);
    const c = await RawImap.signIn(Number(listening.port), 'jsmith', 'secret');
    expect((await c.command('GETMETADATA "" /private/devicetoken')).untagged).toEqual(['* METADATA "" (/private/devicetoken {3}\r\ntok)']);
    expect((await c.command('GETMETADATA team /shared/comment')).untagged).toEqual(['* METADATA team (/shared/comment {8}\r\nfrom bob)']);
    expect((await c.command('GETMETADATA work /shared/comment')).untagged[0]).toContain('line');
    c.close();
  });
});
