// Scenario 5 of the IMAP part: the mixed load of issue 20 (imap-mix.ts is one client's session), with 10
// and 50 clients, spread over ten users or all on one user's INBOX (every client then sees the others'
// flags, expunges and appends). Figures: operations (commands answered OK) per second, the server's CPU
// per 1000 operations (from /proc over the measured window, as for sign-ins), refusals and failures.
import { startImapGenerator } from './imap-generator.js';
import type { ImapMixResult } from './imap-protocol.js';
import type { Options } from './options.js';
import { treeCpuSeconds } from './proc.js';
import type { Credentials, Failures } from './protocol.js';
import type { GeneratorCpu } from './scenarios.js';
import type { BenchServer } from './server.js';

export interface ImapMixFigures {
  /** "c=10 users=10" */
  label: string;
  clients: number;
  users: number;
  operations: number;
  refused: number;
  sessions: number;
  seconds: number;
  perSecond: number;
  serverCpuSeconds: number;
  serverCpuPer1000Operations: number;
  byVerb: Record<string, number>;
  refusedByVerb: Record<string, number>;
  failures: Failures;
  generatorCpu: GeneratorCpu;
}

/** The runs, in this order (the ten-user runs first: they leave the one-user mailbox as it was made). */
export const MIX_RUNS = [
  { clients: 10, users: 10 },
  { clients: 50, users: 10 },
  { clients: 10, users: 1 },
  { clients: 50, users: 1 },
] as const;

export const mixLabel = (clients: number, users: number) => `c=${clients} users=${users}`;

/** Loopback source addresses 127.0.60.1 ...: the generator's connections spread over several. */
function sources(count: number): string[] {
  return Array.from({ length: Math.min(count, 250) }, (_, i) => `127.0.60.${i + 1}`);
}

export async function runMix(server: BenchServer, o: Options, password: string, clients: number, users: number): Promise<ImapMixFigures> {
  const logins: Credentials[] = o.mailboxes.mix.slice(0, users).map((m) => ({ user: m.account, password }));
  const durationMs = o.durationMs * 2;
  let cpuStart = 0;
  let cpuEnd = 0;
  const r = (await startImapGenerator(
    {
      kind: 'imap-mix',
      target: server.imap.clear,
      logins,
      clients,
      warmupMs: o.mixWarmupMs,
      durationMs,
      sources: sources(clients),
      seed: 20,
    },
    o.mixWarmupMs + durationMs + 120_000,
    (phase) => {
      if (phase === 'start') cpuStart = treeCpuSeconds(server.pid);
      else cpuEnd = treeCpuSeconds(server.pid);
    },
  ).result) as ImapMixResult;
  const serverCpuSeconds = cpuEnd - cpuStart;
  const total = r.cpu.user + r.cpu.system;
  return {
    label: mixLabel(clients, users),
    clients,
    users,
    operations: r.operations,
    refused: r.refused,
    sessions: r.sessions,
    seconds: r.seconds,
    perSecond: r.operations / r.seconds,
    serverCpuSeconds,
    serverCpuPer1000Operations: r.operations > 0 ? (serverCpuSeconds / r.operations) * 1000 : 0,
    byVerb: r.byVerb,
    refusedByVerb: r.refusedByVerb,
    failures: r.failures,
    generatorCpu: { seconds: total, ofOneCore: r.seconds > 0 ? total / r.seconds : 0 },
  };
}
