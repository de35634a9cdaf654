// SORT and THREAD (RFC 5256), ESORT (RFC 5267) and SORT=DISPLAY (RFC 5957): Postern's answers against a
// real Dovecot 2.3 serving the same Maildir (the corpus of test/helpers/sort-corpus.ts: reply chains,
// missing and looping References, duplicate Message-IDs, hostile subjects, odd and missing dates, ties).
// The same session goes to both servers, one command at a time; every untagged answer must be the same
// bytes (the ESEARCH lines carry the same tags, since both sessions send the same commands).
import { utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Dovecot, shareWithDovecot, startDovecot } from '../helpers/dovecot.js';
import { RawImap } from '../helpers/imap-client.js';
import { startServer, type TestServer } from '../helpers/server.js';
import { randomSortCorpus, sortCorpus } from '../helpers/sort-corpus.js';

const DOMAIN = 'example.org';
const PASSWORD = 'a secret';
const LISTENERS = [{ name: 'imap', module: 'imap', address: '127.0.0.1', port: 0 }];

let server: TestServer;
let dovecot: Dovecot;

const KEYS = ['ARRIVAL', 'CC', 'DATE', 'FROM', 'SIZE', 'SUBJECT', 'TO', 'DISPLAYFROM', 'DISPLAYTO'];

const COMMANDS = [
  ...KEYS.flatMap((k) => [`SORT (${k}) UTF-8 ALL`, `SORT (REVERSE ${k}) UTF-8 ALL`, `UID SORT (${k}) US-ASCII ALL`]),
  'SORT (SUBJECT REVERSE DATE) UTF-8 ALL',
  'SORT (FROM SIZE) UTF-8 ALL',
  'SORT (REVERSE ARRIVAL SUBJECT) UTF-8 ALL',
  'SORT (DISPLAYFROM REVERSE DISPLAYTO CC) UTF-8 ALL',
  'SORT (REVERSE REVERSE DATE DATE) UTF-8 ALL',
  'SORT (DATE) UTF-8 SUBJECT topic',
  'SORT (SUBJECT) UTF-8 OR FROM anna SINCE 15-Mar-2024',
  'UID SORT (DATE) UTF-8 2:40',
  'SORT RETURN (MIN MAX COUNT ALL) (DATE) UTF-8 ALL',
  'UID SORT RETURN (ALL) (SUBJECT) UTF-8 ALL',
  'SORT RETURN () (REVERSE SIZE) UTF-8 ALL',
  'SORT RETURN (COUNT) (DATE) UTF-8 SUBJECT nothing-matches',
  'SORT RETURN (PARTIAL 2:9) (DATE) UTF-8 ALL',
  'UID SORT RETURN (PARTIAL 50:90 COUNT) (ARRIVAL) UTF-8 ALL',
  'THREAD REFERENCES UTF-8 ALL',
  'UID THREAD REFERENCES UTF-8 ALL',
  'THREAD ORDEREDSUBJECT UTF-8 ALL',
  'UID THREAD ORDEREDSUBJECT US-ASCII ALL',
  'THREAD REFERENCES UTF-8 NOT SUBJECT topic',
  'THREAD REFERENCES UTF-8 3:30',
  'THREAD ORDEREDSUBJECT UTF-8 SUBJECT re',
  'THREAD REFERENCES UTF-8 SUBJECT nothing-matches',
];

beforeAll(async () => {
  server = await startServer({ config: { listeners: LISTENERS } });
  const accounts = join(server.dataDir, 'accounts', DOMAIN);
  for (const [user, corpus] of [
    ['sorter', sortCorpus()],
    ['random', randomSortCorpus(RANDOM_COUNT, 22)],
  ] as const) {
    await server.addAccount(user, PASSWORD);
    for (const [i, m] of corpus.entries()) {
      const path = join(accounts, user, 'Maildir', 'cur', `1700000000.M1P1Q${String(i + 1).padStart(4, '0')}.host:2,`);
      await writeFile(path, m.raw, { mode: 0o600 });
      await utimes(path, m.arrival, m.arrival);
    }
    await shareWithDovecot(server.dir, join(accounts, user));
  }
  dovecot = await startDovecot(
    [
      { name: 'sorter', password: PASSWORD },
      { name: 'random', password: PASSWORD },
    ],
    accounts,
  );
}, 60_000);

afterAll(async () => {
  await dovecot?.stop();
  if (server) await server.stop();
});

const RANDOM_COUNT = 400;
const RANDOM_COMMANDS = [
  'THREAD REFERENCES UTF-8 ALL',
  'THREAD ORDEREDSUBJECT UTF-8 ALL',
  'UID THREAD REFERENCES UTF-8 UNDELETED',
  'THREAD REFERENCES UTF-8 1:150',
  'SORT (SUBJECT DATE) UTF-8 ALL',
  'SORT (REVERSE DATE FROM) UTF-8 ALL',
  'SORT (ARRIVAL REVERSE SIZE) UTF-8 ALL',
];

async function answers(port: number, user = 'sorter', commands = COMMANDS): Promise<string[][]> {
  const c = await RawImap.signIn(port, user, `"${PASSWORD}"`);
  try {
    const select = await c.command('SELECT INBOX');
    if (select.status !== 'OK') throw new Error(select.tagged);
    const out: string[][] = [];
    for (const command of commands) {
      const a = await c.command(command);
      out.push([command, a.status, ...a.untagged]);
    }
    return out;
  } finally {
    c.close();
  }
}

describe('SORT and THREAD against Dovecot on one Maildir', () => {
  it('answer every sort key, REVERSE pair, ESORT option and both THREAD algorithms as Dovecot does', async () => {
    const dovecotAnswers = await answers(dovecot.imapPort);
    const posternAnswers = await answers(server.portOf('imap'));
    for (const [i, d] of dovecotAnswers.entries()) expect(posternAnswers[i]).toEqual(d);
    // the corpus is the one meant: all messages there, threads found
    expect(dovecotAnswers[0][2].split(' ').length).toBe(2 + sortCorpus().length);
    expect(dovecotAnswers.find((a) => a[0] === 'THREAD REFERENCES UTF-8 ALL')?.[2]).toMatch(/\(\(/);
  }, 60_000);

  it('thread and sort a seeded random mailbox (references to anything, duplicates, ties) as Dovecot does', async () => {
    const d = await answers(dovecot.imapPort, 'random', RANDOM_COMMANDS);
    const p = await answers(server.portOf('imap'), 'random', RANDOM_COMMANDS);
    for (const [i, answer] of d.entries()) expect(p[i]).toEqual(answer);
  }, 60_000);

  it('answer a second time from the sort-key cache alike', async () => {
    expect(await answers(server.portOf('imap'))).toEqual(await answers(dovecot.imapPort));
  }, 60_000);
});
