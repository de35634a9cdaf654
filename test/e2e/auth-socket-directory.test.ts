// The auth socket over an SQLite directory (accounts/directory/), through a real `postern serve`: the
// directory's users sign in through the MTA's socket with the passwords it holds; a broken database gives
// FAIL ... temp (Postfix's client reads that it may try again), neither throttled nor a lockout, and the
// sign-ins come back by themselves once the database does.
import { copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { plain, RawAuth } from '../helpers/auth-client.js';
import { CREATE_USERS, directoryRows, QUERIES } from '../helpers/directory-users.js';
import { startServer, type TestServer } from '../helpers/server.js';

let server: TestServer;
let dir: string;
let dbFile: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'postern-auth-dir-'));
  dbFile = join(dir, 'users.sqlite');
  const db = new Database(dbFile);
  db.exec(CREATE_USERS);
  const insert = db.prepare('INSERT INTO users VALUES (@userid, @password, @home, @quota_rule, @nologin)');
  for (const row of directoryRows(join(dir, 'homes'))) insert.run(row);
  db.close();
  server = await startServer({
    config: {
      listeners: [
        { name: 'pop3', module: 'pop', address: '127.0.0.1', port: 0 },
        { name: 'auth', module: 'auth', path: join(dir, 'auth') },
      ],
      directory: { driver: 'sql', url: `sqlite:${dbFile}`, ...QUERIES, cacheTtl: 0 },
      auth: { authFailureTime: 0.05, authFailureDelay: 1 },
    },
  });
});
afterAll(async () => {
  await server?.stop();
  await rm(dir, { recursive: true, force: true });
});

describe('the auth socket over an SQLite directory', () => {
  it("signs the directory's users in; a broken database is a temporary failure, not throttled; recovery by itself", async () => {
    const { client } = await RawAuth.ready({ path: join(dir, 'auth') });
    const auth = (id: number, password: string) => {
      client.send(`AUTH\t${id}\tPLAIN\tservice=smtp\trip=192.0.2.77\tresp=${plain('ann@example.org', password)}`);
      return client.line();
    };
    expect(await auth(1, 'ann-pw')).toBe('OK\t1\tuser=ann@example.org');
    expect(await auth(2, 'wrong')).toBe('FAIL\t2\tuser=ann@example.org');

    await copyFile(dbFile, `${dbFile}.saved`);
    await writeFile(dbFile, 'not a database at all, '.repeat(200));
    const t = performance.now();
    for (let id = 3; id < 9; id++) {
      expect(await auth(id, 'ann-pw')).toBe(
        `FAIL\t${id}\tuser=ann@example.org\treason=Temporary authentication failure, try again later\ttemp`,
      );
    }
    // six refusals from one rip= and no growing delay: the user did nothing wrong
    expect(performance.now() - t).toBeLessThan(1000);
    await writeFile(dbFile, await readFile(`${dbFile}.saved`));
    expect(await auth(9, 'ann-pw')).toBe('OK\t9\tuser=ann@example.org');
    client.close();
  });
});
