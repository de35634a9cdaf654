// Starts the real `postern serve` in a child process, on port 0, in a fresh temporary data dir,
// and runs the real `postern` command line against the same config.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';

export const BIN = fileURLToPath(new URL('../../bin/postern.js', import.meta.url));

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `postern ARGS` with the given standard input. */
export function runCli(args: string[], input?: string | Buffer, cwd?: string): Promise<CliResult> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolvePromise({ code, stdout, stderr }));
    child.stdin.on('error', () => {});
    child.stdin.end(input ?? '');
  });
}

export interface LogRecord {
  level: number;
  msg: string;
  [key: string]: unknown;
}

/** The log records a server wrote so far, and a wait for one to come. */
export class LogBook {
  readonly records: LogRecord[] = [];
  private readonly waiters: { match: (r: LogRecord) => boolean; resolve: (r: LogRecord) => void }[] = [];

  add(record: LogRecord): void {
    this.records.push(record);
    for (const w of [...this.waiters]) {
      if (w.match(record)) {
        this.waiters.splice(this.waiters.indexOf(w), 1);
        w.resolve(record);
      }
    }
  }

  /** The first record matching, written already or to come; rejects after `ms` when given. */
  waitFor(match: (r: LogRecord) => boolean, ms?: number): Promise<LogRecord> {
    const found = this.records.find(match);
    if (found) return Promise.resolve(found);
    return new Promise((resolve, reject) => {
      const timer = ms === undefined ? undefined : setTimeout(() => reject(new Error('log record not seen in time')), ms);
      this.waiters.push({
        match,
        resolve: (r) => {
          clearTimeout(timer);
          resolve(r);
        },
      });
    });
  }
}

export interface TestServer {
  dir: string;
  configFile: string;
  dataDir: string;
  port: number;
  /** The bound port of a listener, from its latest "listening" record. */
  portOf(listener: string): number;
  process: ChildProcess;
  /** Every log record the server wrote so far. */
  logs: LogRecord[];
  /** `postern --config <this config> ...args` */
  cli(args: string[], input?: string | Buffer): Promise<CliResult>;
  addAccount(name: string, password: string): Promise<void>;
  deliver(address: string, message: string | Buffer): Promise<void>;
  /** Resolves with the first log record matching, waiting up to `ms`. */
  waitForLog(match: (r: LogRecord) => boolean, ms?: number): Promise<LogRecord>;
  /** Sends `signal` and resolves with the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
  /** Peak resident memory of the server so far, in KiB (VmHWM). */
  peakRssKiB(): Promise<number>;
}

export interface ServerOptions {
  /** Config keys merged over the test defaults. */
  config?: Record<string, unknown>;
  /** Do not start `serve`; only prepare the config (for CLI tests). */
  noServe?: boolean;
}

/** The config every test server starts with, `overrides` merged over it (also the in-process harness's, test/helpers/in-process.ts). */
export function testConfig(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    dataDir: './data',
    mainDomain: 'example.org',
    listeners: [{ name: 'pop3', module: 'pop', address: '127.0.0.1', port: 0 }],
    ...overrides,
    // Tests sign in wrongly on purpose; the growing delay has its own test.
    pop: { authFailureDelay: 0, ...(overrides.pop as object | undefined) },
    imap: { authFailureDelay: 0, ...(overrides.imap as object | undefined) },
  };
}

export async function startServer(options: ServerOptions = {}): Promise<TestServer> {
  const dir = await mkdtemp(join(tmpdir(), 'postern-test-'));
  const configFile = join(dir, 'postern.yaml');
  const config = testConfig(options.config);
  await writeFile(configFile, stringify(config));
  const cli = (args: string[], input?: string | Buffer) => runCli(['--config', configFile, ...args], input);

  const book = new LogBook();
  const logs = book.records;
  let child: ChildProcess | null = null;
  let exited: Promise<number | null> = Promise.resolve(null);

  if (!options.noServe) {
    child = spawn(process.execPath, [BIN, '--config', configFile, 'serve'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let buffered = '';
    let stderr = '';
    child.stderr!.on('data', (d) => (stderr += d));
    child.stdout!.on('data', (d) => {
      buffered += d;
      let nl: number;
      while ((nl = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        try {
          book.add(JSON.parse(line) as LogRecord);
        } catch {
          // not a log record
        }
      }
    });
    exited = new Promise((r) => child!.on('exit', (code) => r(code)));
    const started = await Promise.race([
      book.waitFor((x) => x.msg === 'Postern started'),
      exited.then((code) => {
        throw new Error(`postern serve exited with ${code}: ${stderr}`);
      }),
    ]);
    void started;
  }

  const server: TestServer = {
    dir,
    configFile,
    dataDir: join(dir, 'data'),
    port: Number(logs.find((r) => r.msg === 'listening' && r.listener === 'pop3')?.port ?? 0),
    portOf: (listener: string) => Number(logs.filter((r) => r.msg === 'listening' && r.listener === listener).pop()?.port ?? 0),
    process: child!,
    logs,
    cli,
    async addAccount(name, password) {
      const r = await cli(['account', 'add', name, '--password-stdin'], password);
      if (r.code !== 0) throw new Error(`account add failed: ${r.stderr}`);
    },
    async deliver(address, message) {
      const r = await cli(['deliver', address], message);
      if (r.code !== 0) throw new Error(`deliver failed (${r.code}): ${r.stderr}`);
    },
    waitForLog: (match, ms = 5000) => book.waitFor(match, ms),
    async stop(signal = 'SIGTERM') {
      if (child && child.exitCode === null) child.kill(signal);
      const code = await exited;
      await rm(dir, { recursive: true, force: true });
      return code;
    },
    async peakRssKiB() {
      const { readFile } = await import('node:fs/promises');
      const status = await readFile(`/proc/${child!.pid}/status`, 'utf8');
      return Number(/VmHWM:\s+(\d+)/.exec(status)![1]);
    },
  };
  return server;
}
