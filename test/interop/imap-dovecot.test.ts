// Postern's IMAP server and a real Dovecot 2.3 IMAP server on one Maildir tree, over raw sockets.
//
// 1. Interop (account alice): both servers give the same UIDVALIDITY, UIDNEXT and UIDs, for mail
//    delivered by `postern deliver` and by dovecot-lda; flags and keywords set in one show in the other,
//    and POP's RETR \Seen in both; an expunge in Dovecot reaches a Postern session (NOOP, IDLE), one in
//    Postern is gone from Dovecot and from POP; mailboxes created, renamed and subscribed in Postern are
//    listed the same way by Dovecot (modified UTF-7 names); APPEND in one, FETCH BODY[] in the other.
// 2. Differential (account carol): the message corpus (test/imap-corpus, plus one message with base64
//    and quoted-printable text parts) in one INBOX, and the same session sent to both servers, one
//    command at a time: SELECT, FETCH of ENVELOPE, BODYSTRUCTURE, BODY, sections and BINARY for every
//    message, STORE, and SEARCH over the key set.
//
// What is normalised, and why (the wire-level rules are in test/helpers/imap-dovecot-wire.ts):
//  - strings by content (quoted, literal or literal8 are the server's choice, RFC 9051 section 4.3);
//  - FETCH items in any order within a response; flags as sets, without \Recent (each server keeps
//    its own record of which session took a message as recent: README);
//  - SELECT: the order of its untagged responses, the texts after the codes (for humans, RFC 9051
//    section 7.1), RECENT counts (as \Recent), the keywords in PERMANENTFLAGS (the system flags and \*
//    are compared), any CAPABILITY or HIGHESTMODSEQ code (extension lists differ: not compared);
//  - SEARCH hits as sets (RFC 9051 gives them no order);
//  - LIST/LSUB: names as astrings by content, attributes as sets, lines in any order.
// DEVIATIONS (below) are the few FETCH answers where Postern follows the RFC and Dovecot does not - the
// ones test/interop/imap-message-dovecot.test.ts found at the library level, and the same HEADER.FIELDS rule for
// 16-no-body-separator.eml; for those Postern's answer is checked against the bytes the RFC calls for.
// A message whose last line has no line break is kept and served as its exact octets (Dovecot does so;
// RFC 5322 section 3.5 allows such a body): the APPEND tests and corpus message 16 check that.
import { utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseMime } from '../../mime/mime-tree.js';
import { type Dovecot, shareWithDovecot, startDovecot } from '../helpers/dovecot.js';
import { type ImapAnswer, RawImap } from '../helpers/imap-client.js';
import {
  canonical,
  fetches,
  flagList,
  type ListEntry,
  parseFetch,
  parseList,
  searchHits,
  selectSummary,
  stringValue,
} from '../helpers/imap-dovecot-wire.js';
import { RawPop } from '../helpers/pop-client.js';
import { startServer, type TestServer } from '../helpers/server.js';
import { numberedParts } from '../helpers/mime-parts.js';
import { CORPUS, load } from '../imap-corpus/index.js';

const DOMAIN = 'example.org'; // the test server's mainDomain
const PASSWORD = 'a secret';
const LISTENERS = [
  { name: 'pop3', module: 'pop', address: '127.0.0.1', port: 0 },
  { name: 'imap', module: 'imap', address: '127.0.0.1', port: 0 },
];

let server: TestServer;
let dovecot: Dovecot;
let accounts: string;

type Side = 'postern' | 'dovecot';
const SIDES: Side[] = ['postern', 'dovecot'];

function signIn(side: Side, user: string): Promise<RawImap> {
  return RawImap.signIn(side === 'postern' ? server.portOf('imap') : dovecot.imapPort, user, `"${PASSWORD}"`);
}

/** Sends `command` and expects OK. */
async function ok(c: RawImap, command: string | Buffer): Promise<ImapAnswer> {
  const answer = await c.command(command);
  if (answer.status !== 'OK') throw new Error(`${String(command).slice(0, 80)}: ${answer.tagged}`);
  return answer;
}

const message = (subject: string, body = 'hello') =>
  `From: Sender <sender@example.net>\nTo: alice@example.org\nSubject: ${subject}\nDate: Tue, 01 Dec 2026 09:00:00 +0000\n\n${body}\n`;

// The differential mailbox: the corpus, then this one (the corpus has no base64 text part to SEARCH BODY in).
const EXTRA_NAME = '35-base64-qp-text.eml';
const EXTRA = Buffer.from(
  [
    'From: Base64 Sender <b64@example.net>',
    'To: carol@example.org',
    'Subject: base64 and quoted-printable text parts',
    'Date: Wed, 20 Nov 2024 10:00:00 +0000',
    'MIME-Version: 1.0',
    'Content-Type: multipart/mixed; boundary="b64x"',
    '',
    '--b64x',
    'Content-Type: text/plain; charset=utf-8',
    'Content-Transfer-Encoding: base64',
    '',
    Buffer.from('Der Zebrafisch zeigt Übermut.\r\n', 'utf8').toString('base64'),
    '--b64x',
    'Content-Type: text/plain; charset=iso-8859-1',
    'Content-Transfer-Encoding: quoted-printable',
    '',
    'Sch=F6ne Gr=FC=DFe vom Quallenhaus.',
    '--b64x--',
    '',
  ].join('\r\n'),
  'latin1',
);
const FILES = [...CORPUS, EXTRA_NAME];
const raw = (file: string) => (file === EXTRA_NAME ? EXTRA : load(file));
/** Message i's INTERNALDATE (its file's mtime, as both servers read it): 2024-01-i 12:00 UTC. */
const arrival = (i: number) => new Date(Date.UTC(2024, 0, i, 12));

beforeAll(async () => {
  server = await startServer({ config: { listeners: LISTENERS } });
  accounts = join(server.dataDir, 'accounts', DOMAIN);
  await server.addAccount('alice', PASSWORD);
  await server.addAccount('carol', PASSWORD);
  // carol's INBOX: the corpus written straight into cur/, names in corpus order (both servers number
  // files by seconds, then microseconds, then the rest of the name), arrival dates one day apart.
  for (const [i, file] of FILES.entries()) {
    const path = join(accounts, 'carol', 'Maildir', 'cur', `1700000000.M1P1Q${String(i + 1).padStart(3, '0')}.host:2,`);
    await writeFile(path, raw(file), { mode: 0o600 });
    await utimes(path, arrival(i + 1), arrival(i + 1));
  }
  for (const user of ['alice', 'carol']) await shareWithDovecot(server.dir, join(accounts, user));
  dovecot = await startDovecot(
    [
      { name: 'alice', password: PASSWORD },
      { name: 'carol', password: PASSWORD },
    ],
    accounts,
  );
}, 60_000);

afterAll(async () => {
  await dovecot?.stop();
  if (server) await server.stop();
});

// ------------------------------------------------------------------------------------------------
// 1. Interop
// ------------------------------------------------------------------------------------------------

interface MailboxView {
  exists: number;
  uidValidity: number;
  uidNext: number;
  /** UID FETCH 1:* (UID FLAGS RFC822.SIZE), normalised */
  messages: { seq: number; items: Record<string, string> }[];
}

async function view(side: Side, mailbox = 'INBOX', user = 'alice'): Promise<MailboxView> {
  const c = await signIn(side, user);
  try {
    const s = selectSummary(await ok(c, `SELECT ${mailbox}`));
    const f = s.exists > 0 ? fetches((await ok(c, 'UID FETCH 1:* (UID FLAGS RFC822.SIZE)')).untagged) : [];
    return { exists: s.exists, uidValidity: s.uidValidity, uidNext: s.uidNext, messages: f };
  } finally {
    c.close();
  }
}

/** The flags of UID `uid`, from a fresh session of `side`. */
async function flagsOf(side: Side, uid: number): Promise<string[]> {
  const c = await signIn(side, 'alice');
  try {
    await ok(c, 'EXAMINE INBOX');
    const f = (await ok(c, `UID FETCH ${uid} (FLAGS)`)).untagged.map(parseFetch).find((x) => x);
    return flagList(f?.items.get('FLAGS') ?? '()');
  } finally {
    c.close();
  }
}

function uidsOf(v: MailboxView): number[] {
  return v.messages.map((m) => Number(m.items.UID));
}

describe('Postern IMAP, Dovecot IMAP and POP on one Maildir', () => {
  it('give the same UIDVALIDITY, UIDNEXT, UIDs, flags and sizes, for mail postern deliver and dovecot-lda delivered', async () => {
    for (let i = 0; i < 2; i++) {
      await server.deliver('alice', message(`postern ${i}`));
      expect(await dovecot.lda('alice', message(`lda ${i}`))).toBe(0);
    }
    const p = await view('postern');
    const d = await view('dovecot');
    expect(p.exists).toBe(4);
    expect(uidsOf(p)).toEqual([1, 2, 3, 4]);
    expect(p).toEqual(d);
    expect(p.uidNext).toBe(5);

    // and with a session of each open on the mailbox: a delivery by each is told to both alike
    const ps = await signIn('postern', 'alice');
    const ds = await signIn('dovecot', 'alice');
    await ok(ps, 'SELECT INBOX');
    await ok(ds, 'SELECT INBOX');
    await server.deliver('alice', message('postern 2'));
    expect(await dovecot.lda('alice', message('lda 2'))).toBe(0);
    expect((await ok(ps, 'NOOP')).untagged).toContain('* 6 EXISTS');
    expect((await ok(ds, 'NOOP')).untagged).toContain('* 6 EXISTS');
    const pf = fetches((await ok(ps, 'UID FETCH 1:* (UID FLAGS RFC822.SIZE)')).untagged);
    const df = fetches((await ok(ds, 'UID FETCH 1:* (UID FLAGS RFC822.SIZE)')).untagged);
    expect(pf.map((m) => Number(m.items.UID))).toEqual([1, 2, 3, 4, 5, 6]);
    expect(pf).toEqual(df);
    ps.close();
    ds.close();
    const p2 = await view('postern');
    expect(p2).toEqual(await view('dovecot'));
    expect(p2.uidNext).toBe(7);
    expect(p2.uidValidity).toBe(p.uidValidity);
  });

  it("flags and keywords set in one show in the other; POP RETR's \\Seen shows in both", async () => {
    const ps = await signIn('postern', 'alice');
    await ok(ps, 'SELECT INBOX');
    // Postern -> Dovecot
    await ok(ps, 'UID STORE 1 +FLAGS (\\Flagged \\Seen $Work)');
    expect(await flagsOf('dovecot', 1)).toEqual(['$Work', '\\Flagged', '\\Seen']);
    const dsel = await signIn('dovecot', 'alice');
    const dflags = selectSummary(await ok(dsel, 'EXAMINE INBOX')).flags;
    expect(dflags).toContain('$Work');
    dsel.close();

    // Dovecot -> Postern: the selected session hears it on NOOP, a fresh one reads it
    const ds = await signIn('dovecot', 'alice');
    await ok(ds, 'SELECT INBOX');
    await ok(ds, 'UID STORE 2 +FLAGS (\\Answered Urgent)');
    const noop = fetches((await ok(ps, 'NOOP')).untagged);
    expect(noop.find((m) => m.seq === 2)?.items.FLAGS).toBe('(Urgent \\Answered)');
    expect(await flagsOf('postern', 2)).toEqual(['Urgent', '\\Answered']);
    // a keyword Dovecot set is in Postern's FLAGS list too (README: "the keywords in use")
    const psel = await signIn('postern', 'alice');
    expect(selectSummary(await ok(psel, 'EXAMINE INBOX')).flags).toEqual(expect.arrayContaining(['$Work', 'Urgent']));
    psel.close();

    // Postern -> Dovecot, removing
    await ok(ps, 'UID STORE 1 -FLAGS (\\Seen)');
    expect(await flagsOf('dovecot', 1)).toEqual(['$Work', '\\Flagged']);

    // POP RETR 3 sets \Seen (POP numbers as IMAP: nothing expunged yet)
    const pop = await RawPop.signIn(server.port, 'alice', PASSWORD);
    expect(await pop.command('RETR 3')).toMatch(/^\+OK/);
    expect((await pop.body()).toString('latin1')).toContain('Subject: postern 1\r\n');
    expect(await pop.command('QUIT')).toMatch(/^\+OK/);
    await pop.closed();
    expect(await flagsOf('postern', 3)).toEqual(['\\Seen']);
    expect(await flagsOf('dovecot', 3)).toEqual(['\\Seen']);
    expect(fetches((await ok(ps, 'NOOP')).untagged).find((m) => m.seq === 3)?.items.FLAGS).toBe('(\\Seen)');
    expect(fetches((await ok(ds, 'NOOP')).untagged).find((m) => m.seq === 3)?.items.FLAGS).toBe('(\\Seen)');
    ps.close();
    ds.close();
    expect(await view('postern')).toEqual(await view('dovecot'));
  });

  it('an expunge in Dovecot reaches a selected Postern session (NOOP, IDLE); one in Postern is gone from Dovecot and POP', async () => {
    const ps = await signIn('postern', 'alice');
    expect(selectSummary(await ok(ps, 'SELECT INBOX')).exists).toBe(6);
    const ds = await signIn('dovecot', 'alice');
    await ok(ds, 'SELECT INBOX');

    await ok(ds, 'UID STORE 4 +FLAGS.SILENT (\\Deleted)');
    expect((await ok(ds, 'EXPUNGE')).untagged).toContain('* 4 EXPUNGE');
    const noop = await ok(ps, 'NOOP');
    expect(noop.untagged.filter((l) => / EXPUNGE$/.test(l))).toEqual(['* 4 EXPUNGE']);
    expect(fetches((await ok(ps, 'FETCH 1:* (UID)')).untagged).map((m) => Number(m.items.UID))).toEqual([1, 2, 3, 5, 6]);

    // IDLE hears the next one within about a second (README), well within 2 s
    ps.send('i1 IDLE\r\n');
    expect(await ps.response()).toMatch(/^\+ /);
    const t0 = Date.now();
    await ok(ds, 'UID STORE 5 +FLAGS.SILENT (\\Deleted)');
    await ok(ds, 'UID EXPUNGE 5');
    const heard: string[] = [];
    while (!heard.some((l) => / EXPUNGE$/.test(l)) && Date.now() - t0 < 2500) heard.push(await ps.response(2500 - (Date.now() - t0)));
    expect(heard.filter((l) => / EXPUNGE$/.test(l))).toEqual(['* 4 EXPUNGE']);
    expect(Date.now() - t0).toBeLessThan(2000);
    ps.send('DONE\r\n');
    expect((await ps.until('i1')).status).toBe('OK');

    // Postern expunges UID 1: gone in Dovecot IMAP (the selected session and a fresh one) and in both POPs
    await ok(ps, 'UID STORE 1 +FLAGS.SILENT (\\Deleted)');
    expect((await ok(ps, 'EXPUNGE')).untagged.filter((l) => / EXPUNGE$/.test(l))).toEqual(['* 1 EXPUNGE']);
    expect((await ok(ds, 'NOOP')).untagged.filter((l) => / EXPUNGE$/.test(l))).toEqual(['* 1 EXPUNGE']);
    ps.close();
    ds.close();
    const d = await view('dovecot');
    expect(uidsOf(d)).toEqual([2, 3, 6]);
    expect(await view('postern')).toEqual(d);
    const uidls: Record<string, string[]> = {};
    for (const [name, port] of [
      ['postern', server.port],
      ['dovecot', dovecot.pop3Port],
    ] as const) {
      const pop = await RawPop.signIn(port, 'alice', PASSWORD);
      expect(await pop.command('STAT')).toMatch(/^\+OK 3 /);
      expect(await pop.command('UIDL')).toMatch(/^\+OK/);
      uidls[name] = await pop.lines();
      expect(await pop.command('QUIT')).toMatch(/^\+OK/);
    }
    expect(uidls.postern).toEqual(uidls.dovecot);
    // Dovecot's UIDL format: UID and UIDVALIDITY, 8 hex digits each
    expect(uidls.postern.map((l) => parseInt(l.split(' ')[1].slice(0, 8), 16))).toEqual([2, 3, 6]);
  });

  it('mailboxes created, renamed and subscribed in Postern are listed the same by Dovecot, names in modified UTF-7', async () => {
    const ps = await signIn('postern', 'alice');
    await ok(ps, 'CREATE "Projekte/B&APw-cher"'); // Projekte/Bücher
    await ok(ps, 'CREATE Caf&AOk-'); // Café
    await ok(ps, 'RENAME "Projekte/B&APw-cher" "Projekte/B&APw-cherei"'); // Projekte/Bücherei
    await ok(ps, 'SUBSCRIBE "Projekte/B&APw-cherei"');
    await ok(ps, 'SUBSCRIBE Caf&AOk-');
    const ds = await signIn('dovecot', 'alice');
    // ... and one made in Dovecot, listed by Postern
    await ok(ds, 'CREATE "Archiv/2026 &AW4-"'); // Archiv/2026 Ů
    await ok(ds, 'SUBSCRIBE "Archiv/2026 &AW4-"');

    const listed = async (c: RawImap, kind: 'LIST' | 'LSUB'): Promise<ListEntry[]> =>
      (await ok(c, `${kind} "" "*"`)).untagged
        .map((l) => parseList(l, kind))
        .filter((e): e is ListEntry => e !== null)
        .sort((a, b) => (a.name < b.name ? -1 : 1));
    const pList = await listed(ps, 'LIST');
    const dList = await listed(ds, 'LIST');
    expect(pList.map((e) => e.name)).toEqual(['Archiv', 'Archiv/2026 &AW4-', 'Caf&AOk-', 'INBOX', 'Projekte', 'Projekte/B&APw-cherei']);
    expect(pList).toEqual(dList);
    const pLsub = await listed(ps, 'LSUB');
    const dLsub = await listed(ds, 'LSUB');
    expect(pLsub.map((e) => e.name)).toEqual(['Archiv/2026 &AW4-', 'Caf&AOk-', 'Projekte/B&APw-cherei']);
    expect(pLsub).toEqual(dLsub);
    // the same UIDVALIDITY and UIDNEXT for the new mailboxes
    for (const box of ['Caf&AOk-', '"Projekte/B&APw-cherei"', '"Archiv/2026 &AW4-"']) {
      const status = async (c: RawImap) =>
        canonical(
          (await ok(c, `STATUS ${box} (MESSAGES UIDNEXT UIDVALIDITY)`)).untagged
            .find((l) => l.startsWith('* STATUS'))!
            .replace(/^\* STATUS ("[^"]*"|\S+) /, '* STATUS _ '),
        );
      expect(await status(ps), box).toBe(await status(ds));
    }
    // an IMAP4rev2 client of Postern gets the same names in UTF-8 (RFC 9051 section 5.1)
    await ok(ps, 'ENABLE IMAP4rev2');
    const utf8 = (await ok(ps, 'LIST "" "*"')).untagged.map((l) => parseList(l)?.name).filter((n) => n);
    expect(utf8.map((n) => Buffer.from(n!, 'latin1').toString('utf8')).sort()).toEqual([
      'Archiv',
      'Archiv/2026 Ů',
      'Café',
      'INBOX',
      'Projekte',
      'Projekte/Bücherei',
    ]);
    ps.close();
    ds.close();
  });

  const appendedText = (who: string, tail: string) =>
    Buffer.from(
      `From: Jürgen <j@example.de>\r\nTo: alice@example.org\r\nSubject: appended by ${who} – Grüße\r\nDate: Tue, 01 Dec 2026 10:00:00 ` +
        `+0100\r\n\r\nZeile 1 äöü\r\n\r\n..dot line\r\n${tail}`,
      'utf8',
    );
  /** APPENDs `bytes` (a LITERAL+ literal) and returns the APPENDUID UID. */
  const append = async (c: RawImap, bytes: Buffer, flags: string): Promise<number> => {
    const answer = await ok(c, Buffer.concat([Buffer.from(`APPEND INBOX (${flags}) {${bytes.length}+}\r\n`), bytes]));
    const m = /\[APPENDUID (\d+) (\d+)\]/.exec(answer.tagged);
    expect(m, answer.tagged).not.toBeNull();
    return Number(m![2]);
  };
  /** BODY[] (as latin1 text), RFC822.SIZE and flags of `uid` in a session of `c`. */
  const stored = async (c: RawImap, uid: number) => {
    await ok(c, 'EXAMINE INBOX');
    const f = (await ok(c, `UID FETCH ${uid} (BODY.PEEK[] RFC822.SIZE FLAGS)`)).untagged.map(parseFetch).find((x) => x)!;
    return { bytes: stringValue(f.items.get('BODY[]')!), size: Number(f.items.get('RFC822.SIZE')), flags: flagList(f.items.get('FLAGS')!) };
  };
  /** APPEND by `from`, then both servers' BODY[] and RFC822.SIZE must be the literal's octets. */
  async function roundTrip(from: Side, bytes: Buffer, flags: string, expectedFlags: string[]): Promise<void> {
    const sessions = { postern: await signIn('postern', 'alice'), dovecot: await signIn('dovecot', 'alice') };
    try {
      const uid = await append(sessions[from], bytes, flags);
      const other = from === 'postern' ? 'dovecot' : 'postern';
      const seen = await stored(sessions[other], uid);
      expect.soft(seen.bytes, `${other}'s BODY[] of what ${from} appended`).toBe(bytes.toString('latin1'));
      expect.soft(seen.size, `${other}'s RFC822.SIZE`).toBe(bytes.length);
      expect(seen.flags).toEqual(expectedFlags);
      expect
        .soft(await stored(sessions[from], uid), `${from}'s own FETCH`)
        .toEqual({ bytes: bytes.toString('latin1'), size: bytes.length, flags: expectedFlags });
    } finally {
      sessions.postern.close();
      sessions.dovecot.close();
    }
  }

  it('APPEND in Postern, FETCH BODY[] in Dovecot gives the same bytes, and the other way', async () => {
    await roundTrip('postern', appendedText('Postern', 'last line\r\n'), '\\Seen $Work', ['$Work', '\\Seen']);
    await roundTrip('dovecot', appendedText('Dovecot', 'last line\r\n'), '\\Flagged', ['\\Flagged']);
    expect(await view('postern')).toEqual(await view('dovecot'));
  });

  // RFC 5322 section 3.5: body = *(*998text CRLF) *998text - the last line of a body need not end in
  // CRLF; APPEND stores "the literal argument as a new message" (RFC 9051 section 6.3.12), and BODY[] and
  // RFC822.SIZE are that message's octets (sections 7.5.2, 2.3.4). Dovecot keeps the octets as they came.
  it('APPEND of a message whose last line has no line break: both servers give back exactly its octets', async () => {
    await roundTrip('postern', appendedText('Postern', 'last line without a break'), '\\Seen', ['\\Seen']);
    await roundTrip('dovecot', appendedText('Dovecot', 'last line without a break'), '\\Seen', ['\\Seen']);
    expect(await view('postern')).toEqual(await view('dovecot'));
  });

  // The same for a message large enough that Postern streams its BODY[] (over 256 KiB): the literal's
  // count must be the number of octets that follow (RFC 9051 section 4.3), and RFC822.SIZE that count.
  it("a large message Dovecot stored without a final line break: Postern's BODY[] is the same answer as Dovecot's", async () => {
    const line = `${'x'.repeat(76)}\r\n`;
    const big = Buffer.from(`Subject: big, no final line break\r\n\r\n${line.repeat(4000)}the end`, 'latin1');
    const ds = await signIn('dovecot', 'alice');
    const uid = await append(ds, big, '\\Seen');
    const ps = await signIn('postern', 'alice');
    const answers: Record<Side, { untagged: string[]; size: string }> = {} as never;
    for (const [side, c] of [
      ['postern', ps],
      ['dovecot', ds],
    ] as const) {
      await ok(c, 'EXAMINE INBOX');
      const size = fetches((await ok(c, `UID FETCH ${uid} (RFC822.SIZE)`)).untagged)[0]?.items['RFC822.SIZE'];
      const body = await ok(c, `UID FETCH ${uid} (BODY.PEEK[])`);
      answers[side] = {
        untagged: body.untagged.map((u) => (u.length > 200 ? `${u.slice(0, 60)}...${JSON.stringify(u.slice(-20))} (${u.length})` : u)),
        size,
      };
    }
    ps.close();
    ds.close();
    expect(answers.dovecot.size).toBe(String(big.length));
    expect(answers.postern).toEqual(answers.dovecot);
  });
});

// ------------------------------------------------------------------------------------------------
// 2. Differential
// ------------------------------------------------------------------------------------------------

/** A normalised answer: tagged status (and code for NO/BAD) and the normalised FETCH responses. */
interface Outcome {
  status: string;
  fetch: { seq: number; items: Record<string, string> }[];
}

function outcome(a: ImapAnswer): Outcome {
  const status = a.status === 'OK' ? 'OK' : `${a.status} ${/\[([A-Z-]+)/.exec(a.tagged)?.[1] ?? ''}`.trim();
  return { status, fetch: fetches(a.untagged) };
}

function items(file: string): string[] {
  const list = [
    'ENVELOPE',
    'BODYSTRUCTURE',
    'BODY',
    'BODY.PEEK[HEADER]',
    'BODY.PEEK[TEXT]',
    'BODY.PEEK[HEADER.FIELDS (FROM SUBJECT)]',
    'RFC822.SIZE',
    'BINARY.PEEK[1]',
    'BINARY.SIZE[1]',
  ];
  for (const p of numberedParts(parseMime(raw(file))).map(([path]) => path.join('.'))) list.push(`BODY.PEEK[${p}]`, `BODY.PEEK[${p}.MIME]`);
  return list;
}

/** What the RFC calls for, where Dovecot answers otherwise: the FETCH item's normalised value. */
type Expected = (dovecotAnswers: Map<string, Outcome>) => Outcome;
const DEVIATIONS: Record<string, Record<string, { why: string; expect: Expected }>> = {};

function deviate(file: string, item: string, why: string, value: string | Expected): void {
  const seq = FILES.indexOf(file) + 1;
  const name = item.replace('.PEEK', '');
  (DEVIATIONS[file] ??= {})[item] = {
    why,
    expect: typeof value === 'function' ? value : () => ({ status: 'OK', fetch: [{ seq, items: { [name]: value } }] }),
  };
}
const asString = (b: Buffer) => JSON.stringify(b.toString('latin1'));
{
  // 18: no MIME-Version, so its Content-Transfer-Encoding: base64 means nothing (RFC 2045 section 4);
  // Dovecot decodes anyway and fails (NO [PARSE]). BINARY[1] is the body as it is.
  const f = '18-no-mime-version.eml';
  const body = load(f).subarray(load(f).indexOf('\r\n\r\n') + 4);
  const why = 'not MIME: CTE ignored (RFC 2045 section 4)';
  deviate(f, 'BINARY.PEEK[1]', why, asString(body));
  deviate(f, 'BINARY.SIZE[1]', why, String(body.length));
}
{
  // 20: Dovecot answers NO [PARSE] to quoted-printable with "=ZZ" (and NO [UNKNOWN-CTE] to BINARY.SIZE
  // of every part of this message). RFC 2045 section 6.7 note 2: a "=" not starting an escape is kept;
  // RFC 3516 section 4.2: BINARY.SIZE is the size of the decoded part.
  const f = '20-binary-encodings.eml';
  const qp = Buffer.from('Grüße  trailing spaces\r\nsoftbreak and = equals, lower é and bad =ZZ escape', 'utf8');
  const why = 'lenient quoted-printable (RFC 2045 section 6.7); BINARY.SIZE is the decoded size (RFC 3516 section 4.2)';
  deviate(f, 'BINARY.PEEK[1]', why, asString(qp));
  deviate(f, 'BINARY.SIZE[1]', why, String(qp.length));
}
{
  // 11: two Content-Transfer-Encoding fields (7bit, then base64): BODYSTRUCTURE (both servers') goes by
  // the first; Dovecot's BINARY by another, and fails (NO [PARSE]). Postern keeps BINARY consistent with
  // BODYSTRUCTURE: 7bit, sent as it is.
  const f = '11-duplicate-headers.eml';
  const body = load(f).subarray(load(f).indexOf('\r\n\r\n') + 4);
  const why = 'the first Content-Transfer-Encoding counts, as in BODYSTRUCTURE';
  deviate(f, 'BINARY.PEEK[1]', why, asString(body));
  deviate(f, 'BINARY.SIZE[1]', why, String(body.length));
}
{
  // 27: a base64 message/rfc822 part (RFC 2046 section 5.2.1 forbids it): Dovecot's BINARY[1] gives it
  // as it is but its BINARY.SIZE[1] says 0. RFC 3516 section 4.2: BINARY.SIZE is the size of what BINARY
  // returns - Dovecot's own BINARY[1] answer here.
  const f = '27-rfc822-base64.eml';
  const seq = FILES.indexOf(f) + 1;
  deviate(f, 'BINARY.SIZE[1]', 'BINARY.SIZE is the size of BINARY (RFC 3516 section 4.2)', (d) => {
    const binary = d.get('BINARY.PEEK[1]')!.fetch[0].items['BINARY[1]'];
    return {
      status: 'OK',
      fetch: [{ seq, items: { 'BINARY.SIZE[1]': String(Buffer.from(JSON.parse(binary) as string, 'latin1').length) } }],
    };
  });
}

// 32: an empty message: Dovecot answers HEADER.FIELDS with a blank line. RFC 3501 section 6.4.5: the
// blank line is included "except in the case of a message which has no body and no blank line".
deviate('32-empty.eml', 'BODY.PEEK[HEADER.FIELDS (FROM SUBJECT)]', 'no blank line in a message without one (RFC 3501 section 6.4.5)', '""');
// 16: a header and nothing else - no blank line, no body: the same rule (Dovecot adds the blank line).
deviate(
  '16-no-body-separator.eml',
  'BODY.PEEK[HEADER.FIELDS (FROM SUBJECT)]',
  'no blank line in a message without one (RFC 3501 section 6.4.5)',
  JSON.stringify('From: nobody@example.org\r\nSubject: header only, no separator\r\n'),
);

/** A UTF-8 search string as a non-synchronising literal (LITERAL+, both servers have it). */
const u8 = (text: string) => `{${Buffer.byteLength(text)}+}\r\n${text}`;

/** SEARCH criteria compared between the servers (after the STOREs below). */
const SEARCHES = [
  'ALL',
  'SEEN',
  'UNSEEN',
  'FLAGGED',
  'UNFLAGGED',
  'KEYWORD $Work',
  'UNKEYWORD $Work',
  'SEEN UNFLAGGED',
  'FROM alice',
  'FROM "example.com"',
  'TO bob',
  'TO Keith',
  'CC dave',
  'CC "Jr."',
  'BCC eve',
  'SUBJECT message',
  'SUBJECT digest',
  'SUBJECT "folded over"',
  `CHARSET UTF-8 FROM ${u8('André')}`,
  `CHARSET UTF-8 FROM ${u8('Müller')}`,
  `CHARSET UTF-8 TO ${u8('Ünïcödé')}`,
  `CHARSET UTF-8 SUBJECT ${u8('café')}`,
  `CHARSET UTF-8 SUBJECT ${u8('Grüße')}`,
  'HEADER X-Unknown ""',
  'HEADER X-Unknown folded',
  'HEADER Message-ID example.org',
  'HEADER Content-Type multipart',
  'BODY Hello',
  'BODY dash',
  'BODY Zebrafisch',
  `CHARSET UTF-8 BODY ${u8('Übermut')}`,
  `CHARSET UTF-8 BODY ${u8('Schöne')}`,
  'BODY Quallenhaus',
  `CHARSET UTF-8 BODY ${u8('crème')}`,
  'TEXT Zebrafisch',
  'TEXT Keith',
  'TEXT Subject',
  'LARGER 1000',
  'SMALLER 300',
  'LARGER 500 SMALLER 2000',
  'BEFORE 10-Jan-2024',
  'SINCE 20-Jan-2024',
  'ON 15-Jan-2024',
  'SINCE 5-Jan-2024 BEFORE 8-Jan-2024',
  'SENTBEFORE 7-Nov-2024',
  'SENTSINCE 10-Nov-2024',
  'SENTON 9-Nov-2024',
  'OR FROM alice SUBJECT digest',
  'NOT SEEN',
  'NOT OR SEEN FLAGGED',
  'OR (FROM example.org SEEN) LARGER 2000',
  'UID 2:5,30:*',
  'UID 10',
  '1,3,5:7',
  '30:*',
  '*',
  '5:8 UNSEEN',
  'UID 1:* NOT 1:10',
];

describe('the same session to Postern and to Dovecot, over the corpus', () => {
  const sessions = {} as Record<Side, RawImap>;
  /** Sends one command to both (each waits for its answer) and returns both answers. */
  const both = async (command: string): Promise<Record<Side, ImapAnswer>> => {
    const [p, d] = await Promise.all(SIDES.map((s) => sessions[s].command(command)));
    return { postern: p, dovecot: d };
  };

  beforeAll(async () => {
    for (const s of SIDES) sessions[s] = await signIn(s, 'carol');
  });
  afterAll(() => {
    for (const s of SIDES) sessions[s]?.close();
  });

  it('SELECT INBOX: the same EXISTS, UIDVALIDITY, UIDNEXT, FLAGS, PERMANENTFLAGS, UNSEEN and READ-WRITE', async () => {
    // Postern first, then Dovecot: whichever comes first numbers the files; the other must agree
    const p = selectSummary(await ok(sessions.postern, 'SELECT INBOX'));
    const d = selectSummary(await ok(sessions.dovecot, 'SELECT INBOX'));
    expect(p.exists).toBe(FILES.length);
    expect(p.uidNext).toBe(FILES.length + 1);
    expect(p).toEqual(d);
    // RFC822.SIZE is the message's octets (RFC 9051 section 2.3.4), the same from both servers for the
    // same file - including 16-no-body-separator.eml, whose last line has no line break
    const uids = await both('UID FETCH 1:* (UID RFC822.SIZE)');
    expect(fetches(uids.postern.untagged)).toEqual(fetches(uids.dovecot.untagged));
  });

  it('FETCH ENVELOPE, BODYSTRUCTURE, BODY, sections, .MIME, HEADER.FIELDS, RFC822.SIZE, BINARY of every message', async () => {
    const mismatches: string[] = [];
    let compared = 0;
    for (const [i, file] of FILES.entries()) {
      const theirs = new Map<string, Outcome>();
      const ours = new Map<string, Outcome>();
      for (const item of items(file)) {
        const a = await both(`FETCH ${i + 1} (${item})`);
        ours.set(item, outcome(a.postern));
        theirs.set(item, outcome(a.dovecot));
      }
      for (const [item, mine] of ours) {
        const deviation = DEVIATIONS[file]?.[item];
        const reference = deviation ? deviation.expect(theirs) : theirs.get(item)!;
        compared++;
        const a = JSON.stringify(mine);
        const b = JSON.stringify(reference);
        if (a !== b)
          mismatches.push(
            `${file} FETCH ${i + 1} (${item})${deviation ? ` [${deviation.why}]` : ''}\n  Postern: ${a.slice(0, 600)}\n ` +
              ` ${deviation ? 'RFC' : 'Dovecot'}: ${b.slice(0, 600)}`,
          );
      }
    }
    expect(mismatches.join('\n')).toBe('');
    expect(compared).toBeGreaterThan(FILES.length * 10);
  }, 30_000);

  it('SEARCH gives the same hits for every key, before and after STOREs made by each server', async () => {
    const mismatches: string[] = [];
    const compare = async (criteria: string) => {
      for (const prefix of ['SEARCH', 'UID SEARCH']) {
        const a = await both(`${prefix} ${criteria}`);
        const p = a.postern.status === 'OK' ? searchHits(a.postern.untagged) : outcome(a.postern).status;
        const d = a.dovecot.status === 'OK' ? searchHits(a.dovecot.untagged) : outcome(a.dovecot).status;
        if (JSON.stringify(p) !== JSON.stringify(d))
          mismatches.push(`${prefix} ${criteria.replace(/\r\n/g, ' ')}\n  Postern: ${JSON.stringify(p)}\n  Dovecot: ${JSON.stringify(d)}`);
      }
    };
    for (const c of ['ALL', 'SEEN', 'UNSEEN']) await compare(c);
    expect(searchHits((await ok(sessions.postern, 'SEARCH UNSEEN')).untagged)).toHaveLength(FILES.length);

    // STOREs by Postern, then by Dovecot; each server's session learns the other's on NOOP
    await ok(sessions.postern, 'STORE 1:5,9 +FLAGS.SILENT (\\Seen)');
    await ok(sessions.postern, 'STORE 3,22 +FLAGS.SILENT ($Work)');
    await ok(sessions.dovecot, 'NOOP');
    await ok(sessions.dovecot, 'STORE 7,8,22 +FLAGS.SILENT (\\Flagged)');
    await ok(sessions.postern, 'NOOP');
    const flags = await both('FETCH 1:* (FLAGS)');
    const pf = fetches(flags.postern.untagged);
    expect(pf).toEqual(fetches(flags.dovecot.untagged));
    expect(pf[21]).toEqual({ seq: 22, items: { FLAGS: '($Work \\Flagged)' } });

    for (const c of SEARCHES) await compare(c);
    // not vacuous: the keys find something
    expect(searchHits((await ok(sessions.postern, 'SEARCH BODY Zebrafisch')).untagged)).toEqual([FILES.length]);
    expect(searchHits((await ok(sessions.postern, 'SEARCH SEEN')).untagged)).toEqual([1, 2, 3, 4, 5, 9]);

    // message numbers and UIDs apart: Postern expunges message 2, Dovecot learns it on NOOP
    await ok(sessions.postern, 'STORE 2 +FLAGS.SILENT (\\Deleted)');
    expect((await ok(sessions.postern, 'EXPUNGE')).untagged).toContain('* 2 EXPUNGE');
    expect((await ok(sessions.dovecot, 'NOOP')).untagged).toContain('* 2 EXPUNGE');
    for (const c of [
      'ALL',
      'SEEN',
      'UID 2:5,30:*',
      '1,3,5:7',
      '30:*',
      '*',
      'UID 1:* NOT 1:10',
      'OR 1:3 UID 33:*',
      'BODY Zebrafisch',
      'DELETED',
      'UNDELETED',
    ])
      await compare(c);
    expect(searchHits((await ok(sessions.postern, 'SEARCH SEEN')).untagged)).toEqual([1, 2, 3, 4, 8]);
    expect(searchHits((await ok(sessions.postern, 'UID SEARCH 30:*')).untagged)).toEqual([31, 32, 33, 34, 35]);
    expect(mismatches.join('\n')).toBe('');
  });
});

describe('afterwards', () => {
  it('Dovecot logged no error or warning about the shared Maildir', async () => {
    const problems = (await dovecot.log()).split('\n').filter((l) => /\b(Warning|Error|Fatal|Panic):/.test(l));
    expect(problems).toEqual([]);
  });
});
