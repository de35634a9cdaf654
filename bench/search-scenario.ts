// The `search` part (issue 25): SEARCH TEXT "needle" and SEARCH FROM "quixley" over a 100,000-message mailbox
// (20,000 with --quick), Postern beside Dovecot without FTS and Dovecot with fts_xapian, on ONE tree
// (search-servers.ts: Postern's account folder is Dovecot's home). The mail is search-mail.ts's: a rare word in
// a few messages, a sender a few hundred messages come from. For each server in turn (Dovecot, Dovecot with
// fts_xapian, Postern without its index, Postern with it once it exists):
//   build   the server's own index made from scratch where it has a separate step (fts_xapian: `doveadm index`;
//           Postern's: `postern index rebuild`), timed; Dovecot's dovecot.index is made by the first SELECT, its
//           cache by the first searches;
//   first   each command once after the server started on a tree whose pages were dropped from the page cache
//           (search-servers.ts evictFromPageCache): nothing in memory, only what the server keeps on disk;
//   warm    the median of --runs repeats (the server's CPU per run beside it), after --warmup untimed ones (5: a
//           JavaScript server's first repeats run while V8 still compiles the search path);
//   cold    after a restart and the pages dropped again: what a search costs once the server's own cache on disk
//           is there but neither its process memory nor the page cache holds anything.
// Each answer's hits are checked against what the mailbox holds. Index sizes are the files each keeps beside
// the mail: dovecot.index* (its cache included), xapian-indexes, postern-search*.
//
//   npx tsc -p tsconfig.json && npx tsc -p bench/tsconfig.json && node bench/dist/search-scenario.js
//     [--messages 100000] [--runs 11] [--warmup 5] [--only postern,dovecot,dovecot-xapian,postern-index] [--profile DIR] [--keep]
//
// runSearchBench() is what run.ts calls for `npm run bench -- --protocols search`.
import { mkdir, readdir, rm, stat } from 'node:fs/promises';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { installCleanupHooks, keepTemporaryFiles, trackDir, untrackDir } from './cleanup.js';
import { ImapClient } from './imap-client.js';
import { treeCpuSeconds } from './proc.js';
import { FROM_NEEDLE, type SearchMailbox, TEXT_NEEDLE, writeSearchMailbox } from './search-mail.js';
import {
  doveadmIndex,
  evictFromPageCache,
  posternHasIndex,
  posternIndexRebuild,
  prepareSearchTree,
  type SearchServer,
  type SearchServerName,
  type SearchTree,
  searchDovecotUnavailable,
  shareTreeWithDovecot,
  startSearchDovecot,
  startSearchPostern,
} from './search-servers.js';
import { HOST } from './server.js';

export const SEARCH_COMMANDS = [`SEARCH TEXT "${TEXT_NEEDLE}"`, `SEARCH FROM "${FROM_NEEDLE}"`] as const;
export const SEARCH_SERVERS: SearchServerName[] = ['dovecot', 'dovecot-xapian', 'postern', 'postern-index'];
const ACCOUNT = 'search100k';
const PASSWORD = 'bench-Secret-42';
/** One search may take minutes (fts_xapian indexing what it does not know yet, Postern reading 100,000 files). */
const COMMAND_TIMEOUT_MS = 3_600_000;

export interface SearchCommandFigures {
  command: string;
  firstMs: number;
  warmMs: number;
  /** Each warm run, in order. */
  warmRunsMs: number[];
  coldMs: number;
  /** The server's CPU seconds per warm run. */
  cpuSecondsPerRun: number;
  /** Messages found (each run's answer checked to be the same). */
  hits: number;
}

export interface SearchServerFigures {
  server: SearchServerName;
  notes: string[];
  /** Seconds of the separate build step (doveadm index, postern index rebuild); null: none. */
  buildSeconds: number | null;
  /** The first SELECT after the start on the evicted tree (Dovecot: makes dovecot.index). */
  selectMs: number;
  /** Octets of the server's own files beside the mail after the runs. */
  indexOctets: number;
  commands: SearchCommandFigures[];
  problems: string[];
  error: string | null;
}

export interface SearchFigures {
  mailbox: SearchMailbox;
  /** Whether the tree's pages could be dropped before "first" and "cold" (python3 posix_fadvise). */
  evicted: boolean;
  skipped: string[];
  servers: SearchServerFigures[];
  /** Untimed repeats before the timed ones (absent in the figures of runs before it existed). */
  warmup?: number;
}

export interface SearchBenchOptions {
  messages: number;
  runs: number;
  /**
   * Untimed repeats between the first run and the timed ones: a server that has run for a while. A JavaScript
   * server's first repeats run while V8 still compiles the search path (2-10 ms a FROM here against about 1 ms after).
   */
  warmup?: number;
  servers: SearchServerName[];
  profileDir: string | null;
}

/** Untimed repeats before the timed ones (SearchBenchOptions.warmup). */
export const DEFAULT_WARMUP = 5;

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** The numbers of a "* SEARCH ..." answer. */
function searchHits(lines: string[]): number {
  const line = lines.find((l) => l.startsWith('* SEARCH'));
  if (line === undefined) throw new Error('no * SEARCH in the answer');
  return line.split(' ').length - 2;
}

/** Octets of the files under `dir` whose name passes `mine` (folders too: all their files). */
async function octetsOf(dir: string, mine: (name: string) => boolean, all = false): Promise<number> {
  let total = 0;
  for (const e of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
    const path = join(dir, e.name);
    const counted = all || mine(e.name);
    if (e.isDirectory()) {
      if (!all && (e.name === 'cur' || e.name === 'new' || e.name === 'tmp')) continue; // mail, not index
      total += await octetsOf(path, mine, counted);
    } else if (counted) total += (await stat(path)).size;
  }
  return total;
}

/** The files each server keeps for itself beside the mail (see the top of this file). */
function indexFiles(server: SearchServerName): (name: string) => boolean {
  if (server === 'dovecot') return (n) => n.startsWith('dovecot.index');
  if (server === 'dovecot-xapian') return (n) => n.startsWith('xapian-indexes') || n.startsWith('fts-xapian');
  if (server === 'postern-index') return (n) => n.startsWith('postern-search');
  return () => false; // Postern without the index keeps nothing for SEARCH
}

async function session(server: SearchServer): Promise<{ c: ImapClient; selectMs: number }> {
  const c = await ImapClient.connect({ host: HOST, port: server.port, tls: false }, COMMAND_TIMEOUT_MS);
  c.keptLineOctets = 1_000_000; // every number of the "* SEARCH" line
  await c.login(ACCOUNT, PASSWORD);
  const t = performance.now();
  await c.ok('SELECT INBOX');
  return { c, selectMs: performance.now() - t };
}

async function timed(c: ImapClient, command: string): Promise<{ ms: number; hits: number }> {
  const t = performance.now();
  const a = await c.ok(command, true);
  return { ms: performance.now() - t, hits: searchHits(a.lines) };
}

async function measure(
  tree: SearchTree,
  name: SearchServerName,
  o: SearchBenchOptions,
  evict: () => Promise<boolean>,
): Promise<SearchServerFigures> {
  const figures: SearchServerFigures = {
    server: name,
    notes: [],
    buildSeconds: null,
    selectMs: 0,
    indexOctets: 0,
    commands: [],
    problems: [],
    error: null,
  };
  let server: SearchServer | null = null;
  try {
    if (name === 'postern-index') {
      await evict();
      const t = performance.now();
      await posternIndexRebuild(tree);
      figures.buildSeconds = (performance.now() - t) / 1000;
    }
    server =
      name === 'dovecot' || name === 'dovecot-xapian'
        ? await startSearchDovecot(tree, { xapian: name === 'dovecot-xapian' })
        : await startSearchPostern(tree, { index: name === 'postern-index', profileDir: o.profileDir });
    figures.notes = server.notes;
    await evict();
    if (name === 'dovecot-xapian') {
      process.stderr.write('dovecot-xapian: doveadm index\n');
      const t = performance.now();
      await doveadmIndex(tree);
      figures.buildSeconds = (performance.now() - t) / 1000;
      await evict();
    }
    const first = await session(server);
    figures.selectMs = first.selectMs;
    for (const command of SEARCH_COMMANDS) {
      process.stderr.write(`${name}: ${command}\n`);
      const once = await timed(first.c, command);
      for (let i = 0; i < (o.warmup ?? DEFAULT_WARMUP); i++) await timed(first.c, command);
      const times: number[] = [];
      const cpu0 = treeCpuSeconds(server.pid);
      for (let i = 0; i < o.runs; i++) {
        const r = await timed(first.c, command);
        if (r.hits !== once.hits) throw new Error(`${command}: ${r.hits} hits, then ${once.hits}`);
        times.push(r.ms);
      }
      figures.commands.push({
        command,
        firstMs: once.ms,
        warmMs: median(times),
        warmRunsMs: times,
        coldMs: 0,
        cpuSecondsPerRun: (treeCpuSeconds(server.pid) - cpu0) / o.runs,
        hits: once.hits,
      });
    }
    await first.c.logout();
    // cold: restarted, pages dropped; one run of each command in a session of its own
    for (const f of figures.commands) {
      await server.restart();
      await evict();
      const s = await session(server);
      const r = await timed(s.c, f.command);
      if (r.hits !== f.hits) throw new Error(`${f.command}: ${r.hits} hits after the restart, ${f.hits} before`);
      f.coldMs = r.ms;
      await s.c.logout();
    }
  } catch (err) {
    figures.error = (err as Error).message;
    process.stderr.write(`${name}: ${figures.error}\n`);
  } finally {
    if (server) {
      figures.problems = await server.problems();
      await server.stop();
    }
  }
  figures.indexOctets = await octetsOf(tree.home, indexFiles(name));
  return figures;
}

/** The whole part: the tree written once, then each server on it in turn. */
export async function runSearchBench(root: string, o: SearchBenchOptions): Promise<SearchFigures> {
  const dir = join(root, 'search');
  await mkdir(dir, { recursive: true });
  const skipped: string[] = [];
  const why = searchDovecotUnavailable();
  let names = o.servers;
  if (why.dovecot) {
    skipped.push(`Dovecot: ${why.dovecot}`);
    names = names.filter((n) => n !== 'dovecot' && n !== 'dovecot-xapian');
  } else if (why.xapian) {
    skipped.push(`dovecot-xapian: ${why.xapian}`);
    names = names.filter((n) => n !== 'dovecot-xapian');
  }
  if (!posternHasIndex() && names.includes('postern-index')) {
    skipped.push("postern-index: Postern's index (issue 25) is not in this build");
    names = names.filter((n) => n !== 'postern-index');
  }
  for (const s of skipped) process.stderr.write(`NOTE: ${s}\n`);
  process.stderr.write(`search: writing ${o.messages} messages\n`);
  const tree = await prepareSearchTree(dir, ACCOUNT, PASSWORD);
  const mailbox = writeSearchMailbox(tree.maildir, ACCOUNT, o.messages);
  if (names.some((n) => n.startsWith('dovecot'))) await shareTreeWithDovecot(tree);
  const evicted = await evictFromPageCache(tree.home);
  if (!evicted) skipped.push('the page cache could not be dropped for the tree (python3 missing?): "first" and "cold" read from memory');
  const evict = () => (evicted ? evictFromPageCache(tree.home) : Promise.resolve(false));
  const servers: SearchServerFigures[] = [];
  for (const name of names) servers.push(await measure(tree, name, o, evict));
  return { mailbox, evicted, skipped, servers, warmup: o.warmup ?? DEFAULT_WARMUP };
}

const MiB = 1024 * 1024;

export function renderSearch(f: SearchFigures): string {
  const m = f.mailbox;
  const rows = [
    `SEARCH of ${m.messages} messages (${(m.octets / MiB).toFixed(0)} MiB of mail) on one tree; ms: first (started, pages dropped) / ` +
      `warm (median of the timed repeats after ${f.warmup ?? 0} untimed) / cold (restarted, pages dropped); CPU s per warm run`,
  ];
  const heads = SEARCH_COMMANDS.map((c) => `${c.replace('SEARCH ', '')}: first / warm / cold / CPU / hits`.padEnd(52));
  rows.push(`${'server'.padEnd(15)}${'SELECT'.padStart(8)}${'build s'.padStart(9)}${'index MiB'.padStart(11)}  ${heads.join('')}`);
  for (const s of f.servers) {
    const cells = s.commands.map((c) => {
      const warm = c.warmMs.toFixed(c.warmMs < 10 ? 1 : 0); // a few ms: the tenth tells the verdict's ratio
      return `${c.firstMs.toFixed(0)} / ${warm} / ${c.coldMs.toFixed(0)} / ${c.cpuSecondsPerRun.toFixed(2)} / ${c.hits}`.padEnd(52);
    });
    rows.push(
      `${s.server.padEnd(15)}${s.selectMs.toFixed(0).padStart(8)}` +
        `${(s.buildSeconds === null ? '-' : s.buildSeconds.toFixed(1)).padStart(9)}` +
        `${(s.indexOctets / MiB).toFixed(1).padStart(11)}  ${s.error ? `failed: ${s.error}` : cells.join('')}`,
    );
  }
  const expected = [m.textHits.length, m.fromHits.length];
  rows.push(`expected hits: ${SEARCH_COMMANDS.map((c, i) => `${c.replace('SEARCH ', '')} ${expected[i]}`).join(', ')}`);
  for (const s of f.servers)
    for (const [i, c] of s.commands.entries())
      if (c.hits !== expected[i])
        rows.push(`ANSWER DIFFERS: ${s.server} ${c.command}: ${c.hits} messages, the mailbox holds ${expected[i]}`);
  const by = (n: SearchServerName) => f.servers.find((s) => s.server === n && s.error === null);
  const verdict = (label: string, a: number, b: number, target: number) =>
    rows.push(`${label}: ${(a / b).toFixed(3)}x (target <= ${target}): ${a / b <= target ? 'PASS' : 'FAIL'}`);
  const postern = by('postern');
  const dovecot = by('dovecot');
  const xapian = by('dovecot-xapian');
  const indexed = by('postern-index');
  for (const [i, command] of SEARCH_COMMANDS.entries()) {
    if (postern && dovecot)
      verdict(`${command}, warm: Postern without index / Dovecot without FTS`, postern.commands[i].warmMs, dovecot.commands[i].warmMs, 1);
    if (indexed && xapian)
      verdict(`${command}, warm: Postern with index / Dovecot+Xapian`, indexed.commands[i].warmMs, xapian.commands[i].warmMs, 1);
    if (indexed && dovecot)
      verdict(`${command}, warm: Postern with index / Dovecot without FTS`, indexed.commands[i].warmMs, dovecot.commands[i].warmMs, 0.01);
  }
  if (indexed) verdict("Postern's index size / the mail's size", indexed.indexOctets, m.octets, 0.5);
  for (const s of f.servers) for (const p of s.problems.slice(0, 5)) rows.push(`${s.server} logged: ${p}`);
  for (const s of f.servers) for (const n of s.notes) rows.push(`config: ${n}`);
  for (const s of f.skipped) rows.push(`skipped: ${s}`);
  return rows.join('\n');
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      messages: { type: 'string' },
      runs: { type: 'string' },
      warmup: { type: 'string' },
      only: { type: 'string' },
      profile: { type: 'string' },
      keep: { type: 'boolean', default: false },
    },
  });
  const servers = values.only ? (values.only.split(',') as SearchServerName[]) : SEARCH_SERVERS;
  for (const s of servers)
    if (!SEARCH_SERVERS.includes(s)) throw new Error(`--only: unknown server "${s}"; expected ${SEARCH_SERVERS.join(', ')}`);
  installCleanupHooks();
  if (values.keep) keepTemporaryFiles();
  const root = trackDir(await mkdtemp(join(tmpdir(), 'postern-search-bench-')));
  if (values.keep) process.stderr.write(`temporary folder (kept): ${root}\n`);
  try {
    const figures = await runSearchBench(root, {
      messages: Number(values.messages ?? 100_000),
      runs: Number(values.runs ?? 11),
      warmup: Number(values.warmup ?? DEFAULT_WARMUP),
      servers,
      profileDir: values.profile ?? null,
    });
    process.stdout.write(`${renderSearch(figures)}\n${JSON.stringify(figures)}\n`);
  } finally {
    if (!values.keep) {
      await rm(root, { recursive: true, force: true });
      untrackDir(root);
    }
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().then(
    () => process.exit(0),
    (err: Error) => {
      process.stderr.write(`search bench failed: ${err.stack ?? err.message}\n`);
      process.exit(1);
    },
  );
}
