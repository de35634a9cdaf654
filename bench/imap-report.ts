// The printed IMAP report: figures per server, Postern/Dovecot ratios with PASS/FAIL against the IMAP
// targets, the generator's CPU per scenario, details and method; printed after the POP3 report.
import { MIX_RUNS, mixLabel } from './imap-mix-scenario.js';
import type { ImapServerResults } from './imap-scenarios.js';
import type { Options } from './options.js';
import type { Machine, Verdict } from './report.js';
import type { ServerName } from './server.js';
import { SORT_COMMANDS } from './sort-scenario.js';

interface RatioTarget {
  against: 'dovecot-default' | 'dovecot-fast';
  op: '>=' | '<=';
  factor: number;
}

interface Row {
  metric: string;
  value: (r: ImapServerResults) => number | null;
  digits: number;
  ratioTargets: RatioTarget[];
  absolute?: { op: '<=' | '>='; limit: number; text: string };
}

const both = (op: '>=' | '<=', factor: number): RatioTarget[] => [
  { against: 'dovecot-default', op, factor },
  { against: 'dovecot-fast', op, factor },
];

function rows(o: Options): Row[] {
  const m = o.mailboxes;
  const sessionRow = (label: string): Row => ({
    metric: `IMAP sign-ins/s ${label}`,
    value: (r) => r.sessions.find((s) => s.label === label && s.failures.count === 0)?.perSecond ?? null,
    digits: 0,
    ratioTargets: [
      { against: 'dovecot-default', op: '>=', factor: 2 },
      { against: 'dovecot-fast', op: '>=', factor: 1.2 },
    ],
  });
  const small = `FETCH BODY[] ${m.retrSmall.messages} x ${m.retrSmall.size / 1024} KB`;
  const large = `FETCH BODY[] ${m.retrLarge.messages} x ${m.retrLarge.size / 1024 / 1024} MB`;
  const huge = `${m.imapHuge.messages / 1000}k msgs`;
  const threaded = `${m.sort.threaded / 1000}k msgs`;
  // issue 22: each command repeated after both servers opened the mailbox once, at most Dovecot's time
  const sortRows = SORT_COMMANDS.flatMap((command): Row[] => {
    const name = command.split(' UTF-8')[0];
    const of = (r: ImapServerResults) => r.sort?.commands.find((c) => c.command === command);
    return [
      { metric: `${threaded}: ${name}, repeated, ms`, value: (r) => of(r)?.medianMs ?? null, digits: 1, ratioTargets: both('<=', 1) },
      { metric: `${threaded}: ${name}, 1st (headers read), ms`, value: (r) => of(r)?.firstMs ?? null, digits: 0, ratioTargets: [] },
    ];
  });
  return [
    sessionRow('clear c=1'),
    sessionRow(`clear c=${o.concurrency}`),
    sessionRow('TLS c=1'),
    sessionRow(`TLS c=${o.concurrency}`),
    {
      metric: `${huge}: SELECT, 1st (fresh process, no index), ms`,
      value: (r) => r.select?.firstSelectMs ?? null,
      digits: 0,
      ratioTargets: both('<=', 1),
    },
    { metric: `${huge}: SELECT, 2nd, ms`, value: (r) => r.select?.secondSelectMs ?? null, digits: 1, ratioTargets: both('<=', 1) },
    {
      metric: `${huge}: UID FETCH 1:* (UID FLAGS), ms`,
      value: (r) => r.select?.uidFetchMs ?? null,
      digits: 1,
      ratioTargets: both('<=', 1),
    },
    {
      metric: `${huge}: QRESYNC resync (100 flag changes, 10 expunges), ms`,
      value: (r) => r.resync?.resyncMs ?? null,
      digits: 1,
      ratioTargets: both('<=', 1),
    },
    {
      metric: `${huge}: QRESYNC resync octets / UID FETCH 1:* (FLAGS)'s, %`,
      value: (r) => (r.resync ? r.resync.octetShare * 100 : null),
      digits: 2,
      ratioTargets: [],
      absolute: { op: '<=', limit: 1, text: 'at most 1%' },
    },
    ...sortRows,
    {
      metric: `${small}, MB/s, median of ${o.retrPasses}`,
      value: (r) => r.fetchSmall?.median ?? null,
      digits: 1,
      ratioTargets: both('>=', 1),
    },
    { metric: `${small}, MB/s, 1st pass`, value: (r) => r.fetchSmall?.first ?? null, digits: 1, ratioTargets: [] },
    {
      metric: `${large}, MB/s, median of ${o.retrPasses}`,
      value: (r) => r.fetchLarge?.median ?? null,
      digits: 1,
      ratioTargets: both('>=', 1),
    },
    { metric: `${large}, MB/s, 1st pass`, value: (r) => r.fetchLarge?.first ?? null, digits: 1, ratioTargets: [] },
    {
      metric: 'RSS per idle IMAP session (IDLE), KiB',
      value: (r) => r.idle?.rssPerSessionKiB ?? null,
      digits: 1,
      ratioTargets: [],
      absolute: { op: '<=', limit: 32, text: 'Postern <= 32 KiB' },
    },
    { metric: 'PSS per idle IMAP session, KiB', value: (r) => r.idle?.pssPerSessionKiB ?? null, digits: 1, ratioTargets: [] },
    {
      metric: 'RSS per idle COMPRESS=DEFLATE session, KiB',
      value: (r) => r.compress?.rssPerSessionKiB ?? null,
      digits: 1,
      ratioTargets: [],
      absolute: { op: '<=', limit: 64, text: 'Postern <= 64 KiB' },
    },
    {
      metric: 'RSS COMPRESS adds per idle session, KiB',
      value: (r) => r.compress?.addedPerSessionKiB ?? null,
      digits: 1,
      ratioTargets: [],
    },
    {
      metric: `RSS per idle IMAP session, last ${Math.ceil(o.imapIdleSessions / o.idleProcesses)} only, KiB`,
      value: (r) => r.idle?.marginal?.rssPerSessionKiB ?? null,
      digits: 1,
      ratioTargets: [],
    },
    {
      metric: `IDLE fan-out: ${o.watchers} of ${o.watchSessions} sessions told of a new message, p99 ms`,
      value: (r) => r.watch?.p99Ms ?? null,
      digits: 0,
      ratioTargets: [],
      absolute: { op: '<=', limit: 1000, text: 'p99 <= 1000 ms' },
    },
    ...MIX_RUNS.flatMap((run): Row[] => {
      const label = mixLabel(run.clients, run.users);
      const mixOf = (r: ImapServerResults) => r.mix.find((x) => x.label === label && x.failures.count === 0);
      return [
        {
          metric: `mixed load ops/s ${label}`,
          value: (r) => mixOf(r)?.perSecond ?? null,
          digits: 0,
          ratioTargets: [{ against: 'dovecot-fast', op: '>=', factor: 1.2 }],
        },
        {
          metric: `mixed load server CPU s / 1000 ops ${label}`,
          value: (r) => mixOf(r)?.serverCpuPer1000Operations ?? null,
          digits: 2,
          ratioTargets: [{ against: 'dovecot-fast', op: '<=', factor: 1 }],
        },
      ];
    }),
    {
      metric: `IMAP server CPU s / 1000 sign-ins, clear c=${o.concurrency}`,
      value: (r) => r.sessions.find((s) => s.label === `clear c=${o.concurrency}`)?.serverCpuPer1000Sessions ?? null,
      digits: 2,
      ratioTargets: [],
    },
    {
      metric: `IMAP server CPU s / 1000 sign-ins, TLS c=${o.concurrency}`,
      value: (r) => r.sessions.find((s) => s.label === `TLS c=${o.concurrency}`)?.serverCpuPer1000Sessions ?? null,
      digits: 2,
      ratioTargets: [],
    },
  ];
}

const fmt = (v: number | null, digits: number) => (v === null || !Number.isFinite(v) ? '-' : v.toFixed(digits));
const judge = (op: '>=' | '<=', value: number, limit: number): 'PASS' | 'FAIL' =>
  (op === '>=' ? value >= limit : value <= limit) ? 'PASS' : 'FAIL';

function table(header: string[], body: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...body.map(line)].join('\n');
}

function failureText(f: { count: number; samples: string[] }): string {
  return f.count > 0 ? `; ${f.count} FAILURES: ${f.samples.join(' | ')}` : '';
}

/** @param machine printed when the POP3 report (which prints it) did not run. */
export function renderImap(o: Options, results: ImapServerResults[], machine: Machine | null): { text: string; verdicts: Verdict[] } {
  const by = (name: ServerName) => results.find((r) => r.name === name);
  const postern = by('postern');
  const verdicts: Verdict[] = [];
  const out: string[] = [];
  out.push('Postern IMAP benchmark');
  if (machine)
    out.push(
      `machine: ${machine.cpu}, ${machine.cores} cores, ${machine.memoryGiB.toFixed(1)} GiB, Linux ${machine.kernel}, ` +
        `Node ${machine.node}, Dovecot ${machine.dovecot ?? 'not installed'}`,
    );
  out.push(
    `run: ${o.quick ? 'QUICK (smoke run), ' : ''}sign-in runs ${o.warmupMs / 1000} s warm-up + ${o.durationMs / 1000} s measured, ` +
      `concurrency 1 and ${o.concurrency}, ` +
      `${o.retrPasses} FETCH passes, ${o.imapIdleSessions} idle IMAP sessions; MB = 10^6 octets, KiB = 1024 octets`,
  );
  out.push('');
  const header = ['metric', 'postern', 'dovecot-default', 'dovecot-fast', 'P/default', 'P/fast', 'target'];
  const body: string[][] = [];
  const shortName = { 'dovecot-default': 'default', 'dovecot-fast': 'fast' };
  for (const row of rows(o)) {
    const p = postern ? row.value(postern) : null;
    const cells = [row.metric, fmt(p, row.digits)];
    for (const name of ['dovecot-default', 'dovecot-fast'] as const) {
      const r = by(name);
      cells.push(r ? fmt(row.value(r), row.digits) : 'n/a');
    }
    const targets: string[] = [];
    for (const name of ['dovecot-default', 'dovecot-fast'] as const) {
      const r = by(name);
      const d = r ? row.value(r) : null;
      const t = row.ratioTargets.find((x) => x.against === name);
      if (p === null || d === null || d === 0) {
        cells.push(r ? '-' : 'n/a');
        if (t) verdicts.push({ metric: row.metric, target: `P/${name} ${t.op} ${t.factor}`, result: 'n/a' });
        continue;
      }
      const ratio = p / d;
      if (t) {
        const v = judge(t.op, ratio, t.factor);
        verdicts.push({ metric: row.metric, target: `P/${name} ${t.op} ${t.factor}`, result: v });
        cells.push(`${ratio.toFixed(2)} ${v}`);
      } else cells.push(ratio.toFixed(2));
    }
    if (row.absolute) {
      const v = p === null ? 'n/a' : judge(row.absolute.op, p, row.absolute.limit);
      verdicts.push({ metric: row.metric, target: row.absolute.text, result: v });
      targets.push(`${row.absolute.text}: ${v}`);
    }
    for (const t of row.ratioTargets) targets.push(`P/${shortName[t.against]} ${t.op} ${t.factor}`);
    cells.push(targets.join(', '));
    body.push(cells);
  }
  out.push(table(header, body));
  const passed = verdicts.filter((v) => v.result === 'PASS').length;
  const failed = verdicts.filter((v) => v.result === 'FAIL').length;
  out.push('');
  out.push(`IMAP targets: ${passed} PASS, ${failed} FAIL, ${verdicts.length - passed - failed} not measurable`);

  out.push('');
  out.push('IMAP load generator CPU per scenario: CPU seconds (share of one core over the measured time)');
  const genCell = (g: { seconds: number; ofOneCore: number } | undefined) =>
    g ? `${g.seconds.toFixed(2)} s (${g.ofOneCore.toFixed(2)})` : '-';
  const sum = (list: { seconds: number; ofOneCore: number }[] | undefined) => {
    if (!list || list.length === 0) return undefined;
    const seconds = list.reduce((s, g) => s + g.seconds, 0);
    const wall = list.reduce((s, g) => s + (g.ofOneCore > 0 ? g.seconds / g.ofOneCore : 0), 0);
    return { seconds, ofOneCore: wall > 0 ? seconds / wall : 0 };
  };
  const scenarios = [
    ...['clear c=1', `clear c=${o.concurrency}`, 'TLS c=1', `TLS c=${o.concurrency}`].map((label) => ({
      label: `sign-ins ${label}`,
      get: (r: ImapServerResults) => r.sessions.find((s) => s.label === label)?.generatorCpu,
    })),
    { label: 'FETCH small, all passes', get: (r: ImapServerResults) => sum(r.fetchSmall?.passes.map((p) => p.generatorCpu)) },
    { label: 'FETCH large, all passes', get: (r: ImapServerResults) => sum(r.fetchLarge?.passes.map((p) => p.generatorCpu)) },
    { label: 'opening the idle sessions', get: (r: ImapServerResults) => r.idle?.generatorCpu },
    ...MIX_RUNS.map((run) => ({
      label: `mixed load ${mixLabel(run.clients, run.users)}`,
      get: (r: ImapServerResults) => r.mix.find((x) => x.label === mixLabel(run.clients, run.users))?.generatorCpu,
    })),
  ];
  out.push(
    table(
      ['scenario', ...results.map((r) => r.name)],
      scenarios.map((s) => [s.label, ...results.map((r) => genCell(s.get(r)))]),
    ),
  );

  out.push('');
  out.push('IMAP details');
  for (const r of results) {
    out.push(`  ${r.name}:`);
    if (machine) for (const n of r.notes) out.push(`    config: ${n}`);
    for (const s of r.sessions) {
      const util = s.seconds > 0 ? s.serverCpuSeconds / s.seconds : 0;
      out.push(
        `    sign-ins ${s.label}: ${s.sessions} in ${s.seconds} s, server CPU ${s.serverCpuSeconds.toFixed(2)} s (${util.toFixed(2)} ` +
          `cores)${s.cipher ? `, ${s.cipher}` : ''}${failureText(s.failures)}`,
      );
    }
    if (r.resync) {
      const x = r.resync;
      const t = (v: { ms: number; octets: number; responses: number }) =>
        `${v.ms.toFixed(1)} ms, ${v.octets} octets, ${v.responses} responses`;
      out.push(
        `    ${x.account} resync after ${x.flagChanges} flag changes and ${x.expunges} expunges: QRESYNC SELECT ${t(x.qresyncSelect)} ` +
          `(${x.vanished ?? 'no VANISHED'}); UID FETCH (CHANGEDSINCE) ${t(x.changedSince)}; plain SELECT ${t(x.plainSelect)}; ` +
          `UID FETCH 1:* (FLAGS) ${t(x.fullFetch)}`,
      );
    }
    if (r.sort) {
      const x = r.sort;
      const commands = x.commands.map(
        (c) =>
          `${c.command.split(' UTF-8')[0]} first ${c.firstMs.toFixed(0)} ms, then ${c.medianMs.toFixed(1)} ms ` +
          `(${c.cpuSecondsPerRun.toFixed(3)} CPU s, ${c.octets} octets)`,
      );
      out.push(`    ${x.messages} threaded messages: SELECT ${x.selectMs.toFixed(0)} ms; ${commands.join('; ')}`);
    }
    if (r.select) {
      const x = r.select;
      for (const [label, s] of [
        ['1st', x.first],
        ['2nd', x.second],
      ] as const) {
        const fetches = s.fetches.map((f) => `${f.ms.toFixed(1)} ms (${f.responses} responses, ${(f.octets / 1e6).toFixed(2)} MB)`);
        out.push(
          `    ${x.account} ${label} session: greeting ${s.greetingMs.toFixed(1)} ms, LOGIN ${s.loginMs.toFixed(1)} ms, ` +
            `SELECT ${s.selectMs.toFixed(1)} ms (EXISTS ${s.exists ?? '?'}), ` +
            `connect->SELECT OK ${s.connectToSelectMs.toFixed(1)} ms; UID FETCH 1:* (UID FLAGS): ${fetches.join(', ') || '-'}` +
            failureText(s.failures),
        );
      }
      out.push(
        `    ${x.account}: ${x.indexFilesRemoved} dovecot.index* files removed before the 1st session (the mailbox had never been opened)`,
      );
    }
    for (const f of [r.fetchSmall, r.fetchLarge]) {
      if (!f) continue;
      const passes = f.passes
        .map((p) => `${p.mbPerSecond.toFixed(1)} MB/s (${p.messages} msgs, ${(p.octets / 1e6).toFixed(1)} MB in ${p.seconds.toFixed(2)} s)`)
        .join('; ');
      out.push(`    FETCH BODY[] ${f.account}: ${passes}`);
    }
    if (r.idle) {
      const i = r.idle;
      out.push(
        `    idle IMAP: ${i.opened}/${i.wanted} sessions opened in ${i.openSeconds.toFixed(1)} s; ` +
          `RSS ${(i.before.rssKiB / 1024).toFixed(1)} -> ${(i.after.rssKiB / 1024).toFixed(1)} MiB, ` +
          `PSS ${(i.before.pssKiB / 1024).toFixed(1)} -> ${(i.after.pssKiB / 1024).toFixed(1)} MiB, ` +
          `processes ${i.before.processes} -> ${i.after.processes}; RSS after each ` +
          `share: ${i.stages.map((s) => `${s.sessions} -> ${(s.memory.rssKiB / 1024).toFixed(1)} MiB`).join(', ')}` +
          failureText(i.failures),
      );
    }
    for (const x of r.mix) {
      const verbs = Object.entries(x.byVerb)
        .map(([v, n]) => `${v} ${n}`)
        .join(', ');
      const refusals = Object.entries(x.refusedByVerb ?? {})
        .map(([v, n]) => `${v} ${n}`)
        .join(', ');
      out.push(
        `    mixed load ${x.label}: ${x.operations} operations (${verbs}) and ${x.refused} NO${refusals ? ` (${refusals})` : ''} ` +
          `in ${x.seconds} s, ${x.sessions} sessions, server CPU ${x.serverCpuSeconds.toFixed(2)} s${failureText(x.failures)}`,
      );
    }
    if (r.watch) {
      const w = r.watch;
      const ms = (v: number | null) => (v === null ? 'not all told' : `${v.toFixed(0)} ms`);
      out.push(
        `    IDLE fan-out with ${w.workers} workers: ${w.opened}/${w.sessions} sessions open (${w.watchersOpened}/${w.watchers} ` +
          `watching) in ${w.openSeconds.toFixed(1)} s; ${w.told} told; p50 ${ms(w.p50Ms)}, p99 ${ms(w.p99Ms)}, ` +
          `max ${ms(w.maxMs)}${failureText(w.failures)}`,
      );
    }
    for (const e of r.errors) out.push(`    ERROR: ${e}`);
    if (r.problems.length > 0) {
      out.push(`    server errors/warnings, POP3 and IMAP parts (${r.problems.length}${r.problems.length >= 50 ? '+' : ''}):`);
      for (const p of r.problems.slice(0, 10)) out.push(`      ${p}`);
    }
  }
  out.push('');
  out.push('IMAP method: every server gets its IMAP listeners (clear and implicit TLS, as the POP3 ones) in the same process tree');
  out.push('and on the same Maildir tree as POP3, after the POP3 scenarios. Sign-ins: connect, greeting, LOGIN, SELECT INBOX (20');
  out.push('messages), LOGOUT. SELECT: a 100,000-message mailbox that POP3 never opened (so neither dovecot-uidlist nor');
  out.push('dovecot.index* exist; any dovecot.index* would be removed), SELECT timed from the command to its tagged OK, the 1st');
  out.push('session right after a restart of the server (a fresh Postern process; Dovecot master and all its processes anew),');
  out.push(`the 2nd right after it, with UID FETCH 1:* (UID FLAGS) ${3} times (median judged). FETCH: one session, FETCH n BODY[] for`);
  out.push('every message in order, one at a time, pinned as the RETR runs; MB/s = octets received / time from the first FETCH to');
  out.push('the LOGOUT answer (after the POP3 RETR runs every message already has \\Seen). Idle: on a restarted server, after each');
  out.push('idle account signed in once; sessions LOGIN, SELECT INBOX, IDLE ("+ idling"), then nothing; RSS/PSS summed over the');
  out.push('process tree 2 s after each share is open, as for POP3. Mixed load: each client runs whole sessions one after another');
  out.push('(LOGIN, SELECT INBOX, FETCH 1:n (UID FLAGS ENVELOPE), 3 x FETCH n BODY.PEEK[], STORE +/-FLAGS on half the clients (a');
  out.push('keyword on a third of those), STORE +FLAGS.SILENT (\\Deleted), EXPUNGE, APPEND of 3 KB, LIST and STATUS on the other half,');
  out.push('LOGOUT), the same seeded script for every server; an operation is a command answered OK inside the measured window.');
  out.push('SORT and THREAD: a mailbox of messages in threads (References, In-Reply-To, "Re:", dates out of UID order) written');
  out.push('into an empty account of the running server, SELECTed once; SORT (DATE) UTF-8 ALL and THREAD REFERENCES UTF-8 ALL each');
  out.push('timed once (every header read) and then 5 times more (the median judged: what a webmail sees from then on).');
  return { text: out.join('\n'), verdicts };
}
