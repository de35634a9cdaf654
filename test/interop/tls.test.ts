// TLS through the real server: implicit TLS (port 995 style) and STLS (RFC 2595), the generated
// self-signed certificate, real clients (python3 poplib, curl, openssl s_client), the RFC 2595 rule
// that nothing sent in clear after STLS counts, the cleartextAuth policy, SIGHUP reload of listeners
// and certificates, and `postern cert generate`.
import { createHash } from 'node:crypto';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { createServer, connect as netConnect } from 'node:net';
import { hostname } from 'node:os';
import { join } from 'node:path';
import type { PeerCertificate } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { poplib, run } from '../helpers/clients.js';
import { RawPop } from '../helpers/pop-client.js';
import { startServer, type LogRecord, type TestServer } from '../helpers/server.js';

const MSG = 'From: bob@example.org\r\nSubject: over tls\r\n\r\nHello through TLS.\r\n';
const PLAIN_AND_IMPLICIT = [
  { name: 'pop3', module: 'pop', address: '127.0.0.1', port: 0 },
  { name: 'pop3s', module: 'pop', address: '127.0.0.1', port: 0, tls: 'implicit' },
];

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise<T>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what}: no result in ${ms} ms`)), ms);
    }),
  ]);
}

/** Greeting, USER, PASS over an established RawPop; returns the PASS answer. */
async function userPass(w: RawPop, user = 'alice', password = 'a secret'): Promise<string> {
  expect(await w.command(`USER ${user}`)).toBe('+OK Send your password');
  return w.command(`PASS ${password}`);
}

/** The certificate a new implicit-TLS connection to `port` presents. */
async function peerCertificate(port: number): Promise<{ cert: PeerCertificate; protocol: string | null }> {
  const w = await RawPop.connectTls(port);
  try {
    expect(await w.line()).toMatch(/^\+OK /);
    return { cert: w.tlsSocket.getPeerCertificate(), protocol: w.tlsSocket.getProtocol() };
  } finally {
    w.close();
  }
}

/** Waits for a log record written after `since` records (so an earlier, equal record does not count). */
function waitForNewLog(server: TestServer, since: number, match: (r: LogRecord) => boolean, ms = 10_000): Promise<LogRecord> {
  return server.waitForLog((r) => server.logs.indexOf(r) >= since && match(r), ms);
}

/** Rewrites the server's config file with the test defaults plus `extra`. */
async function writeConfig(server: TestServer, extra: Record<string, unknown>): Promise<void> {
  const { pop, ...rest } = extra as { pop?: Record<string, unknown> };
  await writeFile(
    server.configFile,
    stringify({ dataDir: './data', mainDomain: 'example.org', ...rest, pop: { authFailureDelay: 0, ...pop } }),
  );
}

/** Sends SIGHUP and waits for the outcome record: reloaded, or failed. */
async function sighup(server: TestServer): Promise<LogRecord> {
  const since = server.logs.length;
  server.process.kill('SIGHUP');
  return waitForNewLog(
    server,
    since,
    (r) => r.msg.startsWith('reloaded the config and certificates') || r.msg === 'reload failed; the running config stays in use',
    20_000,
  );
}

function refused(port: number): Promise<string> {
  return withTimeout(
    new Promise<string>((resolve) => {
      const s = netConnect(port, '127.0.0.1');
      s.on('connect', () => {
        s.destroy();
        resolve('connected');
      });
      s.on('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
    }),
    5000,
    'connect',
  );
}

// ---- implicit TLS and STLS on one server -------------------------------------------------------

describe('implicit TLS and STLS', () => {
  let server: TestServer;
  let plainPort: number;
  let tlsPort: number;

  beforeAll(async () => {
    server = await startServer({ config: { listeners: PLAIN_AND_IMPLICIT } });
    plainPort = server.portOf('pop3');
    tlsPort = server.portOf('pop3s');
    await server.addAccount('alice', 'a secret');
    await server.deliver('alice', MSG);
    const bob = await server.cli(['account', 'add', 'bob', '--password-stdin', '--apop-secret', 'tanstaaf'], 'b pass');
    if (bob.code !== 0) throw new Error(`account add bob: ${bob.stderr}`);
    await server.deliver('bob', 'Subject: for bob\n\nhi bob\n');
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('binds both listeners and generates a self-signed certificate for mainDomain into dataDir/certs', async () => {
    expect(plainPort).toBeGreaterThan(0);
    expect(tlsPort).toBeGreaterThan(0);
    expect(tlsPort).not.toBe(plainPort);
    expect(server.logs.find((r) => r.msg === 'listening' && r.listener === 'pop3s')?.tls).toBe('implicit');
    const crt = join(server.dataDir, 'certs/server.crt');
    const key = join(server.dataDir, 'certs/server.key');
    const generated = server.logs.find((r) => r.msg === 'generated a self-signed certificate');
    expect(generated?.cert).toBe(crt);
    expect(generated?.host).toBe('example.org');

    expect((await stat(key)).mode & 0o777).toBe(0o600);
    expect((await stat(crt)).isFile()).toBe(true);
    const text = await run('openssl', ['x509', '-in', crt, '-noout', '-text'], { timeoutMs: 20_000 });
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toMatch(/Subject Alternative Name:\s*\n\s*DNS:example\.org/);
    expect(text.stdout).toMatch(/Subject:.*CN\s*=\s*example\.org/);
    // every name a client may use: mainDomain, this machine's name, localhost, 127.0.0.1, ::1
    const san = /Subject Alternative Name:\s*\n\s*(.*)/.exec(text.stdout)![1];
    expect(san.split(', ').sort()).toEqual(
      [`DNS:${hostname()}`, 'DNS:example.org', 'DNS:localhost', 'IP Address:0:0:0:0:0:0:0:1', 'IP Address:127.0.0.1'].sort(),
    );
    // a client that trusts it verifies it when connecting by address or by name (curl checks both)
    for (const host of ['127.0.0.1', 'localhost']) {
      const curl = await run('curl', ['-sS', '--cacert', crt, `pop3s://${host}:${tlsPort}/1`, '-u', 'alice:a secret'], {
        timeoutMs: 30_000,
      });
      expect(curl.code, `${host}: ${curl.stderr}`).toBe(0);
      expect(curl.stdout).toBe(MSG);
    }
    // The key belongs to the certificate.
    const certPub = await run('openssl', ['x509', '-in', crt, '-noout', '-pubkey'], { timeoutMs: 20_000 });
    const keyPub = await run('openssl', ['pkey', '-in', key, '-pubout'], { timeoutMs: 20_000 });
    expect(keyPub.code, keyPub.stderr).toBe(0);
    expect(certPub.stdout.trim()).toBe(keyPub.stdout.trim());
    // The implicit listener presents it.
    const { cert } = await peerCertificate(tlsPort);
    expect(cert.subject.CN).toBe('example.org');
    expect(cert.subjectaltname).toContain('DNS:example.org');
    const der = Buffer.from((await readFile(crt, 'utf8')).replace(/-----[^-]+-----|\s/g, ''), 'base64');
    expect(cert.fingerprint256).toBe(createHash('sha256').update(der).digest('hex').toUpperCase().match(/../g)!.join(':'));
  });

  it('python3 poplib: POP3_SSL signs in and retrieves; POP3.stls() then user/pass_ works', async () => {
    const r = await poplib<{
      ssl: { welcome: string; version: string; stat: number[]; lines: string[] };
      stls: { resp: string; version: string; caps: string[]; stat: number[]; lines: string[] };
    }>(
      plainPort,
      `
import ssl
ctx = ssl._create_unverified_context()
tls_port = ${tlsPort}
p = poplib.POP3_SSL('127.0.0.1', tls_port, context=ctx, timeout=20)
welcome = p.getwelcome().decode()
p.user('alice'); p.pass_('a secret')
st = list(p.stat())
resp, lines, octets = p.retr(1)
out = {'ssl': {'welcome': welcome, 'version': p.sock.version(), 'stat': st, 'lines': [l.decode() for l in lines]}}
p.quit()
p = poplib.POP3('127.0.0.1', port, timeout=20)
resp = p.stls(context=ctx).decode()
caps = sorted(p.capa().keys())
p.user('alice'); p.pass_('a secret')
st = list(p.stat())
resp2, lines, octets = p.retr(1)
out['stls'] = {'resp': resp, 'version': p.sock.version(), 'caps': caps, 'stat': st, 'lines': [l.decode() for l in lines]}
p.quit()
print(json.dumps(out))`,
    );
    const expectedLines = MSG.split('\r\n').slice(0, -1);
    expect(r.ssl.welcome).toMatch(/^\+OK example\.org Postern POP3 server ready <.+>$/);
    expect(['TLSv1.2', 'TLSv1.3']).toContain(r.ssl.version);
    expect(r.ssl.stat).toEqual([1, MSG.length]);
    expect(r.ssl.lines).toEqual(expectedLines);
    expect(r.stls.resp).toBe('+OK Begin TLS negotiation');
    expect(['TLSv1.2', 'TLSv1.3']).toContain(r.stls.version);
    expect(r.stls.caps).toContain('USER');
    expect(r.stls.caps).not.toContain('STLS');
    expect(r.stls.stat).toEqual([1, MSG.length]);
    expect(r.stls.lines).toEqual(expectedLines);
  });

  it('python3 poplib: apop() signs in over plain POP3 using the greeting timestamp', async () => {
    const r = await poplib<{ welcome: string; resp: string; stat: number[] }>(
      plainPort,
      `
p = poplib.POP3('127.0.0.1', port, timeout=20)
welcome = p.getwelcome().decode()
resp = p.apop('bob', 'tanstaaf').decode()
st = list(p.stat())
p.quit()
print(json.dumps({'welcome': welcome, 'resp': resp, 'stat': st}))`,
    );
    expect(r.welcome).toMatch(/<[^<>]+@example\.org>$/);
    expect(r.resp).toMatch(/^\+OK bob@example\.org has 1 messages/);
    expect(r.stat[0]).toBe(1);
    // A wrong secret is refused.
    const bad = await poplib<{ error: string }>(
      plainPort,
      `
p = poplib.POP3('127.0.0.1', port, timeout=20)
try:
    p.apop('bob', 'not it')
    print(json.dumps({'error': ''}))
except poplib.error_proto as e:
    print(json.dumps({'error': e.args[0].decode()}))`,
    );
    expect(bad.error).toBe('-ERR [AUTH] Authentication failed');
  });

  it('curl: pop3s:// and pop3:// with --ssl-reqd (STLS) print the message over TLS 1.2 or newer', async () => {
    const implicit = await run('curl', ['-sS', '-k', '-v', `pop3s://127.0.0.1:${tlsPort}/1`, '-u', 'alice:a secret'], {
      timeoutMs: 30_000,
    });
    expect(implicit.code, implicit.stderr).toBe(0);
    expect(implicit.stdout).toBe(MSG);
    expect(implicit.stderr).toMatch(/SSL connection using TLSv1\.[23]/);

    const stls = await run('curl', ['-sS', '-k', '-v', '--ssl-reqd', `pop3://127.0.0.1:${plainPort}/1`, '-u', 'alice:a secret'], {
      timeoutMs: 30_000,
    });
    expect(stls.code, stls.stderr).toBe(0);
    expect(stls.stdout).toBe(MSG);
    expect(stls.stderr).toMatch(/> STLS/);
    expect(stls.stderr).toMatch(/SSL connection using TLSv1\.[23]/);
    // The server logs the protocol of every STLS session.
    const started = server.logs.filter((r) => r.msg === 'TLS started');
    expect(started.length).toBeGreaterThan(0);
    for (const r of started) expect(['TLSv1.2', 'TLSv1.3']).toContain(r.protocol);
  });

  it('refuses a client limited to TLS 1.1, on the implicit listener and after STLS', async () => {
    // SECLEVEL=0 lets this OpenSSL offer TLS 1.1 at all, so the refusal is the server's
    // ("alert protocol version"), not the client's own "no protocols available".
    const old = ['-tls1_1', '-cipher', 'DEFAULT:@SECLEVEL=0', '-quiet'];
    const implicit = await run('openssl', ['s_client', '-connect', `127.0.0.1:${tlsPort}`, ...old], {
      input: 'QUIT\r\n',
      timeoutMs: 20_000,
    });
    expect(implicit.code).not.toBe(0);
    expect(implicit.stdout).not.toMatch(/\+OK/);
    expect(implicit.stderr).toMatch(/protocol version|unsupported protocol/i);
    expect(implicit.stderr).not.toMatch(/no protocols available/);
    await server.waitForLog((r) => r.msg === 'TLS handshake failed' && r.listener === 'pop3s');

    const stls = await run('openssl', ['s_client', '-connect', `127.0.0.1:${plainPort}`, '-starttls', 'pop3', ...old], {
      input: 'CAPA\r\nQUIT\r\n',
      timeoutMs: 20_000,
    });
    expect(stls.code).not.toBe(0);
    expect(stls.stdout).not.toMatch(/Capability list follows/);
    expect(stls.stderr).toMatch(/protocol version|unsupported protocol/i);
    await server.waitForLog((r) => r.msg === 'STLS handshake failed');

    // curl limited to TLS 1.1 fails too.
    const curl = await run('curl', ['-sS', '-k', '--tls-max', '1.1', `pop3s://127.0.0.1:${tlsPort}/1`, '-u', 'alice:a secret'], {
      timeoutMs: 30_000,
    });
    expect(curl.code).not.toBe(0);
    expect(curl.stdout).toBe('');
  });

  it('refuses client-initiated renegotiation (openssl s_client "R"), on the implicit listener and after STLS', async () => {
    // Ten renegotiation requests 0.3 s apart; each one the server accepted would verify the certificate
    // again (one more "verify error:num=18", self-signed). Before the fix all ten were accepted.
    const renegotiate = (args: string) =>
      run('bash', ['-c', `(for i in $(seq 10); do echo R; sleep 0.3; done; sleep 1) | openssl s_client ${args} -tls1_2 2>&1`], {
        timeoutMs: 30_000,
      });
    for (const args of [`-connect 127.0.0.1:${tlsPort}`, `-connect 127.0.0.1:${plainPort} -starttls pop3`]) {
      const r = await renegotiate(args);
      const handshakes = (r.stdout.match(/verify error:num=18/g) ?? []).length;
      expect(handshakes, r.stdout).toBe(1); // the first handshake only: 0 renegotiations accepted
      expect(r.stdout).toMatch(/RENEGOTIATING/);
      expect(r.stdout).toMatch(/no renegotiation/);
    }
    const c = await RawPop.connectTls(tlsPort); // and the server goes on
    expect(await c.line()).toMatch(/^\+OK/);
    c.close();
  });

  it('TLS 1.2 offers only forward-secret AEAD ciphers (Mozilla intermediate); TLS 1.3 works', async () => {
    const offer = async (cipher: string) => {
      const r = await run('openssl', ['s_client', '-connect', `127.0.0.1:${tlsPort}`, '-tls1_2', '-cipher', cipher], {
        input: '',
        timeoutMs: 20_000,
      });
      return /Cipher is (\S+)/.exec(r.stdout)?.[1] ?? null;
    };
    // refused: RSA key exchange (no forward secrecy), CBC with SHA-1 or SHA-256 MACs
    for (const weak of [
      'AES128-SHA',
      'AES256-SHA',
      'AES128-GCM-SHA256',
      'AES256-GCM-SHA384',
      'ECDHE-RSA-AES128-SHA',
      'ECDHE-RSA-AES256-SHA',
      'ECDHE-RSA-AES128-SHA256',
      'ECDHE-RSA-AES256-SHA384',
    ]) {
      expect([weak, await offer(weak)]).toEqual([weak, '(NONE)']);
    }
    for (const strong of ['ECDHE-RSA-AES128-GCM-SHA256', 'ECDHE-RSA-AES256-GCM-SHA384', 'ECDHE-RSA-CHACHA20-POLY1305']) {
      expect(await offer(strong)).toBe(strong);
    }
    const v13 = await run('openssl', ['s_client', '-connect', `127.0.0.1:${tlsPort}`, '-tls1_3'], { input: '', timeoutMs: 20_000 });
    expect(v13.stdout).toMatch(/New, TLSv1\.3, Cipher is TLS_(AES_128_GCM_SHA256|AES_256_GCM_SHA384|CHACHA20_POLY1305_SHA256)/);
  });

  it('openssl s_client -starttls pop3: CAPA after TLS lists USER and SASL PLAIN LOGIN but not STLS', async () => {
    const r = await run('openssl', ['s_client', '-connect', `127.0.0.1:${plainPort}`, '-starttls', 'pop3', '-quiet', '-crlf'], {
      input: 'CAPA\nQUIT\n',
      timeoutMs: 20_000,
    });
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.split('\r\n');
    const start = lines.indexOf('+OK Capability list follows');
    expect(start, r.stdout).toBeGreaterThanOrEqual(0);
    const caps = lines.slice(start + 1, lines.indexOf('.', start));
    expect(caps).toContain('USER');
    expect(caps).toContain('SASL PLAIN LOGIN');
    expect(caps).not.toContain('STLS');
    expect(r.stdout).toMatch(/\+OK Postern signing off/);

    // Before TLS, the same listener offers STLS.
    const w = await RawPop.connect(plainPort);
    try {
      await w.line();
      expect(await w.command('CAPA')).toBe('+OK Capability list follows');
      expect(await w.lines()).toContain('STLS');
    } finally {
      w.close();
    }
  });

  it('RFC 2595: a command pipelined after STLS in clear text is discarded, not run after the handshake', async () => {
    const w = await RawPop.connect(plainPort);
    try {
      expect(await w.line()).toMatch(/^\+OK /);
      w.send('STLS\r\nUSER alice\r\n'); // one write: the USER line was sent in clear
      expect(await w.line()).toBe('+OK Begin TLS negotiation');
      // Nothing else may come in clear text: upgrade() refuses if bytes follow the +OK.
      await new Promise((r) => setTimeout(r, 100));
      expect(w.pending).toBe('');
      const secure = await w.upgrade();
      expect(['TLSv1.2', 'TLSv1.3']).toContain(secure.getProtocol());
      // If the server had kept the clear-text USER, its "+OK Send your password" would come first
      // and this PASS would sign in.
      expect(await w.command('PASS a secret')).toBe('-ERR Send USER first');
      expect(await userPass(w)).toMatch(/^\+OK alice@example\.org has 1 messages/);
      expect(await w.command('STAT')).toBe(`+OK 1 ${MSG.length}`);
      expect(await w.command('QUIT')).toMatch(/^\+OK/);
    } finally {
      w.close();
    }
  });

  it('refuses STLS after TLS has started, after sign-in, and on the implicit TLS listener', async () => {
    // After STLS
    const w = await RawPop.connect(plainPort);
    try {
      await w.line();
      expect(await w.command('STLS')).toBe('+OK Begin TLS negotiation');
      await w.upgrade();
      expect(await w.command('STLS')).toMatch(/^-ERR /);
      expect(await w.command('CAPA')).toMatch(/^\+OK/);
      expect(await w.lines()).not.toContain('STLS');
      // The session goes on over TLS.
      expect(await userPass(w)).toMatch(/^\+OK/);
      expect(await w.command('NOOP')).toBe('+OK');
    } finally {
      w.close();
    }

    // After sign-in (plain USER/PASS is allowed from loopback by default)
    const signedIn = await RawPop.signIn(plainPort, 'alice', 'a secret');
    try {
      expect(await signedIn.command('STLS')).toMatch(/^-ERR /);
      expect(await signedIn.command('STAT')).toBe(`+OK 1 ${MSG.length}`);
    } finally {
      signedIn.close();
    }

    // On the implicit TLS listener
    const implicit = await RawPop.connectTls(tlsPort);
    try {
      expect(await implicit.line()).toMatch(/^\+OK /);
      expect(await implicit.command('CAPA')).toMatch(/^\+OK/);
      const caps = await implicit.lines();
      expect(caps).not.toContain('STLS');
      expect(caps).toContain('USER');
      expect(await implicit.command('STLS')).toMatch(/^-ERR /);
      expect(await userPass(implicit)).toMatch(/^\+OK/);
      expect(await implicit.command('STAT')).toBe(`+OK 1 ${MSG.length}`);
    } finally {
      implicit.close();
    }
  });
});

// ---- pop.cleartextAuth: never ------------------------------------------------------------------

describe('pop.cleartextAuth: never', () => {
  let server: TestServer;

  beforeAll(async () => {
    server = await startServer({ config: { pop: { cleartextAuth: 'never' } } });
    await server.addAccount('alice', 'a secret');
    await server.deliver('alice', MSG);
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('offers STLS but no password mechanisms in clear, refuses USER pointing at STLS and 995, and allows them after STLS', async () => {
    const w = await RawPop.connect(server.port);
    try {
      await w.line();
      expect(await w.command('CAPA')).toBe('+OK Capability list follows');
      const before = await w.lines();
      expect(before).toContain('STLS');
      expect(before).not.toContain('USER');
      expect(before).not.toContain('SASL PLAIN LOGIN');
      expect(before.filter((c) => /PLAIN|LOGIN/.test(c))).toEqual([]);

      const refusal = await w.command('USER alice');
      expect(refusal).toMatch(/^-ERR \[AUTH\] /);
      expect(refusal).toContain('STLS');
      expect(refusal).toContain('995');
      expect(await w.command('PASS a secret')).toMatch(/^-ERR \[AUTH\] /);
      expect(await w.command('AUTH PLAIN AGFsaWNlAGEgc2VjcmV0')).toMatch(/^-ERR \[AUTH\] /);

      expect(await w.command('STLS')).toBe('+OK Begin TLS negotiation');
      await w.upgrade();
      expect(await w.command('CAPA')).toBe('+OK Capability list follows');
      const after = await w.lines();
      expect(after).toContain('USER');
      expect(after).toContain('SASL PLAIN LOGIN');
      expect(after).not.toContain('STLS');
      expect(await userPass(w)).toMatch(/^\+OK alice@example\.org has 1 messages/);
      expect(await w.command('RETR 1')).toBe(`+OK ${MSG.length} octets`);
      expect(`${(await w.lines()).join('\r\n')}\r\n`).toBe(MSG);
      expect(await w.command('QUIT')).toMatch(/^\+OK/);
      await w.closed();
    } finally {
      w.close();
    }
  });

  it('curl without TLS cannot sign in; curl --ssl-reqd can', async () => {
    const clear = await run('curl', ['-sS', `pop3://127.0.0.1:${server.port}/1`, '-u', 'alice:a secret'], { timeoutMs: 30_000 });
    expect(clear.code).not.toBe(0);
    expect(clear.stdout).toBe('');
    const stls = await run('curl', ['-sS', '-k', '--ssl-reqd', `pop3://127.0.0.1:${server.port}/1`, '-u', 'alice:a secret'], {
      timeoutMs: 30_000,
    });
    expect(stls.code, stls.stderr).toBe(0);
    expect(stls.stdout).toBe(MSG);
  });
});

// ---- SIGHUP ------------------------------------------------------------------------------------

describe('SIGHUP reload', () => {
  it('adds a listener without disturbing open sessions; a broken config is logged and the old one kept', async () => {
    const server = await startServer();
    const open: RawPop[] = [];
    try {
      await server.addAccount('alice', 'a secret');
      await server.deliver('alice', MSG);
      const old = await RawPop.signIn(server.port, 'alice', 'a secret');
      open.push(old);

      await writeConfig(server, {
        listeners: [
          { name: 'pop3', module: 'pop', address: '127.0.0.1', port: 0 },
          { name: 'extra', address: '127.0.0.1', port: 0 },
        ],
      });
      const since = server.logs.length;
      server.process.kill('SIGHUP');
      await waitForNewLog(server, since, (r) => r.msg === 'listening' && r.listener === 'extra');
      expect((await waitForNewLog(server, since, (r) => r.msg.startsWith('reload'))).msg).toBe('reloaded the config and certificates');
      // The unchanged listener was kept, not restarted.
      expect(server.logs.slice(since).filter((r) => r.listener === 'pop3' && /listen/.test(r.msg))).toEqual([]);

      const extraPort = server.portOf('extra');
      expect(extraPort).toBeGreaterThan(0);
      expect(extraPort).not.toBe(server.port);
      const fresh = await RawPop.signIn(extraPort, 'alice', 'a secret');
      open.push(fresh);
      expect(await fresh.command('STAT')).toBe(`+OK 1 ${MSG.length}`);
      expect(await fresh.command('QUIT')).toMatch(/^\+OK/);
      expect(await old.command('STAT')).toBe(`+OK 1 ${MSG.length}`);

      // A config with an unknown key: logged, nothing changes.
      await writeFile(server.configFile, stringify({ dataDir: './data', mainDomain: 'example.org', pop: { idleTimout: 5 } }));
      const failed = await sighup(server);
      expect(failed.msg).toBe('reload failed; the running config stays in use');
      expect(String(failed.err)).toContain('idleTimout');
      expect(await old.command('STAT')).toBe(`+OK 1 ${MSG.length}`);
      for (const port of [server.port, extraPort]) {
        const c = await RawPop.signIn(port, 'alice', 'a secret');
        open.push(c);
        expect(await c.command('STAT')).toBe(`+OK 1 ${MSG.length}`);
        c.close();
      }
      expect(await old.command('QUIT')).toMatch(/^\+OK/);
      await old.closed();
    } finally {
      for (const c of open) c.close();
      expect(await server.stop()).toBe(0);
    }
  });

  it('a reload where a listener cannot start says so instead of "reloaded"', async () => {
    const server = await startServer();
    const blocker = createServer();
    try {
      await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
      const taken = (blocker.address() as { port: number }).port;
      await writeConfig(server, {
        listeners: [
          { name: 'pop3', module: 'pop', address: '127.0.0.1', port: 0 },
          { name: 'busy', address: '127.0.0.1', port: taken },
        ],
      });
      const outcome = await sighup(server);
      expect(outcome.msg).toBe('reloaded the config and certificates, but some listeners could not start');
      expect(outcome.failed).toEqual([{ listener: 'busy', err: expect.stringContaining('the port is already in use') }]);
      const c = await RawPop.connect(server.port); // the running listener still serves
      expect(await c.line()).toMatch(/^\+OK/);
      c.close();
    } finally {
      blocker.close();
      await server.stop();
    }
  });

  it('a removed listener stops accepting while a session opened on it stays usable', async () => {
    const server = await startServer({
      config: {
        listeners: [
          { name: 'pop3', module: 'pop', address: '127.0.0.1', port: 0 },
          { name: 'extra', module: 'pop', address: '127.0.0.1', port: 0 },
        ],
      },
    });
    const open: RawPop[] = [];
    try {
      await server.addAccount('alice', 'a secret');
      await server.deliver('alice', MSG);
      const extraPort = server.portOf('extra');
      const onExtra = await RawPop.signIn(extraPort, 'alice', 'a secret');
      open.push(onExtra);

      await writeConfig(server, { listeners: [{ name: 'pop3', module: 'pop', address: '127.0.0.1', port: 0 }] });
      const since = server.logs.length;
      expect((await sighup(server)).msg).toBe('reloaded the config and certificates');
      await waitForNewLog(server, since, (r) => r.msg === 'listener stopped (removed or changed in the config)' && r.listener === 'extra');

      expect(await refused(extraPort)).toBe('ECONNREFUSED');
      expect(await onExtra.command('STAT')).toBe(`+OK 1 ${MSG.length}`);
      expect(await onExtra.command('RETR 1')).toBe(`+OK ${MSG.length} octets`);
      expect((await onExtra.body()).toString()).toBe(`${MSG}.\r\n`);
      // The kept listener still serves.
      const c = await RawPop.signIn(server.port, 'alice', 'a secret');
      open.push(c);
      expect(await c.command('STAT')).toMatch(/^\+OK 1 /);
      c.close();
      expect(await onExtra.command('QUIT')).toMatch(/^\+OK/);
      await onExtra.closed();
    } finally {
      for (const c of open) c.close();
      expect(await server.stop()).toBe(0);
    }
  });
});

// ---- postern cert generate + SIGHUP ------------------------------------------------------------

describe('postern cert generate', () => {
  it('writes a new certificate; after SIGHUP new TLS connections present it and open ones keep working', async () => {
    const server = await startServer({ config: { listeners: PLAIN_AND_IMPLICIT } });
    const open: RawPop[] = [];
    try {
      const tlsPort = server.portOf('pop3s');
      await server.addAccount('alice', 'a secret');
      await server.deliver('alice', MSG);

      const before = await peerCertificate(tlsPort);
      expect(before.cert.subject.CN).toBe('example.org');

      // Sessions opened before the reload: one implicit TLS, one STLS.
      const implicit = await RawPop.connectTls(tlsPort);
      open.push(implicit);
      await implicit.line();
      expect(await userPass(implicit)).toMatch(/^\+OK/);
      const upgraded = await RawPop.connect(server.port);
      open.push(upgraded);
      await upgraded.line();
      expect(await upgraded.command('STLS')).toBe('+OK Begin TLS negotiation');
      await upgraded.upgrade();
      expect(await userPass(upgraded)).toMatch(/^\+OK/);

      const gen = await server.cli(['cert', 'generate', '--host', 'mail.example.net']);
      expect(gen.code, gen.stderr).toBe(0);
      const crt = join(server.dataDir, 'certs/server.crt');
      const key = join(server.dataDir, 'certs/server.key');
      // Soft: the rest of the test (the reload) still runs when the printout is wrong.
      expect.soft(gen.stdout, 'the private key must never be printed').not.toContain('PRIVATE KEY');
      expect.soft(gen.stdout).toContain(`certificate: ${crt}\n`);
      expect.soft(gen.stdout).toContain(`key: ${key}\n`);
      expect(gen.stdout).toContain('host: mail.example.net');
      expect(gen.stdout).toContain(`names: mail.example.net, example.org, ${hostname()}, localhost, 127.0.0.1, ::1\n`);
      // the certificate clients pinned is kept, and the answer says where
      const kept = /^previous certificate kept as (\S+) \(key (\S+)\), SHA-256 fingerprint (\S+)$/m.exec(gen.stdout);
      expect(kept, gen.stdout).not.toBeNull();
      expect(kept![3]).toBe(before.cert.fingerprint256);
      expect((await stat(kept![1])).isFile()).toBe(true);
      expect((await stat(kept![2])).mode & 0o777).toBe(0o600);
      expect(gen.stderr).toMatch(/clients that pinned the previous certificate must trust the new one/);
      const printed = /SHA-256 fingerprint: ((?:[0-9A-F]{2}:){31}[0-9A-F]{2})$/m.exec(gen.stdout)?.[1];
      expect(printed, gen.stdout).toBeDefined();
      expect((await stat(key)).mode & 0o777).toBe(0o600);
      const text = await run('openssl', ['x509', '-in', crt, '-noout', '-text'], { timeoutMs: 20_000 });
      expect(text.stdout).toContain('DNS:mail.example.net');

      // Not picked up before SIGHUP.
      expect((await peerCertificate(tlsPort)).cert.fingerprint256).toBe(before.cert.fingerprint256);

      expect((await sighup(server)).msg).toBe('reloaded the config and certificates');
      const after = await peerCertificate(tlsPort);
      expect(after.cert.subject.CN).toBe('mail.example.net');
      expect(after.cert.subjectaltname).toContain('DNS:mail.example.net');
      expect(after.cert.fingerprint256).toBe(printed);
      expect(['TLSv1.2', 'TLSv1.3']).toContain(after.protocol);

      // STLS on the plain listener presents the new certificate too.
      const viaStls = await RawPop.connect(server.port);
      try {
        await viaStls.line();
        expect(await viaStls.command('STLS')).toBe('+OK Begin TLS negotiation');
        const secure = await viaStls.upgrade();
        expect(secure.getPeerCertificate().subject.CN).toBe('mail.example.net');
        expect(await viaStls.command('NOOP')).toMatch(/^-ERR/); // not signed in yet: session alive over TLS
      } finally {
        viaStls.close();
      }

      // The sessions from before the reload still work, with their old certificate.
      expect(implicit.tlsSocket.getPeerCertificate().subject.CN).toBe('example.org');
      expect(await implicit.command('STAT')).toBe(`+OK 1 ${MSG.length}`);
      expect(await implicit.command('RETR 1')).toBe(`+OK ${MSG.length} octets`);
      expect(`${(await implicit.lines()).join('\r\n')}\r\n`).toBe(MSG);
      expect(await implicit.command('QUIT')).toMatch(/^\+OK/);
      expect(await upgraded.command('STAT')).toBe(`+OK 1 ${MSG.length}`);
      expect(await upgraded.command('QUIT')).toMatch(/^\+OK/);
    } finally {
      // Signed-in sessions left open would hold SIGTERM for shutdownTimeout.
      for (const w of open) w.close();
      expect(await server.stop()).toBe(0);
    }
  });
});
