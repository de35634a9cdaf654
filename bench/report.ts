// The printed report: absolute figures per server, Postern/Dovecot ratios with PASS/FAIL against the
// targets of issue 7, the generator's CPU per scenario, and what went wrong.
import type { Options } from './options.js';
import type { ServerResults } from './scenarios.js';
import type { ServerName } from './server.js';

export interface Machine {
  cpu: string;
  cores: number;
  memoryGiB: number;
  kernel: string;
  node: string;
  dovecot: string | null;
}

/** How a Postern/Dovecot ratio is judged: at least or at most a factor, against one Dovecot variant. */
interface RatioTarget {
  against: 'dovecot-default' | 'dovecot-fast';
  op: '>=' | '<=';
  factor: number;
}

interface Row {
  metric: string;
  /** The figure of each server, or null when not measured. */
  value: (r: ServerResults) => number | null;
  digits: number;
  ratioTargets: RatioTarget[];
  /** A target on Postern's own figure. */
  absolute?: { op: '<=' | '>='; limit: number; text: string };
}

export interface Verdict {
  metric: string;
  target: string;
  result: 'PASS' | 'FAIL' | 'n/a';
}

function rows(o: Options): Row[] {
  const m = o.mailboxes;
  const sessionRow = (label: string): Row => ({
    metric: `sessions/s ${label}`,
    value: (r) => r.sessions.find((s) => s.label === label && s.failures.count === 0)?.perSecond ?? null,
    digits: 0,
    ratioTargets: [
      { against: 'dovecot-default', op: '>=', factor: 2 },
      { against: 'dovecot-fast', op: '>=', factor: 1.2 },
    ],
  });
  const atLeastDovecot: RatioTarget[] = [
    { against: 'dovecot-default', op: '>=', factor: 1 },
    { against: 'dovecot-fast', op: '>=', factor: 1 },
  ];
  const small = `RETR ${m.retrSmall.messages} x ${m.retrSmall.size / 1024} KB`;
  const large = `RETR ${m.retrLarge.messages} x ${m.retrLarge.size / 1024 / 1024} MB`;
  const huge = `${m.huge.messages / 1000}k msgs`;
  return [
    sessionRow('clear c=1'),
    sessionRow(`clear c=${o.concurrency}`),
    sessionRow('TLS c=1'),
    sessionRow(`TLS c=${o.concurrency}`),
    {
      metric: `${small}, MB/s, median of ${o.retrPasses}`,
      value: (r) => r.retrSmall?.median ?? null,
      digits: 1,
      ratioTargets: atLeastDovecot,
    },
    { metric: `${small}, MB/s, 1st download`, value: (r) => r.retrSmall?.first ?? null, digits: 1, ratioTargets: [] },
    {
      metric: `${large}, MB/s, median of ${o.retrPasses}`,
      value: (r) => r.retrLarge?.median ?? null,
      digits: 1,
      ratioTargets: atLeastDovecot,
    },
    { metric: `${large}, MB/s, 1st download`, value: (r) => r.retrLarge?.first ?? null, digits: 1, ratioTargets: [] },
    {
      metric: `${huge}: connect->STAT, 1st login, ms`,
      value: (r) => r.login?.firstMs ?? null,
      digits: 0,
      ratioTargets: [],
      absolute: { op: '<=', limit: 2000, text: 'Postern <= 2000 ms' },
    },
    {
      metric: `${huge}: connect->STAT, 2nd login, ms`,
      value: (r) => r.login?.secondMs ?? null,
      digits: 1,
      ratioTargets: [
        { against: 'dovecot-default', op: '<=', factor: 1 },
        { against: 'dovecot-fast', op: '<=', factor: 1 },
      ],
    },
    {
      metric: `RSS per idle session, KiB`,
      value: (r) => r.idle?.rssPerSessionKiB ?? null,
      digits: 1,
      ratioTargets: [],
      absolute: { op: '<=', limit: 20, text: 'Postern <= 20 KiB' },
    },
    { metric: `PSS per idle session, KiB`, value: (r) => r.idle?.pssPerSessionKiB ?? null, digits: 1, ratioTargets: [] },
    {
      metric: `RSS per idle session, last ${Math.ceil(o.idleSessions / o.idleProcesses)} only, KiB`,
      value: (r) => r.idle?.marginal?.rssPerSessionKiB ?? null,
      digits: 1,
      ratioTargets: [],
    },
    {
      metric: `server CPU s / 1000 sessions, clear c=${o.concurrency}`,
      value: (r) => r.sessions.find((s) => s.label === `clear c=${o.concurrency}`)?.serverCpuPer1000Sessions ?? null,
      digits: 2,
      ratioTargets: [],
    },
    {
      metric: `server CPU s / 1000 sessions, TLS c=${o.concurrency}`,
      value: (r) => r.sessions.find((s) => s.label === `TLS c=${o.concurrency}`)?.serverCpuPer1000Sessions ?? null,
      digits: 2,
      ratioTargets: [],
    },
  ];
}

const fmt = (v: number | null, digits: number) => (v === null || !Number.isFinite(v) ? '-' : v.toFixed(digits));

function judge(op: '>=' | '<=', value: number, limit: number): 'PASS' | 'FAIL' {
  return (op === '>=' ? value >= limit : value <= limit) ? 'PASS' : 'FAIL';
}

/** Left-aligns the first column and right-aligns the others. */
function table(header: string[], body: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...body.map(line)].join('\n');
}

export function render(machine: Machine, o: Options, results: ServerResults[], skipped: string[]): { text: string; verdicts: Verdict[] } {
  const by = (name: ServerName) => results.find((r) => r.name === name);
  const postern = by('postern');
  const verdicts: Verdict[] = [];
  const out: string[] = [];

  out.push('Postern POP3 benchmark');
  out.push(
    `machine: ${machine.cpu}, ${machine.cores} cores, ${machine.memoryGiB.toFixed(1)} GiB, Linux ${machine.kernel}, ` +
      `Node ${machine.node}, Dovecot ${machine.dovecot ?? 'not installed'}`,
  );
  out.push(
    `run: ${o.quick ? 'QUICK (smoke run; figures not comparable to a full run), ' : ''}session runs ${o.warmupMs / 1000} s warm-up ` +
      `+ ${o.durationMs / 1000} s measured, ` +
      `concurrency 1 and ${o.concurrency}, ${o.retrPasses} RETR passes, ${o.idleSessions} idle sessions; MB = 10^6 octets, KiB = 1024 ` +
      `octets`,
  );
  for (const s of skipped) out.push(`NOTE: ${s}`);
  out.push('');

  const header = ['metric', 'postern', 'dovecot-default', 'dovecot-fast', 'P/default', 'P/fast', 'target'];
  const body: string[][] = [];
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
    const shortName = { 'dovecot-default': 'default', 'dovecot-fast': 'fast' };
    for (const t of row.ratioTargets) targets.push(`P/${shortName[t.against]} ${t.op} ${t.factor}`);
    cells.push(targets.join(', '));
    body.push(cells);
  }
  out.push(table(header, body));

  const passed = verdicts.filter((v) => v.result === 'PASS').length;
  const failed = verdicts.filter((v) => v.result === 'FAIL').length;
  out.push('');
  out.push(`targets: ${passed} PASS, ${failed} FAIL, ${verdicts.length - passed - failed} not measurable`);

  // The load generator's CPU: if it is near 1.00 core, the generator, not the server, set the pace.
  out.push('');
  out.push('load generator CPU per scenario: CPU seconds (share of one core over the measured time)');
  const genRows: string[][] = [];
  const genCell = (g: { seconds: number; ofOneCore: number } | undefined) =>
    g ? `${g.seconds.toFixed(2)} s (${g.ofOneCore.toFixed(2)})` : '-';
  const scenarioNames = [
    ...['clear c=1', `clear c=${o.concurrency}`, 'TLS c=1', `TLS c=${o.concurrency}`].map((label) => ({
      label: `sessions ${label}`,
      get: (r: ServerResults) => r.sessions.find((s) => s.label === label)?.generatorCpu,
    })),
    { label: 'RETR small, all passes', get: (r: ServerResults) => sumCpu(r.retrSmall?.passes.map((p) => p.generatorCpu)) },
    { label: 'RETR large, all passes', get: (r: ServerResults) => sumCpu(r.retrLarge?.passes.map((p) => p.generatorCpu)) },
    { label: 'logins to the huge mailbox', get: (r: ServerResults) => r.login?.generatorCpu },
    { label: 'opening the idle sessions', get: (r: ServerResults) => r.idle?.generatorCpu },
  ];
  for (const s of scenarioNames) genRows.push([s.label, ...results.map((r) => genCell(s.get(r)))]);
  out.push(table(['scenario', ...results.map((r) => r.name)], genRows));

  out.push('');
  out.push('details');
  for (const r of results) {
    out.push(`  ${r.name}: setup (accounts + mail) ${r.setupSeconds.toFixed(1)} s`);
    for (const n of r.notes) out.push(`    config: ${n}`);
    for (const s of r.sessions) {
      const util = s.seconds > 0 ? s.serverCpuSeconds / s.seconds : 0;
      out.push(
        `    sessions ${s.label}: ${s.sessions} in ${s.seconds} s, server CPU ${s.serverCpuSeconds.toFixed(2)} s (${util.toFixed(2)} ` +
          `cores)${s.cipher ? `, ${s.cipher}` : ''}${failureText(s.failures)}`,
      );
    }
    if (r.login) out.push(`    huge mailbox: STAT answered "${r.login.stat}"${failureText(r.login.failures)}`);
    for (const x of [r.retrSmall, r.retrLarge]) {
      if (!x) continue;
      const passes = x.passes
        .map((p) => `${p.mbPerSecond.toFixed(1)} MB/s (${p.messages} msgs, ${(p.octets / 1e6).toFixed(1)} MB in ${p.seconds.toFixed(2)} s)`)
        .join('; ');
      out.push(`    RETR ${x.account}: ${passes}${failureText(mergeAll(x.passes.map((p) => p.failures)))}`);
    }
    if (r.idle) {
      const i = r.idle;
      out.push(
        `    idle: ${i.opened}/${i.wanted} sessions opened in ${i.openSeconds.toFixed(1)} s; ` +
          `RSS ${(i.before.rssKiB / 1024).toFixed(1)} -> ${(i.after.rssKiB / 1024).toFixed(1)} MiB, ` +
          `PSS ${(i.before.pssKiB / 1024).toFixed(1)} -> ${(i.after.pssKiB / 1024).toFixed(1)} MiB, ` +
          `processes ${i.before.processes} -> ${i.after.processes}; RSS after each ` +
          `share: ${i.stages.map((x) => `${x.sessions} -> ${(x.memory.rssKiB / 1024).toFixed(1)} MiB`).join(', ')}` +
          failureText(i.failures),
      );
    }
    for (const e of r.errors) out.push(`    ERROR: ${e}`);
    if (r.problems.length > 0) {
      out.push(`    server errors/warnings (${r.problems.length}${r.problems.length >= 50 ? '+' : ''}):`);
      for (const p of r.problems.slice(0, 10)) out.push(`      ${p}`);
    }
  }
  out.push('');
  out.push('method: server CPU = utime+stime from /proc/PID/stat over the server process tree, plus cutime+cstime of each living');
  out.push('process (service processes that exited were reaped by the Dovecot master and are counted there); RSS/PSS = sum of');
  out.push('VmRSS (/proc/PID/status) / Pss (/proc/PID/smaps_rollup) over the same tree, read on a restarted server after each');
  out.push('idle account signed in and out once, then 2 s after each share of idle sessions (USER, PASS, STAT, then nothing) was open.');
  out.push('RSS counts shared pages once per process, which weighs on multi-process Dovecot; PSS splits them fairly.');
  out.push('RETR: one session RETRs every message in order, one command at a time, then QUITs; MB/s = octets received / time from');
  out.push('the first RETR to the QUIT answer. The first pass is the first download (Postern sets Seen at each RETR, Dovecot at QUIT).');
  out.push('The mailbox files are read once just before the passes, so that every pass finds them in memory (this machine');
  out.push('pages out file data left untouched for about 30 s: DAMON pageout).');
  const pinning = results.map((r) => r.retrSmall?.pinning ?? r.retrLarge?.pinning).find((p) => p);
  out.push(
    pinning
      ? `RETR runs pin the generator to CPU ${pinning.generatorCpu} and every process of the server to CPU ${pinning.serverCpu} ` +
          `(taskset), for every server` +
          '\nalike: a one-command-at-a-time session otherwise measures where the scheduler put the two processes more than the server.'
      : 'RETR runs are not pinned to cores (fewer than 2 cores, or no taskset): expect more spread between passes.',
  );
  out.push('Simulated clients use distinct loopback source addresses (127.0.1.x, 127.0.10.x ...), as distinct clients would: Postern');
  out.push('refuses more than 16 TLS handshakes in progress from one address, and both servers limit connections per address.');
  out.push('Sessions: connect, greeting, USER, PASS, STAT, QUIT, one account; both servers cache successful sign-ins (Postern');
  out.push('authCache default, Dovecot auth_cache_size = 10M), so the password hash (scrypt / SHA512-CRYPT) is mostly not recomputed.');
  out.push(`Generator and server share the same ${machine.cores} cores: the generator CPU above is CPU the server could not use.`);
  return { text: out.join('\n'), verdicts };
}

function sumCpu(list: { seconds: number; ofOneCore: number }[] | undefined): { seconds: number; ofOneCore: number } | undefined {
  if (!list || list.length === 0) return undefined;
  const seconds = list.reduce((s, g) => s + g.seconds, 0);
  const wall = list.reduce((s, g) => s + (g.ofOneCore > 0 ? g.seconds / g.ofOneCore : 0), 0);
  return { seconds, ofOneCore: wall > 0 ? seconds / wall : 0 };
}

function mergeAll(list: { count: number; samples: string[] }[]) {
  return { count: list.reduce((n, f) => n + f.count, 0), samples: [...new Set(list.flatMap((f) => f.samples))].slice(0, 3) };
}

function failureText(f: { count: number; samples: string[] }): string {
  return f.count > 0 ? `; ${f.count} FAILURES: ${f.samples.join(' | ')}` : '';
}
