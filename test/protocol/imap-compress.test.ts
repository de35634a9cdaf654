// COMPRESS=DEFLATE in this process (test/helpers/in-process.ts): the compressed transport over the
// harness's socket pair, and the line channel's timers under it: the idle timer and the command-line
// timer still run, and their BYE arrives compressed. (The exact bytes from python3, real clients and
// hostile ones are in test/interop/imap-compress.test.ts.)
import { constants, createDeflateRaw, createInflateRaw } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RawImap } from '../helpers/imap-client.js';
import { type InProcessServer, startInProcess } from '../helpers/in-process.js';

const LISTENERS = [{ name: 'imap', module: 'imap', address: '127.0.0.1', port: 0 }];
const PASSWORD = 'Deflate-Secret-7';

/** Signs in, turns COMPRESS on, and gives a deflating sender and the inflated text received so far. */
async function compressedSession(server: InProcessServer) {
  const client = await RawImap.signIn(server.portOf('imap'), 'carol', PASSWORD);
  expect((await client.command('COMPRESS DEFLATE')).tagged).toBe('a2 OK DEFLATE active');
  const socket = client.raw.socket;
  const inflater = createInflateRaw();
  const deflater = createDeflateRaw();
  const got = { text: '', closed: false, finalBlock: false };
  inflater.on('data', (d: Buffer) => (got.text += d.toString('latin1')));
  // ended without an error: the stream had its final block (an unfinished one fails with "unexpected end of file")
  inflater.on('end', () => (got.finalBlock = true));
  inflater.on('error', () => {});
  socket.on('data', (d: Buffer) => inflater.write(d));
  socket.on('close', () => {
    got.closed = true;
    inflater.end();
  });
  deflater.on('data', (d: Buffer) => socket.write(d));
  const send = (text: string) => {
    deflater.write(text);
    deflater.flush(constants.Z_SYNC_FLUSH);
  };
  return { got, send };
}

async function until(check: () => boolean, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!check() && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
}

describe('COMPRESS=DEFLATE over the in-process socket pair', () => {
  let server: InProcessServer;
  beforeAll(async () => {
    server = await startInProcess({ config: { listeners: LISTENERS, imap: { idleTimeout: 1.5, commandTimeout: 0.5 } } });
    await server.addAccount('carol', PASSWORD);
  });
  afterAll(() => server.stop());

  it('answers compressed commands, and the idle timer closes a silent session with a compressed BYE', async () => {
    const s = await compressedSession(server);
    s.send('a3 NOOP\r\n');
    await until(() => s.got.text.includes('a3 '), 2000);
    expect(s.got.text).toBe('a3 OK NOOP completed\r\n');
    // the inflater works after the socket's close: wait for the stream's end too
    await until(() => s.got.closed && s.got.finalBlock, 4000);
    expect(s.got.text).toBe('a3 OK NOOP completed\r\n* BYE Idle for too long; closing connection\r\n');
    expect(s.got.finalBlock, 'the DEFLATE stream ends with its final block').toBe(true);
    await server.waitForLog((r) => r.msg === 'session end' && r.end === 'idle timeout' && r.compression !== undefined, 2000);
  });

  it('a command line begun and not finished is cut by the command-line timer, compressed', async () => {
    const s = await compressedSession(server);
    s.send('a3 NOO');
    await until(() => s.got.closed && s.got.finalBlock, 3000);
    expect(s.got.text).toBe('* BYE Command line not finished within 0.5 s; closing connection\r\n');
    expect(s.got.finalBlock).toBe(true);
  });
});
