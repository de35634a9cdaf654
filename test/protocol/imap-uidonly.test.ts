// UIDONLY (RFC 9586) over the in-memory store, byte by byte: ENABLE, UIDFETCH for UID FETCH, UID STORE
// and a flag change made by another session, VANISHED for an expunge here or by another session,
// BAD [UIDREQUIRED] for every command given message numbers (and a message-number search key, and
// QRESYNC's sequence match data), and the same commands as before for a session that did not enable it.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { RawImap } from '../helpers/imap-client.js';
import { type InProcessServer, startInProcess } from '../helpers/in-process.js';

const LISTENERS = [{ name: 'imap', module: 'imap', address: '127.0.0.1', port: 0 }];

describe('IMAP UIDONLY (RFC 9586)', () => {
  let server: InProcessServer;
  let c: RawImap;
  let other: RawImap;
  const clients: RawImap[] = [];
  const signIn = async () => {
    const client = await RawImap.signIn(server.portOf('imap'), 'uidonly', 'secret');
    clients.push(client);
    return client;
  };
  const ok = async (client: RawImap, command: string) => {
    const a = await client.command(command);
    expect(a.status, `${command}: ${a.tagged}`).toBe('OK');
    return a.untagged;
  };
  beforeAll(async () => {
    server = await startInProcess({ config: { listeners: LISTENERS } });
    await server.addAccount('uidonly', 'secret');
  });
  beforeEach(async () => {
    // a fresh INBOX of four messages (UIDs continue from the last test's), two sessions on it
    for (const client of clients.splice(0)) client.close();
    const admin = await signIn();
    await ok(admin, 'SELECT INBOX');
    await ok(admin, 'UID STORE 1:* +FLAGS.SILENT (\\Deleted)');
    await ok(admin, 'CLOSE');
    for (let i = 1; i <= 4; i++) await server.deliver('uidonly', `Subject: m${i}\n\nbody ${i}\n`);
    c = await signIn();
    expect(await ok(c, 'ENABLE IMAP4rev2 UIDONLY')).toEqual(['* ENABLED IMAP4rev2 UIDONLY']);
    other = await signIn();
    await ok(other, 'ENABLE IMAP4rev2');
    await ok(other, 'SELECT INBOX');
  });
  afterAll(async () => {
    for (const client of clients) client.close();
    await server.stop();
  });

  /** The UIDs of INBOX now (each test's four messages). */
  const uidsOf = async (): Promise<number[]> =>
    (await ok(other, 'UID SEARCH RETURN (ALL) ALL'))[0]
      .replace(/^.* ALL /, '')
      .split(',')
      .flatMap((r) => {
        const [lo, hi = lo] = r.split(':').map(Number);
        return Array.from({ length: hi - lo + 1 }, (_, i) => lo + i);
      });

  it('is offered once signed in and enabled by ENABLE', async () => {
    expect((await c.command('CAPABILITY')).untagged[0].split(' ')).toContain('UIDONLY');
    expect(await ok(c, 'ENABLE UIDONLY')).toEqual(['* ENABLED']); // already on
  });

  it('refuses every command given message numbers with BAD [UIDREQUIRED], and a message-number search key', async () => {
    await ok(c, 'SELECT INBOX');
    const [u1] = await uidsOf();
    for (const [command, verb] of [
      ['FETCH 1 (FLAGS)', 'FETCH'],
      ['STORE 1 +FLAGS (\\Seen)', 'STORE'],
      ['SEARCH ALL', 'SEARCH'],
      ['COPY 1 INBOX', 'COPY'],
      ['MOVE 1 INBOX', 'MOVE'],
      ['SORT (ARRIVAL) UTF-8 ALL', 'SORT'],
      ['THREAD REFERENCES UTF-8 ALL', 'THREAD'],
    ]) {
      const a = await c.command(command);
      expect(a.untagged, command).toEqual([]);
      expect(a.tagged, command).toMatch(
        new RegExp(`^a\\d+ BAD \\[UIDREQUIRED\\] ${verb} takes message numbers: use UID ${verb} after ENABLE UIDONLY: `),
      );
    }
    await ok(c, 'NOOP');
    for (const command of [
      'UID SEARCH 1:*',
      'UID SEARCH NOT 1',
      `UID SORT (ARRIVAL) UTF-8 OR 1 UID ${u1}`,
      'UID THREAD REFERENCES UTF-8 2',
    ]) {
      expect((await c.command(command)).tagged, command).toMatch(/^a\d+ BAD \[UIDREQUIRED\] A search key of message numbers/);
    }
    await ok(c, 'NOOP');
    // the message was neither stored, copied nor moved
    expect(await ok(other, 'SEARCH RETURN (COUNT) SEEN')).toEqual([expect.stringMatching(/ COUNT 0$/)]);
    expect(await ok(other, 'SEARCH RETURN (COUNT) ALL')).toEqual([expect.stringMatching(/ COUNT 4$/)]);
  });

  it('answers UID commands in UIDs: UIDFETCH without the UID item, UID SEARCH and UID SORT', async () => {
    await ok(c, 'SELECT INBOX');
    const [u1, u2, u3, u4] = await uidsOf();
    expect(await ok(c, `UID FETCH ${u1}:${u2} (UID FLAGS RFC822.SIZE)`)).toEqual([
      `* ${u1} UIDFETCH (FLAGS () RFC822.SIZE 23)`,
      `* ${u2} UIDFETCH (FLAGS () RFC822.SIZE 23)`,
    ]);
    expect(await ok(c, `UID FETCH ${u3} (UID)`)).toEqual([`* ${u3} UIDFETCH (UID ${u3})`]);
    expect(await ok(c, `UID FETCH ${u4} (BODY.PEEK[TEXT] INTERNALDATE)`)).toEqual([
      expect.stringMatching(new RegExp(`^\\* ${u4} UIDFETCH \\(BODY\\[TEXT\\] \\{8\\}\r\nbody 4\r\n INTERNALDATE "[^"]+"\\)$`)),
    ]);
    expect(await ok(c, `UID STORE ${u2} +FLAGS (\\Flagged)`)).toEqual([`* ${u2} UIDFETCH (FLAGS (\\Flagged))`]);
    expect(await ok(c, 'UID SEARCH FLAGGED')).toEqual([expect.stringMatching(new RegExp(`^\\* ESEARCH \\(TAG "a\\d+"\\) UID ALL ${u2}$`))]);
    expect(await ok(c, `UID SEARCH RETURN (MIN PARTIAL -1:-2) UID ${u1}:*`)).toEqual([
      expect.stringMatching(new RegExp(`\\) UID MIN ${u1} PARTIAL \\(-1:-2 ${u3}:${u4}\\)$`)),
    ]);
    expect(await ok(c, 'UID SORT (REVERSE SUBJECT) UTF-8 ALL')).toEqual([`* SORT ${u4} ${u3} ${u2} ${u1}`]);
    expect(await ok(c, `UID COPY ${u1} INBOX`)).toEqual(['* 5 EXISTS']); // EXISTS still counts
    expect(await ok(c, `UID MOVE ${u2} INBOX`)).toEqual([
      expect.stringMatching(new RegExp(`^\\* OK \\[COPYUID \\d+ ${u2} ${u4 + 2}\\]`)),
      `* VANISHED ${u2}`,
      '* 5 EXISTS',
    ]);
  });

  it('announces another session flag change as UIDFETCH, with MODSEQ after CONDSTORE', async () => {
    await ok(c, 'SELECT INBOX');
    const [u1, u2] = await uidsOf();
    await ok(other, 'STORE 1 +FLAGS (\\Answered)');
    expect(await ok(c, 'NOOP')).toEqual([`* ${u1} UIDFETCH (FLAGS (\\Answered))`]);
    await ok(c, 'ENABLE CONDSTORE');
    await ok(other, 'STORE 2 +FLAGS (\\Seen)');
    expect(await ok(c, 'NOOP')).toEqual([
      expect.stringMatching(new RegExp(`^\\* ${u2} UIDFETCH \\(FLAGS \\(\\\\Seen\\) MODSEQ \\(\\d+\\)\\)$`)),
    ]);
  });

  it('announces expunges with VANISHED, its own and another session, never EXPUNGE', async () => {
    await ok(c, 'SELECT INBOX');
    const [u1, u2, u3, u4] = await uidsOf();
    await ok(other, 'STORE 2:3 +FLAGS.SILENT (\\Deleted)');
    await ok(other, 'EXPUNGE');
    expect(await ok(c, 'NOOP')).toEqual([`* VANISHED ${u2}:${u3}`]);
    // a UID command announces them after its own answer (RFC 9051 section 7.5.1), then its own EXPUNGE
    await ok(other, `UID STORE ${u4} +FLAGS.SILENT (\\Deleted)`);
    await ok(other, 'EXPUNGE');
    expect(await ok(c, `UID STORE ${u1} +FLAGS.SILENT (\\Deleted)`)).toEqual([`* VANISHED ${u4}`]);
    expect(await ok(c, 'EXPUNGE')).toEqual([`* VANISHED ${u1}`]);
    expect((await c.command('NOOP')).untagged).toEqual([]);
  });

  it('refuses QRESYNC sequence match data; a QRESYNC SELECT answers with VANISHED (EARLIER) and UIDFETCH', async () => {
    await ok(c, 'ENABLE QRESYNC');
    await ok(c, 'SELECT INBOX');
    const validity = /UIDVALIDITY (\d+)/.exec((await c.command('STATUS INBOX (UIDVALIDITY)')).untagged[0])?.[1];
    const highest = Number(/HIGHESTMODSEQ (\d+)/.exec((await c.command('STATUS INBOX (HIGHESTMODSEQ)')).untagged[0])?.[1]);
    await ok(c, 'UNSELECT');
    const [u1, u2] = await uidsOf();
    await ok(other, 'STORE 1 +FLAGS.SILENT (\\Deleted)');
    await ok(other, 'EXPUNGE');
    await ok(other, 'STORE 1 +FLAGS.SILENT (\\Flagged)');
    const refused = await c.command(`SELECT INBOX (QRESYNC (${validity} ${highest} ${u1}:${u2} (1:2 ${u1}:${u2})))`);
    expect(refused.tagged).toMatch(/^a\d+ BAD \[UIDREQUIRED\] QRESYNC sequence match data/);
    const a = await c.command(`SELECT INBOX (QRESYNC (${validity} ${highest} ${u1}:${u2 + 10}))`);
    expect(a.status).toBe('OK');
    expect(a.untagged).toContain(`* VANISHED (EARLIER) ${u1}`);
    expect(a.untagged).toContainEqual(
      expect.stringMatching(new RegExp(`^\\* ${u2} UIDFETCH \\(FLAGS \\(\\\\Flagged\\) MODSEQ \\(\\d+\\)\\)$`)),
    );
    expect(a.untagged.some((line) => / FETCH /.test(line))).toBe(false);
  });

  it('takes effect when enabled with a mailbox selected; a session that did not enable it is unchanged', async () => {
    const plain = await signIn();
    await ok(plain, 'SELECT INBOX');
    const [u1] = await uidsOf();
    expect(await ok(plain, 'FETCH 1 (UID)')).toEqual([`* 1 FETCH (UID ${u1})`]);
    expect(await ok(plain, 'ENABLE UIDONLY')).toEqual(['* ENABLED UIDONLY']);
    expect((await plain.command('FETCH 1 (UID)')).tagged).toMatch(/^a\d+ BAD \[UIDREQUIRED\] /);
    expect(await ok(plain, `UID FETCH ${u1} (FLAGS)`)).toEqual([`* ${u1} UIDFETCH (FLAGS ())`]);
    // an IMAP4rev1 SELECT leaves out UNSEEN (a message number)
    const selected = await ok(plain, 'SELECT INBOX');
    expect(selected.some((line) => line.includes('UNSEEN'))).toBe(false);
    expect(await ok(other, 'FETCH 1 (UID)')).toEqual([`* 1 FETCH (UID ${u1})`]);
  });
});
