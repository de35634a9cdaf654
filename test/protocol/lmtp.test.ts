// The LMTP module in this process (test/helpers/in-process.ts): its greeting and LHLO answer, byte for byte.
// Delivery, the spool, the unix socket, routes and nodemailer's client are in test/interop/lmtp.test.ts.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type InProcessServer, startInProcess } from '../helpers/in-process.js';
import { RawLmtp } from '../helpers/lmtp-client.js';

let server: InProcessServer;
const lmtpPort = () => server.portOf('lmtp');

beforeAll(async () => {
  server = await startInProcess({
    config: {
      domains: ['client1.com'],
      delivery: { maxSize: 20_000 },
      lmtp: { maxChannels: 3 },
      listeners: [
        { name: 'pop3', module: 'pop', address: '127.0.0.1', port: 0 },
        { name: 'imap', module: 'imap', address: '127.0.0.1', port: 0 },
        { name: 'lmtp', module: 'lmtp', address: '127.0.0.1', port: 0 },
      ],
    },
  });
});
afterAll(async () => {
  await server?.stop();
});

describe('LMTP (RFC 2033)', () => {
  it('greets as LMTP and offers PIPELINING, 8BITMIME, ENHANCEDSTATUSCODES and SIZE; EHLO and HELO are refused', async () => {
    const c = await RawLmtp.open({ port: lmtpPort() });
    expect((await c.reply())[0]).toMatch(/^220 example\.org LMTP /);
    c.send('EHLO mta.example.net\r\n');
    expect((await c.reply())[0]).toMatch(/^500 /);
    c.send('LHLO mta.example.net\r\n');
    const caps = (await c.reply()).map((l) => l.slice(4));
    expect(caps).toEqual(expect.arrayContaining(['PIPELINING', '8BITMIME', 'ENHANCEDSTATUSCODES', 'SIZE 20000']));
    expect(caps.join(' ')).not.toMatch(/STARTTLS|AUTH/);
    c.send('QUIT\r\n');
    expect((await c.reply())[0]).toMatch(/^221 /);
    c.close();
  });
});
