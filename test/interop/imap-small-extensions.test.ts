// The smaller IMAP extensions of issue 22 on a real `postern serve` over the Maildir store, beside Dovecot
// on the same tree (the byte-by-byte cases are in test/protocol/imap-small-extensions.test.ts):
// - OBJECTID (RFC 8474): MAILBOXID is Dovecot's mailbox GUID and EMAILID is made from Dovecot's message
//   GUID (doveadm shows both), so the ids are the same from every process (another MaildirStore opened on
//   the tree, as after a restart) and after a rename; a copy (by Postern or by Dovecot) keeps EMAILID.
// - SAVEDATE (RFC 8514): a copy's save date is its own; Dovecot (2.3.19) agrees with Postern on the save
//   date of the messages either saved.
// - WITHIN (RFC 5032) and PREVIEW (RFC 8970): both servers answer alike on the same messages.
// - MULTIAPPEND (RFC 3502): a refused second message or a client gone mid-way leaves nothing, not even a
//   file in tmp/.
import { execFile } from 'node:child_process';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ImapFlow } from 'imapflow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AccountAddress } from '../../accounts/names.js';
import { MaildirStore } from '../../store/maildir/store.js';
import { emailIdOf } from '../../store/object-ids.js';
import { type Dovecot, shareWithDovecot, startDovecot } from '../helpers/dovecot.js';
import { RawImap } from '../helpers/imap-client.js';
import { startServer, type TestServer } from '../helpers/server.js';

const LISTENERS = [{ name: 'imap', module: 'imap', address: '127.0.0.1', port: 0 }];
const PASSWORD = 'a secret';
const DOMAIN = 'example.org';

let server: TestServer;
let dovecot: Dovecot;
let accounts: string;

function message(subject: string, body = 'hello there\n'): string {
  return `From: Sender <sender@example.net>\nTo: alice@example.org\nSubject: ${subject}\nDate: Tue, 01 Dec 2026 09:00:00 +0000\n\n${body}`;
}

async function doveadm(args: string[]): Promise<string> {
  const { stdout } = await promisify(execFile)('doveadm', ['-c', dovecot.config, ...args]);
  return stdout;
}

function signIn(side: 'postern' | 'dovecot'): Promise<RawImap> {
  return RawImap.signIn(side === 'postern' ? server.portOf('imap') : dovecot.imapPort, 'alice', `"${PASSWORD}"`);
}

/** A second store over the same tree: what another process, or Postern after a restart, reads. */
function anotherStore(): MaildirStore {
  return new MaildirStore(
    {
      accountDir: (a: AccountAddress) => join(accounts, a.name),
      maildir: (a: AccountAddress) => join(accounts, a.name, 'Maildir'),
    },
    { mainDomain: DOMAIN },
  );
}

beforeAll(async () => {
  server = await startServer({ config: { listeners: LISTENERS } });
  accounts = join(server.dataDir, 'accounts', DOMAIN);
  await server.addAccount('alice', PASSWORD);
  await server.deliver('alice', message('first'));
  await server.deliver('alice', message('second', '> a quoted line\n\nThe   second\tmessage, in plain text.\n'));
  await shareWithDovecot(server.dir, join(accounts, 'alice'));
  dovecot = await startDovecot([{ name: 'alice', password: PASSWORD }], accounts);
}, 60_000);

afterAll(async () => {
  await dovecot?.stop();
  if (server) await server.stop();
});

describe('OBJECTID: the ids are Dovecot GUIDs, the same from every process, after a rename and in a copy', () => {
  it('MAILBOXID is the mailbox GUID and EMAILID comes from the message GUID Dovecot keeps', async () => {
    const c = await signIn('postern');
    expect((await c.command('CREATE Work')).status).toBe('OK');
    await c.command('SELECT INBOX');
    expect((await c.command('COPY 1:2 Work')).status).toBe('OK');
    const inbox = await c.command('STATUS INBOX (MAILBOXID)');
    const inboxId = /MAILBOXID \(([^)]+)\)/.exec(inbox.untagged[0])![1];
    const sel = await c.command('SELECT Work');
    const workId = /MAILBOXID \(([^)]+)\)/.exec(sel.untagged.find((l) => l.includes('MAILBOXID'))!)![1];
    const ids = (await c.command('FETCH 1:2 EMAILID')).untagged.map((l) => /EMAILID \(([^)]+)\)/.exec(l)![1]);
    await c.command('SELECT INBOX');
    const inboxIds = (await c.command('FETCH 1:2 EMAILID')).untagged.map((l) => /EMAILID \(([^)]+)\)/.exec(l)![1]);
    expect(ids).toEqual(inboxIds); // a copy keeps EMAILID

    // Dovecot's own view of the same tree: the mailbox GUIDs, and the message GUIDs EMAILID is made from
    const guids = await doveadm(['mailbox', 'status', '-u', 'alice', 'guid', 'INBOX', 'Work']);
    expect(guids).toContain(`guid=${inboxId}`);
    expect(guids).toContain(`guid=${workId}`);
    const messages = (await doveadm(['fetch', '-u', 'alice', 'guid', 'mailbox', 'INBOX', 'all']))
      .split('\n')
      .filter((l) => l.startsWith('guid: '))
      .map((l) => emailIdOf(l.slice('guid: '.length).trim()));
    expect(messages).toEqual(inboxIds);

    // another process over the tree (Postern after a restart reads the same files)
    const other = anotherStore();
    const view = await other.open({ name: 'alice', domain: DOMAIN }, 'INBOX');
    expect(view.mailboxId).toBe(inboxId);
    expect(view.messages.map((m) => view.emailId(m))).toEqual(inboxIds);
    view.close();

    // a rename keeps them
    await c.command('UNSELECT');
    expect((await c.command('RENAME Work Archive/Work')).status).toBe('OK');
    expect((await c.command('STATUS Archive/Work (MAILBOXID)')).untagged[0]).toContain(`MAILBOXID (${workId})`);
    await c.command('EXAMINE Archive/Work');
    expect((await c.command('FETCH 1:2 EMAILID')).untagged.map((l) => /EMAILID \(([^)]+)\)/.exec(l)![1])).toEqual(ids);

    // a copy Dovecot makes keeps the message's GUID too (its hard-linked copy takes the GUID as its name)
    const d = await signIn('dovecot');
    await d.command('SELECT INBOX');
    expect((await d.command('COPY 1 Archive/Work')).status).toBe('OK');
    d.close();
    await c.command('NOOP');
    const copied = await c.command('FETCH 3 EMAILID');
    expect(copied.untagged.find((l) => l.startsWith('* 3 FETCH'))).toBe(`* 3 FETCH (EMAILID (${inboxIds[0]}))`);
    c.close();

    // a real client: imapflow asks EMAILID (and THREADID) itself when OBJECTID is offered, and searches by it
    const client = new ImapFlow({
      host: '127.0.0.1',
      port: server.portOf('imap'),
      secure: false,
      tls: { rejectUnauthorized: false },
      auth: { user: 'alice', pass: PASSWORD },
      logger: false,
    });
    client.on('error', () => {});
    await client.connect();
    const lock = await client.getMailboxLock('INBOX');
    try {
      const first = await client.fetchOne('1', { uid: true, flags: true, threadId: true });
      expect(first ? first.emailId : null).toBe(inboxIds[0]);
      expect(await client.search({ emailId: inboxIds[1] })).toEqual([2]);
    } finally {
      lock.release();
    }
    await client.logout();
  });
});

describe('SAVEDATE, WITHIN and PREVIEW beside Dovecot', () => {
  it('both servers give the same save dates; a copy has its own, and the original keeps its own', async () => {
    const c = await signIn('postern');
    const d = await signIn('dovecot');
    expect((await c.command('CREATE Dates')).status).toBe('OK');
    for (const [side, client] of [
      ['postern', c],
      ['dovecot', d],
    ] as const) {
      const body = message(`saved by ${side}`);
      client.send(`x1 APPEND Dates {${Buffer.byteLength(body)}+}\r\n${body}\r\n`);
      expect((await client.until('x1')).status).toBe('OK');
    }
    await c.command('EXAMINE Dates');
    await d.command('EXAMINE Dates');
    const ours = (await c.command('FETCH 1:* (UID SAVEDATE)')).untagged;
    expect(ours).toEqual((await d.command('FETCH 1:* (UID SAVEDATE)')).untagged);
    expect(ours[0]).toMatch(/^\* 1 FETCH \(UID 1 SAVEDATE "\d\d-\w{3}-\d{4} \d\d:\d\d:\d\d \+0000"\)$/);
    await new Promise((r) => setTimeout(r, 1100));
    await c.command('SELECT Dates');
    expect((await c.command('COPY 1 Later')).tagged).toMatch(/NO \[TRYCREATE\]/);
    expect((await c.command('CREATE Later')).status).toBe('OK');
    expect((await c.command('COPY 1 Later')).status).toBe('OK');
    // the original's save date stays (Dovecot, without its cache, reads the file's ctime, which a hard link moves)
    expect((await c.command('FETCH 1 (UID SAVEDATE)')).untagged[0]).toBe(ours[0]);
    await c.command('EXAMINE Later');
    const copy = /SAVEDATE "([^"]+)"/.exec((await c.command('FETCH 1 SAVEDATE')).untagged[0])![1];
    expect(copy).not.toBe(/SAVEDATE "([^"]+)"/.exec(ours[0])![1]);
    c.close();
    d.close();
  });

  it('SEARCH OLDER/YOUNGER and FETCH PREVIEW answer as Dovecot does', async () => {
    const c = await signIn('postern');
    const d = await signIn('dovecot');
    for (const x of [c, d]) await x.command('EXAMINE INBOX');
    for (const query of ['SEARCH YOUNGER 3600', 'SEARCH OLDER 3600', 'SEARCH OLDER 1 YOUNGER 86400', 'FETCH 1:2 (PREVIEW)']) {
      expect((await c.command(query)).untagged, query).toEqual((await d.command(query)).untagged);
    }
    // an HTML message, and one with only an attachment
    expect((await c.command('CREATE Html')).status).toBe('OK');
    const html =
      'Subject: html\r\nMIME-Version: 1.0\r\nContent-Type: multipart/alternative; boundary=b\r\n\r\n--b\r\n' +
      'Content-Type: text/html; charset=utf-8\r\n\r\n<html><head><title>t</title><style>p {color: red}</style></head>' +
      '<body><p>Hello <b>world</b> &amp; more</p>\r\n<div>second   line</div></body></html>\r\n--b--\r\n';
    const image = 'Subject: image\r\nMIME-Version: 1.0\r\nContent-Type: image/png\r\nContent-Transfer-Encoding: base64\r\n\r\niVBORw0K\r\n';
    const long = `Subject: long\r\n\r\n${'wordy '.repeat(60)}\r\n`;
    for (const body of [html, image, long]) {
      c.send(`h1 APPEND Html {${body.length}+}\r\n${body}\r\n`);
      expect((await c.until('h1')).status).toBe('OK');
    }
    for (const x of [c, d]) await x.command('EXAMINE Html');
    expect((await c.command('FETCH 1:3 (PREVIEW)')).untagged).toEqual((await d.command('FETCH 1:3 (PREVIEW)')).untagged);
    c.close();
    d.close();
  });
});

describe('MULTIAPPEND on the Maildir store', () => {
  it('stores nothing, not even in tmp/, when the second message is refused or the client goes away mid-way', async () => {
    const c = await signIn('postern');
    expect((await c.command('CREATE Multi')).status).toBe('OK');
    const one = message('one');
    c.send(`m1 APPEND Multi {${one.length}+}\r\n${one} {999999999}\r\n`);
    expect((await c.until('m1')).tagged).toMatch(/^m1 NO \[TOOBIG\]/);
    c.send(`m2 APPEND Multi {${one.length}+}\r\n${one} {${one.length}+}\r\n${one.slice(0, 20)}`);
    await new Promise((r) => setTimeout(r, 200));
    c.close();
    await new Promise((r) => setTimeout(r, 300));
    const folder = join(accounts, 'alice', 'Maildir', '.Multi');
    expect(await readdir(join(folder, 'tmp'))).toEqual([]);
    expect([...(await readdir(join(folder, 'new'))), ...(await readdir(join(folder, 'cur')))]).toEqual([]);
    const d = await signIn('postern');
    expect((await d.command('STATUS Multi (MESSAGES)')).untagged).toEqual(['* STATUS Multi (MESSAGES 0)']);
    // and whole, both go in
    d.send(`m3 APPEND Multi {${one.length}+}\r\n${one} (\\Seen) {${one.length}+}\r\n${one}\r\n`);
    expect((await d.until('m3')).tagged).toMatch(/^m3 OK \[APPENDUID \d+ 1:2\] APPEND completed$/);
    d.close();
  });
});
