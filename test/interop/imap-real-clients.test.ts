// Real IMAP clients against the real server: imapflow, python3 imaplib, curl, openssl s_client,
// fetchmail and mbsync (isync), over cleartext, STARTTLS and implicit TLS.
import { chmod, mkdir, mkdtemp, readdir, readFile, rename, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ImapFlow, type ImapFlowOptions } from 'imapflow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from '../helpers/clients.js';
import { collect, curl, imaplib, pollUntil } from '../helpers/imap-real-tools.js';
import { startServer, type TestServer } from '../helpers/server.js';

const LISTENERS = [
  { name: 'imap', module: 'imap', address: '127.0.0.1', port: 0 },
  { name: 'imaps', module: 'imap', address: '127.0.0.1', port: 0, tls: 'implicit' },
];

/** A message as delivered and the exact bytes an IMAP client must receive for it (CRLF line ends). */
function message(subject: string, body: string, extra = ''): { stored: string; served: Buffer } {
  const stored =
    `From: Sender <sender@example.net>\nTo: rcpt@example.org\nSubject: ${subject}\nDate: Tue, 01 Dec 2026 10:00:00 +0000\n` +
    `Message-ID: <${subject.replace(/\W/g, '')}@example.net>\n${extra}\n${body}`;
  return { stored, served: Buffer.from(stored.replace(/\n/g, '\r\n')) };
}

/** imapflow gives `false` (not null) where a command failed or found nothing, and TLS details only once known. */
function answered<T>(value: T | false | undefined, what: string): T {
  if (value === false || value === undefined) throw new Error(`imapflow: no ${what} (${value})`);
  return value;
}

let server: TestServer;
let imapPort: number;
let imapsPort: number;
let caFile: string;

beforeAll(async () => {
  server = await startServer({ config: { listeners: LISTENERS } });
  imapPort = server.portOf('imap');
  imapsPort = server.portOf('imaps');
  caFile = join(server.dataDir, 'certs/server.crt');
});
afterAll(async () => {
  await server?.stop();
});

describe('imapflow', () => {
  const user = 'flow';
  const pass = 'flow secret';
  const msgs = [message('first hello', 'one\nline two\n'), message('second x-ray', 'two\n'), message('third', 'three\n')];
  const clients: ImapFlow[] = [];
  const open = async (options: Partial<ImapFlowOptions> = {}): Promise<ImapFlow> => {
    const client = new ImapFlow({
      host: '127.0.0.1',
      port: imapPort,
      secure: false,
      doSTARTTLS: true,
      tls: { rejectUnauthorized: false },
      auth: { user, pass },
      logger: false,
      ...options,
    });
    clients.push(client);
    client.on('error', () => {});
    await client.connect();
    return client;
  };

  beforeAll(async () => {
    await server.addAccount(user, pass);
    for (const m of msgs) await server.deliver(user, m.stored);
  });
  afterAll(async () => {
    for (const c of clients) if (c.usable) await c.logout().catch(() => c.close());
  });

  it('signs in after STARTTLS on the clear port and after implicit TLS on the imaps port', async () => {
    const starttls = await open();
    expect(starttls.authenticated).toBeTruthy();
    expect(starttls.secureConnection).toBe(true);
    expect(answered(starttls.tls, 'TLS after STARTTLS').version).toMatch(/^TLSv1\.[23]$/);
    expect(starttls.capabilities.has('IMAP4rev2') || starttls.capabilities.has('IMAP4REV2')).toBe(true);
    await starttls.logout();

    const implicit = await open({ port: imapsPort, secure: true, doSTARTTLS: undefined });
    expect(implicit.authenticated).toBeTruthy();
    expect(answered(implicit.tls, 'implicit TLS').version).toMatch(/^TLSv1\.[23]$/);
    await implicit.logout();
    expect(implicit.usable).toBe(false);
  });

  it('refuses a wrong password', async () => {
    await expect(open({ auth: { user, pass: 'wrong' } })).rejects.toMatchObject({ authenticationFailed: true });
  });

  it('lists mailboxes, opens INBOX and fetches envelope, flags, structure and the exact source', async () => {
    const client = await open();
    const boxes = await client.list();
    expect(boxes.map((b) => b.path)).toContain('INBOX');

    const box = await client.mailboxOpen('INBOX');
    expect(box.path).toBe('INBOX');
    expect(box.exists).toBe(3);
    expect(box.uidValidity).toBeGreaterThan(0n);

    const fetched = [];
    for await (const m of client.fetch('1:*', { envelope: true, flags: true, bodyStructure: true, source: true, uid: true }))
      fetched.push(m);
    expect(fetched.map((m) => m.seq)).toEqual([1, 2, 3]);
    expect(new Set(fetched.map((m) => m.uid)).size).toBe(3);
    expect(fetched.map((m) => m.envelope?.subject)).toEqual(['first hello', 'second x-ray', 'third']);
    expect(fetched[0].envelope?.from?.[0]).toMatchObject({ name: 'Sender', address: 'sender@example.net' });
    expect(fetched[0].envelope?.to?.[0]?.address).toBe('rcpt@example.org');
    expect(fetched[0].envelope?.messageId).toBe('<firsthello@example.net>');
    expect(new Date(fetched[0].envelope?.date ?? 0).toISOString()).toBe('2026-12-01T10:00:00.000Z');
    expect(fetched[0].bodyStructure).toMatchObject({ type: 'text/plain' });
    fetched.forEach((m, i) => {
      expect(m.flags?.has('\\Seen')).toBe(false);
      expect(m.source?.equals(msgs[i].served), `message ${i + 1} source`).toBe(true);
    });
    await client.logout();
  });

  it('adds flags, searches by flag and subject, appends with flags and date, moves to a new folder', async () => {
    const client = await open();
    await client.mailboxOpen('INBOX');
    // imapflow fetched the sources with BODY.PEEK[], so all are still unseen
    expect(await client.search({ seen: false })).toEqual([1, 2, 3]);
    expect(await client.messageFlagsAdd('1', ['\\Seen', '\\Flagged'])).toBe(true);
    const [flagged] = await collect(client.fetch('1', { flags: true }));
    expect([...(flagged.flags ?? [])].sort()).toEqual(['\\Flagged', '\\Seen']);
    expect(await client.search({ seen: false })).toEqual([2, 3]);
    expect(await client.search({ flagged: true })).toEqual([1]);
    expect(await client.search({ subject: 'x-ray' })).toEqual([2]);
    expect(await client.search({ subject: 'HELLO' })).toEqual([1]); // SUBJECT is case-insensitive

    const appended = message('appended draft', 'a draft\n');
    const date = new Date('2026-11-30T08:09:10Z');
    const result = answered(await client.append('INBOX', appended.served, ['\\Draft', '\\Seen'], date), 'APPEND');
    expect(result.uid).toBeGreaterThan(0);
    const [draft] = await collect(client.fetch(String(result.uid), { flags: true, internalDate: true, source: true }, { uid: true }));
    expect([...(draft.flags ?? [])].sort()).toEqual(['\\Draft', '\\Seen']);
    expect(new Date(draft.internalDate as Date).toISOString()).toBe(date.toISOString());
    expect(draft.source?.equals(appended.served)).toBe(true);

    const created = await client.mailboxCreate('Archive');
    expect(created.created).toBe(true);
    const moved = answered(await client.messageMove('2', 'Archive'), 'MOVE');
    expect(moved.destination).toBe('Archive');
    expect(moved.uidMap?.size).toBe(1);
    expect(answered(client.mailbox, 'the selected mailbox').exists).toBe(3);
    const subjects = [];
    for await (const m of client.fetch('1:*', { envelope: true })) subjects.push(m.envelope?.subject);
    expect(subjects).toEqual(['first hello', 'third', 'appended draft']);

    const status = await client.status('Archive', { messages: true, unseen: true });
    expect(status).toMatchObject({ messages: 1, unseen: 1 });
    await client.mailboxOpen('Archive');
    const [inArchive] = await collect(client.fetch('1', { envelope: true, source: true }));
    expect(inArchive.envelope?.subject).toBe('second x-ray');
    expect(inArchive.source?.equals(msgs[1].served)).toBe(true);
    await client.logout();
  });

  it('IDLE: a delivered message is announced with an exists event within 2 s', async () => {
    const client = await open();
    await client.mailboxOpen('INBOX');
    const before = client.mailbox ? client.mailbox.exists : 0;
    const exists = new Promise<{ count: number; prevCount: number }>((resolve) => client.once('exists', resolve));
    const idling = client.idle();
    // imapflow sends IDLE once its command queue is empty; wait until it is idling
    await pollUntil(() => (client as unknown as { idling?: boolean }).idling === true, 2000, 10);
    const sent = Date.now();
    await server.deliver(user, message('while idle', 'ping\n').stored);
    const event = await Promise.race([exists, new Promise<null>((r) => setTimeout(() => r(null), 2000 + (Date.now() - sent)))]);
    expect(event, 'exists event').not.toBeNull();
    expect(event).toMatchObject({ count: before + 1, prevCount: before });
    const [last] = await collect(client.fetch('*', { envelope: true }));
    expect(last.envelope?.subject).toBe('while idle');
    await idling.catch(() => {});
    await client.logout();
  });
});

describe('imapflow: folders, MIME parts and a second session', () => {
  const user = 'flow2';
  const pass = 'flow2 secret';
  const multipart =
    'From: a@example.net\nTo: b@example.org\nSubject: =?UTF-8?Q?caf=C3=A9_menu?=\nDate: Tue, 01 Dec 2026 11:00:00 +0000\nMIME-Version: ' +
    '1.0\n' +
    'Content-Type: multipart/mixed; boundary="XYZ"\n\n--XYZ\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: ' +
    '8bit\n\nbonjour caf\u00e9\n' +
    '--XYZ\nContent-Type: application/octet-stream; name="data.bin"\nContent-Disposition: attachment; filename="data.bin"\n' +
    'Content-Transfer-Encoding: base64\n\nAAECAwQFBgc=\n--XYZ--\n';
  let client: ImapFlow;
  let watcher: ImapFlow;
  const connect = async () => {
    const c = new ImapFlow({
      host: '127.0.0.1',
      port: imapsPort,
      secure: true,
      tls: { ca: [await readFile(caFile)], servername: 'localhost' },
      auth: { user, pass },
      logger: false,
    });
    c.on('error', () => {});
    await c.connect();
    return c;
  };

  beforeAll(async () => {
    await server.addAccount(user, pass);
    await server.deliver(user, multipart);
    await server.deliver(user, message('plain one', 'one\n').stored);
    client = await connect();
    watcher = await connect();
  });
  afterAll(async () => {
    for (const c of [client, watcher]) if (c?.usable) await c.logout().catch(() => c.close());
  });

  it('decodes the subject, describes the parts and downloads the attachment decoded', async () => {
    await client.mailboxOpen('INBOX');
    const m = answered(
      await client.fetchOne('1', { envelope: true, bodyStructure: true, size: true, headers: ['subject'], bodyParts: ['1'] }),
      'FETCH 1',
    );
    expect(m.envelope?.subject).toBe('caf\u00e9 menu');
    expect(m.size).toBe(Buffer.byteLength(multipart.replace(/\n/g, '\r\n')));
    const parts = m.bodyStructure?.childNodes || [];
    expect(parts.map((p) => p.type)).toEqual(['text/plain', 'application/octet-stream']);
    expect(parts[1]).toMatchObject({
      part: '2',
      encoding: 'base64',
      disposition: 'attachment',
      dispositionParameters: { filename: 'data.bin' },
    });
    expect(m.headers?.toString()).toBe('Subject: =?UTF-8?Q?caf=C3=A9_menu?=\r\n\r\n');
    // the CRLF before a boundary belongs to the boundary (RFC 2046 section 5.1.1)
    expect(m.bodyParts?.get('1')?.toString('utf8')).toBe('bonjour caf\u00e9');
    const download = await client.download('1', '2');
    const chunks: Buffer[] = [];
    for await (const chunk of download.content as AsyncIterable<Buffer>) chunks.push(chunk);
    expect(Buffer.concat(chunks)).toEqual(Buffer.from([0, 1, 2, 3, 4, 5, 6, 7]));
    expect(download.meta).toMatchObject({ contentType: 'application/octet-stream', filename: 'data.bin' });
  });

  it('creates, lists, renames and deletes a folder with a non-ASCII name', async () => {
    const made = await client.mailboxCreate(['Entw\u00fcrfe', 'Sp\u00e4ter']);
    expect(made.path).toBe('Entw\u00fcrfe/Sp\u00e4ter');
    let paths = (await client.list()).map((b) => b.path);
    expect(paths).toEqual(expect.arrayContaining(['INBOX', 'Entw\u00fcrfe', 'Entw\u00fcrfe/Sp\u00e4ter']));
    const copied = answered(await client.messageCopy('1:2', 'Entw\u00fcrfe/Sp\u00e4ter'), 'COPY');
    expect(copied.uidMap?.size).toBe(2);
    const renamed = await client.mailboxRename('Entw\u00fcrfe/Sp\u00e4ter', '\u00c4lter');
    expect(renamed.newPath).toBe('\u00c4lter');
    expect(await client.status('\u00c4lter', { messages: true })).toMatchObject({ messages: 2 });
    const tree = await client.listTree();
    expect(tree.folders?.map((f) => f.path)).toEqual(expect.arrayContaining(['INBOX', '\u00c4lter', 'Entw\u00fcrfe']));
    await client.mailboxDelete('\u00c4lter');
    paths = (await client.list()).map((b) => b.path);
    expect(paths).not.toContain('\u00c4lter');
    expect(paths).toContain('Entw\u00fcrfe');
  });

  it('a second session in IDLE hears of flag changes, new messages and expunges', async () => {
    await client.mailboxOpen('INBOX');
    await watcher.mailboxOpen('INBOX');
    const events: string[] = [];
    const heard = (name: string) => pollUntil(() => events.includes(name), 2000, 10);
    watcher.on('flags', (e: { seq: number; flags: Set<string> }) => events.push(`flags ${e.seq} ${[...e.flags].sort().join(' ')}`));
    watcher.on('exists', (e: { count: number }) => events.push(`exists ${e.count}`));
    watcher.on('expunge', (e: { seq: number }) => events.push(`expunge ${e.seq}`));
    const idling = watcher.idle();
    await pollUntil(() => (watcher as unknown as { idling: boolean }).idling, 2000, 10);

    await client.messageFlagsSet('2', ['\\Flagged', '$Important']);
    expect(await heard('flags 2 $Important \\Flagged'), events.join(', ')).toBe(true);
    await client.append('INBOX', message('appended by the other', 'x\n').served);
    expect(await heard('exists 3'), events.join(', ')).toBe(true);
    await client.messageDelete('1');
    expect(await heard('expunge 1'), events.join(', ')).toBe(true);
    const left = await watcher.fetchAll('1:*', { envelope: true, flags: true }); // ends the IDLE
    await idling;
    expect(left.map((m) => m.envelope?.subject)).toEqual(['plain one', 'appended by the other']);
    expect([...(left[0].flags ?? [])].sort()).toEqual(['$Important', '\\Flagged']);
  });

  it('searches with OR, dates, UIDs and removes flags', async () => {
    await client.mailboxOpen('INBOX');
    const all = (await client.search({ all: true }, { uid: true })) || [];
    expect(all).toHaveLength(2);
    expect(await client.search({ or: [{ subject: 'plain' }, { subject: 'other' }] })).toEqual([1, 2]);
    expect(await client.search({ keyword: '$Important' })).toEqual([1]);
    expect(await client.search({ since: new Date('2020-01-01'), flagged: false })).toEqual([2]);
    expect(await client.search({ before: new Date('2020-01-01') })).toEqual([]);
    expect(await client.search({ body: 'x' })).toEqual([2]);
    expect(await client.search({ uid: String(all[1]) }, { uid: true })).toEqual([all[1]]);
    await client.messageFlagsRemove('1', ['\\Flagged']);
    expect([...((await client.fetchOne('1', { flags: true })) || { flags: new Set() }).flags!]).toEqual(['$Important']);
  });

  it('searches non-ASCII text in encoded headers and 8-bit bodies', async () => {
    await client.mailboxOpen('INBOX');
    await server.deliver(
      user,
      Buffer.from(
        'Subject: =?ISO-8859-1?Q?R=E9sum=E9?=\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\nna\u00efve ' +
          'cr\u00e8me br\u00fbl\u00e9e\n',
      ),
    );
    await client.noop();
    const n = client.mailbox ? client.mailbox.exists : 0;
    expect(await client.search({ subject: 'r\u00e9sum\u00e9' })).toEqual([n]);
    expect(await client.search({ body: 'cr\u00e8me br\u00fbl\u00e9e' })).toEqual([n]);
    expect(await client.search({ text: 'na\u00efve' })).toEqual([n]);
  });

  it('appends and fetches back a 3 MB message byte for byte, whole and in part', async () => {
    const line = 'abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ-_=+.,;:!?\r\n';
    const big = Buffer.from(`Subject: big one\r\n\r\n${line.repeat(Math.ceil((3 * 1024 * 1024) / line.length))}`);
    const appended = answered(await client.append('INBOX', big, ['\\Seen']), 'APPEND');
    expect(appended.uid).toBeGreaterThan(0);
    const uid = String(appended.uid);
    await client.mailboxOpen('INBOX');
    const whole = answered(await client.fetchOne(uid, { source: true, size: true }, { uid: true }), 'UID FETCH');
    expect(whole.size).toBe(big.length);
    expect(whole.source?.equals(big)).toBe(true);
    const part = answered(await client.fetchOne(uid, { source: { start: 1_000_000, maxLength: 1000 } }, { uid: true }), 'UID FETCH');
    expect(part.source?.equals(big.subarray(1_000_000, 1_001_000))).toBe(true);
    expect(await client.status('INBOX', { messages: true })).toMatchObject({ messages: client.mailbox ? client.mailbox.exists : -1 });
  });
});

describe('python3 imaplib', () => {
  const user = 'py';
  const pass = 'py secret';
  const msgs = [message('alpha', 'first body\n'), message('beta', 'second body\n.dot line\n'), message('gamma', 'third body\n')];

  beforeAll(async () => {
    await server.addAccount(user, pass);
    for (const m of msgs) await server.deliver(user, m.stored);
  });

  it('LOGIN, CAPABILITY, LIST, EXAMINE, SELECT, FETCH, STORE, EXPUNGE, UID SEARCH, COPY, APPEND, STATUS, LOGOUT', async () => {
    const r = await imaplib<Record<string, unknown>>(
      imapPort,
      `
M = imaplib.IMAP4('127.0.0.1', port)
out = {}
out['caps_before'] = list(M.capabilities)
out['login'] = flat(M.login('${user}', '${pass}'))
out['capability'] = flat(M.capability())
out['list'] = flat(M.list())
out['create'] = flat(M.create('Saved'))
out['examine'] = flat(M.select('INBOX', readonly=True))
out['examine_store'] = flat(M.store('1', '+FLAGS', '\\\\Seen'))
out['examine_fetch'] = flat(M.fetch('1', '(BODY[TEXT])'))
out['examine_flags'] = flat(M.fetch('1', '(FLAGS)'))
out['select'] = flat(M.select('INBOX'))
out['fetch_rfc822'] = flat(M.fetch('1:3', '(RFC822)'))
out['flags_after_rfc822'] = flat(M.fetch('1:3', '(FLAGS)'))
out['fetch_header'] = flat(M.fetch('2', '(BODY.PEEK[HEADER])'))
out['uid_search_all'] = flat(M.uid('SEARCH', None, 'ALL'))
out['uid_search_subject'] = flat(M.uid('SEARCH', None, 'SUBJECT', 'beta'))
out['copy'] = flat(M.copy('2:3', 'Saved'))
out['store'] = flat(M.store('1', '+FLAGS', '\\\\Deleted'))
out['expunge'] = flat(M.expunge())
out['after_expunge'] = flat(M.fetch('1:*', '(FLAGS BODY.PEEK[HEADER.FIELDS (SUBJECT)])'))
out['append'] = flat(M.append('Saved', '(\\\\Flagged)', imaplib.Time2Internaldate(1764000000),
    b'Subject: appended\\r\\n\\r\\nappended body\\r\\n'))
out['status'] = flat(M.status('Saved', '(MESSAGES UNSEEN UIDNEXT UIDVALIDITY)'))
out['status_inbox'] = flat(M.status('INBOX', '(MESSAGES)'))
M.select('Saved')
out['saved'] = flat(M.fetch('1:*', '(FLAGS INTERNALDATE BODY.PEEK[HEADER.FIELDS (SUBJECT)])'))
out['close'] = flat(M.close())
out['logout'] = flat(M.logout())
print(json.dumps(out))`,
    );
    const caps = r.caps_before as string[];
    expect(caps).toEqual(expect.arrayContaining(['IMAP4REV1', 'STARTTLS', 'AUTH=PLAIN']));
    expect(r.login).toEqual(['OK', [expect.any(String)]]);
    expect((r.capability as [string, string[]])[1][0]).toMatch(/\bIMAP4rev2\b/);
    expect((r.capability as [string, string[]])[1][0]).not.toMatch(/\bSTARTTLS\b/);
    const list = (r.list as [string, string[]])[1];
    expect(list.some((l) => / "?INBOX"?$/.test(l))).toBe(true);
    expect(r.create).toEqual(['OK', [expect.any(String)]]);
    expect(r.examine).toEqual(['OK', ['3']]);
    // EXAMINE is read-only (RFC 9051 section 6.3.3): STORE is refused, and BODY[] does not set \Seen
    expect((r.examine_store as [string, string[]])[0]).toBe('NO');
    expect((r.examine_fetch as [string, string[][]])[1][0][1]).toBe('first body\r\n');
    expect((r.examine_flags as [string, string[]])[1][0]).toBe('1 (FLAGS (\\Recent))'); // new, and nobody SELECTed it yet (RFC 3501)
    expect(r.select).toEqual(['OK', ['3']]);

    // RFC822 returns each message byte for byte and sets \Seen (RFC 9051 section 6.4.5).
    const rfc822 = (r.fetch_rfc822 as [string, (string[] | string)[]])[1].filter(Array.isArray) as string[][];
    expect(rfc822).toHaveLength(3);
    rfc822.forEach((part, i) => {
      expect(part[0]).toMatch(new RegExp(`^${i + 1} \\(.*RFC822 \\{${msgs[i].served.length}\\}$`));
      expect(part[1]).toBe(msgs[i].served.toString('latin1'));
    });
    const flags = (r.flags_after_rfc822 as [string, string[]])[1];
    expect(flags).toHaveLength(3);
    for (const f of flags) expect(f).toMatch(/FLAGS \([^)]*\\Seen/);

    const header = (r.fetch_header as [string, (string[] | string)[]])[1][0] as string[];
    const served = msgs[1].served.toString('latin1');
    expect(header[1]).toBe(served.slice(0, served.indexOf('\r\n\r\n') + 4));

    const uids = (r.uid_search_all as [string, string[]])[1][0].split(' ').map(Number);
    expect(uids).toHaveLength(3);
    expect(uids).toEqual([...uids].sort((a, b) => a - b));
    expect((r.uid_search_subject as [string, string[]])[1]).toEqual([String(uids[1])]);
    expect((r.copy as [string, string[]])[0]).toBe('OK');
    expect((r.store as [string, string[]])[1][0]).toMatch(/^1 \(.*FLAGS \([^)]*\\Deleted/);
    expect(r.expunge).toEqual(['OK', ['1']]);
    const remaining = (r.after_expunge as [string, (string[] | string)[]])[1].filter(Array.isArray) as string[][];
    expect(remaining.map((p) => p[1].trim())).toEqual(['Subject: beta', 'Subject: gamma']);

    expect((r.append as [string, string[]])[0]).toBe('OK');
    expect((r.append as [string, string[]])[1][0]).toMatch(/^\[APPENDUID \d+ \d+\]/);
    const status = (r.status as [string, string[]])[1][0];
    expect(status).toMatch(/^"?Saved"? \(/);
    expect(status).toMatch(/MESSAGES 3\b/);
    expect(status).toMatch(/UNSEEN 1\b/); // the copies keep \Seen, the appended one has only \Flagged
    expect((r.status_inbox as [string, string[]])[1][0]).toMatch(/MESSAGES 2\b/);
    const saved = (r.saved as [string, (string[] | string)[]])[1].filter(Array.isArray) as string[][];
    expect(saved.map((p) => p[1].trim())).toEqual(['Subject: beta', 'Subject: gamma', 'Subject: appended']);
    expect(saved[2][0]).toMatch(/FLAGS \(\\Flagged \\Recent\)/); // recent: this SELECT is the first since it arrived
    expect(saved[2][0]).toMatch(/INTERNALDATE "24-Nov-2025 \d\d:00:00 [+-]\d{4}"/);
    expect(r.close).toEqual(['OK', [expect.any(String)]]);
    expect((r.logout as [string, string[]])[0]).toBe('BYE');
  });

  it('partial and part fetches, sizes, 8-bit bytes, CLOSE, MOVE, RENAME, DELETE and a quoted password', async () => {
    const odd = 'py"odd\\pass word';
    await server.addAccount('py2', odd);
    const eight = Buffer.concat([
      Buffer.from('Subject: 8bit\nContent-Type: text/plain; charset=latin1\n\n'),
      Buffer.from([0xe9, 0xe8, 0xff, 0x80, 0x0a]),
    ]);
    await server.deliver('py2', eight);
    const multi =
      'Subject: multi\nMIME-Version: 1.0\nContent-Type: multipart/alternative; boundary=b1\n\n--b1\nContent-Type: text/plain\n\nplain ' +
      'text\n--b1\nContent-Type: text/html\n\n<p>html</p>\n--b1--\n';
    await server.deliver('py2', multi);
    await server.deliver('py2', message('to move', 'move me\n').stored);
    await server.deliver('py2', message('to close', 'closed away\n').stored);
    const r = await imaplib<Record<string, unknown>>(
      imapPort,
      `
out = {}
M = imaplib.IMAP4('127.0.0.1', port)
out['login'] = M.login('py2', ${JSON.stringify(odd)})[0]
M.select('INBOX')
out['size'] = flat(M.fetch('1', '(RFC822.SIZE)'))
out['eight'] = flat(M.fetch('1', '(BODY.PEEK[])'))
out['partial'] = flat(M.fetch('1', '(BODY.PEEK[]<0.7>)'))
out['structure'] = flat(M.fetch('2', '(BODYSTRUCTURE)'))
out['part2'] = flat(M.fetch('2', '(BODY.PEEK[2])'))
out['part1_mime'] = flat(M.fetch('2', '(BODY.PEEK[1.MIME])'))
out['text'] = flat(M.fetch('3', '(BODY.PEEK[TEXT])'))
out['nonexistent'] = flat(M.select('NoSuchBox'))
M.select('INBOX')
M.create('Moved')
out['move'] = flat(M._simple_command('MOVE', '3', 'Moved'))
out['move_untagged'] = flat(M.response('COPYUID'))
out['store'] = flat(M.store('3', '+FLAGS', '\\\\Deleted'))
out['close'] = flat(M.close())
out['inbox_after_close'] = flat(M.status('INBOX', '(MESSAGES)'))
out['rename'] = flat(M.rename('Moved', 'Kept'))
out['list_after'] = flat(M.list())
out['delete'] = flat(M.delete('Kept'))
out['delete_inbox'] = flat(M.delete('INBOX'))
out['subscribe'] = flat(M.subscribe('INBOX'))
out['lsub'] = flat(M.lsub())
out['namespace'] = flat(M.namespace())
M.logout()
print(json.dumps(out))`,
    );
    expect(r.login).toBe('OK');
    const served8 = eight.toString('latin1').replace(/\n/g, '\r\n');
    expect((r.size as [string, string[]])[1][0]).toBe(`1 (RFC822.SIZE ${served8.length})`);
    expect((r.eight as [string, string[][]])[1][0][1]).toBe(served8);
    expect((r.partial as [string, string[][]])[1][0]).toEqual(['1 (BODY[]<0> {7}', 'Subject']);
    const structure = (r.structure as [string, string[]])[1][0];
    expect(structure).toMatch(/^2 \(BODYSTRUCTURE \(\("TEXT" "PLAIN" .*\)\("TEXT" "HTML" .*\) "ALTERNATIVE"/i);
    expect((r.part2 as [string, string[][]])[1][0][1]).toBe('<p>html</p>');
    expect((r.part1_mime as [string, string[][]])[1][0][1]).toBe('Content-Type: text/plain\r\n\r\n');
    expect((r.text as [string, string[][]])[1][0][1]).toBe('move me\r\n');
    expect((r.nonexistent as [string, string[]])[0]).toBe('NO');
    expect((r.nonexistent as [string, string[]])[1][0]).toMatch(/^\[NONEXISTENT\]/);
    expect((r.move as [string, string[]])[0]).toBe('OK');
    expect((r.move_untagged as [string, string[]])[1][0]).toMatch(/^\d+ \d+ \d+$/); // COPYUID uidvalidity src dst
    expect((r.store as [string, string[]])[1][0]).toMatch(/^3 \(.*\\Deleted/);
    expect((r.close as string[])[0]).toBe('OK');
    // CLOSE expunges what is \Deleted (RFC 9051 section 6.4.1): 4 - 1 moved - 1 deleted
    expect((r.inbox_after_close as [string, string[]])[1][0]).toMatch(/MESSAGES 2\)/);
    expect((r.rename as string[])[0]).toBe('OK');
    const listAfter = (r.list_after as [string, string[]])[1];
    expect(listAfter.some((l) => /"?Kept"?$/.test(l))).toBe(true);
    expect(listAfter.some((l) => /"?Moved"?$/.test(l))).toBe(false);
    expect((r.delete as string[])[0]).toBe('OK');
    expect((r.delete_inbox as string[])[0]).toBe('NO'); // INBOX cannot be deleted (RFC 9051 section 6.3.5)
    expect((r.subscribe as string[])[0]).toBe('OK');
    expect((r.lsub as [string, string[]])[1]).toEqual([expect.stringMatching(/^\([^)]*\) "\/" "?INBOX"?$/)]);
    expect((r.namespace as [string, string[]])[1][0]).toMatch(/^\(\("" "\/"\)\) /); // the personal namespace is the root
  });

  it('IMAP4_SSL on the imaps port and starttls() on the clear port', async () => {
    const r = await imaplib<Record<string, unknown>>(
      imapPort,
      `
out = {}
S = imaplib.IMAP4_SSL('127.0.0.1', ssl_port, ssl_context=ssl.create_default_context(cafile=${JSON.stringify(caFile)}))
out['ssl_version'] = S.sock.version()
out['ssl_caps'] = list(S.capabilities)
out['ssl_login'] = S.login('${user}', '${pass}')[0]
out['ssl_select'] = flat(S.select('INBOX'))
S.logout()
T = imaplib.IMAP4('127.0.0.1', port)
out['starttls'] = flat(T.starttls(ssl_context=insecure()))
out['tls_version'] = T.sock.version()
out['tls_caps'] = list(T.capabilities)
out['tls_login'] = T.login('${user}', '${pass}')[0]
out['tls_status'] = flat(T.status('INBOX', '(MESSAGES)'))
T.logout()
print(json.dumps(out))`,
      imapsPort,
    );
    expect(r.ssl_version).toMatch(/^TLSv1\.[23]$/);
    expect(r.ssl_caps).not.toContain('STARTTLS');
    expect(r.ssl_login).toBe('OK');
    expect((r.ssl_select as [string, string[]])[0]).toBe('OK');
    expect((r.starttls as string[])[0]).toBe('OK');
    expect(r.tls_version).toMatch(/^TLSv1\.[23]$/);
    expect(r.tls_caps).not.toContain('STARTTLS');
    expect(r.tls_login).toBe('OK');
    expect((r.tls_status as [string, string[]])[1][0]).toMatch(/MESSAGES \d+/);
  });

  it('a wrong password raises IMAP4.error with [AUTHENTICATIONFAILED]', async () => {
    const r = await imaplib<{ error: string }>(
      imapPort,
      `
M = imaplib.IMAP4('127.0.0.1', port)
try:
    M.login('${user}', 'wrong')
    print(json.dumps({'error': ''}))
except M.error as e:
    print(json.dumps({'error': b(e.args[0])}))`,
    );
    expect(r.error).toMatch(/\[AUTHENTICATIONFAILED\]/);
  });
});

describe('curl', () => {
  const user = 'curly';
  const pass = 'curl secret';
  const msgs = [message('curl one', 'body one\n'), message('curl two', 'body two\nwith . dots\n..\n')];
  let uids: number[];

  beforeAll(async () => {
    await server.addAccount(user, pass);
    for (const m of msgs) await server.deliver(user, m.stored);
    const r = await imaplib<{ uids: string }>(
      imapPort,
      `M = imaplib.IMAP4('127.0.0.1', port)\nM.login('${user}', '${pass}')\nM.select('INBOX', readonly=True)\nprint(json.dumps({'uids': ` +
        `b(M.uid('SEARCH', None, 'ALL')[1][0])}))`,
    );
    uids = r.uids.split(' ').map(Number);
  });

  it('lists the mailboxes of the account and fetches a message by UID byte for byte', async () => {
    const list = await curl(`imap://127.0.0.1:${imapPort}/`, user, pass);
    expect(list.code, list.stderr).toBe(0);
    expect(list.body.toString()).toMatch(/^\* LIST \([^)]*\) "[./]" "?INBOX"?\r$/m);

    const inbox = await curl(`imap://127.0.0.1:${imapPort}/INBOX`, user, pass);
    expect(inbox.code, inbox.stderr).toBe(0);
    expect(inbox.body.toString()).toBe('* LIST (\\HasNoChildren) "/" INBOX\r\n');
    const examine = await curl(`imap://127.0.0.1:${imapPort}/`, user, pass, ['-X', 'EXAMINE INBOX']);
    expect(examine.code, examine.stderr).toBe(0);
    expect(examine.body.toString()).toMatch(/^\* 2 EXISTS\r$/m);

    for (let i = 0; i < msgs.length; i++) {
      const r = await curl(`imap://127.0.0.1:${imapPort}/INBOX;UID=${uids[i]}`, user, pass);
      expect(r.code, r.stderr).toBe(0);
      expect(r.body.toString('latin1')).toBe(msgs[i].served.toString('latin1'));
    }
  });

  it('fetches a section and a partial range, and uploads a message with -T (APPEND)', async () => {
    const text = await curl(`imap://127.0.0.1:${imapPort}/INBOX;UID=${uids[1]};SECTION=TEXT`, user, pass);
    expect(text.code, text.stderr).toBe(0);
    expect(text.body.toString()).toBe('body two\r\nwith . dots\r\n..\r\n');
    const header = await curl(`imap://127.0.0.1:${imapPort}/INBOX;UID=${uids[0]};SECTION=HEADER.FIELDS%20(SUBJECT)`, user, pass);
    expect(header.code, header.stderr).toBe(0);
    expect(header.body.toString()).toBe('Subject: curl one\r\n\r\n');
    const partial = await curl(`imap://127.0.0.1:${imapPort}/INBOX;UID=${uids[0]};PARTIAL=6.6`, user, pass);
    expect(partial.code, partial.stderr).toBe(0);
    expect(partial.body.toString()).toBe(msgs[0].served.subarray(6, 12).toString());

    const dir = await mkdtemp(join(tmpdir(), 'postern-curl-'));
    try {
      const upload = message('uploaded by curl', 'sent with -T\n');
      await writeFile(join(dir, 'msg.eml'), upload.served);
      const put = await curl(`imap://127.0.0.1:${imapPort}/Sent`, user, pass, ['-T', join(dir, 'msg.eml')]);
      expect(put.code).not.toBe(0); // no such mailbox: the APPEND is refused
      const create = await curl(`imap://127.0.0.1:${imapPort}/`, user, pass, ['-X', 'CREATE Sent']);
      expect(create.code, create.stderr).toBe(0);
      const again = await curl(`imap://127.0.0.1:${imapPort}/Sent`, user, pass, ['-T', join(dir, 'msg.eml')]);
      expect(again.code, again.stderr).toBe(0);
      const back = await curl(`imap://127.0.0.1:${imapPort}/Sent;UID=1`, user, pass);
      expect(back.code, back.stderr).toBe(0);
      expect(back.body.equals(upload.served)).toBe(true);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('searches with a custom request', async () => {
    const r = await curl(`imap://127.0.0.1:${imapPort}/INBOX?SUBJECT%20two`, user, pass);
    expect(r.code, r.stderr).toBe(0);
    expect(r.body.toString()).toBe('* SEARCH 2\r\n'); // message numbers, as SEARCH answers
  });

  it('STARTTLS with --ssl-reqd and implicit TLS with imaps://, verifying the generated certificate', async () => {
    const starttls = await curl(`imap://127.0.0.1:${imapPort}/INBOX;UID=${uids[0]}`, user, pass, [
      '--ssl-reqd',
      '--cacert',
      caFile,
      '--tlsv1.2',
    ]);
    expect(starttls.code, starttls.stderr).toBe(0);
    expect(starttls.body.equals(msgs[0].served)).toBe(true);
    const implicit = await curl(`imaps://127.0.0.1:${imapsPort}/INBOX;UID=${uids[1]}`, user, pass, ['--cacert', caFile]);
    expect(implicit.code, implicit.stderr).toBe(0);
    expect(implicit.body.equals(msgs[1].served)).toBe(true);
    const byName = await curl(`imaps://localhost:${imapsPort}/INBOX;UID=${uids[1]}`, user, pass, ['--cacert', caFile]);
    expect(byName.code, byName.stderr).toBe(0);
  });

  it('fails with a login error for a wrong password', async () => {
    const r = await curl(`imap://127.0.0.1:${imapPort}/INBOX`, user, 'nope');
    expect(r.code).toBe(67); // CURLE_LOGIN_DENIED
  });
});

describe('openssl s_client', () => {
  it('-starttls imap: TLS 1.2 or later, and the capability after TLS no longer offers STARTTLS', async () => {
    const r = await run(
      'openssl',
      [
        's_client',
        '-starttls',
        'imap',
        '-connect',
        `127.0.0.1:${imapPort}`,
        '-ign_eof',
        '-CAfile',
        caFile,
        '-verify_return_error',
        '-servername',
        'localhost',
      ],
      {
        input: 'a1 CAPABILITY\r\na2 LOGOUT\r\n',
        timeoutMs: 15_000,
      },
    );
    expect(r.code, r.stderr).toBe(0);
    const protocol = /Protocol\s*:\s*(TLSv[\d.]+)/.exec(r.stdout)?.[1] ?? /New, (TLSv[\d.]+)/.exec(r.stdout)?.[1];
    expect(protocol).toMatch(/^TLSv1\.[23]$/);
    expect(r.stdout).toMatch(/Verify return code: 0 \(ok\)/);
    const caps = /^\* CAPABILITY (.*)\r?$/m.exec(r.stdout)?.[1] ?? '';
    expect(caps).toMatch(/\bIMAP4rev2\b/);
    expect(caps).toMatch(/\bAUTH=PLAIN\b/);
    expect(caps).not.toMatch(/\bSTARTTLS\b/);
    expect(r.stdout).toMatch(/^a1 OK/m);
    expect(r.stdout).toMatch(/^\* BYE/m);
    expect(r.stdout).toMatch(/^a2 OK/m);
  });

  it('implicit TLS on the imaps port greets with OK and refuses STARTTLS there', async () => {
    const r = await run('openssl', ['s_client', '-connect', `127.0.0.1:${imapsPort}`, '-ign_eof', '-CAfile', caFile, '-quiet'], {
      input: 'a1 CAPABILITY\r\na2 STARTTLS\r\na3 LOGOUT\r\n',
      timeoutMs: 15_000,
    });
    expect(r.stdout).toMatch(/^\* OK/);
    expect(/^\* CAPABILITY (.*)$/m.exec(r.stdout)?.[1]).not.toMatch(/\bSTARTTLS\b/);
    expect(r.stdout).toMatch(/^a2 (BAD|NO)/m);
    expect(r.stdout).toMatch(/^a3 OK/m);
  });
});

describe('fetchmail', () => {
  const user = 'fetcher';
  const pass = 'fetch secret';

  it('with keep and fetchall fetches every message; a later run without fetchall fetches nothing new', async () => {
    await server.addAccount(user, pass);
    const msgs = [message('fm one', 'first\n'), message('fm two', 'second\n'), message('fm three', 'third\n')];
    for (const m of msgs) await server.deliver(user, m.stored);
    const home = await mkdtemp(join(tmpdir(), 'postern-fetchmail-imap-'));
    try {
      const out = join(home, 'out');
      await mkdir(out);
      const mda = join(home, 'mda.sh');
      await writeFile(mda, `#!/bin/sh\ncat > "${out}/$(date +%s%N)-$$"\n`);
      await chmod(mda, 0o755);
      const rc = (fetchall: boolean, tls: boolean) =>
        `set no bouncemail\npoll localhost protocol IMAP port ${imapPort} auth password\n  user "${user}" password "${pass}" is ` +
        `"${user}" here keep${fetchall ? ' fetchall' : ''} mda "${mda}"\n` +
        (tls ? `  sslproto TLS1.2+ sslcertck sslcertfile "${caFile}"\n` : `  sslproto ''\n`);
      const fetch = async (fetchall: boolean, tls: boolean) => {
        const file = join(home, 'fetchmailrc');
        await writeFile(file, rc(fetchall, tls));
        await chmod(file, 0o600);
        return run('fetchmail', ['-f', file, '--nosyslog', '--norewrite', '--nodetach', '-v'], {
          env: { ...process.env, HOME: home, FETCHMAILHOME: home, LC_ALL: 'C' },
          timeoutMs: 20_000,
        });
      };

      const first = await fetch(true, true);
      expect(first.code, first.stdout + first.stderr).toBe(0);
      expect(first.stdout + first.stderr).toMatch(/3 messages? for fetcher/);
      const files = (await readdir(out)).sort();
      expect(files).toHaveLength(3);
      const got = await Promise.all(files.map((f) => readFile(join(out, f), 'latin1')));
      for (const m of msgs) {
        // fetchmail turns CRLF into LF and adds a Received: header above the message
        const body = m.stored;
        expect(
          got.some((g) => g.endsWith(body)),
          m.stored.split('\n')[2],
        ).toBe(true);
      }

      const second = await fetch(false, false);
      expect(second.code, second.stdout + second.stderr).toBe(1); // PS_NOMAIL
      expect(await readdir(out)).toHaveLength(3);

      // keep left them on the server, marked \Seen
      const r = await imaplib<{ unseen: string; all: string }>(
        imapPort,
        `M = imaplib.IMAP4('127.0.0.1', port)\nM.login('${user}', '${pass}')\nM.select('INBOX', readonly=True)\n` +
          `print(json.dumps({'unseen': b(M.search(None, 'UNSEEN')[1][0]), 'all': b(M.search(None, 'ALL')[1][0])}))`,
      );
      expect(r.all).toBe('1 2 3');
      expect(r.unseen).toBe('');

      // a new message is fetched by the next run, and only it
      await server.deliver(user, message('fm four', 'fourth\n').stored);
      const third = await fetch(false, false);
      expect(third.code, third.stdout + third.stderr).toBe(0);
      const after = await readdir(out);
      expect(after).toHaveLength(4);
      const newest = after.filter((f) => !files.includes(f));
      expect(await readFile(join(out, newest[0]), 'latin1')).toMatch(/Subject: fm four\n/);
    } finally {
      await rm(home, { recursive: true, force: true });
    }
  });
});

describe('mbsync', () => {
  const user = 'syncer';
  const pass = 'sync secret';

  it('syncs both ways: server messages arrive, local ones are uploaded, flags and deletions propagate', async () => {
    await server.addAccount(user, pass);
    const msgs = [message('sync one', 'first\n'), message('sync two', 'second\n')];
    for (const m of msgs) await server.deliver(user, m.stored);
    const home = await mkdtemp(join(tmpdir(), 'postern-mbsync-'));
    try {
      const local = join(home, 'mail');
      await mkdir(local);
      const rc = join(home, 'mbsyncrc');
      await writeFile(
        rc,
        `IMAPAccount remote
Host 127.0.0.1
Port ${imapPort}
User ${user}
Pass "${pass}"
SSLType STARTTLS
SSLVersions TLSv1.2 TLSv1.3
CertificateFile ${caFile}
AuthMechs LOGIN

IMAPStore remote
Account remote

MaildirStore local
Path ${local}/
Inbox ${local}/INBOX
SubFolders Verbatim

Channel sync
Far :remote:
Near :local:
Patterns *
Create Both
Expunge Both
SyncState *
`,
      );
      await chmod(rc, 0o600);
      const mbsync = async () => {
        // mbsync waits a second over a Maildir changed within the last second; age the changes instead
        const past = new Date(Date.now() - 5000);
        for (const box of await readdir(local))
          for (const d of ['new', 'cur', 'tmp']) await utimes(join(local, box, d), past, past).catch(() => {});
        return run('mbsync', ['-c', rc, '-a'], { env: { ...process.env, HOME: home }, timeoutMs: 20_000 });
      };
      const maildirFiles = async (sub: string) => {
        const names: string[] = [];
        for (const d of ['new', 'cur'])
          names.push(...(await readdir(join(local, sub, d)).catch(() => [] as string[])).map((f) => `${d}/${f}`));
        return names.sort();
      };
      const serverView = () =>
        imaplib<{ fetched: string[] }>(
          imapPort,
          `M = imaplib.IMAP4('127.0.0.1', port)\nM.login('${user}', '${pass}')\nM.select('INBOX', readonly=True)\nt, d = M.fetch('1:*', ` +
            `'(FLAGS BODY.PEEK[HEADER.FIELDS (SUBJECT)])')\nprint(json.dumps({'fetched': [p[0].decode() + ' ' + p[1].decode().strip() ` +
            `for p in d if isinstance(p, tuple)] if d != [None] else []}))`,
        );

      const first = await mbsync();
      expect(first.code, first.stdout + first.stderr).toBe(0);
      const arrived = await maildirFiles('INBOX');
      expect(arrived).toHaveLength(2);
      const contents = await Promise.all(arrived.map((f) => readFile(join(local, 'INBOX', f), 'latin1')));
      // mbsync stores messages with LF line ends and marks each copy with an X-TUID header
      for (const m of msgs) expect(contents.map((c) => c.replace(/^X-TUID: .*\n/m, ''))).toContain(m.stored);

      // a new local message, and a local one marked seen
      const localMessage = message('written locally', 'from the near side\n');
      await writeFile(join(local, 'INBOX', 'new', `${Date.now()}.local.host`), localMessage.stored);
      const one = arrived.find((_f, i) => contents[i].includes('Subject: sync one'))!;
      const base = one.slice(4).split(':2,')[0];
      await rename(join(local, 'INBOX', one), join(local, 'INBOX', 'cur', `${base}:2,S`));

      const second = await mbsync();
      expect(second.code, second.stdout + second.stderr).toBe(0);
      const view = (await serverView()).fetched;
      expect(view).toHaveLength(3);
      expect(view.find((l) => l.includes('Subject: sync one'))).toMatch(/FLAGS \(\\Seen\)/);
      expect(view.find((l) => l.includes('Subject: sync two'))).toMatch(/FLAGS \(\)/);
      expect(view.some((l) => l.includes('Subject: written locally'))).toBe(true);
      const uploaded = await imaplib<{ source: string }>(
        imapPort,
        `M = imaplib.IMAP4('127.0.0.1', port)\nM.login('${user}', '${pass}')\nM.select('INBOX', readonly=True)\nt, d = M.search(None, ` +
          `'SUBJECT', '"written locally"')\nprint(json.dumps({'source': b(M.fetch(d[0], '(BODY.PEEK[])')[1][0][1])}))`,
      );
      expect(uploaded.source.replace(/^X-TUID: .*\r\n/m, '')).toBe(localMessage.served.toString('latin1'));

      // a server-side deletion and a server-side flag reach the local Maildir
      const del = await imaplib<{ expunge: string[] }>(
        imapPort,
        `M = imaplib.IMAP4('127.0.0.1', port)\nM.login('${user}', '${pass}')\nM.select('INBOX')\nt, d = M.search(None, 'SUBJECT', ` +
          `'"written locally"')\nM.store(d[0], '+FLAGS', '\\\\Flagged')\nt, d = M.search(None, 'SUBJECT', '"sync two"')\nM.store(d[0], ` +
          `'+FLAGS', '\\\\Deleted')\nprint(json.dumps({'expunge': flat(M.expunge()[1])}))`,
      );
      expect(del.expunge).toHaveLength(1);
      const third = await mbsync();
      expect(third.code, third.stdout + third.stderr).toBe(0);
      const leftFiles = await maildirFiles('INBOX');
      const left = await Promise.all(leftFiles.map((f) => readFile(join(local, 'INBOX', f), 'latin1')));
      expect(left).toHaveLength(2);
      expect(left.some((c) => c.includes('Subject: sync two'))).toBe(false);
      expect(left.some((c) => c.includes('Subject: sync one'))).toBe(true);
      const writtenAt = left.findIndex((c) => c.includes('Subject: written locally'));
      expect(writtenAt).toBeGreaterThanOrEqual(0);
      expect(leftFiles[writtenAt]).toMatch(/:2,[A-Z]*F[A-Z]*$/);

      // a message trashed locally (Maildir flag T) is expunged on the server
      const seenOne = leftFiles[left.findIndex((c) => c.includes('Subject: sync one'))];
      await rename(
        join(local, 'INBOX', seenOne),
        join(
          local,
          'INBOX',
          seenOne.replace(/:2,([A-Z]*)$/, (_m, f: string) => `:2,${[...f, 'T'].sort().join('')}`),
        ),
      );
      const trash = await mbsync();
      expect(trash.code, trash.stdout + trash.stderr).toBe(0);
      const afterTrash = (await serverView()).fetched;
      expect(afterTrash).toHaveLength(1);
      expect(afterTrash[0]).toMatch(/^1 \(FLAGS \(\\Flagged\) .*Subject: written locally$/);
      expect(await maildirFiles('INBOX')).toHaveLength(1);

      // a folder made locally is created on the server by the next run
      await mkdir(join(local, 'Projects', 'new'), { recursive: true });
      await mkdir(join(local, 'Projects', 'cur'));
      await mkdir(join(local, 'Projects', 'tmp'));
      await writeFile(join(local, 'Projects', 'new', `${Date.now()}.proj.host`), message('project note', 'plans\n').stored);
      const fourth = await mbsync();
      expect(fourth.code, fourth.stdout + fourth.stderr).toBe(0);
      const projects = await imaplib<{ status: string }>(
        imapPort,
        `M = imaplib.IMAP4('127.0.0.1', port)\nM.login('${user}', '${pass}')\nprint(json.dumps({'status': b(M.status('Projects', ` +
          `'(MESSAGES)')[1][0])}))`,
      );
      expect(projects.status).toMatch(/MESSAGES 1\b/);
    } finally {
      await rm(home, { recursive: true, force: true });
    }
  });
});

describe('with cleartextAuth: never', () => {
  let strict: TestServer;
  let port: number;
  beforeAll(async () => {
    strict = await startServer({ config: { listeners: LISTENERS, imap: { cleartextAuth: 'never' } } });
    port = strict.portOf('imap');
    await strict.addAccount('carol', 'carol secret');
    await strict.deliver('carol', message('strict', 'kept safe\n').stored);
  });
  afterAll(async () => {
    await strict?.stop();
  });

  it('imaplib sees LOGINDISABLED before STARTTLS, is refused LOGIN, and signs in after it', async () => {
    const r = await imaplib<Record<string, unknown>>(
      port,
      `
out = {}
M = imaplib.IMAP4('127.0.0.1', port)
out['caps'] = list(M.capabilities)
try:
    M.login('carol', 'carol secret')
    out['clear_login'] = 'OK'
except M.error as e:
    out['clear_login'] = b(e.args[0])
M.starttls(ssl_context=insecure())
out['tls_caps'] = list(M.capabilities)
out['login'] = M.login('carol', 'carol secret')[0]
out['select'] = flat(M.select('INBOX'))
M.logout()
print(json.dumps(out))`,
    );
    expect(r.caps).toEqual(expect.arrayContaining(['LOGINDISABLED', 'STARTTLS']));
    expect(r.caps).not.toContain('AUTH=PLAIN');
    expect(r.clear_login).not.toBe('OK');
    expect(r.tls_caps).not.toContain('LOGINDISABLED');
    expect(r.tls_caps).toContain('AUTH=PLAIN');
    expect(r.login).toBe('OK');
    expect(r.select).toEqual(['OK', ['1']]);
  });

  it('imapflow and curl sign in once they have upgraded with STARTTLS', async () => {
    const client = new ImapFlow({
      host: '127.0.0.1',
      port,
      secure: false,
      doSTARTTLS: true,
      tls: { rejectUnauthorized: false },
      auth: { user: 'carol', pass: 'carol secret' },
      logger: false,
    });
    client.on('error', () => {});
    await client.connect();
    const box = await client.mailboxOpen('INBOX');
    expect(box.exists).toBe(1);
    await client.logout();

    const tls = await curl(`imap://127.0.0.1:${port}/INBOX;UID=1`, 'carol', 'carol secret', ['--ssl-reqd', '-k']);
    expect(tls.code, tls.stderr).toBe(0);
    expect(tls.body.equals(message('strict', 'kept safe\n').served)).toBe(true);
    const clear = await curl(`imap://127.0.0.1:${port}/INBOX;UID=1`, 'carol', 'carol secret');
    expect(clear.code).toBe(67); // CURLE_LOGIN_DENIED: no password in the clear
  });
});
