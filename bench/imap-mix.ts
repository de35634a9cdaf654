// One client session of the mixed IMAP load (issue 20), the mix Dovecot's imaptest runs by default and
// that busy sites see: LOGIN, SELECT INBOX, FETCH of flags and envelopes, FETCH of a few bodies, STORE
// (half the clients; a third of those with a keyword), a \Deleted STORE, EXPUNGE, APPEND, LIST and STATUS
// (the other half), LOGOUT. Each session deletes one message and appends one, so a mailbox keeps its
// size however long the run: the message a client deletes is the one it appended in its session before
// (by the UID the APPENDUID of RFC 4315 gave it; a random one in its first session). Deleting a random
// message each time let a mailbox grow when several clients share it: two sessions that flag the same
// message delete one between them and append two (one INBOX under 50 clients went from 200 messages to
// 1,900 in a minute, and each FETCH of its envelopes with it). Randomness comes from a seeded generator:
// every server gets the same script.
import type { ImapAnswer, ImapClient } from './imap-client.js';

/** A small seeded generator (mulberry32): the same seed, the same sequence. */
export function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const SYSTEM = ['\\Seen', '\\Answered', '\\Flagged', '\\Draft'];
const KEYWORDS = ['$Label1', '$Label2', 'Work', 'Later'];
const BODY_LINE = 'A message of the mixed load, written by the benchmark, about 3 KB long in all.\r\n';

function appended(client: number, n: number): string {
  return (
    `From: Mix Client ${client} <mix${client}@example.org>\r\nTo: someone@example.org\r\n` +
    `Subject: mix ${client}.${n}\r\nDate: ${new Date().toUTCString().replace('GMT', '+0000')}\r\n` +
    `Message-ID: <mix.${client}.${n}.${Date.now()}@bench.example>\r\n\r\n${BODY_LINE.repeat(36)}`
  );
}

/** What a client carries from one session to its next: the UID of the message it appended (null: none yet). */
export interface MixClientState {
  appended: number | null;
}

export interface MixCounters {
  /** Called for each command's answer: its verb and whether it was OK. */
  answered(verb: string, ok: boolean): void;
}

/** Runs one whole session on a connected client (greeting read); resolves after LOGOUT. */
export async function mixSession(
  c: ImapClient,
  user: string,
  password: string,
  client: number,
  round: number,
  random: () => number,
  counters: MixCounters,
  state: MixClientState,
): Promise<void> {
  const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)];
  const run = async (verb: string, line: string, keep = false): Promise<ImapAnswer> => {
    const a = await c.command(line, keep);
    counters.answered(verb, a.ok);
    if (!a.ok && /^BAD/.test(a.status)) throw new Error(`${verb}: ${a.status}`);
    return a;
  };
  const login = await run('LOGIN', `LOGIN "${user}" "${password}"`);
  if (!login.ok) throw new Error(`LOGIN: ${login.status}`);
  const select = await run('SELECT', 'SELECT INBOX', true);
  let exists = 0;
  for (const l of select.lines) {
    const m = /^\* (\d+) EXISTS/.exec(l);
    if (m) exists = Number(m[1]);
  }
  if (exists > 0) {
    await run('FETCH', `FETCH 1:${exists} (UID FLAGS ENVELOPE)`);
    for (let i = 0; i < 3; i++) await run('FETCH', `FETCH ${1 + Math.floor(random() * exists)} BODY.PEEK[]`);
    if (client % 2 === 0) {
      const flags = [pick(SYSTEM)];
      if (client % 6 === 0) flags.push(pick(KEYWORDS));
      await run('STORE', `STORE ${1 + Math.floor(random() * exists)} ${pick(['+FLAGS', '-FLAGS'])} (${flags.join(' ')})`);
    }
    const doomed = 1 + Math.floor(random() * exists); // (drawn either way: the script stays the same)
    const own = state.appended;
    await run('STORE', own === null ? `STORE ${doomed} +FLAGS.SILENT (\\Deleted)` : `UID STORE ${own} +FLAGS.SILENT (\\Deleted)`);
    await run('EXPUNGE', 'EXPUNGE');
  }
  const message = appended(client, round);
  const flags = client % 3 === 0 ? `(\\Seen ${pick(KEYWORDS)}) ` : '';
  const append = await run('APPEND', `APPEND INBOX ${flags}{${Buffer.byteLength(message)}+}\r\n${message}`);
  const uid = /\[APPENDUID \d+ (\d+)\]/i.exec(append.status);
  state.appended = uid ? Number(uid[1]) : null;
  if (client % 2 === 1) {
    await run('LIST', 'LIST "" "*"');
    await run('STATUS', 'STATUS INBOX (MESSAGES UNSEEN UIDNEXT)');
  }
  await run('LOGOUT', 'LOGOUT');
  c.close();
}
