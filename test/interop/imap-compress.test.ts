// COMPRESS=DEFLATE (RFC 4978) against the real server: the exact bytes of the exchange from python3's
// zlib over a raw socket (clear and implicit TLS), imapflow and mbsync compressing because it is offered,
// and hostile or slow clients under compression: a deflate bomb, octets that are not DEFLATE data, a
// client that stops reading a large answer.
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { connect as netConnect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import { constants, createDeflateRaw, createInflateRaw, type DeflateRaw, type InflateRaw } from 'node:zlib';
import { ImapFlow } from 'imapflow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from '../helpers/clients.js';
import { imaplib } from '../helpers/imap-real-tools.js';
import { RawImap } from '../helpers/imap-client.js';
import { startServer, type TestServer } from '../helpers/server.js';

const LISTENERS = [
  { name: 'imap', module: 'imap', address: '127.0.0.1', port: 0 },
  { name: 'imaps', module: 'imap', address: '127.0.0.1', port: 0, tls: 'implicit' },
];
const USER = 'squeeze';
const PASS = 'squeeze secret';
const SMALL = 'From: a@example.net\r\nTo: squeeze@example.org\r\nSubject: small one\r\n\r\nhello hello hello hello\r\n';

let server: TestServer;
let imapPort: number;
let imapsPort: number;

beforeAll(async () => {
  server = await startServer({ config: { listeners: LISTENERS, imap: { commandTimeout: 20, blockedOutputWait: 1 } } });
  imapPort = server.portOf('imap');
  imapsPort = server.portOf('imaps');
  await server.addAccount(USER, PASS);
  await server.deliver(USER, SMALL);
});
afterAll(async () => {
  await server?.stop();
});

/** The server's resident memory now, in KiB. */
async function rssKiB(): Promise<number> {
  const status = await readFile(`/proc/${server.process.pid}/status`, 'utf8');
  return Number(/^VmRSS:\s+(\d+)/m.exec(status)?.[1]);
}

/** The session-end records of compressed sessions so far. */
const compressedEnds = () => server.logs.filter((r) => r.msg === 'session end' && r.compression !== undefined);

/** A raw client that turns on COMPRESS and then talks DEFLATE both ways (node's zlib). */
class DeflateClient {
  private text = Buffer.alloc(0);
  private wake: (() => void) | null = null;
  private closed = false;
  private inflater: InflateRaw | null = null;
  private deflater: DeflateRaw | null = null;
  wire = 0;

  private constructor(readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.wire += chunk.length;
      if (this.inflater) this.inflater.write(chunk);
      else this.add(chunk);
    });
    socket.on('close', () => {
      this.closed = true;
      this.wake?.();
    });
    socket.on('error', () => {});
  }

  static async open(tls = false): Promise<DeflateClient> {
    const socket = tls ? tlsConnect({ port: imapsPort, host: '127.0.0.1', rejectUnauthorized: false }) : netConnect(imapPort, '127.0.0.1');
    await new Promise((resolve) => socket.once(tls ? 'secureConnect' : 'connect', resolve));
    const c = new DeflateClient(socket);
    await c.line();
    socket.write(`a1 LOGIN ${USER} "${PASS}"\r\n`);
    expect(await c.until('a1')).toMatch(/^a1 OK /);
    socket.write('a2 COMPRESS DEFLATE\r\n');
    expect(await c.line()).toBe('a2 OK DEFLATE active\r\n');
    expect(c.text.length, 'nothing in the clear after the OK').toBe(0);
    c.inflater = createInflateRaw();
    c.inflater.on('data', (d: Buffer) => c.add(d));
    c.inflater.on('error', () => {});
    c.deflater = createDeflateRaw();
    c.deflater.on('data', (d: Buffer) => socket.write(d));
    return c;
  }

  private add(chunk: Buffer): void {
    this.text = Buffer.concat([this.text, chunk]);
    this.wake?.();
  }

  /** Sends `data` deflated, with a sync flush after it. */
  send(data: string | Buffer): Promise<void> {
    this.deflater!.write(data);
    return new Promise((resolve) => this.deflater!.flush(constants.Z_SYNC_FLUSH, () => resolve()));
  }

  /** The next line (inflated), with its CRLF. */
  async line(ms = 10_000): Promise<string> {
    const deadline = Date.now() + ms;
    for (;;) {
      const nl = this.text.indexOf(10);
      if (nl >= 0) {
        const line = this.text.subarray(0, nl + 1).toString('latin1');
        this.text = this.text.subarray(nl + 1);
        return line;
      }
      if (this.closed) throw new Error('connection closed');
      if (Date.now() > deadline) throw new Error('no line in time');
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, 100);
        this.wake = () => {
          clearTimeout(t);
          resolve();
        };
      });
    }
  }

  /** Lines up to the one tagged `tag`, all of them joined. */
  async until(tag: string, ms = 10_000): Promise<string> {
    let all = '';
    for (;;) {
      const line = await this.line(ms);
      all += line;
      if (line.startsWith(`${tag} `)) return all.slice(all.lastIndexOf(`${tag} `));
    }
  }

  /** Everything read from here to the close (inflated). */
  async rest(ms = 10_000): Promise<string> {
    const deadline = Date.now() + ms;
    while (!this.closed && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    return this.text.toString('latin1');
  }

  get isClosed(): boolean {
    return this.closed;
  }

  destroy(): void {
    this.socket.destroy();
    this.inflater?.destroy();
    this.deflater?.destroy();
  }
}

/** python3 over a raw socket with zlib: every byte of the exchange around COMPRESS, clear or TLS. */
const PYTHON_EXCHANGE = `
import socket, zlib
s = socket.create_connection(('127.0.0.1', ssl_port if use_tls else port))
if use_tls:
    s = insecure().wrap_socket(s, server_hostname='localhost')
buf = b''
def line():
    global buf
    while b'\\r\\n' not in buf:
        d = s.recv(65536)
        if not d: raise Exception('closed: %r' % buf)
        buf += d
    i = buf.index(b'\\r\\n') + 2
    l, buf = buf[:i], buf[i:]
    return l
out = {'greeting': b(line())}
s.sendall(b'a1 LOGIN ${USER} "${PASS}"\\r\\n')
out['login'] = b(line())
s.sendall(b'a2 COMPRESS DEFLATE\\r\\n')
out['ok'] = b(line())
time.sleep(0.2)
s.setblocking(False)
try:
    early = s.recv(65536)
except (BlockingIOError, ssl.SSLWantReadError):
    early = b''
s.setblocking(True)
out['after_ok'] = b(buf + early)
comp = zlib.compressobj(6, zlib.DEFLATED, -15)
dec = zlib.decompressobj(-15)
plain = b''
wire = 0
def send(text):
    s.sendall(comp.compress(text) + comp.flush(zlib.Z_SYNC_FLUSH))
def until(tag):
    global plain, wire
    while True:
        i = plain.find(b'\\r\\n' + tag + b' ')
        j = 0 if plain.startswith(tag + b' ') else (i + 2 if i >= 0 else -1)
        if j >= 0 and b'\\r\\n' in plain[j:]:
            k = plain.index(b'\\r\\n', j) + 2
            r, plain = plain[:k], plain[k:]
            return r
        d = s.recv(65536)
        if not d: raise Exception('closed: %r' % plain)
        wire += len(d)
        plain += dec.decompress(d)
send(b'a3 NOOP\\r\\n')
out['noop'] = b(until(b'a3'))
send(b'a4 COMPRESS DEFLATE\\r\\n')
out['again'] = b(until(b'a4'))
send(b'a5 EXAMINE INBOX\\r\\n')
out['examine'] = b(until(b'a5'))
# past the server's 1 s: the deflater it used was given back, and a new one goes on with the same stream
time.sleep(1.5)
wire = 0
send(b'a6 FETCH 1 (BODY.PEEK[])\\r\\n')
out['fetch'] = b(until(b'a6'))
out['fetch_wire'] = wire
send(b'a7 FETCH 1:* (FLAGS)\\r\\na8 NOOP\\r\\n')
out['pipelined'] = b(until(b'a7') + until(b'a8'))
time.sleep(1.5)
send(b'a9 LOGOUT\\r\\n')
rest = b''
while True:
    d = s.recv(65536)
    if not d: break
    rest += dec.decompress(d)
out['logout'] = b(plain + rest)
out['final_block'] = dec.eof
print(json.dumps(out))
`;

describe('python3 zlib over a raw socket', () => {
  for (const tls of [false, true]) {
    it(`${tls ? 'implicit TLS' : 'clear'}: the tagged OK in the clear, then every octet both ways is DEFLATE`, async () => {
      const r = await imaplib<Record<string, string | number | boolean>>(
        imapPort,
        `use_tls = ${tls ? 'True' : 'False'}\n${PYTHON_EXCHANGE}`,
        imapsPort,
      );
      expect(r.login).toMatch(/^a1 OK \[CAPABILITY [^\]]* COMPRESS=DEFLATE[ \]]/);
      expect(r.ok).toBe('a2 OK DEFLATE active\r\n');
      expect(r.after_ok, 'nothing follows the OK until the client speaks').toBe('');
      expect(r.noop).toBe('a3 OK NOOP completed\r\n');
      expect(r.again).toBe('a4 NO [COMPRESSIONACTIVE] DEFLATE compression is already active\r\n');
      expect(r.examine).toMatch(/^\* 1 EXISTS\r\n[\s\S]*a5 OK \[READ-ONLY\] /);
      expect(r.fetch).toBe(`* 1 FETCH (BODY[] {${SMALL.length}}\r\n${SMALL})\r\na6 OK FETCH completed\r\n`);
      expect(r.fetch_wire as number).toBeLessThan((r.fetch as string).length);
      expect(r.pipelined).toMatch(/^\* 1 FETCH \(FLAGS \([^)]*\)\)\r\na7 OK FETCH completed\r\na8 OK NOOP completed\r\n$/);
      expect(r.logout).toBe('* BYE Logging out\r\na9 OK LOGOUT completed\r\n');
      expect(r.final_block, 'the server ends its DEFLATE stream with a final block').toBe(true);
    });
  }
});

describe('the COMPRESS command', () => {
  it('is refused before sign-in, for another mechanism, and when the client sent more after it', async () => {
    const { client } = await RawImap.connect(imapPort);
    expect((await client.command('CAPABILITY')).untagged[0]).not.toMatch(/COMPRESS/);
    expect((await client.command('COMPRESS DEFLATE')).tagged).toBe('a2 BAD COMPRESS is not allowed before signing in');
    await client.command(`LOGIN ${USER} "${PASS}"`);
    expect((await client.command('CAPABILITY')).untagged[0]).toMatch(/ COMPRESS=DEFLATE( |$)/);
    expect((await client.command('COMPRESS LZ4')).tagged).toBe('a5 BAD Unknown compression mechanism "LZ4"; DEFLATE is supported');
    expect((await client.command('COMPRESS')).status).toBe('BAD');
    // RFC 4978 section 3: the client waits for the answer; octets already sent are not taken as compressed
    client.send(`${client.nextTag()} COMPRESS DEFLATE\r\n${client.nextTag()} NOOP\r\n`);
    expect((await client.until('a7')).tagged).toBe('a7 BAD The client did not wait for the COMPRESS answer before sending more data');
    expect((await client.until('a8')).tagged).toBe('a8 OK NOOP completed');
    expect((await client.command('COMPRESS DEFLATE')).tagged).toBe('a9 OK DEFLATE active');
    client.close();
  });

  it('the end record counts what the session compressed', async () => {
    const c = await DeflateClient.open();
    await c.send('a3 LOGOUT\r\n');
    await c.rest();
    const end = await server.waitForLog(
      (r) => r.msg === 'session end' && (r.compression as { inflated?: number } | undefined)?.inflated === 'a3 LOGOUT\r\n'.length,
      5000,
    );
    expect(end.compression).toMatchObject({ received: expect.any(Number), inflated: 'a3 LOGOUT\r\n'.length });
    const counts = end.compression as { written: number; sent: number };
    expect(counts.written).toBe('* BYE Logging out\r\na3 OK LOGOUT completed\r\n'.length);
    expect(counts.sent).toBeGreaterThan(0);
  });
});

describe('real clients compress when it is offered', () => {
  it('imapflow: the session runs compressed and fetches the exact message', async () => {
    const client = new ImapFlow({
      host: '127.0.0.1',
      port: imapPort,
      secure: false,
      auth: { user: USER, pass: PASS },
      logger: false,
      tls: { rejectUnauthorized: false },
    });
    client.on('error', () => {});
    await client.connect();
    expect((client as unknown as { _deflate: unknown })._deflate, 'imapflow turned COMPRESS on').toBeTruthy();
    await client.mailboxOpen('INBOX', { readOnly: true });
    const m = await client.fetchOne('1', { source: true });
    expect(m ? m.source?.toString('latin1') : 'nothing fetched').toBe(SMALL);
    await client.logout();
    await server.waitForLog(
      (r) => r.msg === 'session end' && r.compression !== undefined && (r.compression as { inflated: number }).inflated > 30,
      5000,
    );
  });

  it('mbsync: a sync over a compressed session brings every message, byte for byte', async () => {
    const before = compressedEnds().length;
    const home = await mkdtemp(join(tmpdir(), 'postern-mbsync-z-'));
    const local = join(home, 'mail');
    const rc = join(home, 'mbsyncrc');
    try {
      await mkdir(local);
      await writeFile(
        rc,
        `IMAPAccount remote\nHost 127.0.0.1\nPort ${imapsPort}\nUser ${USER}\nPass "${PASS}"\nSSLType IMAPS\nCertificateFile ` +
          `${join(server.dataDir, 'certs/server.crt')}\nAuthMechs LOGIN\n\nIMAPStore remote\nAccount remote\n\nMaildirStore local\nPath ` +
          `${local}/\nInbox ${local}/INBOX\n\nChannel sync\nFar :remote:INBOX\nNear :local:INBOX\nCreate Near\nSyncState *\n`,
        { mode: 0o600 },
      );
      const r = await run('mbsync', ['-c', rc, '-a', '-D'], { env: { ...process.env, HOME: home }, timeoutMs: 20_000 });
      expect(r.code, r.stdout + r.stderr).toBe(0);
      expect(r.stdout + r.stderr).toMatch(/COMPRESS DEFLATE/);
      const files = [...(await readdir(join(local, 'INBOX', 'new'))), ...(await readdir(join(local, 'INBOX', 'cur')))];
      expect(files).toHaveLength(1);
      const got = await readFile(
        join(local, 'INBOX', (await readdir(join(local, 'INBOX', 'new'))).length ? 'new' : 'cur', files[0]),
        'latin1',
      );
      expect(got.replace(/^X-TUID: .*\n/m, '')).toBe(SMALL.replace(/\r\n/g, '\n'));
      await server.waitForLog(() => compressedEnds().length > before, 5000);
    } finally {
      await rm(home, { recursive: true, force: true });
    }
  });
});

describe('hostile and slow clients under compression', () => {
  it('a deflate bomb (256 KB inflating to 256 MiB in one line) is answered as a line too long; memory stays bounded', async () => {
    const peakBefore = await server.peakRssKiB();
    const c = await DeflateClient.open();
    const bomb = createDeflateRaw({ level: 6 });
    let compressed = 0;
    bomb.on('data', (d: Buffer) => {
      compressed += d.length;
      c.socket.write(d);
    });
    const mib = Buffer.alloc(1024 * 1024, 0x41);
    bomb.write('a3 NOOP ');
    for (let i = 0; i < 256; i++) if (!bomb.write(mib)) await new Promise((r) => bomb.once('drain', r));
    bomb.write('\r\na4 NOOP\r\n');
    await new Promise((r) => bomb.flush(constants.Z_SYNC_FLUSH, () => r(null)));
    expect(compressed).toBeLessThan(300 * 1024);
    expect(await c.line(60_000)).toBe('a3 BAD [TOOBIG] Command too long (the limit is 65536 octets)\r\n');
    expect(await c.line()).toBe('a4 OK NOOP completed\r\n');
    const grew = (await server.peakRssKiB()) - peakBefore;
    expect(grew, `peak RSS grew ${grew} KiB`).toBeLessThan(48 * 1024);
    c.destroy();
    bomb.destroy();
  }, 90_000);

  it('octets that are not DEFLATE data end the session with a log line', async () => {
    const c = await DeflateClient.open();
    c.socket.write(Buffer.from('a3 NOOP\r\n this is no deflate stream \xff\xff\xff\xff', 'latin1'));
    const record = await server.waitForLog((r) => r.msg === 'compressed input is not DEFLATE data; connection closed', 5000);
    expect(record.err).toEqual(expect.any(String));
    await c.rest(5000);
    expect(c.isClosed).toBe(true);
    await server.waitForLog((r) => r.msg === 'session end' && r.end === 'invalid compressed data', 5000);
  });

  it('a client stops reading a large answer and sends a bomb meanwhile: the server stops both ways, answers all later', async () => {
    // 33 MB of base64 of random octets (they deflate to 3/4 at best): without backpressure they would sit in the server
    const bodies = Array.from({ length: 3 }, () => randomBytes(8 * 1024 * 1024).toString('base64'));
    const user = 'slowz';
    await server.addAccount(user, 'slow secret');
    for (const [i, body] of bodies.entries()) await server.deliver(user, `Subject: big ${i}\n\n${body}\n`);
    const socket = netConnect(imapPort, '127.0.0.1');
    let clear = '';
    const clearData = (d: Buffer) => (clear += d.toString('latin1'));
    socket.on('data', clearData);
    const clearUntil = async (text: string) => {
      while (!clear.includes(text)) await new Promise((r) => setTimeout(r, 20));
    };
    await clearUntil('\r\n');
    socket.write(`a1 LOGIN ${user} "slow secret"\r\na2 SELECT INBOX\r\n`);
    await clearUntil('a2 OK');
    socket.write('a3 COMPRESS DEFLATE\r\n');
    await clearUntil('a3 OK');
    socket.off('data', clearData);
    const inflater = createInflateRaw();
    let answer = '';
    inflater.on('data', (d: Buffer) => (answer += d.toString('latin1')));
    const deflater = createDeflateRaw();
    deflater.on('data', (d: Buffer) => socket.write(d));
    socket.pause();
    const before = await rssKiB();
    deflater.write('a4 FETCH 1:* (BODY.PEEK[])\r\n');
    deflater.flush(constants.Z_SYNC_FLUSH);
    await new Promise((r) => setTimeout(r, 1000));
    // meanwhile a bomb: 128 MiB in one line; the session does not read now, so the inflater must stop
    const mib = Buffer.alloc(1024 * 1024, 0x42);
    deflater.write('a5 NOOP ');
    for (let i = 0; i < 128; i++) if (!deflater.write(mib)) await new Promise((r) => deflater.once('drain', r));
    deflater.write('\r\na6 NOOP\r\n');
    deflater.flush(constants.Z_SYNC_FLUSH);
    await new Promise((r) => setTimeout(r, 2500));
    const grew = (await rssKiB()) - before;
    expect(grew, `RSS grew ${grew} KiB while the client did not read`).toBeLessThan(16 * 1024);
    socket.on('data', (d: Buffer) => inflater.write(d));
    socket.resume();
    const deadline = Date.now() + 40_000;
    while (!answer.endsWith('a6 OK NOOP completed\r\n') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(answer).toMatch(
      /\)\r\na4 OK FETCH completed\r\na5 BAD \[TOOBIG\] Command too long \(the limit is 65536 octets\)\r\na6 OK NOOP completed\r\n$/,
    );
    for (const body of bodies) expect(answer.includes(`${body}\r\n`)).toBe(true);
    socket.destroy();
  }, 60_000);
});
