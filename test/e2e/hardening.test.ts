// Misbehaving clients and damaged state: each case here was a defect found in review, kept as a test.
import { connect } from 'node:net';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RawPop } from '../helpers/pop-client.js';
import { startServer, type TestServer } from '../helpers/server.js';

let server: TestServer;

beforeAll(async () => {
  server = await startServer({ config: { pop: { blockedOutputWait: 0.1 } } });
  await server.addAccount('alice', 'a secret');
  await server.addAccount('bob', 'b secret');
  await server.deliver('alice', 'Subject: one\n\nbody\n');
});
afterAll(async () => {
  await server.stop();
});

describe('clients', () => {
  it('a client that sends commands without reading the answers is dropped, not buffered without end', async () => {
    const c = await RawPop.connect(server.port);
    c.socket.pause();
    const burst = Buffer.from('CAPA\r\n'.repeat(2000));
    for (let i = 0; i < 100 && !c.isClosed; i++) {
      c.socket.write(burst);
      await new Promise((r) => setTimeout(r, 10));
    }
    await server.waitForLog((r) => r.msg === 'client stopped reading; connection dropped', 15_000);
    c.close();
    // the server still serves others
    const ok = await RawPop.signIn(server.port, 'alice', 'a secret');
    ok.close();
  });

  it('AUTH works after many pipelined commands (the paused socket is resumed for the SASL answer)', async () => {
    const c = await RawPop.connect(server.port);
    await c.line();
    c.send(`${'CAPA\r\n'.repeat(70)}AUTH LOGIN\r\n`);
    for (let i = 0; i < 70; i++) {
      expect(await c.line()).toMatch(/^\+OK/);
      await c.lines();
    }
    expect(await c.line()).toBe(`+ ${Buffer.from('Username:').toString('base64')}`);
    expect(await c.command(Buffer.from('alice').toString('base64'))).toMatch(/^\+ /);
    expect(await c.command(Buffer.from('a secret').toString('base64'))).toMatch(/^\+OK alice@example.org/);
    c.close();
  });

  it('a message pipelined behind another command keeps its 8-bit bytes', async () => {
    const c = await RawPop.signIn(server.port, 'alice', 'a secret');
    const body = Buffer.concat([
      Buffer.from('To: bob@example.org\r\nSubject: eight\r\n\r\ncaf'),
      Buffer.from([0xe9, 0xff]),
      Buffer.from('\r\n'),
    ]);
    c.send(Buffer.concat([Buffer.from('NOOP\r\nXTND XMIT\r\n'), body, Buffer.from('.\r\n')]));
    expect(await c.line()).toBe('+OK');
    expect(await c.line()).toBe('+OK Start sending message.');
    expect(await c.line()).toMatch(/^\+OK Message sent to 1 recipients/);
    c.close();
    const bob = await RawPop.signIn(server.port, 'bob', 'b secret');
    expect(await bob.command('RETR 1')).toMatch(/^\+OK/);
    const got = await bob.body();
    expect(got.includes(Buffer.concat([Buffer.from('caf'), Buffer.from([0xe9, 0xff]), Buffer.from('\r\n.\r\n')]))).toBe(true);
    expect(await bob.command('DELE 1')).toMatch(/^\+OK/);
    expect(await bob.command('QUIT')).toMatch(/^\+OK/);
  });
});

describe('submissions', () => {
  async function xmit(message: string): Promise<string> {
    const c = await RawPop.signIn(server.port, 'alice', 'a secret');
    expect(await c.command('XTND XMIT')).toBe('+OK Start sending message.');
    c.send(`${message}.\r\n`);
    const answer = await c.line();
    c.close();
    return answer;
  }

  it('refuses a second From (mail programs show the first one, the parser the last)', async () => {
    expect(await xmit('From: boss@example.org\r\nFrom: alice@example.org\r\nTo: bob@example.org\r\n\r\nx\r\n')).toBe(
      '-ERR The message has more than one From or Sender field',
    );
    expect(await xmit('From: alice@example.org\r\nSender: boss@example.org\r\nTo: bob@example.org\r\n\r\nx\r\n')).toMatch(
      /^-ERR From: boss@example.org is not one of your addresses/,
    );
  });

  it('strips "Bcc :" written with a blank before the colon, and Resent-Bcc', async () => {
    expect(
      await xmit(
        'From: alice@example.org\r\nTo: bob@example.org\r\nBcc : alice@example.org\r\nResent-Bcc: alice@example.org\r\nSubject: ' +
          'hidden\r\n\r\nx\r\n',
      ),
    ).toMatch(/^\+OK Message sent to 2 recipients/);
    const bob = await RawPop.signIn(server.port, 'bob', 'b secret');
    expect(await bob.command('TOP 1 0')).toMatch(/^\+OK/);
    const header = (await bob.lines()).join('\n');
    expect(header).not.toMatch(/bcc/i);
    bob.close();
  });
});

describe('damaged or stale state', () => {
  it('a route to a removed account leads nowhere, and a new account never inherits an orphan folder', async () => {
    await server.addAccount('carol', 'c secret');
    expect((await server.cli(['route', 'add', 'sales@example.org', 'carol'])).code).toBe(0);
    expect((await server.cli(['account', 'remove', 'carol'])).code).toBe(0);
    const r = await server.cli(['deliver', 'sales@example.org'], 'Subject: x\n\ny\n');
    expect(r.code).toBe(67);
    const { mkdir } = await import('node:fs/promises');
    await mkdir(join(server.dataDir, 'accounts/example.org/dave/Maildir/new'), { recursive: true });
    const add = await server.cli(['account', 'add', 'dave', '--password', 'x']);
    expect(add.code).toBe(1);
    expect(add.stderr).toMatch(/exists without account\.json/);
  });

  it('deliver exits 75 (try again later), not a bounce, when routes.json is damaged', async () => {
    await writeFile(join(server.dataDir, 'routes.json'), '{ not json');
    const r = await server.cli(['deliver', 'alice'], 'Subject: x\n\ny\n');
    expect(r.code).toBe(75);
    expect(r.stderr).toMatch(/routes\.json is damaged/);
    await writeFile(join(server.dataDir, 'routes.json'), '{"routes": []}');
  });
});

describe('implicit TLS', () => {
  it('bounds TLS handshakes in progress from one address', async () => {
    const s = await startServer({
      config: { listeners: [{ name: 'pop3s', module: 'pop', address: '127.0.0.1', port: 0, tls: 'implicit' }] },
    });
    try {
      const port = s.portOf('pop3s');
      const sockets = await Promise.all(
        Array.from(
          { length: 17 },
          () =>
            new Promise<import('node:net').Socket>((resolve) => {
              const sock = connect(port, '127.0.0.1');
              sock.on('error', () => {});
              sock.once('connect', () => resolve(sock));
            }),
        ),
      );
      const closed = await Promise.all(
        sockets.map(
          (sock) =>
            new Promise<boolean>((resolve) => {
              const timer = setTimeout(() => resolve(false), 1500);
              sock.once('close', () => {
                clearTimeout(timer);
                resolve(true);
              });
            }),
        ),
      );
      expect(closed.filter(Boolean)).toHaveLength(1);
      await s.waitForLog((r) => r.msg === 'connection refused: too many TLS handshakes in progress');
      for (const sock of sockets) sock.destroy();
    } finally {
      await s.stop();
    }
  });
});
