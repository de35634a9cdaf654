// The faults of issue 23 over a real `postern serve`: a backtracking regex, a 10 MB body test, a script that
// includes itself, one that does not compile, one that redirects past sieve.maxRedirects, a redirect that
// loops back. Each time the message is kept (in INBOX, once), the log says whose script and why, and the
// deliveries to others meanwhile are not held up (the runs are in worker threads, cut at sieve.maxCpuTime).
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { TestServer } from '../helpers/server.js';
import { activeScript, lmtpDeliver, mailboxContents, message, startRelay, startSieveServer } from '../helpers/sieve-delivery.js';

let relay: Awaited<ReturnType<typeof startRelay>>;
let server: TestServer;
const lmtp = () => server.portOf('lmtp');
const imap = () => server.portOf('imap');
const CPU_MS = 3000;

beforeAll(async () => {
  relay = await startRelay();
  server = await startSieveServer(relay.port, { maxCpuTime: CPU_MS, maxRedirects: 4 });
  for (const name of ['alice', 'bob', 'carol', 'erin', 'frank', 'gina', 'hank', 'ivy']) await server.addAccount(name, 'secret');
  for (const [account, mailbox] of [
    ['carol', 'Filed'],
    ['gina', 'Found'],
  ]) {
    expect((await server.cli(['mailbox', 'create', account, mailbox])).code).toBe(0);
  }
  await activeScript(server, 'alice', 'regex', 'require "regex";\nif header :regex "subject" "^(a+)+$" { discard; }\n');
  await activeScript(server, 'carol', 'file', 'require "fileinto";\nfileinto "Filed";\n');
  await activeScript(server, 'erin', 'self', 'require "include";\ninclude :personal "self";\n');
  await activeScript(server, 'frank', 'many', Array.from({ length: 10 }, (_, i) => `redirect "r${i}@remote.example";`).join('\n'));
  await activeScript(server, 'gina', 'body', 'require ["body", "fileinto"];\nif body :text :contains "needle" { fileinto "Found"; }\n');
  await activeScript(server, 'hank', 'broken', 'require "fileinto";\nfileinto "Junk"\nkeep;\n');
  await activeScript(server, 'ivy', 'loop', 'redirect "ivy@example.org";\n');
});
afterAll(async () => {
  await server?.stop();
  await relay.close();
});
beforeEach(() => {
  relay.received.length = 0;
});

/** Resolves with the replies and how long the transaction took. */
async function timed<T>(work: Promise<T>): Promise<{ value: T; ms: number; end: number }> {
  const start = performance.now();
  const value = await work;
  const end = performance.now();
  return { value, ms: end - start, end };
}

describe('Sieve faults at delivery', () => {
  it('a backtracking regex is cut at sieve.maxCpuTime: the message is kept, and other deliveries are not held up', async () => {
    // warm the pool's threads first, so the measure below is of a delivery, not of starting threads
    await Promise.all([1, 2].map((n) => lmtpDeliver(lmtp(), 'bob@remote.example', ['carol@example.org'], message(`warm up ${n}`))));
    const slow = timed(lmtpDeliver(lmtp(), 'bob@remote.example', ['alice@example.org'], message(`${'a'.repeat(34)}!`)));
    await new Promise((r) => setTimeout(r, 200)); // the regex is running now
    const plain = await timed(lmtpDeliver(lmtp(), 'x@remote.example', ['bob@example.org'], message('no script')));
    const filtered = await timed(lmtpDeliver(lmtp(), 'x@remote.example', ['carol@example.org'], message('with a script')));
    const cut = await slow;
    expect(cut.value).toEqual([expect.stringMatching(/^250 /)]);
    expect(cut.ms).toBeGreaterThanOrEqual(CPU_MS - 200);
    // generous (the machine may be loaded): both finished while the regex still ran, each well within its time
    expect(plain.end).toBeLessThan(cut.end);
    expect(filtered.end).toBeLessThan(cut.end);
    expect(plain.ms).toBeLessThan(CPU_MS * 0.8);
    expect(filtered.ms).toBeLessThan(CPU_MS * 0.8);
    expect(plain.value[0]).toMatch(/^250 /);
    expect(await mailboxContents(imap(), 'alice', 'INBOX')).toEqual([{ flags: '', subject: `${'a'.repeat(34)}!` }]);
    expect((await mailboxContents(imap(), 'carol', 'Filed')).map((m) => m.subject)).toContain('with a script');
    const why = await server.waitForLog((r) => r.msg.includes('the run failed') && r.account === 'alice@example.org');
    expect(why).toMatchObject({ script: 'regex', tag: 'LMTP' });
    expect(String(why.reason)).toContain('sieve.maxCpuTime');
    console.log(
      `regex cut after ${Math.round(cut.ms)} ms; meanwhile a delivery without a script took ${Math.round(plain.ms)} ms, ` +
        `one with a script ${Math.round(filtered.ms)} ms`,
    );
  });

  it('a body test of a 10 MB message runs without holding the others, and the message is stored once', async () => {
    const line = `${'x'.repeat(998)}\r\n`;
    const body = `${line.repeat(Math.ceil((10 * 1024 * 1024) / line.length))}the needle\r\n`;
    const big = timed(lmtpDeliver(lmtp(), 'bob@remote.example', ['gina@example.org'], message('big one', { body }), 60_000));
    await new Promise((r) => setTimeout(r, 300));
    const plain = await timed(lmtpDeliver(lmtp(), 'x@remote.example', ['bob@example.org'], message('small one')));
    const done = await big;
    expect(done.value).toEqual([expect.stringMatching(/^250 /)]);
    expect(plain.ms).toBeLessThan(CPU_MS);
    const found = await mailboxContents(imap(), 'gina', 'Found');
    const inbox = await mailboxContents(imap(), 'gina', 'INBOX');
    expect(found.length + inbox.length).toBe(1);
    if (inbox.length === 1)
      expect(server.logs.some((r) => r.account === 'gina@example.org' && String(r.msg).includes('sieve:'))).toBe(true);
    console.log(
      `10 MB body test: ${Math.round(done.ms)} ms, filed into ${found.length ? 'Found' : 'INBOX'}; ` +
        `a delivery meanwhile took ${Math.round(plain.ms)} ms`,
    );
  });

  it("a script that includes itself, or does not compile: kept in INBOX, and the log gives the compiler's words", async () => {
    await lmtpDeliver(lmtp(), 'bob@remote.example', ['erin@example.org', 'hank@example.org'], message('still delivered'));
    expect(await mailboxContents(imap(), 'erin', 'INBOX')).toEqual([{ flags: '', subject: 'still delivered' }]);
    expect(await mailboxContents(imap(), 'hank', 'INBOX')).toEqual([{ flags: '', subject: 'still delivered' }]);
    const erin = await server.waitForLog((r) => r.account === 'erin@example.org' && String(r.msg).includes('does not compile'));
    expect(erin.script).toBe('self');
    expect(String(erin.reason)).toMatch(/self/);
    const hank = await server.waitForLog((r) => r.account === 'hank@example.org' && String(r.msg).includes('does not compile'));
    expect(String(hank.reason)).toMatch(/^broken: line \d+: error: /);
  });

  it('more redirects than sieve.maxRedirects: nothing is sent, the message is kept, the log says why', async () => {
    expect(await lmtpDeliver(lmtp(), 'bob@remote.example', ['frank@example.org'], message('spread it'))).toEqual([
      expect.stringMatching(/^250 /),
    ]);
    expect(relay.received).toEqual([]);
    expect(await mailboxContents(imap(), 'frank', 'INBOX')).toEqual([{ flags: '', subject: 'spread it' }]);
    const why = await server.waitForLog((r) => r.account === 'frank@example.org' && String(r.msg).includes('the run failed'));
    expect(String(why.reason)).toMatch(/redirect/i);
  });

  it('a redirect that comes back to its recipient (a loop) is kept instead of sent again', async () => {
    await lmtpDeliver(lmtp(), 'bob@remote.example', ['ivy@example.org'], message('round and round'));
    expect(relay.received).toHaveLength(1);
    const copy = relay.received[0];
    expect(copy.data).toMatch(/^X-Sieve-Redirected-From: ivy@example\.org\r$/m);
    // the relay hands it back to ivy, as a forwarding loop would
    await lmtpDeliver(lmtp(), copy.from, ['ivy@example.org'], copy.data);
    expect(relay.received).toHaveLength(1);
    expect(await mailboxContents(imap(), 'ivy', 'INBOX')).toEqual([{ flags: '', subject: 'round and round' }]);
    await server.waitForLog((r) => r.account === 'ivy@example.org' && String(r.msg).includes('a loop'));
  });
});
