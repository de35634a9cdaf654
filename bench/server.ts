// What the orchestrator knows about a running server under test, and helpers shared by postern.ts
// and dovecot.ts.
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { PopClient } from './pop-client.js';
import type { Target } from './protocol.js';

export type ServerName = 'postern' | 'dovecot-default' | 'dovecot-fast';
export const SERVER_NAMES: ServerName[] = ['postern', 'dovecot-default', 'dovecot-fast'];

export interface BenchServer {
  name: ServerName;
  /** The root of the process tree whose CPU and memory are measured (changes with restart()). */
  pid: number;
  clear: Target;
  tls: Target;
  /** Its IMAP listeners (clear and implicit TLS), for the IMAP scenarios (imap-scenarios.ts). */
  imap: { clear: Target; tls: Target };
  /** Settings worth showing next to the figures (for example a Dovecot setting that was adjusted). */
  notes: string[];
  /** The Maildir folder of an account's INBOX in this server's tree. */
  maildir(account: string): string;
  /** Seconds spent writing its Maildir tree and creating its accounts. */
  setupSeconds: number;
  /** Errors and warnings the server printed or logged so far. */
  problems(): Promise<string[]>;
  /** Null while running; otherwise how it ended. */
  exited(): string | null;
  stop(): Promise<void>;
  /** Stops and starts it again on the same tree and ports. */
  /** Stops and starts it again (Postern: with `workers` worker processes when given). */
  restart(options?: { workers?: number }): Promise<void>;
}

export const HOST = '127.0.0.1';

/** A TCP port free on the loopback address right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, HOST, () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

/**
 * A TCP port free on the loopback address now, below the kernel's range of ephemeral ports (read from
 * /proc/sys/net/ipv4/ip_local_port_range; 32768-60999 here): for a server that is stopped and started again on
 * its port (slapd, PostgreSQL, MariaDB, Redis in the tests). An ephemeral port freed by the stop may go to any
 * process that binds port 0 meanwhile, and the test files run side by side: seen in CI, a restarted slapd
 * could not bind its port and the test's lookups reached another test's slapd. Below the range only callers of
 * this function pick ports, at random.
 */
export async function freeRestartablePort(): Promise<number> {
  let low = 32768;
  try {
    low = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]) || low;
  } catch {
    // not Linux: the usual range
  }
  const from = 10_000;
  const to = Math.max(low, from + 1000);
  for (let tries = 0; tries < 200; tries++) {
    const port = from + Math.floor(Math.random() * (to - from));
    if (await listensOn(port)) return port;
  }
  return freePort();
}

/** Whether a server can listen on `port` of the loopback address now (it is closed again at once). */
function listensOn(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(false));
    s.listen(port, HOST, () => s.close(() => resolve(true)));
  });
}

/** Waits until `target` answers with a +OK greeting (then QUITs), or fails after `ms`. */
export async function waitForGreeting(target: Target, ms: number, alive: () => string | null): Promise<void> {
  const deadline = Date.now() + ms;
  let last = '';
  for (;;) {
    const ended = alive();
    if (ended) throw new Error(`the server exited while starting: ${ended}`);
    try {
      const c = await PopClient.connect(target, 2000);
      await c.quit();
      return;
    } catch (err) {
      last = (err as Error).message;
    }
    if (Date.now() > deadline)
      throw new Error(`no POP3 greeting on ${target.host}:${target.port}${target.tls ? ' (TLS)' : ''} within ${ms} ms: ${last}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export interface Output {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a command to its end; never throws for a non-zero exit (the caller looks at `code`). */
export function runCommand(command: string, args: string[], input?: string): Promise<Output> {
  return new Promise((resolve, reject) => {
    const child: ChildProcess = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d) => (stdout += d));
    child.stderr!.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin!.on('error', () => {});
    child.stdin!.end(input ?? '');
  });
}

/**
 * A self-signed RSA 2048 certificate for localhost (and 127.0.0.1), like the one Postern generates, made by
 * openssl into `keyFile` and `certFile`: for Dovecot's and slapd's TLS.
 */
export async function selfSignedCertificate(keyFile: string, certFile: string, days = 30): Promise<void> {
  const r = await runCommand('openssl', [
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-days',
    String(days),
    '-subj',
    '/CN=localhost',
    '-addext',
    'subjectAltName=DNS:localhost,IP:127.0.0.1',
    '-keyout',
    keyFile,
    '-out',
    certFile,
  ]);
  if (r.code !== 0) throw new Error(`openssl req failed: ${r.stderr}`);
}

/** Runs `tasks` with at most `limit` at once. */
export async function inParallel<T>(limit: number, tasks: (() => Promise<T>)[]): Promise<T[]> {
  const results: T[] = new Array(tasks.length);
  let next = 0;
  const worker = async () => {
    while (next < tasks.length) {
      const i = next++;
      results[i] = await tasks[i]();
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, tasks.length) }, worker));
  return results;
}

/** Describes how a child process ended, or null while it runs. */
export function exitDescription(child: ChildProcess): string | null {
  if (child.exitCode !== null) return `exit code ${child.exitCode}`;
  if (child.signalCode !== null) return `signal ${child.signalCode}`;
  return null;
}

/** Sends SIGTERM and waits up to `ms` for the exit; then SIGKILL. */
export async function terminate(child: ChildProcess, ms: number): Promise<void> {
  if (exitDescription(child) !== null) return;
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  child.kill('SIGTERM');
  let timer: NodeJS.Timeout | undefined;
  const timedOut = await Promise.race([exited.then(() => false), new Promise<boolean>((r) => (timer = setTimeout(() => r(true), ms)))]);
  clearTimeout(timer);
  if (timedOut) {
    child.kill('SIGKILL');
    await exited;
  }
}

/**
 * Flushes the freshly written tree to disk (sync(1)), so that writeback of hundreds of megabytes
 * does not run during the measurements.
 */
export async function flushToDisk(): Promise<void> {
  await runCommand('sync', []);
}

/** Durations of the steps of a server's setup, for the notes: "mail 4.1 s, sync 2.0 s". */
export class SetupSteps {
  private last = Date.now();
  private readonly steps: string[] = [];

  done(step: string): void {
    const now = Date.now();
    this.steps.push(`${step} ${((now - this.last) / 1000).toFixed(1)} s`);
    this.last = now;
  }

  toString(): string {
    return this.steps.join(', ');
  }
}
