// Issue 14's figure: Postern's POP3 sign-ins (connect, USER/PASS, STAT, QUIT) per second with 1 and 2
// worker processes, clear and TLS at the concurrent load, with the server's CPU per 1,000 sessions and
// the scaling factor. Both are measured here, one after the other, on the same restarted server (the
// main table's 1-worker figures come from an earlier moment of the run). The load generator runs on the
// same machine: on 2 cores it takes much of one, so 2 workers cannot show their full gain here.
import type { Options } from './options.js';
import type { Credentials } from './protocol.js';
import { type ServerResults, sessions, type SessionsFigures } from './scenarios.js';
import type { BenchServer } from './server.js';

export interface WorkerScaling {
  runs: { workers: number; figures: SessionsFigures[] }[];
  /** perSecond with 2 workers / with 1, by label ("clear c=32", "TLS c=32"). */
  scaling: Record<string, number>;
  errors: string[];
}

export async function runWorkerScaling(server: BenchServer, o: Options, login: Credentials): Promise<WorkerScaling> {
  const out: WorkerScaling = { runs: [], scaling: {}, errors: [] };
  try {
    for (const workers of [1, 2]) {
      await server.restart({ workers });
      const figures: SessionsFigures[] = [];
      for (const tls of [false, true]) {
        const f = await sessions(server, tls, o.concurrency, login, o);
        figures.push(f);
        process.stderr.write(
          `  ${workers} worker${workers > 1 ? 's' : ''}, ${f.label}: ${f.perSecond.toFixed(0)} sessions/s, ${f.failures.count} failures,` +
            ` server CPU ${f.serverCpuPer1000Sessions.toFixed(2)} s/1000\n`,
        );
      }
      out.runs.push({ workers, figures });
    }
    const [one, two] = out.runs;
    for (const f of two.figures) {
      const base = one.figures.find((x) => x.label === f.label);
      if (base && base.perSecond > 0) out.scaling[f.label] = f.perSecond / base.perSecond;
    }
  } catch (err) {
    out.errors.push((err as Error).message);
  } finally {
    await server.restart().catch((err: Error) => out.errors.push(`restart with 1 worker: ${err.message}`));
  }
  return out;
}

/** `others`: the other servers' results of the same run (Dovecot), shown beside for the same load. */
export function renderWorkerScaling(s: WorkerScaling, others: readonly ServerResults[] = []): string {
  const lines = [
    'Postern with worker processes (POP3 sign-ins, same run; scaling = 2 workers / 1 worker; Dovecot from the table above)',
    '',
  ];
  const header = ['metric', '1 worker', '2 workers', 'scaling', ...others.map((o) => o.name)];
  const rows: string[][] = [];
  const one = s.runs.find((r) => r.workers === 1)?.figures ?? [];
  const two = s.runs.find((r) => r.workers === 2)?.figures ?? [];
  const beside = (label: string, figure: (f: SessionsFigures) => string) =>
    others.map((o) => {
      const f = o.sessions.find((x) => x.label === label);
      return f ? figure(f) : 'n/a';
    });
  for (const f of one) {
    const g = two.find((x) => x.label === f.label);
    rows.push([
      `sessions/s ${f.label}`,
      f.perSecond.toFixed(0),
      g ? g.perSecond.toFixed(0) : 'n/a',
      s.scaling[f.label] !== undefined ? `${s.scaling[f.label].toFixed(2)}x` : 'n/a',
      ...beside(f.label, (x) => x.perSecond.toFixed(0)),
    ]);
    rows.push([
      `server CPU s / 1000 sessions, ${f.label}`,
      f.serverCpuPer1000Sessions.toFixed(2),
      g ? g.serverCpuPer1000Sessions.toFixed(2) : 'n/a',
      '',
      ...beside(f.label, (x) => x.serverCpuPer1000Sessions.toFixed(2)),
    ]);
    rows.push([
      `load generator CPU (share of a core), ${f.label}`,
      f.generatorCpu.ofOneCore.toFixed(2),
      g ? g.generatorCpu.ofOneCore.toFixed(2) : 'n/a',
      '',
      ...beside(f.label, (x) => x.generatorCpu.ofOneCore.toFixed(2)),
    ]);
  }
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const fmt = (r: string[]) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  lines.push(fmt(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(fmt));
  const failures = [...one, ...two].reduce((n, f) => n + f.failures.count, 0);
  if (failures > 0) lines.push('', `${failures} failed sessions`);
  for (const e of s.errors) lines.push(`error: ${e}`);
  return lines.join('\n');
}
