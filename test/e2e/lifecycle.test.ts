// How sessions end: SIGTERM with a deadline, the idle timeout, and a 20 MB message sent to a slow
// reader while the server's memory stays bounded.
import { readdir } from 'node:fs/promises';
import { connect } from 'node:net';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { RawPop } from '../helpers/pop-client.js';
import { startServer } from '../helpers/server.js';

describe('SIGTERM', () => {
  it('stops accepting, closes idle unsigned sessions, lets QUIT finish, cuts the rest without deleting', async () => {
    const server = await startServer({ config: { shutdownTimeout: 1.5 } });
    await server.addAccount('alice', 'a secret');
    for (let i = 0; i < 3; i++) await server.deliver('alice', `Subject: ${i}\n\nbody ${i}\n`);
    const maildir = join(server.dataDir, 'accounts/example.org/alice/Maildir');

    const waiting = await RawPop.connect(server.port);
    await waiting.line();
    const finisher = await RawPop.signIn(server.port, 'alice', 'a secret');
    expect(await finisher.command('DELE 1')).toMatch(/^\+OK/);
    const idle = await RawPop.signIn(server.port, 'alice', 'a secret');
    expect(await idle.command('DELE 2')).toMatch(/^\+OK/);

    server.process.kill('SIGTERM');
    expect(await waiting.line()).toBe('-ERR [SYS/TEMP] Server shutting down; try again later');
    await waiting.closed();
    // no new connections
    await expect(
      new Promise((resolve, reject) => connect(server.port, '127.0.0.1').on('connect', resolve).on('error', reject)),
    ).rejects.toThrow(/ECONNREFUSED/);
    // a signed-in session may still finish within the deadline, and its QUIT applies
    expect(await finisher.command('QUIT')).toBe('+OK Postern signing off (2 messages left)');
    // the idle one is cut at the deadline, and its DELE is not applied
    expect(await idle.line(5000)).toBe('-ERR [SYS/TEMP] Server shutting down; no changes were made');
    await idle.closed();
    expect(await server.stop()).toBe(0);
    // stop() removed the temp dir; the counts were checked through the log instead
    const ends = server.logs.filter((r) => r.msg === 'session end').map((r) => [r.end, r.deleted]);
    expect(ends).toEqual(
      expect.arrayContaining([
        ['quit', 1],
        ['server shutdown', 0],
      ]),
    );
    void maildir;
  });

  it('a cut session leaves every message on disk', async () => {
    const server = await startServer({ config: { shutdownTimeout: 0.5 } });
    await server.addAccount('alice', 'a secret');
    await server.deliver('alice', 'Subject: keep\n\nme\n');
    const maildir = join(server.dataDir, 'accounts/example.org/alice/Maildir');
    const c = await RawPop.signIn(server.port, 'alice', 'a secret');
    expect(await c.command('DELE 1')).toMatch(/^\+OK/);
    server.process.kill('SIGTERM');
    expect(await c.line()).toMatch(/no changes were made/);
    await new Promise((r) => server.process.once('exit', r));
    expect(await readdir(join(maildir, 'new'))).toHaveLength(1);
    await server.stop();
  });
});

describe('idle timeout', () => {
  it('closes an idle session without applying its deletions', async () => {
    const server = await startServer({ config: { pop: { idleTimeout: 1 } } });
    await server.addAccount('alice', 'a secret');
    await server.deliver('alice', 'Subject: keep\n\nme\n');
    const c = await RawPop.signIn(server.port, 'alice', 'a secret');
    expect(await c.command('DELE 1')).toMatch(/^\+OK/);
    expect(await c.line(4000)).toBe('-ERR Idle for too long; closing connection');
    await c.closed();
    const again = await RawPop.signIn(server.port, 'alice', 'a secret');
    expect(await again.command('STAT')).toMatch(/^\+OK 1 /);
    again.close();
    await server.stop();
  });
});

describe('a 20 MB message', () => {
  it('streams to a slow reader with the server memory bounded, octet count exact', async () => {
    const server = await startServer();
    await server.addAccount('alice', 'a secret');
    // 20 MB of bare-LF lines, some starting with a dot: every line is rewritten on the way out.
    const line = '.abcdefghijklmnopqrstuvwxyz0123456789 ABCDEFGHIJKLMNOPQRSTUVWXYZ\n';
    const big = `Subject: big\n\n${line.repeat(Math.ceil((20 * 1024 * 1024) / line.length))}`;
    await server.deliver('alice', big);
    const c = await RawPop.signIn(server.port, 'alice', 'a secret');
    const listed = Number((await c.command('LIST 1')).split(' ')[2]);
    const lines = big.split('\n').length - 1;
    expect(listed).toBe(big.length + lines);
    const before = await server.peakRssKiB();

    // Ask for the message, then read nothing for a while: the server must wait, not buffer.
    c.socket.pause();
    c.send('RETR 1\r\n');
    await new Promise((r) => setTimeout(r, 1500));
    const whilePaused = await server.peakRssKiB();
    c.socket.resume();
    expect(await c.line(10_000)).toBe(`+OK ${listed} octets`);
    const body = await c.body(30_000);
    const stuffed = big.split('\n').filter((l) => l.startsWith('.')).length;
    expect(body.length).toBe(listed + stuffed + 3);
    const after = await server.peakRssKiB();
    c.close();
    await server.stop();
    // Peak resident memory grows by far less than the message (20 MiB = 20480 KiB). While the client
    // reads nothing, the server must hold back (a server without backpressure measured 12.9 MiB here);
    // over the whole transfer, garbage collection timing on a busy machine adds a few MiB.
    expect(whilePaused - before).toBeLessThan(8 * 1024);
    expect(after - before).toBeLessThan(16 * 1024);
  });
});
