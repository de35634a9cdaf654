// The IMAP server under concurrent load, checked response by response, in the spirit of Dovecot's
// imaptest: clients loop through LOGIN, LIST, STATUS, SELECT, FETCH (flags, envelope, bodies), STORE with
// random flags and keywords, a \Deleted STORE, EXPUNGE, APPEND, NOOP and LOGOUT, and every response is
// checked against each client's model of its mailbox (test/stress/model.ts and client.ts list the rules).
// Short runs here; `npm run stress` runs them long and prints the rates (README, "Tests").
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type TestServer } from '../helpers/server.js';
import { addStressAccounts, STRESS_IMAP_CONFIG, STRESS_LISTENERS } from '../stress/config.js';
import { formatResult, runScenario, type Scenario, STRESS_PASSWORD, stressUser } from '../stress/run.js';
import { Wire } from '../stress/wire.js';

const SECONDS = Number(process.env.STRESS_SECONDS ?? 3);

describe('IMAP under concurrent load: every response agrees with each client model of the mailbox', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer({ config: { listeners: STRESS_LISTENERS, imap: STRESS_IMAP_CONFIG } });
    await addStressAccounts(server);
  });
  afterAll(() => server?.stop());

  const scenarios: Scenario[] = [
    { name: '10 clients, one mailbox', clients: 10, users: 1, pipeline: false, seconds: SECONDS },
    { name: '10 clients, ten mailboxes', clients: 10, users: 10, pipeline: false, seconds: SECONDS },
    { name: '10 clients, one mailbox, pipelined', clients: 10, users: 1, pipeline: true, seconds: SECONDS },
    { name: '50 clients, one mailbox', clients: 50, users: 1, pipeline: false, seconds: SECONDS },
  ];

  // What the stress runs found first as "flag change lost": each session's STORE is answered with its
  // change, yet only one session's change is kept when several change one message at once.
  it('keeps every change when four sessions STORE their own keyword on one message at once', async () => {
    const port = server.portOf('imap');
    const sessions: Wire[] = [];
    for (let i = 0; i < 4; i++) {
      const { wire } = await Wire.connect(port, `k${i}.`);
      expect((await wire.send(`LOGIN ${stressUser(9)} ${STRESS_PASSWORD}`)).status).toBe('OK');
      sessions.push(wire);
    }
    const [first] = sessions;
    expect((await first.send('CREATE concurrent-store')).status).toBe('OK');
    expect((await first.send('APPEND concurrent-store ()', Buffer.from('Subject: one\r\n\r\nbody\r\n'))).status).toBe('OK');
    for (const wire of sessions) expect((await wire.send('SELECT concurrent-store')).status).toBe('OK');
    const wrong: string[] = [];
    for (let round = 0; round < 10; round++) {
      const op = round % 2 === 0 ? '+FLAGS' : '-FLAGS';
      const answers = await Promise.all(sessions.map((wire, i) => wire.send(`STORE 1 ${op} (own${i})`)));
      expect(answers.map((a) => a.status)).toEqual(['OK', 'OK', 'OK', 'OK']);
      const lines: string[] = [];
      first.onUntagged = (r) => lines.push(r.text);
      await first.send('FETCH 1 (FLAGS)');
      first.onUntagged = () => {};
      const flags = /FLAGS \(([^)]*)\)/.exec(lines.filter((l) => l.includes('FETCH')).pop() ?? '')?.[1].split(' ') ?? [];
      const expected = op === '+FLAGS' ? ['own0', 'own1', 'own2', 'own3'] : [];
      const shown = flags.filter((f) => f.startsWith('own')).sort();
      if (shown.join(' ') !== expected.join(' ')) wrong.push(`after four STORE ${op}: (${flags.join(' ')})`);
    }
    for (const wire of sessions) wire.close();
    expect(wrong).toEqual([]);
  });

  for (const scenario of scenarios) {
    it(`${scenario.name}: no violation, no error logged`, async () => {
      const result = await runScenario(server.portOf('imap'), scenario, server.logs);
      // The mix really ran: sessions signed in and out, messages were appended, flagged and expunged.
      expect(result.stats.sessions).toBeGreaterThanOrEqual(scenario.clients);
      expect(result.stats.appends).toBeGreaterThan(0);
      expect(result.stats.expunged).toBeGreaterThan(0);
      expect(result.violations.total, formatResult(result, 3)).toBe(0);
      expect(server.process.exitCode).toBeNull();
    });
  }
});
