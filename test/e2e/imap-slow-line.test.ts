// IMAP and POP share one line channel (sessions/line-channel.ts), and with it the command-line timer:
// an IMAP command line trickled one octet at a time is cut after imap.commandTimeout, as POP's is after
// pop.commandTimeout, whether or not the session signed in; a literal read slowly is not a line, and
// a session that only waits quietly is not cut.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RawImap } from '../helpers/imap-client.js';
import { startServer, type TestServer } from '../helpers/server.js';

const LISTENERS = [{ name: 'imap', module: 'imap', address: '127.0.0.1', port: 0 }];
const PASSWORD = 'Sw0rdfish-Secret42';

describe('an IMAP command line sent too slowly', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer({ config: { listeners: LISTENERS, imap: { commandTimeout: 1.5 } } });
    await server.addAccount('alice', PASSWORD);
  });
  afterAll(() => server.stop());

  it('is cut after imap.commandTimeout once signed in, not kept alive by each octet', async () => {
    const client = await RawImap.signIn(server.portOf('imap'), 'alice', PASSWORD);
    await new Promise((r) => setTimeout(r, 2000)); // quiet, but no line begun: not cut
    expect((await client.command('NOOP')).status).toBe('OK');
    const t0 = Date.now();
    const trickle = setInterval(() => client.raw.send('x'), 300);
    try {
      expect(await client.raw.line(5000)).toBe('* BYE Command line not finished within 1.5 s; closing connection');
      await client.raw.closed();
      expect(Date.now() - t0).toBeGreaterThan(1400);
      expect(Date.now() - t0).toBeLessThan(4000);
    } finally {
      clearInterval(trickle);
      client.close();
    }
    await server.waitForLog((r) => r.msg === 'session end' && r.end === 'command line too slow' && r.user === 'alice@example.org');
  });

  it('a literal trickled after its line is not a line: the command is read whole', async () => {
    const client = await RawImap.signIn(server.portOf('imap'), 'alice', PASSWORD);
    client.raw.send('a1 CREATE {6+}\r\n');
    for (const octet of 'slowly') {
      await new Promise((r) => setTimeout(r, 400));
      client.raw.send(octet);
    }
    client.raw.send('\r\n');
    expect((await client.until('a1')).status).toBe('OK');
    client.close();
  });
});
