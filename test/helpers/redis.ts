// A real redis-server for the tests of several nodes: started on a free port in its own folder, with
// nothing saved to disk, stopped (and started again on the same port) when a test says.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freeRestartablePort } from '../../bench/server.js';

export class TestRedis {
  private child: ChildProcess | null = null;

  private constructor(
    readonly port: number,
    private readonly dir: string,
  ) {}

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  static async start(): Promise<TestRedis> {
    const r = new TestRedis(await freeRestartablePort(), await mkdtemp(join(tmpdir(), 'postern-redis-')));
    await r.resume();
    return r;
  }

  /** Starts redis-server (again) on the same port; resolves once it answers PING. */
  async resume(): Promise<void> {
    this.child = spawn(
      'redis-server',
      ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', this.dir],
      { stdio: 'ignore' },
    );
    const deadline = Date.now() + 10_000;
    while (!(await this.ping())) {
      if (Date.now() > deadline) throw new Error('redis-server did not start');
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  ping(): Promise<boolean> {
    return new Promise((resolve) => {
      const s = createConnection({ host: '127.0.0.1', port: this.port });
      s.on('error', () => resolve(false));
      s.on('connect', () => s.write('PING\r\n'));
      s.on('data', (d) => {
        resolve(d.toString().startsWith('+PONG'));
        s.destroy();
      });
    });
  }

  /** Writes what it holds to its dump file (SAVE): the next start reads it back, as a restart with persistence does. */
  save(): Promise<void> {
    return new Promise((resolve, reject) => {
      const s = createConnection({ host: '127.0.0.1', port: this.port });
      s.on('error', reject);
      s.on('connect', () => s.write('SAVE\r\n'));
      s.on('data', (d) => {
        s.destroy();
        if (d.toString().startsWith('+OK')) resolve();
        else reject(new Error(`SAVE: ${d.toString().trim()}`));
      });
    });
  }

  /** Stops it (all it held is lost, as in a restart without persistence, unless save() ran first). */
  async pause(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((r) => child.on('exit', r));
    child.kill('SIGKILL');
    await exited;
    this.child = null;
  }

  async stop(): Promise<void> {
    await this.pause();
    await rm(this.dir, { recursive: true, force: true });
  }
}
