// CONDSTORE and QRESYNC (RFC 7162) against the IMAP module in this process (test/helpers/in-process.ts):
// the exact responses of ENABLE, SELECT/EXAMINE (CONDSTORE) and (QRESYNC ...), FETCH MODSEQ and
// CHANGEDSINCE (with VANISHED), STORE UNCHANGEDSINCE, SEARCH MODSEQ, STATUS HIGHESTMODSEQ, VANISHED in
// place of EXPUNGE, and the HIGHESTMODSEQ of EXPUNGE's and CLOSE's tagged OK. Real clients and changes made
// by POP, a delivery and Dovecot on one tree: test/interop/imap-condstore.test.ts.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RawImap } from '../helpers/imap-client.js';
import { type InProcessServer, startInProcess } from '../helpers/in-process.js';
import type { Endpoint } from '../helpers/pop-client.js';

const LISTENERS = [{ name: 'imap', module: 'imap', address: '127.0.0.1', port: 0 }];
const PASSWORD = 'a secret';

let server: InProcessServer;
let port: Endpoint;

beforeAll(async () => {
  server = await startInProcess({ config: { listeners: LISTENERS } });
  port = server.portOf('imap');
});
afterAll(() => server.stop());

/** The tagged line without its tag. */
const tagged = (a: { tagged: string }) => a.tagged.replace(/^\S+ /, '');

/** n from the first `[HIGHESTMODSEQ n]` among the lines. */
function highest(lines: readonly string[]): number {
  for (const l of lines) {
    const m = /\[HIGHESTMODSEQ (\d+)\]/.exec(l);
    if (m) return Number(m[1]);
  }
  throw new Error(`no HIGHESTMODSEQ in ${JSON.stringify(lines)}`);
}

/** UID -> MODSEQ of the FETCH lines. */
function modseqs(lines: readonly string[]): Map<number, number> {
  const out = new Map<number, number>();
  for (const l of lines) {
    const m = /FETCH \(.*UID (\d+).*MODSEQ \((\d+)\)/.exec(l);
    if (m) out.set(Number(m[1]), Number(m[2]));
  }
  return out;
}

async function account(name: string, messages: number): Promise<void> {
  await server.addAccount(name, PASSWORD);
  for (let i = 1; i <= messages; i++) await server.deliver(name, `Subject: m${i}\n\nbody ${i}\n`);
}

const signIn = (name: string) => RawImap.signIn(port, name, `"${PASSWORD}"`);

describe('CONDSTORE (RFC 7162 section 3.1)', () => {
  beforeAll(() => account('cs', 4));

  it('is offered; SELECT (CONDSTORE) says HIGHESTMODSEQ; FETCH MODSEQ; STATUS HIGHESTMODSEQ agrees', async () => {
    const a = await signIn('cs');
    expect((await a.command('CAPABILITY')).untagged[0]).toMatch(/ CONDSTORE QRESYNC( |$)/);
    // a plain SELECT says nothing of modseqs
    expect((await a.command('SELECT INBOX')).untagged.join('\n')).not.toMatch(/HIGHESTMODSEQ/);
    const sel = await a.command('SELECT INBOX (CONDSTORE)');
    expect(sel.untagged).toContain('* OK [CLOSED] Previous mailbox closed');
    const h = highest(sel.untagged);
    expect(sel.untagged.indexOf(`* OK [HIGHESTMODSEQ ${h}] Highest`)).toBe(sel.untagged.findIndex((l) => l.includes('[UIDNEXT')) + 1);
    const fetch = await a.command('FETCH 1:* (UID MODSEQ)');
    expect(fetch.untagged).toHaveLength(4);
    for (const line of fetch.untagged) expect(line).toMatch(/^\* \d FETCH \(UID \d MODSEQ \(\d+\)\)$/);
    expect(Math.max(...modseqs(fetch.untagged).values())).toBe(h);
    // with CONDSTORE on, FLAGS come with MODSEQ
    expect((await a.command('FETCH 1 (FLAGS)')).untagged).toEqual([`* 1 FETCH (FLAGS () MODSEQ (${modseqs(fetch.untagged).get(1)}))`]);
    const status = await a.command('STATUS INBOX (MESSAGES HIGHESTMODSEQ)');
    expect(status.untagged).toEqual([`* STATUS INBOX (MESSAGES 4 HIGHESTMODSEQ ${h})`]);
    a.close();
  });

  it('STORE (UNCHANGEDSINCE n): stores what did not change since, names the rest in [MODIFIED]; .SILENT still says MODSEQ', async () => {
    const a = await signIn('cs');
    const b = await signIn('cs');
    const h = highest((await a.command('SELECT INBOX (CONDSTORE)')).untagged);
    await b.command('SELECT INBOX');
    expect((await b.command('STORE 2 +FLAGS (\\Flagged)')).status).toBe('OK');
    const store = await a.command(`STORE 1:3 (UNCHANGEDSINCE ${h}) +FLAGS (\\Seen)`);
    expect(tagged(store)).toBe('OK [MODIFIED 2] Conditional STORE failed');
    // the other session's change is announced (UID and MODSEQ), then the two stored
    const other = store.untagged.find((l) => l.startsWith('* 2 FETCH'))!;
    expect(other).toMatch(/^\* 2 FETCH \(UID 2 FLAGS \(\\Flagged\) MODSEQ \((\d+)\)\)$/);
    const stored = store.untagged.filter((l) => /^\* [13] FETCH/.test(l));
    expect(stored).toHaveLength(2);
    const ms = modseqs(stored.map((l) => l.replace('FETCH (', 'FETCH (UID 0 ')));
    const after = [...ms.values()][0];
    expect(after).toBeGreaterThan(h);
    expect(stored).toEqual([`* 1 FETCH (FLAGS (\\Seen) MODSEQ (${after}))`, `* 3 FETCH (FLAGS (\\Seen) MODSEQ (${after}))`]);
    // UNCHANGEDSINCE 0 never passes; UID STORE names UIDs
    expect(tagged(await a.command('UID STORE 4 (UNCHANGEDSINCE 0) +FLAGS (\\Seen)'))).toBe('OK [MODIFIED 4] Conditional STORE failed');
    const silent = await a.command(`UID STORE 4 (UNCHANGEDSINCE ${after}) +FLAGS.SILENT (\\Answered)`);
    expect(tagged(silent)).toBe('OK UID STORE completed');
    expect(silent.untagged).toEqual([`* 4 FETCH (UID 4 MODSEQ (${after + 1}))`]);
    // bad input
    expect((await a.command('STORE 1 (UNCHANGEDSINCE x) +FLAGS (\\Seen)')).status).toBe('BAD');
    expect((await a.command('STORE 1 (UNCHANGEDSINCE 1 UNCHANGEDSINCE 2) +FLAGS (\\Seen)')).status).toBe('BAD');
    expect((await a.command('STORE 1 (NOSUCH 1) +FLAGS (\\Seen)')).status).toBe('BAD');
    expect((await a.command('STORE 1 (UNCHANGEDSINCE 99999999999999999999) +FLAGS (\\Seen)')).status).toBe('BAD');
    a.close();
    b.close();
  });

  it('FETCH (CHANGEDSINCE n) answers only what changed, with MODSEQ; SEARCH MODSEQ says the highest found', async () => {
    const a = await signIn('cs');
    const h = highest((await a.command('EXAMINE INBOX (CONDSTORE)')).untagged);
    const b = await signIn('cs');
    await b.command('SELECT INBOX');
    await b.command('STORE 3 -FLAGS (\\Seen)');
    const changed = await a.command(`FETCH 1:* (FLAGS) (CHANGEDSINCE ${h})`);
    expect(changed.untagged).toHaveLength(1);
    expect(changed.untagged[0]).toMatch(/^\* 3 FETCH \(UID 3 FLAGS \(\) MODSEQ \(\d+\)\)$/);
    const now = Number(/MODSEQ \((\d+)\)/.exec(changed.untagged[0])![1]);
    expect(now).toBeGreaterThan(h);
    expect((await a.command(`UID FETCH 1:* (FLAGS) (CHANGEDSINCE ${now})`)).untagged).toEqual([]);
    expect((await a.command(`SEARCH MODSEQ ${now}`)).untagged).toEqual([`* SEARCH 3 (MODSEQ ${now})`]);
    expect((await a.command(`SEARCH MODSEQ ${now + 1}`)).untagged).toEqual(['* SEARCH']);
    expect((await a.command(`SEARCH MODSEQ "/flags/\\\\seen" all ${now}`)).untagged).toEqual([`* SEARCH 3 (MODSEQ ${now})`]);
    const esearch = await a.command(`UID SEARCH RETURN (ALL COUNT) MODSEQ ${h + 1}`);
    expect(esearch.untagged[0]).toMatch(new RegExp(`^\\* ESEARCH \\(TAG "\\S+"\\) UID ALL 3 COUNT 1 MODSEQ ${now}$`));
    expect((await a.command('FETCH 1 (FLAGS) (CHANGEDSINCE)')).status).toBe('BAD');
    expect((await a.command('FETCH 1 (FLAGS) (CHANGEDSINCE 1 VANISHED)')).status).toBe('BAD'); // FETCH, and QRESYNC is off
    a.close();
    b.close();
  });

  it('ENABLE CONDSTORE in the selected state says HIGHESTMODSEQ; later flag changes by others come with UID and MODSEQ', async () => {
    const a = await signIn('cs');
    await a.command('SELECT INBOX');
    const enable = await a.command('ENABLE CONDSTORE');
    expect(enable.untagged[0]).toBe('* ENABLED CONDSTORE');
    expect(enable.untagged[1]).toMatch(/^\* OK \[HIGHESTMODSEQ \d+\] Highest$/);
    const b = await signIn('cs');
    await b.command('SELECT INBOX');
    await b.command('STORE 1 +FLAGS (\\Draft)');
    const noop = await a.command('NOOP');
    expect(noop.untagged).toEqual([expect.stringMatching(/^\* 1 FETCH \(UID 1 FLAGS \(\\Seen \\Draft\) MODSEQ \(\d+\)\)$/)]);
    a.close();
    b.close();
  });
});

describe('QRESYNC (RFC 7162 section 3.2)', () => {
  beforeAll(() => account('qr', 6));

  it('SELECT (QRESYNC (uidvalidity modseq [known-uids])) reports what vanished and what changed since', async () => {
    const a = await signIn('qr');
    expect((await a.command('SELECT INBOX (QRESYNC (1 1))')).status).toBe('BAD'); // not enabled
    expect((await a.command('ENABLE QRESYNC')).untagged).toEqual(['* ENABLED QRESYNC']);
    const sel = await a.command('SELECT INBOX');
    const h = highest(sel.untagged); // CONDSTORE came with QRESYNC
    const validity = Number(/UIDVALIDITY (\d+)/.exec(sel.untagged.join('\n'))![1]);
    await a.command('UNSELECT');
    // another session changes two messages and expunges two
    const b = await signIn('qr');
    await b.command('SELECT INBOX');
    await b.command('STORE 2,5 +FLAGS (\\Flagged)');
    await b.command('STORE 3,4 +FLAGS (\\Deleted)');
    await b.command('EXPUNGE');
    const resync = await a.command(`SELECT INBOX (QRESYNC (${validity} ${h}))`);
    expect(resync.untagged).toContain('* VANISHED (EARLIER) 3:4');
    const fetches = resync.untagged.filter((l) => l.includes('FETCH'));
    expect(fetches).toEqual([
      expect.stringMatching(/^\* 2 FETCH \(UID 2 FLAGS \(\\Flagged\) MODSEQ \(\d+\)\)$/),
      expect.stringMatching(/^\* 3 FETCH \(UID 5 FLAGS \(\\Flagged\) MODSEQ \(\d+\)\)$/),
    ]);
    expect(resync.untagged.indexOf('* VANISHED (EARLIER) 3:4')).toBeGreaterThan(resync.untagged.indexOf('* 4 EXISTS'));
    // known-uids narrow both; seq-match-data is accepted
    const known = await a.command(`EXAMINE INBOX (QRESYNC (${validity} ${h} 1:3 (1:3 1:3)))`);
    expect(known.untagged).toContain('* VANISHED (EARLIER) 3');
    expect(known.untagged.filter((l) => l.includes('FETCH'))).toEqual([expect.stringMatching(/^\* 2 FETCH \(UID 2 /)]);
    // another UIDVALIDITY: a plain SELECT
    const other = await a.command(`SELECT INBOX (QRESYNC (${validity + 1} ${h}))`);
    expect(other.untagged.join('\n')).not.toMatch(/VANISHED|FETCH/);
    for (const wrong of [
      `(QRESYNC (${validity}))`,
      `(QRESYNC (${validity} 0))`,
      `(QRESYNC (${validity} ${h} 1:*))`,
      `(QRESYNC (${validity} ${h} 1:3 (1:3 1:3) 4))`,
      '(NOSUCH)',
    ])
      expect((await a.command(`SELECT INBOX ${wrong}`)).status, wrong).toBe('BAD');
    a.close();
    b.close();
  });

  it('with QRESYNC on, expunges come as VANISHED; EXPUNGE and CLOSE say the HIGHESTMODSEQ after them', async () => {
    await server.deliver('qr', 'Subject: seven\n\n7\n');
    await server.deliver('qr', 'Subject: eight\n\n8\n');
    const a = await signIn('qr');
    await a.command('ENABLE QRESYNC');
    const h = highest((await a.command('SELECT INBOX')).untagged);
    const b = await signIn('qr');
    await b.command('SELECT INBOX');
    await b.command('UID STORE 7 +FLAGS (\\Deleted)');
    await b.command('UID EXPUNGE 7');
    const noop = await a.command('NOOP');
    expect(noop.untagged).toContain('* VANISHED 7');
    expect(noop.untagged.join('\n')).not.toMatch(/EXPUNGE/);
    await a.command('UID STORE 8 +FLAGS.SILENT (\\Deleted)');
    const expunge = await a.command('EXPUNGE');
    expect(expunge.untagged.filter((l) => !l.endsWith(' RECENT'))).toEqual(['* VANISHED 8']);
    const after = highest([expunge.tagged]);
    expect(tagged(expunge)).toBe(`OK [HIGHESTMODSEQ ${after}] Expunge completed`);
    expect(after).toBeGreaterThan(h);
    // UID FETCH (CHANGEDSINCE n VANISHED): the UIDs of the set gone since, then the changes
    const vanished = await a.command(`UID FETCH 1:* (FLAGS) (CHANGEDSINCE ${h} VANISHED)`);
    expect(vanished.untagged[0]).toBe('* VANISHED (EARLIER) 7:8');
    expect(vanished.untagged.slice(1)).toEqual([]);
    expect((await a.command(`UID FETCH 1:6 (FLAGS) (CHANGEDSINCE ${h} VANISHED)`)).untagged).toEqual([]);
    await a.command('UID STORE 1 +FLAGS.SILENT (\\Deleted)');
    const close = await a.command('CLOSE');
    expect(tagged(close)).toMatch(/^OK \[HIGHESTMODSEQ (\d+)\] CLOSE completed$/);
    expect(highest([close.tagged])).toBeGreaterThan(after + 1);
    a.close();
    b.close();
  });

  it('past the expunges a mailbox remembers, QRESYNC answers every UID it no longer holds (RFC 7162 section 3.2.5.2)', async () => {
    await server.addAccount('many', PASSWORD);
    const account = { name: 'many', domain: 'example.org' };
    const many = 10_060; // more than the 10,000 expunged UIDs a mailbox remembers
    for (let i = 0; i < many + 2; i++)
      await server.ctx.store.deliver(
        account,
        'INBOX',
        (async function* () {
          yield Buffer.from(`Subject: ${i}\n\nx\n`);
        })(),
      );
    const a = await signIn('many');
    await a.command('ENABLE QRESYNC');
    await a.command('SELECT INBOX');
    await a.command('UID STORE 1 +FLAGS.SILENT (\\Deleted)');
    await a.command('UID EXPUNGE 1'); // gone before the client's modseq below
    const sel = await a.command('SELECT INBOX');
    const h = highest(sel.untagged);
    const validity = Number(/UIDVALIDITY (\d+)/.exec(sel.untagged.join('\n'))![1]);
    // 2 .. many+1 expunged in one go, the last two kept
    await a.command(`UID STORE 2:${many + 1} +FLAGS.SILENT (\\Deleted)`);
    await a.command(`UID EXPUNGE 2:${many + 1}`);
    const resync = await a.command(`SELECT INBOX (QRESYNC (${validity} ${h}))`);
    // the exact answer would be 2:10061; what it cannot tell apart it names too, never fewer
    expect(resync.untagged).toContain(`* VANISHED (EARLIER) 1:${many + 1}`);
    expect(resync.untagged.filter((l) => l.includes('FETCH'))).toEqual([]);
    // known-uids narrow the fallback too
    const known = await a.command(`EXAMINE INBOX (QRESYNC (${validity} ${h} 5:9,${many + 2}))`);
    expect(known.untagged).toContain('* VANISHED (EARLIER) 5:9');
    a.close();
  }, 60_000);
});
