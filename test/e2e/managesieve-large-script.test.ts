// A large script a ManageSieve client sends is compiled on a thread of the Sieve pool (sieve/run-pool.ts), not
// on the event loop: while one user's PUTSCRIPT of most of a megabyte compiles (about half a second of the
// compiler), another user's session goes on being answered. Its includes are read from the user's scripts.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { literal, RawSieve } from '../helpers/managesieve-client.js';
import { startServer, type TestServer } from '../helpers/server.js';

const PASSWORD = 'a secret';
let server: TestServer;
let port: number;

/** About 3.5 MB of rules (sieve.maxScriptSize is raised for it), each an anyof of header and address tests that files, flags and stops. */
function largeScript(): string {
  const rules: string[] = ['require ["fileinto", "imap4flags", "include"];', 'include :personal "helper";'];
  // the length counted as it grows (joining the rules at each step made this loop quadratic: minutes for 3.5 MB)
  for (let i = 0, length = 0; length < 3_500_000; i++) {
    const rule =
      `if anyof (header :contains "subject" "topic ${i}", address :is :domain "from" "d${i}.example") ` +
      `{ fileinto "Folder${i}"; addflag "$Label${i}"; stop; }`;
    rules.push(rule);
    length += rule.length + 1;
  }
  return `${rules.join('\n')}\n`;
}

beforeAll(async () => {
  server = await startServer({
    config: {
      listeners: [{ name: 'sieve', module: 'managesieve', address: '127.0.0.1', port: 0 }],
      managesieve: { authFailureDelay: 0 },
      sieve: { maxScriptSize: '8M', maxCpuTime: 120_000 },
    },
  });
  port = server.portOf('sieve');
  await server.addAccount('alice', PASSWORD);
  await server.addAccount('bob', PASSWORD);
}, 60_000);

afterAll(async () => {
  await server?.stop();
});

describe('a large PUTSCRIPT', () => {
  it('is compiled off the event loop: another session is answered meanwhile; its include is read; errors come back', async () => {
    const alice = await RawSieve.signIn(port, 'alice', PASSWORD);
    const bob = await RawSieve.signIn(port, 'bob', PASSWORD);
    expect((await alice.command(`PUTSCRIPT "helper" ${literal('keep;\r\n')}`)).status).toBe('OK');

    const script = largeScript();
    const putAt = performance.now();
    const put = alice.command(`PUTSCRIPT "large" ${literal(script)}`, 60_000);
    let putDone = false;
    let putTime = 0;
    void put.then(() => {
      putDone = true;
      putTime = performance.now() - putAt;
    });
    // bob's NOOPs, one after the other, for as long as alice's script takes: answered while it compiles
    // (on the event loop the compile of this script holds every session for over a second; measured
    // here: a NOOP waited 337 ms behind a quarter of it)
    let answered = 0;
    let longest = 0;
    while (!putDone) {
      const asked = performance.now();
      const noop = await bob.command('NOOP', 10_000);
      expect(noop.text).toBe('OK "NOOP Completed"\r\n');
      if (!putDone) answered++;
      longest = Math.max(longest, performance.now() - asked);
      await new Promise((r) => setTimeout(r, 25));
    }
    expect((await put).text).toBe('OK "PUTSCRIPT completed."\r\n');
    expect(answered).toBeGreaterThanOrEqual(3);
    // compiled on the event loop, one NOOP would wait for most of the PUTSCRIPT (the compile is most of it); on
    // the pool none waits more than a small part of it (a ratio: a loaded machine slows both alike)
    expect(longest).toBeLessThan(putTime / 4);

    const listed = await alice.command('LISTSCRIPTS');
    expect(listed.text).toContain('"large"\r\n');

    // a compile error in a large script is the compiler's answer, as for a small one
    const broken = alice.command(`PUTSCRIPT "broken" ${literal(`${script}if true {\n`)}`, 60_000);
    const refused = await broken;
    expect(refused.status).toBe('NO');
    expect(refused.text).toMatch(/broken: line \d+: error: /);
    alice.close();
    bob.close();
  }, 120_000);
});

describe('a large script whose compile passes sieve.maxCpuTime', () => {
  let tight: TestServer;
  afterAll(async () => {
    await tight?.stop();
  });

  it('is refused with the reason; the session goes on', async () => {
    tight = await startServer({
      config: {
        listeners: [{ name: 'sieve', module: 'managesieve', address: '127.0.0.1', port: 0 }],
        managesieve: { authFailureDelay: 0 },
        sieve: { maxCpuTime: 10 },
      },
    });
    await tight.addAccount('carol', PASSWORD);
    const carol = await RawSieve.signIn(tight.portOf('sieve'), 'carol', PASSWORD);
    expect((await carol.command(`PUTSCRIPT "helper" ${literal('keep;\r\n')}`)).status).toBe('OK');
    // about 400 KB: some 100-200 ms of the compiler, far past 10 ms
    const script = largeScript()
      .slice(0, 400_000)
      .replace(/\n[^\n]*$/, '\n');
    const refused = await carol.command(`PUTSCRIPT "large" ${literal(script)}`, 30_000);
    expect(refused.text).toMatch(/^NO \{\d+\}\r\nlarge: error: the compile took more than 10 ms \(sieve\.maxCpuTime\)\.\r\n\r\n$/);
    expect((await carol.command('LISTSCRIPTS')).text).not.toContain('"large"');
    expect((await carol.command('NOOP')).text).toBe('OK "NOOP Completed"\r\n');
    carol.close();
  }, 60_000);
});
