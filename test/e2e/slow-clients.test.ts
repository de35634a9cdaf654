// Slow clients cannot hold the connection slots. Found in a hostile run: 180 connections each sending one
// byte every 3 s were never cut (each byte restarted the idle timer), and with the default limits a few
// addresses could keep everyone else out. Now a command line must be finished within pop.commandTimeout,
// a connection must sign in within pop.loginTimeout, and connections not signed in count against tighter
// limits (pop.maxUnauthenticated, pop.maxUnauthenticatedPerAddress): past them the oldest such connection
// is closed to make room. Real sockets from several loopback addresses (127.0.0.x), real trickling.
import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RawPop } from '../helpers/pop-client.js';
import { startServer, type TestServer } from '../helpers/server.js';

/** A connection from `from` that sends one octet of a never-ending line every `everyMs`. */
function trickle(
  port: number,
  from: string,
  everyMs: number,
): { socket: Socket; stop(): void; closed: Promise<number>; received: () => string } {
  const socket = connect({ port, host: '127.0.0.1', localAddress: from });
  let received = '';
  socket.on('data', (d) => (received += d.toString('latin1')));
  socket.on('error', () => {});
  const started = Date.now();
  const timer = setInterval(() => socket.writable && socket.write('X'), everyMs);
  const closed = new Promise<number>((resolve) =>
    socket.on('close', () => {
      clearInterval(timer);
      resolve(Date.now() - started);
    }),
  );
  return {
    socket,
    stop: () => {
      clearInterval(timer);
      socket.destroy();
    },
    closed,
    received: () => received,
  };
}

/** Connects from `from`, signs in with USER/PASS; resolves with the time it took, or throws the refusal. */
async function signInFrom(port: number, from: string, user: string, password: string): Promise<number> {
  const t0 = Date.now();
  const socket = connect({ port, host: '127.0.0.1', localAddress: from });
  let buffer = '';
  const next = () =>
    new Promise<string>((resolve, reject) => {
      const check = () => {
        const i = buffer.indexOf('\r\n');
        if (i < 0) return false;
        const line = buffer.slice(0, i);
        buffer = buffer.slice(i + 2);
        socket.off('data', onData);
        socket.off('close', onClose);
        resolve(line);
        return true;
      };
      const onData = (d: Buffer) => {
        buffer += d.toString('latin1');
        check();
      };
      const onClose = () => reject(new Error(`closed; had ${JSON.stringify(buffer)}`));
      if (check()) return;
      socket.on('data', onData);
      socket.on('close', onClose);
    });
  try {
    const greeting = await next();
    if (!greeting.startsWith('+OK')) throw new Error(greeting);
    socket.write(`USER ${user}\r\n`);
    await next();
    socket.write(`PASS ${password}\r\n`);
    const answer = await next();
    if (!answer.startsWith('+OK')) throw new Error(answer);
    return Date.now() - t0;
  } finally {
    socket.destroy();
  }
}

describe('trickling connections from several addresses, default limits', () => {
  let server: TestServer;
  const tricklers: ReturnType<typeof trickle>[] = [];

  beforeAll(async () => {
    server = await startServer();
    await server.addAccount('alice', 'a secret');
  });
  afterAll(async () => {
    for (const t of tricklers) t.stop();
    await server.stop();
  });

  it('240 connections from 12 addresses, one byte each every 3 s: a normal client is still served at once', async () => {
    // 12 addresses x 20 connections: more than maxChannels (200) and maxChannelsPerAddress (20) allow
    for (let a = 0; a < 12; a++) {
      for (let i = 0; i < 20; i++) tricklers.push(trickle(server.port, `127.0.0.${a + 2}`, 3000));
      await new Promise((r) => setTimeout(r, 50));
    }
    await new Promise((r) => setTimeout(r, 3500)); // every trickler has sent a byte or two

    // a client from a new address, and one from behind the same address as 20 tricklers (a shared NAT)
    const fresh = await signInFrom(server.port, '127.0.0.200', 'alice', 'a secret');
    const sameNat = await signInFrom(server.port, '127.0.0.2', 'alice', 'a secret');
    expect(fresh).toBeLessThan(3000);
    expect(sameNat).toBeLessThan(3000);
    // the tricklers held no more than the limits for connections not signed in allow
    const open = tricklers.filter((t) => !t.socket.destroyed && t.socket.readyState === 'open').length;
    expect(open).toBeLessThanOrEqual(100);
    const evicted = tricklers.filter((t) =>
      t.received().includes('-ERR [SYS/TEMP] Too many connections waiting to sign in; closing the oldest'),
    );
    expect(evicted.length).toBeGreaterThan(0);
  });
});

describe('how long a slow client may take', () => {
  let server: TestServer;

  beforeAll(async () => {
    server = await startServer({ config: { pop: { loginTimeout: 3, commandTimeout: 1.5 } } });
    await server.addAccount('alice', 'a secret');
    await server.deliver('alice', 'Subject: one\n\nbody\n');
  });
  afterAll(async () => {
    await server.stop();
  });

  it('a command line trickled one byte at a time is cut after pop.commandTimeout, not kept alive by each byte', async () => {
    const t = trickle(server.port, '127.0.0.1', 300);
    const lifetime = await t.closed;
    expect(t.received()).toMatch(/\r\n-ERR Command line not finished within 1\.5 s; closing connection\r\n$/);
    expect(lifetime).toBeGreaterThan(1400);
    expect(lifetime).toBeLessThan(4000);
  });

  it('whole lines sent slowly, but never signing in: cut after pop.loginTimeout', async () => {
    const c = await RawPop.connect(server.port);
    const t0 = Date.now();
    expect(await c.line()).toMatch(/^\+OK/);
    const ticker = setInterval(() => !c.isClosed && c.send('NOOP\r\n'), 500);
    try {
      for (;;) {
        const line = await c.line(6000);
        if (line.startsWith('-ERR [SYS/TEMP] Not signed in')) {
          expect(line).toBe('-ERR [SYS/TEMP] Not signed in within 3 s; closing connection');
          break;
        }
      }
      await c.closed();
      const lifetime = Date.now() - t0;
      expect(lifetime).toBeGreaterThan(2900);
      expect(lifetime).toBeLessThan(5000);
    } finally {
      clearInterval(ticker);
      c.close();
    }
  });

  it('a signed-in session may stay quiet (no sign-in limit), but trickling a command line there is cut too', async () => {
    const c = await RawPop.signIn(server.port, 'alice', 'a secret');
    await new Promise((r) => setTimeout(r, 3500)); // past loginTimeout
    expect(await c.command('STAT')).toMatch(/^\+OK 1 /);
    const t0 = Date.now();
    const ticker = setInterval(() => !c.isClosed && c.send('S'), 300);
    try {
      expect(await c.line(5000)).toBe('-ERR Command line not finished within 1.5 s; closing connection');
      await c.closed();
      expect(Date.now() - t0).toBeLessThan(4000);
    } finally {
      clearInterval(ticker);
    }
    await server.waitForLog((r) => r.msg === 'session end' && r.end === 'command line too slow' && r.user === 'alice@example.org');
  });

  it('a SASL answer trickled after AUTH LOGIN is cut the same way', async () => {
    const c = await RawPop.connect(server.port);
    await c.line();
    expect(await c.command('AUTH LOGIN')).toMatch(/^\+ /);
    const ticker = setInterval(() => !c.isClosed && c.send('Y'), 300);
    try {
      expect(await c.line(5000)).toBe('-ERR Command line not finished within 1.5 s; closing connection');
    } finally {
      clearInterval(ticker);
      c.close();
    }
  });
});
