// A real PostgreSQL for the directory tests and the directory bench: initdb into a temp folder as the `postgres` system user
// (Debian's package makes it; PostgreSQL refuses to run as root), password authentication, a free port
// on 127.0.0.1, stopped and started again on the same port when a test says (the directory down mid-run).
import { execFile } from 'node:child_process';
import { chmod, chown, mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freeRestartablePort } from './server.js';

const run = promisify(execFile);
const BIN = '/usr/lib/postgresql/15/bin';
const SYSTEM_USER = 'postgres';

export class TestPostgres {
  private constructor(
    readonly port: number,
    private readonly dir: string,
    readonly password: string,
  ) {}

  /** The superuser's url (database postgres, or `database`). */
  url(database = 'postgres'): string {
    return `postgres://postgres:${this.password}@127.0.0.1:${this.port}/${database}`;
  }

  private get data(): string {
    return join(this.dir, 'data');
  }

  static async start(): Promise<TestPostgres> {
    const dir = await mkdtemp(join(tmpdir(), 'postern-pg-'));
    await chmod(dir, 0o755);
    const { uid, gid } = await ids(SYSTEM_USER);
    await chown(dir, uid, gid); // its log and socket are written there
    await mkdir(join(dir, 'data'), { mode: 0o700 });
    await chown(join(dir, 'data'), uid, gid);
    const password = `pg-${Math.random().toString(36).slice(2)}`;
    await writeFile(join(dir, 'pw'), password);
    await chown(join(dir, 'pw'), uid, gid);
    const pg = new TestPostgres(await freeRestartablePort(), dir, password);
    await run(
      'runuser',
      [
        '-u',
        SYSTEM_USER,
        '--',
        `${BIN}/initdb`,
        '-D',
        pg.data,
        '-U',
        'postgres',
        '--auth=scram-sha-256',
        `--pwfile=${join(dir, 'pw')}`,
        '-E',
        'UTF8',
      ],
      {
        cwd: dir,
      },
    );
    await pg.resume();
    return pg;
  }

  /** Starts the server (again) on its port; resolves once it accepts connections. */
  async resume(): Promise<void> {
    const options = `-p ${this.port} -c listen_addresses=127.0.0.1 -k ${this.dir} -c fsync=off -c max_connections=200`;
    await run(
      'runuser',
      ['-u', SYSTEM_USER, '--', `${BIN}/pg_ctl`, '-D', this.data, '-o', options, '-l', join(this.dir, 'log'), '-w', 'start'],
      {
        cwd: this.dir,
      },
    );
  }

  /** Stops the server (fast: open connections are cut, as when it goes down). */
  async pause(): Promise<void> {
    await run('runuser', ['-u', SYSTEM_USER, '--', `${BIN}/pg_ctl`, '-D', this.data, '-m', 'fast', '-w', 'stop'], { cwd: this.dir });
  }

  /** Creates `name` and returns a client connected to it (the caller ends it). */
  async createDatabase(name: string): Promise<import('pg').Client> {
    const pg = (await import('pg')).default;
    const admin = new pg.Client({ connectionString: this.url() });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${name}`);
    await admin.end();
    const client = new pg.Client({ connectionString: this.url(name) });
    await client.connect();
    return client;
  }

  /** CPU seconds the server's processes used so far (the postmaster's tree). */
  async cpuSeconds(): Promise<number> {
    const { readFile } = await import('node:fs/promises');
    const pid = Number((await readFile(join(this.data, 'postmaster.pid'), 'utf8')).split('\n')[0]);
    const { treeCpuSeconds } = await import('./proc.js');
    return treeCpuSeconds(pid);
  }

  async stop(): Promise<void> {
    await this.pause().catch(() => {});
    await rm(this.dir, { recursive: true, force: true });
  }
}

async function ids(user: string): Promise<{ uid: number; gid: number }> {
  const uid = Number((await run('id', ['-u', user])).stdout.trim());
  const gid = Number((await run('id', ['-g', user])).stdout.trim());
  return { uid, gid };
}
