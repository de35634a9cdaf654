// Command-line flags of `npm run bench -- [flags]`.
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import type { MailboxSpec } from './maildir-gen.js';
import { SERVER_NAMES, type ServerName } from './server.js';

export interface Options {
  quick: boolean;
  servers: ServerName[];
  /** Concurrency of the "many clients" session runs (the other runs use 1). */
  concurrency: number;
  warmupMs: number;
  durationMs: number;
  /** Idle signed-in sessions held open for the memory reading. */
  idleSessions: number;
  /** Generator processes sharing the idle sessions. */
  idleProcesses: number;
  /** RETR passes over each mailbox: the first download, then repeats (the median is judged). */
  retrPasses: number;
  keep: boolean;
  /** Postern runs under `node --cpu-prof` and writes its CPU profiles here; null: no profiling. */
  profileDir: string | null;
  /** Where the JSON results go; null: nowhere. */
  out: string | null;
  mailboxes: Mailboxes;
  /** The protocols measured: POP3 (the scenarios of issue 7), IMAP (imap-scenarios.ts), or both. */
  protocols: Protocol[];
  /** Idle IMAP sessions (LOGIN, SELECT INBOX, IDLE) held open for the IMAP memory reading. */
  imapIdleSessions: number;
  /** The IMAP scenarios run (all by default). */
  imapParts: ImapPart[];
  /** The IDLE fan-out: sessions in IDLE, how many of them watch one INBOX, Postern's worker processes. */
  watchSessions: number;
  watchers: number;
  watchWorkers: number;
  /** Postern's worker processes for the mixed load (1: the target's terms). */
  mixWorkers: number;
  /**
   * The same load run before each mixed-load run is measured (ms): the measured window is a server in its steady
   * state (index and cache files made, code compiled), not its first seconds on a tree just generated.
   */
  mixWarmupMs: number;
  /** The `sieve` part (sieve-scenario.ts): accounts delivered to, and concurrent LMTP clients. */
  sieveAccounts: number;
  sieveClients: number;
  /** The `directory` part (directory-sign-ins.ts): seconds per run, concurrent POP clients, users. */
  directorySeconds: number;
  directoryClients: number;
  directoryUsers: number;
  /** The `search` part (search-scenario.ts): messages of its mailbox, warm repeats of each command. */
  searchMessages: number;
  searchRuns: number;
}

export type ImapPart = 'select' | 'sessions' | 'fetch' | 'mix' | 'idle' | 'watch' | 'compress' | 'resync' | 'sort';
export const IMAP_PARTS: ImapPart[] = ['select', 'sessions', 'fetch', 'mix', 'idle', 'watch', 'compress', 'resync', 'sort'];

/** sieve: LMTP deliveries with Sieve scripts beside Dovecot LMTP + Pigeonhole (sieve-scenario.ts, issue 23).
 * directory: sign-ins against PostgreSQL and slapd beside Dovecot's pgsql and ldap drivers (directory-sign-ins.ts, issue 24).
 * search: SEARCH TEXT and FROM over a large mailbox beside Dovecot without FTS and with fts_xapian (search-scenario.ts, issue 25). */
export type Protocol = 'pop3' | 'imap' | 'sieve' | 'directory' | 'search';
export const PROTOCOLS: Protocol[] = ['pop3', 'imap', 'sieve', 'directory', 'search'];

/** The mailboxes every server gets, by role. */
export interface Mailboxes {
  retrSmall: MailboxSpec;
  retrLarge: MailboxSpec;
  huge: MailboxSpec;
  session: MailboxSpec;
  idle: MailboxSpec[];
  /** The IMAP SELECT scenario's mailbox: never opened by POP3, so its first SELECT finds no index. */
  imapHuge: MailboxSpec;
  /** The mixed IMAP load's ten users (the one-user runs use the first). */
  mix: MailboxSpec[];
  /** The INBOX thousands of IDLE sessions watch (imap-watch-scenario.ts). */
  watch: MailboxSpec;
  /**
   * The SORT and THREAD mailbox (sort-scenario.ts): made empty with the others, then `threaded` messages
   * in threads are written into it when the scenario starts.
   */
  sort: MailboxSpec & { threaded: number };
}

const KiB = 1024;
const MiB = 1024 * 1024;

function mailboxes(quick: boolean): Mailboxes {
  return {
    retrSmall: { account: 'retr5k', messages: quick ? 300 : 2000, size: 5 * KiB },
    retrLarge: { account: 'retr10m', messages: quick ? 4 : 20, size: 10 * MiB },
    huge: { account: 'list100k', messages: quick ? 20_000 : 100_000, size: 600 },
    session: { account: 'session', messages: 20, size: 2 * KiB },
    // Idle sessions are spread over a few accounts (each `account add` costs a scrypt hash).
    idle: Array.from({ length: 10 }, (_, i) => ({ account: `idle${i}`, messages: 20, size: 2 * KiB })),
    imapHuge: { account: 'imap100k', messages: quick ? 20_000 : 100_000, size: 600 },
    mix: Array.from({ length: 10 }, (_, i) => ({ account: `mix${i}`, messages: quick ? 50 : 200, size: 3 * KiB })),
    watch: { account: 'watch', messages: 20, size: 2 * KiB },
    sort: { account: 'sort100k', messages: 0, size: 0, threaded: quick ? 20_000 : 100_000 },
  };
}

export const USAGE = `usage: npm run bench -- [flags]

  --quick              short smoke run: smaller mailboxes, 2 s runs, 500 idle sessions
  --only LIST          servers to measure, comma-separated: ${SERVER_NAMES.join(',')} (default: all)
  --concurrency N      clients of the concurrent session runs (default 32; the other runs use 1)
  --duration S         measured seconds of each session run (default 5, quick 2)
  --warmup S           warm-up seconds before each session run (default 1, quick 0.5)
  --idle N             idle signed-in sessions for the memory reading (default 5000, quick 500)
  --idle-procs N       generator processes holding them (default 2)
  --retr-passes N      RETR passes per mailbox (default 11, quick 2); also the IMAP FETCH BODY[] passes
  --protocols LIST     parts to measure, comma-separated: ${PROTOCOLS.join(',')} (default: all; imap = the IMAP part only)
  --imap-idle N        idle IMAP sessions (LOGIN, SELECT, IDLE) for the IMAP memory reading (default 2000, quick 500)
  --imap-parts LIST    IMAP scenarios to run, comma-separated: ${IMAP_PARTS.join(',')} (default: all)
  --watch N            IMAP sessions in IDLE for the fan-out reading (default 20000, quick 2000)
  --watchers N         how many of them watch the INBOX that gets the new message (default 5000, quick 500)
  --watch-workers N    Postern's worker processes for it (default 2: one process may hold 20,000 files here)
  --mix-workers N      Postern's worker processes for the mixed load (default 1, the target's terms)
  --mix-warmup S       seconds of the same load before each mixed-load run is measured (default 10, quick 1)
  --sieve-accounts N   accounts of the sieve part, each with the 20-rule script (default 20, quick 5)
  --sieve-clients N    concurrent LMTP clients of the sieve part (default 8, quick 4)
  --directory-seconds S  seconds of each run of the directory part (default 10, quick 3)
  --directory-clients N  concurrent POP clients of the directory part (default 8, quick 4)
  --directory-users N    users in its PostgreSQL and slapd (default 200, quick 50)
  --search-messages N  messages of the search part's mailbox (default 100000, quick 20000)
  --search-runs N      warm repeats of each SEARCH command (default 11)
  --out FILE           JSON results (default bench/results.json); --out - prints no JSON file
  --keep               keep the temporary folder (its path is printed)
  --profile DIR        run Postern under node --cpu-prof; a .cpuprofile per server start goes to DIR
  --help               this text
`;

function positive(name: string, value: string | undefined, fallback: number, integer = true): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0 || (integer && !Number.isInteger(n)))
    throw new Error(`--${name}: expected a ${integer ? 'whole ' : ''}number above 0, got "${value}"`);
  return n;
}

export function parseOptions(argv: string[], defaultOut: string): Options | 'help' {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      quick: { type: 'boolean', default: false },
      only: { type: 'string' },
      concurrency: { type: 'string' },
      duration: { type: 'string' },
      warmup: { type: 'string' },
      idle: { type: 'string' },
      'idle-procs': { type: 'string' },
      'retr-passes': { type: 'string' },
      protocols: { type: 'string' },
      'imap-idle': { type: 'string' },
      'imap-parts': { type: 'string' },
      watch: { type: 'string' },
      watchers: { type: 'string' },
      'watch-workers': { type: 'string' },
      'mix-workers': { type: 'string' },
      'mix-warmup': { type: 'string' },
      'sieve-accounts': { type: 'string' },
      'sieve-clients': { type: 'string' },
      'directory-seconds': { type: 'string' },
      'directory-clients': { type: 'string' },
      'directory-users': { type: 'string' },
      'search-messages': { type: 'string' },
      'search-runs': { type: 'string' },
      out: { type: 'string' },
      keep: { type: 'boolean', default: false },
      profile: { type: 'string' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) return 'help';
  const quick = values.quick === true;
  let servers = SERVER_NAMES;
  if (values.only !== undefined) {
    const wanted = values.only
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
    for (const w of wanted)
      if (!SERVER_NAMES.includes(w as ServerName)) throw new Error(`--only: unknown server "${w}"; expected ${SERVER_NAMES.join(', ')}`);
    servers = SERVER_NAMES.filter((s) => wanted.includes(s));
  }
  const idleSessions = positive('idle', values.idle, quick ? 500 : 5000);
  const idleProcesses = positive('idle-procs', values['idle-procs'], 2);
  // Each generator holds idleSessions / idleProcesses sockets; the server holds idleSessions more.
  if (idleSessions + idleSessions / idleProcesses > 18_000)
    throw new Error('--idle: too many sessions for the 20,000 file descriptors of this machine');
  const imapIdleSessions = positive('imap-idle', values['imap-idle'], quick ? 500 : 2000);
  if (imapIdleSessions + imapIdleSessions / idleProcesses > 18_000)
    throw new Error('--imap-idle: too many sessions for the 20,000 file descriptors of this machine');
  let protocols = PROTOCOLS;
  if (values.protocols !== undefined) {
    const wanted = values.protocols
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
    for (const w of wanted)
      if (!PROTOCOLS.includes(w as Protocol)) throw new Error(`--protocols: unknown protocol "${w}"; expected ${PROTOCOLS.join(', ')}`);
    protocols = PROTOCOLS.filter((p) => wanted.includes(p));
    if (protocols.length === 0) throw new Error('--protocols: expected at least one protocol');
  }
  let imapParts = IMAP_PARTS;
  if (values['imap-parts'] !== undefined) {
    const wanted = values['imap-parts']
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
    for (const w of wanted)
      if (!IMAP_PARTS.includes(w as ImapPart)) throw new Error(`--imap-parts: unknown part "${w}"; expected ${IMAP_PARTS.join(', ')}`);
    imapParts = IMAP_PARTS.filter((p) => wanted.includes(p));
  }
  const watchSessions = positive('watch', values.watch, quick ? 2000 : 20_000);
  const watchers = positive('watchers', values.watchers, quick ? 500 : 5000);
  if (watchers > watchSessions) throw new Error('--watchers: more than --watch');
  const watchWorkers = positive('watch-workers', values['watch-workers'], 2);
  if (watchSessions / watchWorkers > 15_000)
    throw new Error('--watch: too many sessions per worker for the 20,000 file descriptors of a process here; raise --watch-workers');
  return {
    quick,
    servers,
    imapParts,
    watchSessions,
    watchers,
    watchWorkers,
    mixWorkers: positive('mix-workers', values['mix-workers'], 1),
    mixWarmupMs: positive('mix-warmup', values['mix-warmup'], quick ? 1 : 10, false) * 1000,
    concurrency: positive('concurrency', values.concurrency, 32),
    durationMs: positive('duration', values.duration, quick ? 2 : 5, false) * 1000,
    warmupMs: positive('warmup', values.warmup, quick ? 0.5 : 1, false) * 1000,
    idleSessions,
    idleProcesses,
    retrPasses: positive('retr-passes', values['retr-passes'], quick ? 2 : 11),
    keep: values.keep === true,
    profileDir: values.profile === undefined ? null : resolve(values.profile),
    out: values.out === '-' ? null : (values.out ?? defaultOut),
    mailboxes: mailboxes(quick),
    protocols,
    imapIdleSessions,
    sieveAccounts: positive('sieve-accounts', values['sieve-accounts'], quick ? 5 : 20),
    sieveClients: positive('sieve-clients', values['sieve-clients'], quick ? 4 : 8),
    directorySeconds: positive('directory-seconds', values['directory-seconds'], quick ? 3 : 10, false),
    directoryClients: positive('directory-clients', values['directory-clients'], quick ? 4 : 8),
    directoryUsers: positive('directory-users', values['directory-users'], quick ? 50 : 200),
    searchMessages: positive('search-messages', values['search-messages'], quick ? 20_000 : 100_000),
    searchRuns: positive('search-runs', values['search-runs'], 11),
  };
}
