// The long stress run: `npm run stress -- [seconds] [scenario...] [--dovecot]` (or
// `node .stress-build/stress/main.js ...` after `npm run build && npx tsc -p test/stress/tsconfig.json`).
// Starts the real server, runs the scenarios for the given seconds each (default 60) and prints commands
// per second and every kind of violation with examples. Exits 1 when any violation was found.
// --dovecot runs the same scenarios against a real Dovecot over the same accounts: the reference the
// checker must find nothing wrong with.
import { join } from 'node:path';
import { type Dovecot, shareWithDovecot, startDovecot } from '../helpers/dovecot.js';
import { startServer } from '../helpers/server.js';
import { addStressAccounts, STRESS_IMAP_CONFIG, STRESS_LISTENERS } from './config.js';
import { formatResult, runScenario, type Scenario, STRESS_PASSWORD, stressUser } from './run.js';

const args = process.argv.slice(2);
const againstDovecot = args.includes('--dovecot');
const seconds = Number(args.find((a) => /^\d+(\.\d+)?$/.test(a)) ?? process.env.STRESS_SECONDS ?? 60);
const names = args.filter((a) => !/^\d+(\.\d+)?$/.test(a) && !a.startsWith('--'));
const all: Scenario[] = [
  { name: '10-one', clients: 10, users: 1, pipeline: false, seconds },
  { name: '10-one-pipelined', clients: 10, users: 1, pipeline: true, seconds },
  { name: '10-ten', clients: 10, users: 10, pipeline: false, seconds },
  { name: '10-ten-pipelined', clients: 10, users: 10, pipeline: true, seconds },
  { name: '50-one', clients: 50, users: 1, pipeline: false, seconds },
  { name: '50-one-pipelined', clients: 50, users: 1, pipeline: true, seconds },
  { name: '50-ten', clients: 50, users: 10, pipeline: false, seconds },
  { name: '50-ten-pipelined', clients: 50, users: 10, pipeline: true, seconds },
];
const chosen = names.length ? all.filter((s) => names.includes(s.name)) : all;
if (!chosen.length) {
  console.error(`unknown scenario; choose from ${all.map((s) => s.name).join(', ')}`);
  process.exit(2);
}

const server = await startServer({ config: { listeners: STRESS_LISTENERS, imap: STRESS_IMAP_CONFIG } });
let dovecot: Dovecot | null = null;
let failed = false;
try {
  await addStressAccounts(server);
  let port = server.portOf('imap');
  if (againstDovecot) {
    const accounts = join(server.dataDir, 'accounts', 'example.org');
    const users = Array.from({ length: 10 }, (_, i) => ({ name: stressUser(i), password: STRESS_PASSWORD }));
    for (const u of users) await shareWithDovecot(server.dir, join(accounts, u.name));
    dovecot = await startDovecot(users, accounts, { extraConfig: 'protocol imap {\n  mail_max_userip_connections = 1000\n}\n' });
    port = dovecot.imapPort;
  }
  console.log(`against ${againstDovecot ? 'Dovecot' : 'Postern'}, ${seconds} s per scenario`);
  for (const scenario of chosen) {
    const result = await runScenario(port, scenario, againstDovecot ? undefined : server.logs);
    console.log(formatResult(result, 3));
    console.log();
    if (result.violations.total > 0) failed = true;
  }
} finally {
  await dovecot?.stop();
  await server.stop();
}
process.exit(failed ? 1 : 0);
