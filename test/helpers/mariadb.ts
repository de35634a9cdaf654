// A real MariaDB for the directory tests (where the machine has it: `mariadb-server`): a data folder
// made by mariadb-install-db in a temp folder, mariadbd run as the `mysql` system user on a free port,
// a `mail` user with a password for Postern and Dovecot; root signs in over the socket (unix_socket).
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, chown, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freeRestartablePort } from '../../bench/server.js';

const run = promisify(execFile);
const SERVER = '/usr/sbin/mariadbd';
const SYSTEM_USER = 'mysql';

export function haveMariadb(): boolean {
  return existsSync(SERVER) && existsSync('/usr/bin/mariadb-install-db');
}

export class TestMariadb {
  private child: ChildProcess | null = null;

  private constructor(
    readonly port: number,
    readonly dir: string,
    readonly password: string,
  ) {}

  get socket(): string {
    return join(this.dir, 'mysqld.sock');
  }

  /** The `mail` user's url of `database`. */
  url(database: string): string {
    return `mysql://mail:${this.password}@127.0.0.1:${this.port}/${database}`;
  }

  static async start(): Promise<TestMariadb> {
    const dir = await mkdtemp(join(tmpdir(), 'postern-mariadb-'));
    await chmod(dir, 0o755);
    const uid = Number((await run('id', ['-u', SYSTEM_USER])).stdout.trim());
    const gid = Number((await run('id', ['-g', SYSTEM_USER])).stdout.trim());
    await chown(dir, uid, gid);
    await run('mariadb-install-db', [
      '--no-defaults',
      `--datadir=${join(dir, 'data')}`,
      `--user=${SYSTEM_USER}`,
      '--auth-root-authentication-method=socket',
      '--skip-test-db',
    ]);
    const db = new TestMariadb(await freeRestartablePort(), dir, `maria-${Math.random().toString(36).slice(2)}`);
    await db.resume();
    return db;
  }

  /** Starts mariadbd (again) on its port; resolves once it accepts connections on its socket. */
  async resume(): Promise<void> {
    if (this.child && this.child.exitCode === null) return; // running already
    const child = spawn(
      SERVER,
      [
        '--no-defaults',
        `--datadir=${join(this.dir, 'data')}`,
        `--socket=${this.socket}`,
        `--port=${this.port}`,
        '--bind-address=127.0.0.1',
        `--user=${SYSTEM_USER}`,
        `--pid-file=${join(this.dir, 'mysqld.pid')}`,
        `--log-error=${join(this.dir, 'error.log')}`,
        '--skip-log-bin',
        '--innodb-flush-log-at-trx-commit=0',
      ],
      { stdio: 'ignore' },
    );
    this.child = child;
    const deadline = Date.now() + 30_000;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`mariadbd exited with ${child.exitCode}; see ${join(this.dir, 'error.log')}`);
      if (existsSync(this.socket)) {
        const ok = await this.sql('SELECT 1').then(
          () => true,
          () => false,
        );
        if (ok) return;
      }
      if (Date.now() > deadline) throw new Error('mariadbd did not start within 30 s');
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** Runs statements as root over the socket. */
  async sql(statements: string): Promise<void> {
    const mysql = await import('mysql2/promise');
    const c = await mysql.createConnection({ socketPath: this.socket, user: 'root', multipleStatements: true });
    try {
      await c.query(statements);
    } finally {
      await c.end();
    }
  }

  /** Makes `database` and the `mail` user who may read it. */
  async createDatabase(database: string): Promise<void> {
    await this.sql(
      `CREATE DATABASE ${database}; CREATE USER IF NOT EXISTS 'mail'@'127.0.0.1' IDENTIFIED BY '${this.password}'; ` +
        `CREATE USER IF NOT EXISTS 'mail'@'localhost' IDENTIFIED BY '${this.password}'; ` +
        `GRANT ALL ON ${database}.* TO 'mail'@'127.0.0.1'; GRANT ALL ON ${database}.* TO 'mail'@'localhost'`,
    );
  }

  /** Stops mariadbd (SIGTERM), as when it goes down. */
  async pause(): Promise<void> {
    const child = this.child;
    this.child = null;
    if (!child || child.exitCode !== null) return;
    const gone = new Promise<void>((r) => child.once('exit', () => r()));
    child.kill('SIGTERM');
    const kill = setTimeout(() => child.kill('SIGKILL'), 15_000);
    await gone;
    clearTimeout(kill);
  }

  async stop(): Promise<void> {
    await this.pause();
    await rm(this.dir, { recursive: true, force: true });
  }
}
