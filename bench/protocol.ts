// The messages between the orchestrator (run.ts) and a load generator process (load.ts), over the
// IPC channel of child_process.fork. One job per generator process.

/** Where a POP3 server listens. */
export interface Target {
  host: string;
  port: number;
  /** true: TLS from the first byte (port 995 style). */
  tls: boolean;
}

/**
 * Loopback source addresses for the simulated clients, used round-robin: distinct clients come from
 * distinct addresses, so per-address limits of a server (connections, TLS handshakes in progress)
 * see what they would see with real clients. Every 127.x.y.z address reaches 127.0.0.1 on Linux.
 */
export type SourceAddresses = string[];

export interface Credentials {
  user: string;
  password: string;
}

/** CPU time the generator used, in seconds (process.cpuUsage). */
export interface CpuSeconds {
  user: number;
  system: number;
}

export type Job =
  /** Sessions per second: connect, greeting, USER, PASS, STAT, QUIT, in `concurrency` loops. */
  | {
      kind: 'sessions';
      target: Target;
      login: Credentials;
      concurrency: number;
      warmupMs: number;
      durationMs: number;
      sources: SourceAddresses;
    }
  /** One session that RETRs every message of the mailbox, then QUITs. */
  | { kind: 'retr'; target: Target; login: Credentials }
  /** Time from connect to the STAT answer. */
  | { kind: 'stat-time'; target: Target; login: Credentials; timeoutMs: number }
  /** Opens `count` signed-in sessions (USER, PASS, STAT) and keeps them idle until told to release them. */
  | { kind: 'hold'; target: Target; logins: Credentials[]; count: number; openConcurrency: number; sources: SourceAddresses };

/** Counted failures, with a few distinct messages to show. */
export interface Failures {
  count: number;
  samples: string[];
}

export interface SessionsResult {
  kind: 'sessions';
  /** TLS version and cipher of the first TLS session, null on clear connections. */
  tls: string | null;
  sessions: number;
  seconds: number;
  failures: Failures;
  cpu: CpuSeconds;
}

export interface RetrResult {
  kind: 'retr';
  messages: number;
  /** Octets received in RETR answers (status line, message and terminating dot line). */
  octets: number;
  /** From the first RETR to the QUIT answer. */
  seconds: number;
  failures: Failures;
  cpu: CpuSeconds;
}

export interface StatTimeResult {
  kind: 'stat-time';
  ms: number;
  stat: string;
  failures: Failures;
  cpu: CpuSeconds;
}

export interface HoldResult {
  kind: 'hold';
  opened: number;
  seconds: number;
  failures: Failures;
  cpu: CpuSeconds;
}

export type JobResult = SessionsResult | RetrResult | StatTimeResult | HoldResult;

/** Generator -> orchestrator. */
export type Report =
  /** The measured window of a 'sessions' job starts or ends now (the orchestrator samples server CPU). */
  | { kind: 'window'; phase: 'start' | 'end' }
  /** A 'hold' job has its sessions open. */
  | { kind: 'held'; result: HoldResult }
  | { kind: 'result'; result: JobResult }
  | { kind: 'error'; message: string };

/** Orchestrator -> generator. */
export type Command = { kind: 'run'; job: Job } | { kind: 'release' };
