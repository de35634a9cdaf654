// The SEARCH index (store/search-index/) while Dovecot 2.3 changes the same mailbox: messages delivered by
// dovecot-lda (and by `postern deliver`, another process) are found by the next SEARCH (checked directly
// while the index does not hold them, indexed after it), and messages expunged by Dovecot's IMAP and POP
// are never answered and leave the index at the next sync. Dovecot never sees Postern's index file: its
// LIST shows no mailbox for it.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Dovecot, shareWithDovecot, startDovecot } from '../helpers/dovecot.js';
import { RawImap } from '../helpers/imap-client.js';
import { RawPop } from '../helpers/pop-client.js';
import { startServer, type TestServer } from '../helpers/server.js';

const PASSWORD = 'a secret';
let server: TestServer;
let dovecot: Dovecot;

const message = (subject: string, body: string) =>
  `From: Sender <sender@example.net>\r\nTo: dan@example.org\r\nSubject: ${subject}\r\n\r\n${body}\r\n`;

async function uidSearch(c: RawImap, keys: string): Promise<number[]> {
  const a = await c.command(`UID SEARCH ${keys}`, 60_000);
  if (a.status !== 'OK') throw new Error(a.tagged);
  const line = a.untagged.find((l) => l.startsWith('* SEARCH')) ?? '* SEARCH';
  return line.slice('* SEARCH'.length).trim().split(' ').filter(Boolean).map(Number);
}

/** The index status line of dan's INBOX: "messages N\tindexed M". */
async function status(): Promise<{ messages: number; indexed: number }> {
  const r = await server.cli(['index', 'status', 'dan']);
  const m = /\tINBOX\tmessages (\d+)\tindexed (\d+)/.exec(r.stdout);
  if (!m) throw new Error(`postern index status: ${r.code} ${r.stdout} ${r.stderr}`);
  return { messages: Number(m[1]), indexed: Number(m[2]) };
}

async function until(what: () => Promise<boolean>, ms = 30_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await what())) {
    if (Date.now() > end) throw new Error('not in time');
    await new Promise((r) => setTimeout(r, 200));
  }
}

beforeAll(async () => {
  server = await startServer({ config: { listeners: [{ name: 'imap', module: 'imap', address: '127.0.0.1', port: 0 }], index: true } });
  const accounts = join(server.dataDir, 'accounts', 'example.org');
  await server.addAccount('dan', PASSWORD);
  for (let i = 0; i < 20; i++) await server.deliver('dan', message(`ordinary ${i}`, `nothing to see ${i}`));
  await shareWithDovecot(server.dir, join(accounts, 'dan'));
  dovecot = await startDovecot([{ name: 'dan', password: PASSWORD }], accounts);
}, 60_000);

afterAll(async () => {
  await dovecot?.stop();
  await server?.stop();
});

describe('the index beside Dovecot on one mailbox', () => {
  it('finds what dovecot-lda and postern deliver bring, at once and after it is indexed', async () => {
    const c = await RawImap.signIn(server.portOf('imap'), 'dan', `"${PASSWORD}"`);
    await c.command('SELECT INBOX');
    await until(async () => (await status()).indexed === 20);
    expect(await dovecot.lda('dan', message('from Dovecot', 'a rare quokka here'))).toBe(0);
    await server.deliver('dan', message('from Postern', 'another QUOKKA there'));
    await c.command('NOOP');
    const found = await uidSearch(c, 'BODY quokka');
    expect(found).toHaveLength(2);
    expect(await uidSearch(c, 'SUBJECT "from dovecot"')).toEqual([found[0]]);
    await until(async () => (await status()).indexed === 22);
    expect(await uidSearch(c, 'BODY quokka')).toEqual(found);
    expect(await uidSearch(c, 'TEXT "from postern"')).toEqual([found[1]]);
    c.close();
  }, 120_000);

  it('messages Dovecot expunges (IMAP, then POP) are never answered and leave the index', async () => {
    const c = await RawImap.signIn(server.portOf('imap'), 'dan', `"${PASSWORD}"`);
    await c.command('SELECT INBOX');
    const before = await uidSearch(c, 'BODY "nothing to see"');
    expect(before).toHaveLength(20);
    // Dovecot's IMAP expunges the messages of subject "ordinary 1x"
    await dovecot.imap(
      'dan',
      PASSWORD,
      `M.select('INBOX')
data = check(M.uid('SEARCH', None, 'SUBJECT', '"ordinary 1"'))
uids = data[0].decode().split()
check(M.uid('STORE', ','.join(uids), '+FLAGS', '(\\\\Deleted)'))
check(M.expunge())
print(json.dumps(len(uids)))`,
    );
    // Dovecot's POP deletes the first message
    const pop = await RawPop.signIn(dovecot.pop3Port, 'dan', PASSWORD);
    expect(await pop.command('DELE 1')).toMatch(/^\+OK/);
    expect(await pop.command('QUIT')).toMatch(/^\+OK/);
    pop.close();
    await c.command('NOOP');
    const after = await uidSearch(c, 'BODY "nothing to see"');
    expect(after).toHaveLength(20 - 11 - 1);
    expect(await uidSearch(c, 'SUBJECT "ordinary 1"')).toEqual([]);
    await until(async () => {
      const s = await status();
      return s.messages === 10 && s.indexed === 10;
    });
    expect(await uidSearch(c, 'BODY "nothing to see"')).toEqual(after);
    // Dovecot lists no mailbox for Postern's files
    const listed = await dovecot.imap<string[]>('dan', PASSWORD, `data = check(M.list())\nprint(json.dumps([d.decode() for d in data]))`);
    expect(listed.join(' ')).not.toContain('postern');
    c.close();
  }, 120_000);
});
