// CONDSTORE and QRESYNC (RFC 7162) with a real client, imapflow (`qresync: true`), on a Maildir tree that
// Postern's POP, `postern deliver`, dovecot-lda and a real Dovecot IMAP all change while the client is away:
// its QRESYNC SELECT then reports exactly those changes (the UIDs gone as VANISHED (EARLIER), the flags of
// the messages changed or added), as does UID FETCH (CHANGEDSINCE) with VANISHED, and what the client
// rebuilds from them equals a full fetch. The modseqs live in the tree (postern-modseq): a second
// Postern process started on the same tree after the first stopped (a restart, another node) continues them.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ImapFlow } from 'imapflow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Dovecot, shareWithDovecot, startDovecot } from '../helpers/dovecot.js';
import { RawPop } from '../helpers/pop-client.js';
import { startServer, type TestServer } from '../helpers/server.js';

const DOMAIN = 'example.org';
const PASSWORD = 'a secret';
const LISTENERS = [
  { name: 'pop3', module: 'pop', address: '127.0.0.1', port: 0 },
  { name: 'imap', module: 'imap', address: '127.0.0.1', port: 0 },
];

let server: TestServer;
/** The data folder, outside the server's own (which stop() removes): a second process starts on it. */
let tree: string;
let dovecot: Dovecot | null = null;
let dovecotError: Error | null = null;

const message = (subject: string) => `From: Sender <sender@example.net>\nTo: alice@example.org\nSubject: ${subject}\n\nhello\n`;

beforeAll(async () => {
  tree = await mkdtemp(join(tmpdir(), 'postern-condstore-'));
  server = await startServer({ config: { listeners: LISTENERS, dataDir: tree } });
  await server.addAccount('alice', PASSWORD);
  for (let i = 1; i <= 6; i++) await server.deliver('alice', message(`m${i}`));
  const accounts = join(tree, 'accounts', DOMAIN);
  await shareWithDovecot(tree, join(accounts, 'alice'));
  dovecot = await startDovecot([{ name: 'alice', password: PASSWORD }], accounts).catch((err: Error) => {
    dovecotError = err;
    return null;
  });
}, 60_000);

afterAll(async () => {
  await dovecot?.stop();
  if (server) await server.stop();
  await rm(tree, { recursive: true, force: true });
});

/** The client's copy of the mailbox: UID -> flags. */
type Cache = Map<number, string[]>;

function client(port: number): ImapFlow {
  return new ImapFlow({
    host: '127.0.0.1',
    port,
    secure: false,
    tls: { rejectUnauthorized: false },
    auth: { user: 'alice', pass: PASSWORD },
    logger: false,
    qresync: true,
  });
}

/** Everything, the slow way: UID FETCH 1:* (FLAGS). */
async function fullCache(c: ImapFlow): Promise<Cache> {
  const cache: Cache = new Map();
  for await (const m of c.fetch('1:*', { uid: true, flags: true }, { uid: true })) cache.set(m.uid, [...(m.flags ?? [])].sort());
  return cache;
}

/** A QRESYNC SELECT from what the client knew: the events it gets, applied to its cache. */
async function resync(
  c: ImapFlow,
  known: { uidValidity: bigint; highestModseq: bigint; cache: Cache },
): Promise<{ vanished: number[]; changed: number[]; cache: Cache; highestModseq: bigint }> {
  const vanished: number[] = [];
  const changed: number[] = [];
  const cache: Cache = new Map(known.cache);
  c.on('expunge', (e: { uid?: number; vanished?: boolean; earlier?: boolean }) => {
    if (e.vanished && e.earlier && e.uid !== undefined) {
      vanished.push(e.uid);
      cache.delete(e.uid);
    }
  });
  c.on('flags', (e: { uid?: number; flags: Set<string> }) => {
    if (e.uid === undefined) return;
    changed.push(e.uid);
    cache.set(e.uid, [...e.flags].sort());
  });
  const box = await c.mailboxOpen('INBOX', { uidValidity: known.uidValidity, changedSince: known.highestModseq });
  expect((box as { qresync?: boolean }).qresync).toBe(true);
  return { vanished: vanished.sort((a, b) => a - b), changed: changed.sort((a, b) => a - b), cache, highestModseq: box.highestModseq! };
}

describe('a QRESYNC client away while POP, deliveries and Dovecot change the mailbox', () => {
  it('resyncs with exactly those changes, and again after a restart of Postern on the same tree', async () => {
    if (dovecotError) throw dovecotError;
    // the client's first visit: everything, and the mailbox's UIDVALIDITY and HIGHESTMODSEQ
    const first = client(server.portOf('imap'));
    await first.connect();
    expect(first.enabled.has('QRESYNC')).toBe(true);
    const box = await first.mailboxOpen('INBOX');
    const known = { uidValidity: box.uidValidity, highestModseq: box.highestModseq!, cache: await fullCache(first) };
    expect([...known.cache.keys()]).toEqual([1, 2, 3, 4, 5, 6]);
    await first.logout();

    // POP: RETR 1 sets \Seen, DELE 2 expunges at QUIT
    const pop = await RawPop.signIn(server.port, 'alice', PASSWORD);
    expect(await pop.command('RETR 1')).toMatch(/^\+OK/);
    await pop.body();
    expect(await pop.command('DELE 2')).toMatch(/^\+OK/);
    expect(await pop.command('QUIT')).toMatch(/^\+OK/);
    await pop.closed();
    // a delivery by `postern deliver` (UID 7) and one by dovecot-lda (UID 8)
    await server.deliver('alice', message('m7'));
    expect(await dovecot!.lda('alice', message('m8'))).toBe(0);
    // Dovecot's IMAP: \Flagged on 3, and 4 expunged
    await dovecot!.imap(
      'alice',
      PASSWORD,
      `check(M.select('INBOX'))
check(M.uid('STORE', '3', '+FLAGS', '(\\\\Flagged)'))
check(M.uid('STORE', '4', '+FLAGS', '(\\\\Deleted)'))
check(M.expunge())
print(json.dumps(True))`,
    );

    const second = client(server.portOf('imap'));
    await second.connect();
    const after = await resync(second, known);
    expect(after.vanished).toEqual([2, 4]);
    expect(after.changed).toEqual([1, 3, 7, 8]);
    expect(after.cache.get(1)).toEqual(['\\Seen']);
    expect(after.cache.get(3)).toEqual(['\\Flagged']);
    expect(after.highestModseq).toBeGreaterThan(known.highestModseq);
    // what the client rebuilt is the mailbox as a full fetch shows it
    const full = await fullCache(second);
    expect([...after.cache].sort((a, b) => a[0] - b[0])).toEqual([...full].sort((a, b) => a[0] - b[0]));
    // UID FETCH (CHANGEDSINCE) with VANISHED: the same changes
    const changedSince: number[] = [];
    for await (const m of second.fetch('1:*', { uid: true, flags: true }, { uid: true, changedSince: known.highestModseq }))
      changedSince.push(m.uid);
    expect(changedSince).toEqual([1, 3, 7, 8]);
    // nothing changed since the new HIGHESTMODSEQ
    const none: number[] = [];
    for await (const m of second.fetch('1:*', { uid: true }, { uid: true, changedSince: after.highestModseq })) none.push(m.uid);
    expect(none).toEqual([]);
    await second.logout();

    // Postern stops; Dovecot changes one more message meanwhile; a new Postern process on the same tree
    await server.stop();
    await dovecot!.imap(
      'alice',
      PASSWORD,
      `check(M.select('INBOX'))
check(M.uid('STORE', '5', '+FLAGS', '(\\\\Answered)'))
print(json.dumps(True))`,
    );
    server = await startServer({ config: { listeners: LISTENERS, dataDir: tree } });
    const third = client(server.portOf('imap'));
    await third.connect();
    const again = await resync(third, { uidValidity: known.uidValidity, highestModseq: after.highestModseq, cache: after.cache });
    expect(again.vanished).toEqual([]);
    expect(again.changed).toEqual([5]);
    expect(again.cache.get(5)).toEqual(['\\Answered']);
    expect(again.highestModseq).toBeGreaterThan(after.highestModseq);
    await third.logout();
  }, 60_000);
});
