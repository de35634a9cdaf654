// Accounts in a real MariaDB (test/helpers/mariadb.ts; mariadb-server is required, as .ci/run installs it),
// read by Postern's mysql driver and by Dovecot's mysql driver on the same tree: the directory suite
// (test/helpers/directory-suite.ts).
import { describe, expect, it } from 'vitest';
import { CREATE_USERS } from '../helpers/directory-users.js';
import { sqlDirectorySuite } from '../helpers/directory-suite.js';
import { haveMariadb, TestMariadb } from '../helpers/mariadb.js';

if (!haveMariadb()) {
  describe('a MariaDB directory', () => {
    // .ci/run installs it: a machine without it fails here rather than passing without a check
    it('needs mariadb-server (apt-get install mariadb-server)', () => {
      expect(haveMariadb(), 'mariadbd is not installed: apt-get install mariadb-server').toBe(true);
    });
  });
} else {
  sqlDirectorySuite('a MariaDB directory', async (rows) => {
    const db = await TestMariadb.start();
    await db.createDatabase('mail');
    const quote = (v: string | null) => (v === null ? 'NULL' : `'${v.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`);
    await db.sql(
      `USE mail; ${CREATE_USERS}; ` +
        rows
          .map((r) => `INSERT INTO users VALUES (${[r.userid, r.password, r.home, r.quota_rule, r.nologin].map(quote).join(', ')})`)
          .join('; '),
    );
    return {
      url: db.url('mail'),
      port: db.port,
      password: db.password,
      dovecotConnect: `driver = mysql\nconnect = host=127.0.0.1 port=${db.port} dbname=mail user=mail password=${db.password}`,
      pause: () => db.pause(),
      resume: () => db.resume(),
      stop: () => db.stop(),
    };
  });
}
