// Accounts in a real PostgreSQL (test/helpers/postgres.ts), read by Postern and by Dovecot's pgsql
// driver on the same tree: the directory suite (test/helpers/directory-suite.ts).
import pg from 'pg';
import { CREATE_USERS } from '../helpers/directory-users.js';
import { sqlDirectorySuite } from '../helpers/directory-suite.js';
import { TestPostgres } from '../helpers/postgres.js';

sqlDirectorySuite('a PostgreSQL directory', async (rows) => {
  const db = await TestPostgres.start();
  const admin = new pg.Client({ connectionString: db.url() });
  await admin.connect();
  await admin.query('CREATE DATABASE mail');
  await admin.end();
  const mail = new pg.Client({ connectionString: db.url('mail') });
  await mail.connect();
  await mail.query(CREATE_USERS);
  for (const r of rows)
    await mail.query('INSERT INTO users VALUES ($1, $2, $3, $4, $5)', [r.userid, r.password, r.home, r.quota_rule, r.nologin]);
  await mail.end();
  return {
    url: db.url('mail'),
    port: db.port,
    password: db.password,
    dovecotConnect: `driver = pgsql\nconnect = host=127.0.0.1 port=${db.port} dbname=mail user=postgres password=${db.password}`,
    pause: () => db.pause(),
    resume: () => db.resume(),
    stop: () => db.stop(),
  };
});
