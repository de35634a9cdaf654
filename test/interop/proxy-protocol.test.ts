// Listeners behind a TCP load balancer (`proxyProtocol: true`): a real HAProxy in front, sending PROXY
// version 2 headers, and raw headers (versions 1 and 2) for the exact cases. The client's real address
// reaches the logs, the per-address limits and the cleartext policy; what the client pipelined right
// after the header is not lost (clear and implicit TLS); a connection without a valid header is closed.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import { Command, IPv6Address, IPv6ProxyAddress, TransportProtocol, V2ProxyProtocol } from 'proxy-protocol-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../helpers/ports.js';
import { startServer, type TestServer } from '../helpers/server.js';

let server: TestServer;

/** Opens a raw connection, writes `first` (header and maybe more), and collects what comes back. */
function raw(
  port: number,
  first: Buffer | string,
): Promise<{ lines: () => string; send: (s: string) => void; closed: Promise<void>; destroy: () => void }> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: '127.0.0.1', port });
    let got = '';
    s.setEncoding('latin1');
    s.on('data', (d: string) => (got += d));
    const closed = new Promise<void>((r) => s.on('close', () => r()));
    s.once('error', reject);
    s.once('connect', () => {
      s.write(first);
      resolve({ lines: () => got, send: (t) => s.write(t), closed, destroy: () => s.destroy() });
    });
  });
}

async function until(what: () => boolean, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!what()) {
    if (Date.now() > deadline) throw new Error('not in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

beforeAll(async () => {
  server = await startServer({
    config: {
      listeners: [
        { name: 'pop3', module: 'pop', address: '127.0.0.1', port: 0 },
        { name: 'pop3-lb', module: 'pop', address: '127.0.0.1', port: 0, proxyProtocol: true },
        { name: 'pop3s-lb', module: 'pop', address: '127.0.0.1', port: 0, tls: 'implicit', proxyProtocol: true },
        { name: 'pop3-remote-lb', module: 'pop', address: '127.0.0.1', port: 0, proxyProtocol: true, proxyFrom: ['203.0.113.5'] },
      ],
      pop: { maxChannelsPerAddress: 2 },
    },
  });
  await server.addAccount('alice', 'a secret');
});
afterAll(() => server?.stop());

describe('PROXY protocol listeners', () => {
  it('version 1: the session is the client named in the header, and a command pipelined behind it is answered', async () => {
    const c = await raw(server.portOf('pop3-lb'), 'PROXY TCP4 192.0.2.7 127.0.0.1 5555 110\r\nCAPA\r\n');
    await until(() => /\r\n\.\r\n/.test(c.lines()));
    expect(c.lines()).toMatch(/^\+OK .*\r\n\+OK Capability list follows\r\n/);
    const record = await server.waitForLog((r) => r.msg === 'connected' && r.listener === 'pop3-lb');
    expect(record.peer).toBe('192.0.2.7:5555');
    // not a loopback client any more: no password in the clear (pop.cleartextAuth: loopback)
    c.send('USER alice\r\n');
    await until(() => /USER|TLS/.test(c.lines().split('\r\n.\r\n')[1] ?? ''));
    expect(c.lines().split('\r\n.\r\n')[1]).toMatch(/^-ERR .*(TLS|STLS)/);
    c.destroy();
  });

  it('per-address limits count the real client, not the balancer', async () => {
    const port = server.portOf('pop3-lb');
    // two signed-in sessions of one client (a loopback address: cleartext is allowed for it)
    const held = [];
    for (const p of [1001, 1002]) {
      const h = await raw(port, `PROXY TCP4 127.0.0.20 127.0.0.1 ${p} 110\r\nUSER alice\r\nPASS a secret\r\n`);
      await until(() => /maildrop|\+OK.*\r\n\+OK.*\r\n\+OK/.test(h.lines()));
      held.push(h);
    }
    const third = await raw(port, 'PROXY TCP4 127.0.0.20 127.0.0.1 1003 110\r\n');
    await third.closed;
    expect(third.lines()).toMatch(/^-ERR \[SYS\/TEMP\]/);
    const other = await raw(port, 'PROXY TCP4 127.0.0.21 127.0.0.1 1004 110\r\n');
    await until(() => other.lines().startsWith('+OK'));
    for (const c of [...held, other]) c.destroy();
  });

  it('version 2 (binary, IPv6) in front of implicit TLS: the handshake reads what followed the header', async () => {
    const header = new V2ProxyProtocol(
      Command.PROXY,
      TransportProtocol.STREAM,
      new IPv6ProxyAddress(
        IPv6Address.createFrom([0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x42]),
        40000,
        IPv6Address.createFrom([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]),
        995,
      ),
    ).build();
    const socket = connect({ host: '127.0.0.1', port: server.portOf('pop3s-lb') });
    await new Promise<void>((r) => socket.once('connect', () => r()));
    socket.write(Buffer.from(header));
    const secure = tlsConnect({ socket, rejectUnauthorized: false });
    let got = '';
    secure.setEncoding('latin1');
    secure.on('data', (d: string) => (got += d));
    await new Promise<void>((r, j) => {
      secure.once('secureConnect', () => r());
      secure.once('error', j);
    });
    await until(() => got.startsWith('+OK'));
    secure.write('USER alice\r\nPASS a secret\r\nSTAT\r\nQUIT\r\n');
    await until(() => /\+OK 0 0\r\n/.test(got));
    secure.destroy();
    const record = await server.waitForLog((r) => r.msg === 'connected' && r.listener === 'pop3s-lb');
    expect(record.peer).toBe('[2001:db8::42]:40000');
  });

  it('a connection without a valid header is closed unanswered, and the listener goes on', async () => {
    const plain = await raw(server.portOf('pop3-lb'), 'USER alice\r\n');
    await plain.closed;
    expect(plain.lines()).toBe('');
    const forged = await raw(server.portOf('pop3-lb'), 'PROXY TCP4 not-an-address 127.0.0.1 1 110\r\n');
    await forged.closed;
    expect(forged.lines()).toBe('');
    await server.waitForLog((r) => r.msg === 'connection closed: no valid PROXY header' && /bad source address/.test(String(r.err)));
    const ok = await raw(server.portOf('pop3-lb'), 'PROXY TCP4 192.0.2.9 127.0.0.1 7 110\r\n');
    await until(() => ok.lines().startsWith('+OK'));
    ok.destroy();
  });

  it('a peer not in proxyFrom is closed before anything is read: it cannot claim an address', async () => {
    const c = await raw(server.portOf('pop3-remote-lb'), 'PROXY TCP4 192.0.2.50 127.0.0.1 9 110\r\n');
    await c.closed;
    expect(c.lines()).toBe('');
    await server.waitForLog((r) => r.msg === 'connection refused: not from a balancer in proxyFrom' && r.listener === 'pop3-remote-lb');
  });

  describe('behind a real HAProxy (send-proxy-v2)', () => {
    let haproxy: ChildProcess | null = null;
    let front = 0;
    const available = spawnSync('haproxy', ['-v']).status === 0;

    beforeAll(async () => {
      if (!available) throw new Error('haproxy is not installed (.ci/run installs it: apt-get install haproxy)');
      front = await freePort();
      const cfg = join(server.dir, 'haproxy.cfg');
      await writeFile(
        cfg,
        [
          'global',
          '  maxconn 100',
          'defaults',
          '  mode tcp',
          '  timeout connect 5s',
          '  timeout client 30s',
          '  timeout server 30s',
          'frontend pop3',
          `  bind 127.0.0.1:${front}`,
          '  default_backend postern',
          'backend postern',
          `  server node1 127.0.0.1:${server.portOf('pop3-lb')} send-proxy-v2`,
          '',
        ].join('\n'),
      );
      haproxy = spawn('haproxy', ['-f', cfg, '-db'], { stdio: ['ignore', 'ignore', 'pipe'] });
      // ready once it accepts
      await until(() => spawnSync('bash', ['-c', `exec 3<>/dev/tcp/127.0.0.1/${front}`]).status === 0, 10_000);
    });
    afterAll(() => {
      haproxy?.kill('SIGKILL');
    });

    it('curl from 127.0.0.9 through HAProxy: signs in, lists, and Postern logs 127.0.0.9 as the peer', async () => {
      const r = spawnSync('curl', ['-sS', '--interface', '127.0.0.9', '-u', 'alice:a secret', `pop3://127.0.0.1:${front}/`], {
        encoding: 'utf8',
        timeout: 15_000,
      });
      expect(r.status, r.stderr).toBe(0);
      const record = await server.waitForLog(
        (x) => x.msg === 'connected' && x.listener === 'pop3-lb' && String(x.peer).startsWith('127.0.0.9:'),
      );
      expect(record.peer).toMatch(/^127\.0\.0\.9:\d+$/);
      const end = await server.waitForLog((x) => x.msg === 'session end' && x.cid === record.cid);
      expect(end.user).toBe('alice@example.org');
    });
  });
});
