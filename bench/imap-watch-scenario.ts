// Scenario 6 of the IMAP part (issue 20): many sessions in IDLE, some thousands of them on one INBOX, and
// one new message there. How long until every watcher is told ("* n EXISTS")? The target is absolute:
// every watcher within 1 s (p99). Postern runs with worker processes for it (20,000 sessions are more
// open files than one process may hold here); Dovecot is not measured (its IMAP processes in the bench's
// configuration are limited to 2,000).
import { ImapClient } from './imap-client.js';
import { startImapGenerator, type ImapGenerator } from './imap-generator.js';
import type { ImapHoldResult, ImapWatchResult } from './imap-protocol.js';
import type { Options } from './options.js';
import type { Credentials, Failures } from './protocol.js';
import type { BenchServer } from './server.js';

export interface ImapWatchFigures {
  workers: number;
  sessions: number;
  watchers: number;
  opened: number;
  watchersOpened: number;
  openSeconds: number;
  /** Watchers told within the wait. */
  told: number;
  p50Ms: number | null;
  p99Ms: number | null;
  maxMs: number | null;
  failures: Failures;
}

/** Sessions per generator process (each holds its share of sockets; the limit is 20,000 per process). */
const PER_GENERATOR = 5000;
/** How long the watchers are given to be told. */
const WAIT_MS = 10_000;

/** The q-th percentile of `of` values of which `sorted` are known (the rest are later than all of them). */
function percentile(sorted: number[], of: number, q: number): number | null {
  const rank = Math.max(1, Math.ceil(q * of));
  return rank <= sorted.length ? sorted[rank - 1] : null;
}

export async function runWatch(server: BenchServer, o: Options, password: string): Promise<ImapWatchFigures> {
  const workers = o.watchWorkers;
  await server.restart({ workers });
  const logins: Credentials[] = o.mailboxes.idle.map((m) => ({ user: m.account, password }));
  const watched: Credentials = { user: o.mailboxes.watch.account, password };
  const generatorCount = Math.ceil(o.watchSessions / PER_GENERATOR);
  const generators: ImapGenerator[] = [];
  const held: ImapHoldResult[] = [];
  let appendedAt = 0;
  try {
    for (let g = 0; g < generatorCount; g++) {
      const count = Math.min(PER_GENERATOR, o.watchSessions - g * PER_GENERATOR);
      const watchers = Math.round((o.watchers * count) / o.watchSessions);
      const sources = Array.from({ length: 250 }, (_, i) => `127.0.${70 + g}.${i + 1}`);
      generators.push(
        startImapGenerator(
          { kind: 'imap-watch', target: server.imap.clear, logins, watched, count, watchers, openConcurrency: 32, sources },
          900_000,
        ),
      );
    }
    for (const g of generators) held.push(await g.held);
    await new Promise((r) => setTimeout(r, 2000));
    // the new message, as a client appends it (the same path as a delivery for every watcher)
    const writer = await ImapClient.connect(server.imap.clear, 30_000);
    await writer.login(watched.user, watched.password);
    const message = `From: bench@example.org\r\nTo: ${watched.user}@example.org\r\nSubject: for the watchers\r\n\r\nhello\r\n`;
    appendedAt = performance.timeOrigin + performance.now();
    await writer.ok(`APPEND INBOX {${message.length}+}\r\n${message}`);
    await writer.logout();
    await new Promise((r) => setTimeout(r, WAIT_MS));
  } finally {
    for (const g of generators) g.release();
  }
  const settled = await Promise.allSettled(generators.map((g) => g.result));
  await server.restart();
  const results = settled.flatMap((r) => (r.status === 'fulfilled' ? [r.value as ImapWatchResult] : []));
  const errors = settled.flatMap((r) => (r.status === 'rejected' ? [(r.reason as Error).message] : []));
  const latencies = results.flatMap((r) => r.toldAt.map((t) => t - appendedAt)).sort((a, b) => a - b);
  const watchersOpened = results.reduce((n, r) => n + r.watchersOpened, 0);
  const samples = [...new Set([...errors, ...results.flatMap((r) => r.failures.samples)])].slice(0, 5);
  return {
    workers,
    sessions: o.watchSessions,
    watchers: o.watchers,
    opened: results.reduce((n, r) => n + r.opened, 0),
    watchersOpened,
    openSeconds: Math.max(0, ...held.map((h) => h.seconds)),
    told: latencies.length,
    // over every watcher: one never told counts as slower than all that were (null past the told ones)
    p50Ms: percentile(latencies, watchersOpened, 0.5),
    p99Ms: percentile(latencies, watchersOpened, 0.99),
    maxMs: percentile(latencies, watchersOpened, 1),
    failures: { count: errors.length + results.reduce((n, r) => n + r.failures.count, 0), samples },
  };
}
