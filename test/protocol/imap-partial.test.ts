// PARTIAL (RFC 9394) over the in-memory store, byte by byte: SEARCH and SORT RETURN (PARTIAL m:n) and
// (PARTIAL -m:-n) counted from the last match, with MIN, MAX and COUNT, ranges past the end and given
// backwards, the bad ones; and FETCH's PARTIAL modifier, alone and after CHANGEDSINCE.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RawImap } from '../helpers/imap-client.js';
import { type InProcessServer, startInProcess } from '../helpers/in-process.js';

const LISTENERS = [{ name: 'imap', module: 'imap', address: '127.0.0.1', port: 0 }];

describe('IMAP PARTIAL (RFC 9394)', () => {
  let server: InProcessServer;
  let c: RawImap;
  beforeAll(async () => {
    server = await startInProcess({ config: { listeners: LISTENERS } });
    await server.addAccount('pager', 'secret');
    // subjects in reverse order of arrival: SORT (SUBJECT) is the mailbox backwards
    for (let i = 1; i <= 8; i++)
      await server.deliver('pager', `Subject: ${String.fromCharCode(0x69 - i)}\nFrom: a@x.example\n\nbody ${i}\n`);
    c = await RawImap.signIn(server.portOf('imap'), 'pager', 'secret');
    expect((await c.command('SELECT INBOX')).status).toBe('OK');
    // UIDs 1..8 at message numbers 1..8; after this, messages 1 and 2 are gone: UIDs 3..8 at 1..6
    expect((await c.command('STORE 1:2 +FLAGS.SILENT (\\Deleted)')).status).toBe('OK');
    expect((await c.command('EXPUNGE')).status).toBe('OK');
    expect((await c.command('STORE 2,4 +FLAGS.SILENT (\\Seen)')).status).toBe('OK');
  });
  afterAll(async () => {
    c?.close();
    await server.stop();
  });

  const one = async (command: string): Promise<string> => {
    const a = await c.command(command);
    expect(a.status, `${command}: ${a.tagged}`).toBe('OK');
    expect(a.untagged).toHaveLength(1);
    return a.untagged[0].replace(/^\* ESEARCH \(TAG "a\d+"\)/, '*');
  };

  it('advertises PARTIAL once signed in', async () => {
    expect((await c.command('CAPABILITY')).untagged[0].split(' ')).toContain('PARTIAL');
  });

  it('pages SEARCH results from the first match and from the last, in numbers or UIDs', async () => {
    expect(await one('SEARCH RETURN (PARTIAL 1:2) ALL')).toBe('* PARTIAL (1:2 1:2)');
    expect(await one('SEARCH RETURN (PARTIAL 2:4) UNSEEN')).toBe('* PARTIAL (2:4 3,5:6)');
    expect(await one('SEARCH RETURN (PARTIAL -1:-2) ALL')).toBe('* PARTIAL (-1:-2 5:6)');
    expect(await one('UID SEARCH RETURN (PARTIAL -1:-3) UNSEEN')).toBe('* UID PARTIAL (-1:-3 5,7:8)');
    expect(await one('UID SEARCH RETURN (PARTIAL 1:100) ALL')).toBe('* UID PARTIAL (1:100 3:8)');
  });

  it('writes a backwards range with its smaller count first, and answers NIL past the end or for no match', async () => {
    expect(await one('SEARCH RETURN (PARTIAL 4:2) ALL')).toBe('* PARTIAL (2:4 2:4)');
    expect(await one('SEARCH RETURN (PARTIAL -3:-1) ALL')).toBe('* PARTIAL (-1:-3 4:6)');
    expect(await one('SEARCH RETURN (PARTIAL 7:10) ALL')).toBe('* PARTIAL (7:10 NIL)');
    expect(await one('SEARCH RETURN (PARTIAL -7:-10) ALL')).toBe('* PARTIAL (-7:-10 NIL)');
    expect(await one('SEARCH RETURN (PARTIAL -5:-10) ALL')).toBe('* PARTIAL (-5:-10 1:2)');
    expect(await one('SEARCH RETURN (PARTIAL 1:10 COUNT) DELETED')).toBe('* PARTIAL (1:10 NIL) COUNT 0');
  });

  it('gives MIN, MAX and COUNT of every match beside the page', async () => {
    expect(await one('UID SEARCH RETURN (MIN MAX COUNT PARTIAL -1:-2) UNSEEN')).toBe('* UID MIN 3 MAX 8 PARTIAL (-1:-2 7:8) COUNT 4');
    expect(await one('SEARCH RETURN (COUNT PARTIAL 1:1 MIN) SEEN')).toBe('* MIN 2 PARTIAL (1:1 2) COUNT 2');
  });

  it('pages SORT results in sort order, from either end', async () => {
    // SORT (SUBJECT): UIDs 8 7 6 5 4 3, message numbers 6 5 4 3 2 1
    expect(await one('SORT RETURN (PARTIAL 1:2) (SUBJECT) UTF-8 ALL')).toBe('* PARTIAL (1:2 6,5)');
    expect(await one('SORT RETURN (PARTIAL -1:-2) (SUBJECT) UTF-8 ALL')).toBe('* PARTIAL (-1:-2 2,1)');
    expect(await one('UID SORT RETURN (PARTIAL -2:-4 COUNT) (SUBJECT) UTF-8 ALL')).toBe('* UID PARTIAL (-2:-4 6,5,4) COUNT 6');
    expect(await one('UID SORT RETURN (MIN MAX PARTIAL -9:-20) (SUBJECT) UTF-8 ALL')).toBe('* UID MIN 8 MAX 3 PARTIAL (-9:-20 NIL)');
  });

  it('refuses malformed ranges, mixed signs, zero, a second PARTIAL and PARTIAL with ALL', async () => {
    for (const ret of [
      'PARTIAL 0:4',
      'PARTIAL -1:4',
      'PARTIAL 1:-4',
      'PARTIAL -0:-3',
      'PARTIAL 1',
      'PARTIAL 1:*',
      'PARTIAL',
      'PARTIAL 1:4294967296',
    ]) {
      for (const command of [`SEARCH RETURN (${ret}) ALL`, `SORT RETURN (${ret}) (SUBJECT) UTF-8 ALL`]) {
        const a = await c.command(command);
        expect(a.status, command).toBe('BAD');
        expect(a.untagged, command).toEqual([]);
      }
      expect((await c.command('NOOP')).status).toBe('OK'); // (the bad commands in a row stay below the limit)
    }
    for (const command of [
      'SEARCH RETURN (PARTIAL 1:2 PARTIAL 3:4) ALL',
      'SEARCH RETURN (ALL PARTIAL 1:2) ALL',
      'SORT RETURN (PARTIAL 1:2 ALL) (SUBJECT) UTF-8 ALL',
      'SORT RETURN (PARTIAL 1:2 PARTIAL 1:2) (SUBJECT) UTF-8 ALL',
      'UID FETCH 1:* (FLAGS) (PARTIAL 0:1)',
      'UID FETCH 1:* (FLAGS) (PARTIAL 1:2 PARTIAL 1:2)',
    ])
      expect((await c.command(command)).tagged, command).toMatch(/^a\d+ BAD /);
    expect((await c.command('NOOP')).status).toBe('OK');
  });

  it('pages FETCH with the PARTIAL modifier, after CHANGEDSINCE', async () => {
    expect((await c.command('UID FETCH 1:* (FLAGS) (PARTIAL -1:-2)')).untagged).toEqual([
      '* 5 FETCH (UID 7 FLAGS (\\Recent))',
      '* 6 FETCH (UID 8 FLAGS (\\Recent))',
    ]);
    expect((await c.command('FETCH 2:* (UID) (PARTIAL 1:2)')).untagged).toEqual(['* 2 FETCH (UID 4)', '* 3 FETCH (UID 5)']);
    expect((await c.command('UID FETCH 1:* (FLAGS) (PARTIAL 9:10)')).untagged).toEqual([]);
    const modseqs = (await c.command('UID FETCH 1:* (MODSEQ)')).untagged.map((line) => Number(/MODSEQ \((\d+)\)/.exec(line)?.[1] ?? 0));
    const modseq = Math.max(...modseqs);
    expect((await c.command('UID STORE 4,6,7 +FLAGS.SILENT (\\Flagged)')).status).toBe('OK');
    expect((await c.command(`UID FETCH 1:* (UID) (CHANGEDSINCE ${modseq} PARTIAL -1:-2)`)).untagged).toEqual([
      expect.stringMatching(/^\* 4 FETCH \(UID 6 MODSEQ \(\d+\)\)$/),
      expect.stringMatching(/^\* 5 FETCH \(UID 7 MODSEQ \(\d+\)\)$/),
    ]);
  });
});
