// The directory bench (the `directory` part of `npm run bench`, issue 24): POP sign-ins per second against
// accounts in PostgreSQL and in OpenLDAP slapd, Postern's SQL and LDAP drivers beside Dovecot's pgsql and ldap
// drivers on the same directory and the same users, each with its cache on (Postern: directory.cacheTtl and
// authCache; Dovecot: auth_cache_size and auth_cache_ttl) and off. LDAP is measured twice: the service DN
// reading userPassword, and auth bind (the password checked by binding as the user: Dovecot's auth_bind).
// Each sign-in is a whole POP session (connect, greeting, USER, PASS, QUIT) of a user picked at random; the
// password hash is SHA512-CRYPT (Dovecot's default scheme for new sites; {CRYPT}$6$ in LDAP, which slapd
// checks too). "Per CPU second" divides by the CPU seconds the server's processes used (the directory's own
// CPU is shown apart). Dovecot runs twice: with a pop3 process started for every session (its default) and
// with pop3 processes reused (service_count = 0, as the bench's dovecot-fast); the verdicts are against the
// latter, whose CPU is the closest to its directory's cost. As root, with Dovecot, dovecot-pgsql, dovecot-ldap, PostgreSQL 15 and slapd:
//   npm run bench -- --protocols directory [--directory-seconds N --directory-clients N --directory-users N]
//   node bench/dist/directory-sign-ins.js [--seconds N --clients N --users N --directories sql,ldap,ldap-bind]
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadavg } from 'node:os';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { findDovecot, MAIL_ID } from './dovecot.js';
import { TestPostgres } from './postgres.js';
import { POSTERN_BIN } from './postern.js';
import { treeCpuSeconds } from './proc.js';
import { freePort, HOST, runCommand, terminate } from './server.js';
import { LDAP_PEOPLE, LDAP_SERVICE, TestSlapd } from './slapd.js';

const PASSWORD = 'bench-pw';

/** sql: PostgreSQL; ldap: slapd, userPassword read by the service DN; ldap-bind: slapd, auth bind. */
export type DirectoryKind = 'sql' | 'ldap' | 'ldap-bind';
export const DIRECTORY_KINDS: DirectoryKind[] = ['sql', 'ldap', 'ldap-bind'];

export interface DirectoryRow {
  directory: DirectoryKind;
  /** dovecot: a pop3 process started for every session (Dovecot's default); dovecot-fast: pop3 processes reused */
  server: ServerKind;
  cache: 'on' | 'off';
  signIns: number;
  failed: number;
  seconds: number;
  cpu: number;
  /** CPU seconds of the directory's processes (PostgreSQL's tree, slapd) during the run */
  dbCpu: number;
  /** the 1-minute load average when the run ended */
  load: number;
}

export interface DirectoryOptions {
  seconds: number;
  clients: number;
  users: number;
  kinds: DirectoryKind[];
}

export interface DirectoryFigures {
  options: DirectoryOptions;
  rows: DirectoryRow[];
  dovecot: string;
  /** the load averages (1, 5, 15 minutes) before the part and after it */
  loadBefore: number[];
  loadAfter: number[];
  wallSeconds: number;
  skipped: string[];
}

/** The directory a run signs in against: its url for Postern, its section for Dovecot, its CPU. */
interface Directory {
  kind: DirectoryKind;
  postern: Record<string, unknown>;
  dovecotConf(base: string): Promise<string>;
  cpuSeconds(): Promise<number>;
}

type Row = DirectoryRow;
type ServerKind = 'postern' | 'dovecot' | 'dovecot-fast';

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
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`nothing answers on port ${port}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function startPostern(dir: string, d: Directory, cache: boolean): Promise<{ child: ChildProcess; port: number }> {
  const port = await freePort();
  const config = join(dir, `postern-${d.kind}-${cache ? 'cache' : 'nocache'}.yaml`);
  await writeFile(
    config,
    JSON.stringify({
      dataDir: join(dir, 'postern-data'),
      mainDomain: 'example.org',
      listeners: [{ name: 'pop3', module: 'pop', address: HOST, port }],
      log: { level: 'error' },
      pop: { authFailureDelay: 0, maxChannels: 10000 },
      authCache: cache ? { entries: 100000, ttl: 600 } : { entries: 0 },
      directory: { ...d.postern, cacheTtl: cache ? 60 : 0 },
    }),
  );
  const child = spawn(process.execPath, [POSTERN_BIN, '--config', config, 'serve'], { stdio: ['ignore', 'ignore', 'inherit'] });
  await waitForPort(port, child, 90_000);
  return { child, port };
}

async function startDovecot(dir: string, d: Directory, cache: boolean, fast: boolean): Promise<{ child: ChildProcess; port: number }> {
  const bin = findDovecot();
  if (!bin) throw new Error('Dovecot is not installed');
  const port = await freePort();
  const base = join(dir, `dovecot-${fast ? 'fast-' : ''}${d.kind}-${cache ? 'cache' : 'nocache'}`);
  await mkdir(base, { recursive: true, mode: 0o711 });
  const dbs = await d.dovecotConf(base);
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
${dbs}${
  // the high-performance mode for pop3 processes too (the bench's dovecot-fast): otherwise every session
  // starts a pop3 process (Dovecot's default), a cost that has nothing to do with the directory
  fast ? 'service pop3 {\n  service_count = 0\n  process_min_avail = 2\n}\n' : ''
}# Dovecot's high-performance login mode: the faster of its two modes for many short sessions
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
  await waitForPort(port, child, 90_000);
  return { child, port };
}

async function measure(
  name: ServerKind,
  cache: boolean,
  server: { child: ChildProcess; port: number },
  db: Directory,
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
  if (failed > 0) process.stderr.write(`directory ${db.kind}: ${name} cache ${cache ? 'on' : 'off'}: ${failed} sign-ins failed\n`);
  await terminate(server.child, 10_000);
  return { directory: db.kind, server: name, cache: cache ? 'on' : 'off', signIns: ok, failed, seconds, cpu, dbCpu, load: loadavg()[0] };
}

const KIND_NAMES: Record<DirectoryKind, string> = {
  sql: 'SQL (PostgreSQL)',
  ldap: 'LDAP, userPassword read',
  'ldap-bind': 'LDAP, auth bind',
};

const SERVER_NAMES: Record<ServerKind, string> = {
  postern: 'Postern',
  dovecot: 'Dovecot (a pop3 process per session)',
  'dovecot-fast': 'Dovecot (pop3 processes reused)',
};

export function renderDirectory(f: DirectoryFigures): string {
  const o = f.options;
  const lines = [
    `Sign-ins against a directory (POP: greeting, USER, PASS, QUIT; ${o.users} users with SHA512-CRYPT hashes, ` +
      `${o.clients} clients, ${o.seconds} s per run; ${f.dovecot}; load average ${f.loadBefore.map((l) => l.toFixed(2)).join(' ')} ` +
      `before, ${f.loadAfter.map((l) => l.toFixed(2)).join(' ')} after; the part took ${f.wallSeconds.toFixed(0)} s)`,
    '',
    '| directory | server | cache | sign-ins/s | server CPU s | sign-ins per CPU second | directory CPU s | failed | load (1 min) |',
    '|---|---|---|---:|---:|---:|---:|---:|---:|',
  ];
  const perCpu = (r: Row) => r.signIns / Math.max(r.cpu, 0.01);
  // with auth bind the hash is checked by slapd: the server's CPU alone would leave that work out
  const withDirectory = (r: Row) => r.signIns / Math.max(r.cpu + r.dbCpu, 0.01);
  for (const r of f.rows) {
    lines.push(
      `| ${KIND_NAMES[r.directory]} | ${SERVER_NAMES[r.server]} | ${r.cache} | ` +
        `${(r.signIns / r.seconds).toFixed(0)} | ${r.cpu.toFixed(1)} | ${perCpu(r).toFixed(0)} | ${r.dbCpu.toFixed(1)} | ` +
        `${r.failed} | ${r.load.toFixed(1)} |`,
    );
  }
  lines.push('');
  for (const kind of o.kinds) {
    for (const cache of ['on', 'off'] as const) {
      const p = f.rows.find((r) => r.directory === kind && r.server === 'postern' && r.cache === cache);
      // judged against Dovecot's faster mode (the default's process per session is not the directory's cost)
      const d =
        f.rows.find((r) => r.directory === kind && r.server === 'dovecot-fast' && r.cache === cache) ??
        f.rows.find((r) => r.directory === kind && r.server === 'dovecot' && r.cache === cache);
      if (!p || !d || d.signIns === 0) continue;
      const ratio = perCpu(p) / perCpu(d);
      const target = cache === 'on' ? 2 : 1;
      lines.push(
        `${KIND_NAMES[kind]}, cache ${cache}: Postern ${ratio.toFixed(2)}x ${SERVER_NAMES[d.server]}'s sign-ins per CPU second ` +
          `(${(p.signIns / p.seconds / (d.signIns / d.seconds)).toFixed(2)}x per wall second, ` +
          `${(withDirectory(p) / withDirectory(d)).toFixed(2)}x counting the directory's CPU too) (target >= ${target}): ` +
          `${p.failed + d.failed > 0 ? 'NOT JUDGED (sign-ins failed)' : ratio >= target ? 'PASS' : 'FAIL'}`,
      );
    }
  }
  for (const s of f.skipped) lines.push(`skipped: ${s}`);
  return lines.join('\n');
}

/** Why the part cannot run here, or null. */
export function directoryUnavailable(kinds: DirectoryKind[]): string | null {
  if (process.getuid?.() !== 0) return 'the directory bench needs root (PostgreSQL as postgres, Dovecot mail as uid 5000)';
  if (!findDovecot()) return 'Dovecot is not installed';
  if (
    kinds.includes('sql') &&
    !existsSync('/usr/lib/dovecot/modules/auth/libdriver_pgsql.so') &&
    !existsSync('/usr/lib/dovecot/modules/libdriver_pgsql.so')
  )
    return 'dovecot-pgsql is not installed';
  if (kinds.some((k) => k !== 'sql') && !existsSync('/usr/lib/dovecot/modules/auth/libauthdb_ldap.so'))
    return 'dovecot-ldap is not installed';
  return null;
}

const POSTERN_SQL = {
  passwordQuery: "SELECT userid AS user, password FROM users WHERE userid = '%u'",
  userQuery: "SELECT home, 5000 AS uid, 5000 AS gid FROM users WHERE userid = '%u'",
};

async function sqlDirectory(users: { login: string; home: string }[], hash: string): Promise<{ d: Directory; stop: () => Promise<void> }> {
  const db = await TestPostgres.start();
  try {
    const c = await db.createDatabase('mail');
    await c.query('CREATE TABLE users (userid VARCHAR(128) PRIMARY KEY, password VARCHAR(256), home VARCHAR(256))');
    for (const u of users) await c.query('INSERT INTO users VALUES ($1, $2, $3)', [u.login, hash, u.home]);
    await c.end();
  } catch (err) {
    await db.stop();
    throw err;
  }
  const d: Directory = {
    kind: 'sql',
    postern: { driver: 'sql', url: db.url('mail'), ...POSTERN_SQL },
    async dovecotConf(base) {
      const file = join(base, 'dovecot-sql.conf.ext');
      await writeFile(
        file,
        [
          'driver = pgsql',
          `connect = host=127.0.0.1 port=${db.port} dbname=mail user=postgres password=${db.password}`,
          `password_query = ${POSTERN_SQL.passwordQuery}`,
          `user_query = ${POSTERN_SQL.userQuery}`,
          '',
        ].join('\n'),
        { mode: 0o644 },
      );
      return `passdb {\n  driver = sql\n  args = ${file}\n}\nuserdb {\n  driver = sql\n  args = ${file}\n}\n`;
    },
    cpuSeconds: () => db.cpuSeconds(),
  };
  return { d, stop: () => db.stop() };
}

const LDAP_FILTER = '(&(objectClass=inetOrgPerson)(mail=%u))';

function ldapDirectory(slapd: TestSlapd, authBind: boolean): Directory {
  return {
    kind: authBind ? 'ldap-bind' : 'ldap',
    postern: {
      driver: 'ldap',
      url: slapd.url,
      base: LDAP_PEOPLE,
      filter: LDAP_FILTER,
      bind: { ...LDAP_SERVICE },
      authBind,
      attributes: { user: 'mail', password: 'userPassword', home: 'homeDirectory' },
    },
    async dovecotConf(base) {
      const file = join(base, 'dovecot-ldap.conf.ext');
      await writeFile(
        file,
        [
          `uris = ${slapd.url}`,
          `dn = ${LDAP_SERVICE.dn}`,
          `dnpass = ${LDAP_SERVICE.password}`,
          `auth_bind = ${authBind ? 'yes' : 'no'}`,
          `base = ${LDAP_PEOPLE}`,
          'user_attrs = homeDirectory=home,uidNumber=uid,gidNumber=gid',
          `user_filter = ${LDAP_FILTER}`,
          'pass_attrs = mail=user,userPassword=password',
          `pass_filter = ${LDAP_FILTER}`,
          '',
        ].join('\n'),
        { mode: 0o644 },
      );
      return `passdb {\n  driver = ldap\n  args = ${file}\n}\nuserdb {\n  driver = ldap\n  args = ${file}\n}\n`;
    },
    async cpuSeconds() {
      return slapd.pid ? treeCpuSeconds(slapd.pid) : 0;
    },
  };
}

/** The directory part: each directory in turn, Postern and Dovecot with the cache on, then off. */
export async function runDirectoryBench(root: string, o: DirectoryOptions): Promise<DirectoryFigures> {
  const t0 = performance.now();
  const loadBefore = loadavg();
  const dir = join(root, 'directory');
  await mkdir(dir, { recursive: true });
  await chmod(root, 0o711);
  await chmod(dir, 0o711);
  const bin = findDovecot();
  const dovecot = bin ? (await runCommand(bin, ['--version'])).stdout.trim() : 'no Dovecot';
  const rows: Row[] = [];
  const skipped: string[] = [];
  const hash = (await runCommand('doveadm', ['pw', '-s', 'SHA512-CRYPT', '-p', PASSWORD])).stdout.trim(); // {SHA512-CRYPT}$6$...
  const users = Array.from({ length: o.users }, (_, i) => ({
    login: `user${i}@example.org`,
    uid: `user${i}`,
    home: join(dir, 'homes', `user${i}`),
  }));
  await mkdir(join(dir, 'homes'), { mode: 0o711 });
  for (const u of users) {
    for (const sub of ['cur', 'new', 'tmp']) await mkdir(join(u.home, 'Maildir', sub), { recursive: true });
    await runCommand('chown', ['-R', `${MAIL_ID}:${MAIL_ID}`, u.home]);
  }
  const logins = users.map((u) => u.login);
  const runBoth = async (d: Directory): Promise<void> => {
    for (const cache of [true, false]) {
      process.stderr.write(`directory ${d.kind}: postern, cache ${cache ? 'on' : 'off'}\n`);
      rows.push(await measure('postern', cache, await startPostern(dir, d, cache), d, logins, o));
      process.stderr.write(`directory ${d.kind}: dovecot, cache ${cache ? 'on' : 'off'}\n`);
      rows.push(await measure('dovecot', cache, await startDovecot(dir, d, cache, false), d, logins, o));
      process.stderr.write(`directory ${d.kind}: dovecot-fast, cache ${cache ? 'on' : 'off'}\n`);
      rows.push(await measure('dovecot-fast', cache, await startDovecot(dir, d, cache, true), d, logins, o));
    }
  };
  if (o.kinds.includes('sql')) {
    const { d, stop } = await sqlDirectory(users, hash);
    try {
      await runBoth(d);
    } catch (err) {
      skipped.push(`sql: ${(err as Error).message}`);
    } finally {
      await stop();
    }
  }
  if (o.kinds.some((k) => k !== 'sql')) {
    // {CRYPT}$6$...: the same SHA512-CRYPT hash in the form slapd (for auth bind), Dovecot and Postern all check
    const crypt = `{CRYPT}${hash.replace(/^\{[^}]*\}/, '')}`;
    const slapd = await TestSlapd.start(users.map((u) => ({ uid: u.uid, mail: u.login, userPassword: crypt, homeDirectory: u.home })));
    try {
      for (const kind of ['ldap', 'ldap-bind'] as const) {
        if (!o.kinds.includes(kind)) continue;
        try {
          await runBoth(ldapDirectory(slapd, kind === 'ldap-bind'));
        } catch (err) {
          skipped.push(`${kind}: ${(err as Error).message}`);
        }
      }
    } finally {
      await slapd.stop();
    }
  }
  return { options: o, rows, dovecot, loadBefore, loadAfter: loadavg(), wallSeconds: (performance.now() - t0) / 1000, skipped };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      seconds: { type: 'string', default: '10' },
      clients: { type: 'string', default: '8' },
      users: { type: 'string', default: '200' },
      directories: { type: 'string', default: DIRECTORY_KINDS.join(',') },
    },
  });
  const kinds = DIRECTORY_KINDS.filter((k) => values.directories.split(',').includes(k));
  const o = { seconds: Number(values.seconds), clients: Number(values.clients), users: Number(values.users), kinds };
  const why = directoryUnavailable(kinds);
  if (why) throw new Error(why);
  const root = await mkdtemp(join(tmpdir(), 'postern-bench-dir-'));
  try {
    const figures = await runDirectoryBench(root, o);
    process.stdout.write(`${renderDirectory(figures)}\n`);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await main();
