// The long stress run: `npm run stress` (or `node .stress-build/stress/main.js [seconds] [scenario...]`
// after `npm run build && npx tsc -p test/stress/tsconfig.json`). Starts the real server, runs the
// scenarios for the given seconds each (default 60) and prints commands per second and every kind of
// violation with examples. Exits 1 when any violation was found.
import { startServer } from '../helpers/server.js';
import { formatResult, runScenario, type Scenario } from './run.js';
import { addStressAccounts, STRESS_IMAP_CONFIG, STRESS_LISTENERS } from './config.js';

const args = process.argv.slice(2);
const seconds = Number(args.find((a) => /^\d+(\.\d+)?$/.test(a)) ?? process.env.STRESS_SECONDS ?? 60);
const names = args.filter((a) => !/^\d+(\.\d+)?$/.test(a));
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
let failed = false;
try {
  await addStressAccounts(server);
  for (const scenario of chosen) {
    const result = await runScenario(server.portOf('imap'), scenario, server.logs);
    console.log(formatResult(result, 3));
    console.log();
    if (result.violations.total > 0) failed = true;
  }
} finally {
  await server.stop();
}
process.exit(failed ? 1 : 0);
