// Quota, differential against Dovecot's own quota plugin (`quota = maildir:User quota`, the Maildir++
// maildirsize file) on one Maildir: both servers deliver, append and expunge on the same account, and
// both report the same usage (GETQUOTAROOT), whoever wrote the maildirsize file last; a damaged file is
// counted again by either to the same figures; a quota Dovecot filled is full for Postern too.
//
// Dovecot runs from test/helpers/dovecot.ts.
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Dovecot, shareWithDovecot, startDovecot } from '../helpers/dovecot.js';
import { RawImap } from '../helpers/imap-client.js';
import { startServer, type TestServer } from '../helpers/server.js';
import { countMaildir, parseMaildirsize } from '../../store/maildir/maildirsize.js';

const PASSWORD = 'a secret';
// the same limits in both: Dovecot's quota_rule and Postern's quota key (100K is 102400 octets in both)
const DOVECOT_QUOTA = `mail_plugins = $mail_plugins quota
protocol imap {
  mail_plugins = $mail_plugins imap_quota
}
plugin {
  quota = maildir:User quota
  quota_rule = *:storage=100K:messages=20
}
`;

let server: TestServer;
let dovecot: Dovecot | null = null;
let maildir: string;

beforeAll(async () => {
  server = await startServer({
    config: { listeners: [{ name: 'imap', module: 'imap', address: '127.0.0.1', port: 0 }], quota: { storage: '100K', messages: 20 } },
  });
  await server.addAccount('alice', PASSWORD);
  const accounts = join(server.dataDir, 'accounts', 'example.org');
  maildir = join(accounts, 'alice', 'Maildir');
  await shareWithDovecot(server.dir, join(accounts, 'alice'));
  // a Dovecot that cannot start fails every test here with its reason (never skipped)
  dovecot = await startDovecot([{ name: 'alice', password: PASSWORD }], accounts, { extraConfig: DOVECOT_QUOTA });
}, 60_000);

afterAll(async () => {
  await dovecot?.stop();
  if (server) await server.stop();
});

/** Dovecot's QUOTA response for INBOX's root, without "* QUOTA ". */
async function dovecotQuota(): Promise<string> {
  return dovecot!.imap<string>(
    'alice',
    PASSWORD,
    `typ, data = M.getquotaroot('INBOX')\ncheck((typ, data))\nprint(json.dumps(data[1][0].decode()))`,
  );
}

/** Postern's, the same way. */
async function posternQuota(): Promise<string> {
  const c = await RawImap.signIn(server.portOf('imap'), 'alice', `"${PASSWORD}"`);
  const answer = await c.command('GETQUOTAROOT INBOX');
  c.close();
  expect(answer.untagged[0]).toBe('* QUOTAROOT INBOX "User quota"');
  return answer.untagged[1].replace(/^\* QUOTA /, '');
}

function message(subject: string, octets: number): string {
  const head = `From: bob@example.org\nSubject: ${subject}\n\n`;
  return `${head}${'x'.repeat(octets - head.length - 1)}\n`;
}

/** What the maildirsize file adds up to, beside what the files on disk add up to. */
async function fileAndDisk(): Promise<{ file: unknown; disk: unknown }> {
  const parsed = parseMaildirsize(await readFile(join(maildir, 'maildirsize')));
  return { file: parsed?.usage, disk: (await countMaildir(maildir)).usage };
}

describe('Postern and Dovecot count one quota alike', () => {
  it('after mixed deliveries, appends and expunges by both, both report the same usage', async () => {
    await server.deliver('alice', message('postern 1', 3000));
    expect(await dovecot!.lda('alice', message('dovecot 1', 5000))).toBe(0);
    expect(await posternQuota()).toBe(await dovecotQuota());
    await server.deliver('alice', message('postern 2', 7000));
    expect(await dovecot!.lda('alice', message('dovecot 2', 2000))).toBe(0);
    // an APPEND by each, into another mailbox (Trash counts, as Dovecot counts it)
    const c = await RawImap.signIn(server.portOf('imap'), 'alice', `"${PASSWORD}"`);
    expect((await c.command('CREATE Trash')).status).toBe('OK');
    const text = message('appended by postern', 1500).replace(/\n/g, '\r\n');
    expect((await c.command(`APPEND Trash {${text.length}+}\r\n${text}`)).status).toBe('OK');
    await dovecot!.imap(
      'alice',
      PASSWORD,
      `check(M.append('Trash', None, None, ${JSON.stringify(message('appended by dovecot', 2500))}.encode()))\nprint('true')`,
    );
    expect(await posternQuota()).toBe(await dovecotQuota());
    // each expunges one the other delivered
    await dovecot!.imap(
      'alice',
      PASSWORD,
      `check(M.select('INBOX'))\n` +
        `typ, data = M.search(None, 'SUBJECT', '"postern 1"')\n` +
        `check(M.store(data[0].decode(), '+FLAGS', '\\\\Deleted'))\ncheck(M.expunge())\nprint('true')`,
    );
    expect((await c.command('SELECT INBOX')).status).toBe('OK');
    const found = await c.command('SEARCH SUBJECT "dovecot 1"');
    const seq = found.untagged[0].replace('* SEARCH ', '');
    expect((await c.command(`STORE ${seq} +FLAGS.SILENT (\\Deleted)`)).status).toBe('OK');
    expect((await c.command('EXPUNGE')).status).toBe('OK');
    c.close();
    const ours = await posternQuota();
    expect(ours).toBe(await dovecotQuota());
    expect(ours).toMatch(/^"User quota" \(STORAGE \d+ 100 MESSAGE 4 20\)$/);
    const { file, disk } = await fileAndDisk();
    expect(file).toEqual(disk);
  });

  it('a damaged maildirsize is counted again by either to the same figures', async () => {
    await writeFile(join(maildir, 'maildirsize'), '102400S,20C\n12 what\n');
    const dovecots = await dovecotQuota();
    await writeFile(join(maildir, 'maildirsize'), '102400S,20C\n12 what\n');
    expect(await posternQuota()).toBe(dovecots);
    const { file, disk } = await fileAndDisk();
    expect(file).toEqual(disk);
  });

  it('a quota Dovecot filled to the last octet is full for Postern, and both refuse in the same words', async () => {
    const { disk } = await fileAndDisk();
    const left = 102400 - (disk as { storage: number }).storage;
    // Dovecot fills it to the last octet
    expect(await dovecot!.lda('alice', message('to the brim', left))).toBe(0);
    expect(await posternQuota()).toBe('"User quota" (STORAGE 100 100 MESSAGE 5 20)');
    expect(await dovecotQuota()).toBe('"User quota" (STORAGE 100 100 MESSAGE 5 20)');
    const refused = await server.cli(['deliver', 'alice'], 'Subject: one more\n\nx\n');
    expect(refused.code).toBe(73);
    const c = await RawImap.signIn(server.portOf('imap'), 'alice', `"${PASSWORD}"`);
    expect((await c.command('APPEND INBOX {12+}\r\nSubject: x\r\n')).tagged).toMatch(/^a\d+ NO \[OVERQUOTA\] /);
    c.close();
    // Dovecot refuses what Postern would: the same words
    const answer = await dovecot!.imap<string>(
      'alice',
      PASSWORD,
      `typ, data = M.append('INBOX', None, None, b'Subject: x\\r\\n')\nprint(json.dumps(typ + ' ' + data[0].decode()))`,
    );
    expect(answer).toMatch(/^NO \[OVERQUOTA\] Quota exceeded \(mailbox for user is full\)/);
    const { file, disk: after } = await fileAndDisk();
    expect(file).toEqual(after);
  });
});
