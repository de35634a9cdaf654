// SORT (DATE) and THREAD REFERENCES of a 100,000-message mailbox (issue 22), Postern beside Dovecot,
// each on its own identical tree: a mailbox of threads (replies with References and In-Reply-To,
// "Re:" subjects, dates out of UID order) is written into a fresh account, the mailbox is SELECTed
// once (each server reads the folder and builds its index), then each command is timed on its first
// run (the message headers are read: Dovecot fills dovecot.index.cache, Postern its sort-key cache)
// and the median of the next runs (what a webmail sees from then on), with the server's CPU.
//
//   npx tsc -p tsconfig.json && npx tsc -p bench/tsconfig.json && node bench/dist/sort-scenario.js
//     [--messages 100000] [--runs 5] [--only postern|dovecot-fast|dovecot-default] [--profile DIR]
//
// runSortScenario() is the scenario itself, for a runner that has started the server already: run.ts runs
// it as the IMAP part `sort` (`npm run bench -- --protocols imap --imap-parts sort`).
import { chownSync, closeSync, mkdirSync, openSync, statSync, utimesSync, writeSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { installCleanupHooks, trackDir, untrackDir } from './cleanup.js';
import { dovecotUnavailable, startDovecot } from './dovecot.js';
import { ImapClient } from './imap-client.js';
import { startPostern } from './postern.js';
import { treeCpuSeconds } from './proc.js';
import type { BenchServer, ServerName } from './server.js';

export const SORT_COMMANDS = ['SORT (DATE) UTF-8 ALL', 'THREAD REFERENCES UTF-8 ALL'] as const;

export interface SortCommandFigures {
  command: string;
  /** The first run after the SELECT: every header is read. */
  firstMs: number;
  /** The median of the following runs. */
  medianMs: number;
  /** The server's CPU seconds over the following runs, per run. */
  cpuSecondsPerRun: number;
  /** Octets of the answer. */
  octets: number;
}

export interface SortFigures {
  server: ServerName;
  messages: number;
  selectMs: number;
  commands: SortCommandFigures[];
}

/**
 * `count` messages in threads of 1 to 12: each reply names its parent in In-Reply-To and up to ten
 * ancestors in References, and says "Re:"; the Date fields wander (out of UID order, many zones).
 * Written into `maildir`/new with delivery names, owned as the folder is.
 */
export function writeThreadedMailbox(maildir: string, count: number): void {
  for (const sub of ['cur', 'new', 'tmp']) mkdirSync(join(maildir, sub), { recursive: true });
  const owner = statSync(maildir);
  let state = 2026;
  const rnd = (n: number) => {
    state = (state * 1103515245 + 12345) & 0x7fffffff;
    return state % n;
  };
  const zones = ['+0000', '+0100', '-0500', '+0530', '-0800'];
  let thread: { ids: string[]; subject: string } = { ids: [], subject: '' };
  const body = 'Benchmark body text for SORT and THREAD.\r\n'.repeat(8);
  for (let i = 0; i < count; i++) {
    if (thread.ids.length === 0 || rnd(12) === 0)
      thread = { ids: [], subject: `Thread topic ${i} about ${['budget', 'lunch', 'release', 'travel'][rnd(4)]}` };
    const id = `<${i}.sort@bench.example>`;
    const parent = thread.ids.length > 0 ? thread.ids[rnd(thread.ids.length)] : null;
    const secs = 1_700_000_000 + i * 60 + rnd(86_400) - 43_200;
    const date = new Date(secs * 1000);
    const lines = [
      'Return-Path: <sender@example.org>',
      `From: Person ${rnd(500)} <p${rnd(500)}@example.org>`,
      'To: sort100k@localhost',
      `Subject: ${parent ? 'Re: ' : ''}${thread.subject}`,
      `Date: ${date.toUTCString().replace('GMT', zones[rnd(zones.length)])}`,
      `Message-ID: ${id}`,
    ];
    if (parent) {
      const at = thread.ids.indexOf(parent);
      lines.push(`In-Reply-To: ${parent}`, `References: ${thread.ids.slice(Math.max(0, at - 9), at + 1).join('\r\n ')}`);
    }
    const data = Buffer.from(`${lines.join('\r\n')}\r\n\r\n${body}`, 'latin1');
    const name = `${1_700_000_000 + i}.M${i % 1_000_000}P4243Q${i + 1}.bench.example,S=${data.length},W=${data.length}`;
    const path = join(maildir, 'new', name);
    const fd = openSync(path, 'wx', 0o600);
    try {
      for (let done = 0; done < data.length; ) done += writeSync(fd, data, done);
    } finally {
      closeSync(fd);
    }
    utimesSync(path, 1_700_000_000 + i, 1_700_000_000 + i);
    chownSync(path, owner.uid, owner.gid);
    thread.ids.push(id);
  }
  for (const sub of ['cur', 'new', 'tmp']) chownSync(join(maildir, sub), owner.uid, owner.gid);
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** The scenario on a started server whose `account` holds the threaded mailbox. */
export async function runSortScenario(
  server: BenchServer,
  account: string,
  password: string,
  messages: number,
  runs: number,
): Promise<SortFigures> {
  const c = await ImapClient.connect(server.imap.clear, 600_000);
  try {
    await c.login(account, password);
    const t0 = performance.now();
    const select = await c.ok('SELECT INBOX', true);
    const selectMs = performance.now() - t0;
    if (!select.lines.some((l) => l === `* ${messages} EXISTS`)) throw new Error(`SELECT did not find ${messages} messages`);
    const commands: SortCommandFigures[] = [];
    for (const command of SORT_COMMANDS) {
      const first = performance.now();
      const a = await c.ok(command);
      const firstMs = performance.now() - first;
      const times: number[] = [];
      const cpu0 = treeCpuSeconds(server.pid);
      for (let i = 0; i < runs; i++) {
        const t = performance.now();
        await c.ok(command);
        times.push(performance.now() - t);
      }
      const cpuSecondsPerRun = (treeCpuSeconds(server.pid) - cpu0) / runs;
      commands.push({ command, firstMs, medianMs: median(times), cpuSecondsPerRun, octets: a.octets });
    }
    await c.logout();
    return { server: server.name, messages, selectMs, commands };
  } finally {
    c.close();
  }
}

export function renderSort(figures: SortFigures[]): string {
  const rows = [`SORT and THREAD of ${figures[0]?.messages ?? 0} messages, after one SELECT (ms; CPU s per run)`];
  const heads = SORT_COMMANDS.map((c) => `${c.split(' UTF-8')[0]}: first / then / CPU`.padEnd(42));
  rows.push(`${'server'.padEnd(16)} ${'SELECT'.padStart(8)}  ${heads.join('')}`);
  for (const f of figures) {
    const cells = f.commands.map((c) => `${c.firstMs.toFixed(0)} / ${c.medianMs.toFixed(0)} / ${c.cpuSecondsPerRun.toFixed(3)}`.padEnd(42));
    rows.push(`${f.server.padEnd(16)} ${f.selectMs.toFixed(0).padStart(8)}  ${cells.join('')}`);
  }
  const postern = figures.find((f) => f.server === 'postern');
  for (const d of figures.filter((f) => f.server !== 'postern')) {
    if (!postern) break;
    for (const [i, c] of postern.commands.entries()) {
      const ratio = c.medianMs / d.commands[i].medianMs;
      rows.push(`${c.command}: Postern ${ratio.toFixed(2)}x ${d.server}'s time (target <= 1): ${ratio <= 1 ? 'PASS' : 'FAIL'}`);
    }
  }
  return rows.join('\n');
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { messages: { type: 'string' }, runs: { type: 'string' }, only: { type: 'string' }, profile: { type: 'string' } },
  });
  const messages = Number(values.messages ?? 100_000);
  const runs = Number(values.runs ?? 5);
  const names: ServerName[] = values.only ? [values.only as ServerName] : ['postern', 'dovecot-fast'];
  installCleanupHooks();
  const root = trackDir(await mkdtemp(join(tmpdir(), 'postern-sort-bench-')));
  const account = 'sort100k';
  const password = 'bench-Secret-42';
  const figures: SortFigures[] = [];
  try {
    for (const name of names) {
      if (name !== 'postern' && dovecotUnavailable()) {
        process.stderr.write(`${name}: ${dovecotUnavailable()}; skipped\n`);
        continue;
      }
      const dir = join(root, name);
      const common = { dir, mailboxes: [{ account, messages: 0, size: 0 }], password, maxSessions: 100 };
      process.stderr.write(`${name}: starting, then writing ${messages} threaded messages\n`);
      const server =
        name === 'postern'
          ? await startPostern({ ...common, profileDir: values.profile ?? null })
          : await startDovecot({ ...common, variant: name });
      try {
        writeThreadedMailbox(server.maildir(account), messages);
        figures.push(await runSortScenario(server, account, password, messages, runs));
        process.stderr.write(`${name}: done\n`);
      } finally {
        await server.stop();
        await rm(dir, { recursive: true, force: true });
      }
    }
  } finally {
    await rm(root, { recursive: true, force: true });
    untrackDir(root);
  }
  process.stdout.write(`${renderSort(figures)}\n${JSON.stringify(figures)}\n`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().then(
    () => process.exit(0),
    (err: Error) => {
      process.stderr.write(`sort bench failed: ${err.stack ?? err.message}\n`);
      process.exit(1);
    },
  );
}
