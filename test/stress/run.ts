// Runs one stress scenario against a running server: N clients on one mailbox or spread over ten
// users' mailboxes, with or without pipelining, for a number of seconds; returns the rate and every
// violation the checker found (model.ts, client.ts), the server's error log records included.
import { makeMessage, type RunStats, StressClient } from './client.js';
import { MailboxState, Violations } from './model.js';
import { Wire } from './wire.js';

export interface Scenario {
  name: string;
  clients: number;
  /** 1: every client on one user's mailbox; 10: clients spread round-robin over ten users. */
  users: number;
  pipeline: boolean;
  seconds: number;
  /** Messages in each mailbox before the clients start. */
  initialMessages?: number;
}

export interface ScenarioResult {
  scenario: Scenario;
  elapsedSeconds: number;
  stats: RunStats;
  commandsPerSecond: number;
  violations: Violations;
}

export interface LogRecordLike {
  level: number;
  msg: string;
  [key: string]: unknown;
}

export const stressUser = (i: number) => `stress${i + 1}`;
export const STRESS_PASSWORD = 'stress-pass';

let scenarioCounter = 0;

/** Creates the scenario's mailbox for each user (a new name per scenario) and fills it. */
async function prepare(port: number, scenario: Scenario, name: string): Promise<MailboxState[]> {
  return Promise.all(
    Array.from({ length: scenario.users }, async (_, u) => {
      const user = stressUser(u);
      const { wire } = await Wire.connect(port, 'setup.');
      const must = async (line: string, literal?: Buffer) => {
        const t = await wire.send(line, literal);
        if (t.status !== 'OK') throw new Error(`setup: ${line}: ${t.line}`);
      };
      await must(`LOGIN "${user}" "${STRESS_PASSWORD}"`);
      await must(`CREATE "${name}"`);
      for (let i = 0; i < (scenario.initialMessages ?? (scenario.users > 1 ? 8 : 20)); i++)
        await must(`APPEND "${name}" ()`, makeMessage('setup'));
      await must('LOGOUT');
      wire.close();
      return new MailboxState(user, STRESS_PASSWORD, name);
    }),
  );
}

export async function runScenario(port: number, scenario: Scenario, logs?: LogRecordLike[]): Promise<ScenarioResult> {
  const name = `stress-${++scenarioCounter}-${scenario.name.replace(/\W+/g, '-')}`.slice(0, 60);
  const mailboxes = await prepare(port, scenario, name);
  const logStart = logs?.length ?? 0;
  const violations = new Violations();
  const stats: RunStats = { commands: 0, slowestMs: 0, slowest: '', sessions: 0, appends: 0, expunged: 0 };
  const clients: StressClient[] = [];
  for (let i = 0; i < scenario.clients; i++) {
    const mailbox = mailboxes[i % mailboxes.length];
    const label = `c${i + 1}`;
    // One owned keyword per client while the mailbox has room (26 keyword slots, 6 shared keywords).
    let own: string | null = null;
    if (mailbox.ownKeywords.length < 10) {
      own = `own${label}`;
      mailbox.ownKeywords.push(own);
    }
    clients.push(new StressClient(label, mailbox, own, scenario.pipeline, port, violations, stats));
  }
  const started = performance.now();
  const stopAt = started + scenario.seconds * 1000;
  await Promise.all(clients.map((c) => c.run(stopAt)));
  const elapsedSeconds = (performance.now() - started) / 1000;
  const auditStats: RunStats = { commands: 0, slowestMs: 0, slowest: '', sessions: 0, appends: 0, expunged: 0 };
  await Promise.all(
    mailboxes.map((mailbox, i) => new StressClient(`audit${i + 1}`, mailbox, null, false, port, violations, auditStats).audit()),
  );
  for (const record of (logs ?? []).slice(logStart)) {
    if (record.level >= 50 || record.msg === 'session failed') {
      const err = record.err as { message?: string; stack?: string } | undefined;
      violations.add({
        client: 'server',
        command: '',
        line: `${record.msg}: ${err?.message ?? ''} ${(err?.stack ?? '').split('\n')[1]?.trim() ?? ''}`,
        problem: `server logged an error: ${record.msg}`,
      });
    }
  }
  return { scenario, elapsedSeconds, stats, commandsPerSecond: stats.commands / elapsedSeconds, violations };
}

export function formatResult(r: ScenarioResult, examplesPerKind = 2): string {
  const s = r.scenario;
  const head =
    `${s.name}: ${s.clients} clients, ${s.users === 1 ? 'one mailbox' : `${s.users} mailboxes`},` +
    ` ${s.pipeline ? 'pipelined' : 'one command at a time'}, ${r.elapsedSeconds.toFixed(1)} s: ${r.stats.commands} commands ` +
    `(${r.commandsPerSecond.toFixed(0)}/s), ${r.stats.sessions} sessions, ${r.stats.appends} appends, ${r.stats.expunged} expunges ` +
    `seen, slowest answer ${r.stats.slowestMs.toFixed(0)} ms (${r.stats.slowest}); ${r.violations.summary()}`;
  const shown = r.violations
    .examples(examplesPerKind)
    .map((v) => `    [${v.client}] ${v.problem}\n        command: ${v.command}\n        line: ${v.line}`);
  return [head, ...shown].join('\n');
}
