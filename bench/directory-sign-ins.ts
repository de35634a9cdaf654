// The directory bench: POP sign-ins per second against accounts in PostgreSQL, Postern's SQL driver beside
// Dovecot's pgsql driver on the same database and the same users, each with its cache on (Postern:
// directory.cacheTtl and authCache; Dovecot: auth_cache_size and auth_cache_ttl) and off. Each sign-in is a
// whole POP session (connect, greeting, USER, PASS, QUIT) of a user picked at random; the password hash is
// SHA512-CRYPT (Dovecot's default scheme for new sites). "Per core" divides by the CPU seconds the server's
// processes used (the database's own CPU is shown apart). Run (as root, with Dovecot and dovecot-pgsql):
//   tsc -p tsconfig.json && tsc -p bench/tsconfig.json && node bench/dist/directory-sign-ins.js [--seconds N --clients N --users N]
import { type ChildProcess, spawn } from 'node:child_process';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { findDovecot } from './dovecot.js';
import { TestPostgres } from './postgres.js';
import { POSTERN_BIN } from './postern.js';
import { treeCpuSeconds } from './proc.js';
import { freePort, HOST, runCommand, terminate } from './server.js';

const MAIL_ID = 5000;
const PASSWORD = 'bench-pw';

interface Row {
  server: string;
  cache: 'on' | 'off';
  signIns: number;
  seconds: number;
  cpu: number;
  dbCpu: number;
}

/** One POP session: greeting, USER, PASS, QUIT; true when PASS was accepted. */
function popSignIn(port: number, user: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(port, HOST);
    let buffer = '';
    let step = 0;
    let ok = false;
    s.setEncoding('latin1');
    s.on('data', (d: string) => {
      buffer += d;
      for (let nl = buffer.indexOf('\r\n'); nl >= 0; nl = buffer.indexOf('\r\n')) {
        const line = buffer.slice(0, nl);
        buffer = buffer.slice(nl + 2);
        if (step === 0) s.write(`USER ${user}\r\n`);
        else if (step === 1) s.write(`PASS ${PASSWORD}\r\n`);
        else if (step === 2) {
          ok = line.startsWith('+OK');
          s.write('QUIT\r\n');
        }
        step++;
      }
    });
    s.on('error', () => resolve(false));
    s.on('close', () => resolve(ok));
  });
}

/** `clients` loops signing in random users for `seconds`; the sign-ins that succeeded. */
async function load(port: number, users: string[], clients: number, seconds: number): Promise<{ ok: number; failed: number }> {
  const end = Date.now() + seconds * 1000;
  let ok = 0;
  let failed = 0;
  await Promise.all(
    Array.from({ length: clients }, async () => {
      while (Date.now() < end) {
        if (await popSignIn(port, users[Math.floor(Math.random() * users.length)])) ok++;
        else failed++;
      }
    }),
  );
  return { ok, failed };
}

async function waitForPort(port: number, child: ChildProcess, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`the server exited with ${child.exitCode}`);
    const up = await new Promise<boolean>((r) => {
      const s = connect(port, HOST);
      s.once('data', () => {
        s.destroy();
        r(true);
      });
      s.once('error', () => r(false));
    });
    if (up) return;
    if (Date.now() > deadline) throw new Error(`nothing answers on port ${port}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function startPostern(dir: string, url: string, cache: boolean): Promise<{ child: ChildProcess; port: number }> {
  const port = await freePort();
  const config = join(dir, `postern-${cache ? 'cache' : 'nocache'}.yaml`);
  await writeFile(
    config,
    JSON.stringify({
      dataDir: join(dir, 'postern-data'),
      mainDomain: 'example.org',
      listeners: [{ name: 'pop3', module: 'pop', address: HOST, port }],
      log: { level: 'error' },
      pop: { authFailureDelay: 0, maxChannels: 10000 },
      authCache: cache ? { entries: 100000, ttl: 600 } : { entries: 0 },
      directory: {
        driver: 'sql',
        url,
        passwordQuery: "SELECT userid AS user, password FROM users WHERE userid = '%u'",
        userQuery: "SELECT home, 5000 AS uid, 5000 AS gid FROM users WHERE userid = '%u'",
        cacheTtl: cache ? 60 : 0,
      },
    }),
  );
  const child = spawn(process.execPath, [POSTERN_BIN, '--config', config, 'serve'], { stdio: ['ignore', 'ignore', 'inherit'] });
  await waitForPort(port, child, 20_000);
  return { child, port };
}

async function startDovecot(dir: string, db: TestPostgres, cache: boolean): Promise<{ child: ChildProcess; port: number }> {
  const bin = findDovecot();
  if (!bin) throw new Error('Dovecot is not installed');
  const port = await freePort();
  const base = join(dir, `dovecot-${cache ? 'cache' : 'nocache'}`);
  await mkdir(base, { recursive: true, mode: 0o711 });
  const sqlConf = join(base, 'dovecot-sql.conf.ext');
  await writeFile(
    sqlConf,
    [
      'driver = pgsql',
      `connect = host=127.0.0.1 port=${db.port} dbname=mail user=postgres password=${db.password}`,
      "password_query = SELECT userid AS user, password FROM users WHERE userid = '%u'",
      "user_query = SELECT home, 5000 AS uid, 5000 AS gid FROM users WHERE userid = '%u'",
      '',
    ].join('\n'),
    { mode: 0o644 },
  );
  const conf = join(base, 'dovecot.conf');
  await writeFile(
    conf,
    `base_dir = ${base}/run
state_dir = ${base}/state
log_path = ${base}/dovecot.log
protocols = pop3
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
default_login_user = dovenull
default_internal_user = dovecot
first_valid_uid = ${MAIL_ID}
mail_location = maildir:~/Maildir
auth_cache_size = ${cache ? '10M' : '0'}
auth_cache_ttl = 60 s
passdb {
  driver = sql
  args = ${sqlConf}
}
userdb {
  driver = sql
  args = ${sqlConf}
}
# Dovecot's high-performance login mode: the faster of its two modes for many short sessions
service pop3-login {
  inet_listener pop3 {
    address = 127.0.0.1
    port = ${port}
  }
  inet_listener pop3s {
    port = 0
  }
  service_count = 0
  process_min_avail = 2
}
service anvil {
  client_limit = 10000
}
`,
  );
  const child = spawn(bin, ['-F', '-c', conf], { stdio: 'ignore' });
  await waitForPort(port, child, 20_000);
  return { child, port };
}

async function measure(
  name: string,
  cache: boolean,
  server: { child: ChildProcess; port: number },
  db: TestPostgres,
  users: string[],
  o: { clients: number; seconds: number },
): Promise<Row> {
  // each user once first: the caches filled (when on), the homes made
  for (let i = 0; i < users.length; i += o.clients) {
    await Promise.all(users.slice(i, i + o.clients).map((u) => popSignIn(server.port, u)));
  }
  const cpu0 = treeCpuSeconds(server.child.pid!);
  const db0 = await db.cpuSeconds();
  const t0 = performance.now();
  const { ok, failed } = await load(server.port, users, o.clients, o.seconds);
  const seconds = (performance.now() - t0) / 1000;
  const cpu = treeCpuSeconds(server.child.pid!) - cpu0;
  const dbCpu = (await db.cpuSeconds()) - db0;
  if (failed > 0) process.stderr.write(`${name} cache ${cache ? 'on' : 'off'}: ${failed} sign-ins failed\n`);
  await terminate(server.child, 10_000);
  return { server: name, cache: cache ? 'on' : 'off', signIns: ok, seconds, cpu, dbCpu };
}

function render(rows: Row[]): string {
  const lines = [
    '| server | cache | sign-ins/s | server CPU s | sign-ins per CPU second | database CPU s |',
    '|---|---|---:|---:|---:|---:|',
  ];
  for (const r of rows) {
    lines.push(
      `| ${r.server} | ${r.cache} | ${(r.signIns / r.seconds).toFixed(0)} | ${r.cpu.toFixed(1)} | ` +
        `${(r.signIns / Math.max(r.cpu, 0.01)).toFixed(0)} | ` +
        `${r.dbCpu.toFixed(1)} |`,
    );
  }
  for (const cache of ['on', 'off'] as const) {
    const p = rows.find((r) => r.server === 'postern' && r.cache === cache);
    const d = rows.find((r) => r.server === 'dovecot' && r.cache === cache);
    if (p && d) {
      const ratio = p.signIns / Math.max(p.cpu, 0.01) / (d.signIns / Math.max(d.cpu, 0.01));
      lines.push(
        '',
        `cache ${cache}: Postern/Dovecot per CPU second ${ratio.toFixed(2)}x, ` +
          `per wall second ${(p.signIns / p.seconds / (d.signIns / d.seconds)).toFixed(2)}x`,
      );
    }
  }
  return lines.join('\n');
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      seconds: { type: 'string', default: '10' },
      clients: { type: 'string', default: '8' },
      users: { type: 'string', default: '200' },
    },
  });
  const o = { seconds: Number(values.seconds), clients: Number(values.clients) };
  const count = Number(values.users);
  if (process.getuid?.() !== 0) throw new Error('the directory bench needs root (PostgreSQL as postgres, Dovecot mail as uid 5000)');
  const dir = await mkdtemp(join(tmpdir(), 'postern-bench-dir-'));
  await chmod(dir, 0o711);
  const db = await TestPostgres.start();
  try {
    const hash = (await runCommand('doveadm', ['pw', '-s', 'SHA512-CRYPT', '-p', PASSWORD])).stdout.trim();
    const admin = new pg.Client({ connectionString: db.url() });
    await admin.connect();
    await admin.query('CREATE DATABASE mail');
    await admin.end();
    const c = new pg.Client({ connectionString: db.url('mail') });
    await c.connect();
    await c.query('CREATE TABLE users (userid VARCHAR(128) PRIMARY KEY, password VARCHAR(256), home VARCHAR(256))');
    const users = Array.from({ length: count }, (_, i) => `user${i}@example.org`);
    const homes = join(dir, 'homes');
    await mkdir(homes, { mode: 0o711 });
    for (const u of users) {
      const home = join(homes, u.split('@')[0]);
      for (const sub of ['cur', 'new', 'tmp']) await mkdir(join(home, 'Maildir', sub), { recursive: true });
      await runCommand('chown', ['-R', `${MAIL_ID}:${MAIL_ID}`, home]);
      await c.query('INSERT INTO users VALUES ($1, $2, $3)', [u, hash, home]);
    }
    await c.end();
    const rows: Row[] = [];
    for (const cache of [true, false]) {
      rows.push(await measure('postern', cache, await startPostern(dir, db.url('mail'), cache), db, users, o));
      rows.push(await measure('dovecot', cache, await startDovecot(dir, db, cache), db, users, o));
    }
    process.stdout.write(`${render(rows)}\n`);
    process.stdout.write(
      `(${count} users, ${o.clients} clients, ${o.seconds} s per run; ` +
        `Dovecot ${(await runCommand(findDovecot()!, ['--version'])).stdout.trim()})\n`,
    );
  } finally {
    await db.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
