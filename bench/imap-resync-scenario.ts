// Scenario 7 of the IMAP part (issue 22): a client that was away resyncs the 100,000-message mailbox with
// QRESYNC (RFC 7162) after 100 flag changes and 10 expunges made by another session: SELECT INBOX (QRESYNC
// (uidvalidity modseq)), then UID FETCH 1:* (FLAGS) (CHANGEDSINCE modseq) as a CONDSTORE client asks, in ms
// and octets the server sent, against what a client without them pays: a plain SELECT and UID FETCH 1:*
// (FLAGS). Targets: at most Dovecot's time, and at most 1/100 of the full fetch's octets. The 10 messages
// expunged are 10 appended first, so the mailbox keeps its size for the scenarios after it.
import { ImapClient } from './imap-client.js';
import type { Credentials } from './protocol.js';
import type { BenchServer } from './server.js';

export interface ImapTimed {
  ms: number;
  octets: number;
  /** Untagged responses. */
  responses: number;
}

export interface ImapResyncFigures {
  account: string;
  messages: number;
  flagChanges: number;
  expunges: number;
  /** Medians over the rounds (octets are the same each round). */
  qresyncSelect: ImapTimed;
  changedSince: ImapTimed;
  plainSelect: ImapTimed;
  fullFetch: ImapTimed;
  /** QRESYNC SELECT + UID FETCH (CHANGEDSINCE), ms and octets. */
  resyncMs: number;
  resyncOctets: number;
  /** resyncOctets / fullFetch.octets. */
  octetShare: number;
  /** The VANISHED (EARLIER) the QRESYNC SELECT sent (its first 80 characters). */
  vanished: string | null;
}

const FLAG_CHANGES = 100;
const EXPUNGES = 10;
const ROUNDS = 3;

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

function code(lines: readonly string[], name: string): number {
  for (const l of lines) {
    const m = new RegExp(`\\[${name} (\\d+)\\]`).exec(l);
    if (m) return Number(m[1]);
  }
  throw new Error(`no ${name} in the SELECT answer`);
}

async function session(server: BenchServer, login: Credentials): Promise<ImapClient> {
  const c = await ImapClient.connect(server.imap.clear, 300_000);
  await c.login(login.user, login.password);
  await c.ok('ENABLE QRESYNC');
  return c;
}

async function timed(c: ImapClient, command: string, keep = false): Promise<ImapTimed & { lines: string[] }> {
  const t0 = performance.now();
  const a = await c.ok(command, keep);
  return { ms: performance.now() - t0, octets: a.octets, responses: a.untagged, lines: a.lines };
}

export async function runResync(server: BenchServer, login: Credentials, messages: number): Promise<ImapResyncFigures> {
  // the client's last visit: 10 messages appended (to be expunged later), then UIDVALIDITY and HIGHESTMODSEQ
  const setup = await session(server, login);
  for (let i = 0; i < EXPUNGES; i++) {
    const body = `From: bench@example.org\r\nSubject: resync ${i}\r\n\r\nto be expunged\r\n`;
    await setup.ok(`APPEND INBOX {${body.length}+}\r\n${body}`);
  }
  const select = await setup.ok('SELECT INBOX', true);
  const uidValidity = code(select.lines, 'UIDVALIDITY');
  const uidNext = code(select.lines, 'UIDNEXT');
  const modseq = code(select.lines, 'HIGHESTMODSEQ');
  await setup.logout();

  // another session changes 100 messages' flags (one STORE each, spread over the mailbox) and expunges 10
  const other = await session(server, login);
  await other.ok('SELECT INBOX');
  const step = Math.max(1, Math.floor((uidNext - 1 - EXPUNGES) / FLAG_CHANGES));
  for (let i = 0; i < FLAG_CHANGES; i++) await other.ok(`UID STORE ${1 + i * step} +FLAGS.SILENT (\\Flagged)`);
  const doomed = `${uidNext - EXPUNGES}:${uidNext - 1}`;
  await other.ok(`UID STORE ${doomed} +FLAGS.SILENT (\\Deleted)`);
  await other.ok(`UID EXPUNGE ${doomed}`);
  await other.logout();

  const rounds: { q: ImapTimed; c: ImapTimed; p: ImapTimed; f: ImapTimed; vanished: string | null }[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    // the returning client: QRESYNC SELECT, then the CONDSTORE fetch of what changed
    const back = await session(server, login);
    const q = await timed(back, `SELECT INBOX (QRESYNC (${uidValidity} ${modseq}))`, true);
    const c = await timed(back, `UID FETCH 1:* (FLAGS) (CHANGEDSINCE ${modseq})`);
    await back.logout();
    // a client without them: SELECT and every message's flags
    const plain = await session(server, login);
    const p = await timed(plain, 'SELECT INBOX');
    const f = await timed(plain, 'UID FETCH 1:* (FLAGS)');
    await plain.logout();
    rounds.push({ q, c, p, f, vanished: q.lines.find((l) => l.startsWith('* VANISHED'))?.slice(0, 80) ?? null });
  }
  const med = (get: (x: (typeof rounds)[number]) => ImapTimed): ImapTimed => {
    const list = rounds.map(get);
    return { ms: median(list.map((x) => x.ms)), octets: list[0].octets, responses: list[0].responses };
  };
  const qresyncSelect = med((x) => x.q);
  const changedSince = med((x) => x.c);
  const fullFetch = med((x) => x.f);
  const resyncOctets = qresyncSelect.octets + changedSince.octets;
  return {
    account: login.user,
    messages,
    flagChanges: FLAG_CHANGES,
    expunges: EXPUNGES,
    qresyncSelect,
    changedSince,
    plainSelect: med((x) => x.p),
    fullFetch,
    resyncMs: median(rounds.map((x) => x.q.ms + x.c.ms)),
    resyncOctets,
    octetShare: fullFetch.octets > 0 ? resyncOctets / fullFetch.octets : 0,
    vanished: rounds[0].vanished,
  };
}
