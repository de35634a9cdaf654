// Real IMAP clients run as child processes: python3's imaplib, curl and openssl s_client.
import { execFile } from 'node:child_process';
import { run } from './clients.js';

/**
 * Runs a python3 script with imaplib, ssl and json imported and `port` (and `ssl_port`) defined; the
 * script prints JSON on its last line, which is parsed and returned. Bytes are best passed back
 * decoded as latin1 so they survive the trip exactly.
 */
export async function imaplib<T = unknown>(port: number, body: string, sslPort = 0): Promise<T> {
  const script =
    `import imaplib, ssl, json, sys, time\nport = ${port}\nssl_port = ${sslPort}\n` +
    `def b(x):\n    return x.decode('latin1') if isinstance(x, (bytes, bytearray)) else x\n` +
    `def flat(data):\n    if isinstance(data, (tuple, list)):\n        return [flat(d) for d in data]\n    return b(data)\n` +
    `def insecure():\n    c = ssl.create_default_context()\n    c.check_hostname = False\n    c.verify_mode = ssl.CERT_NONE\n    return ` +
    `c\n` +
    `${body}\n`;
  const r = await run('python3', ['-c', script], { timeoutMs: 20_000 });
  if (r.code !== 0) throw new Error(`python3 failed (${r.code}): ${r.stderr}\n${r.stdout}`);
  const last = r.stdout.trim().split('\n').pop() ?? '';
  return JSON.parse(last) as T;
}

/** `curl URL -u USER:PASS ...extra`, output as raw bytes. */
export function curl(
  url: string,
  user: string,
  password: string,
  extra: string[] = [],
): Promise<{ code: number; body: Buffer; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      'curl',
      ['-s', '-S', '--max-time', '15', ...extra, url, '-u', `${user}:${password}`],
      { encoding: 'buffer', maxBuffer: 64 * 1024 * 1024, timeout: 20_000 },
      (err, stdout, stderr) => {
        resolve({ code: err ? Number((err as NodeJS.ErrnoException).code ?? 1) : 0, body: stdout, stderr: stderr.toString() });
      },
    );
  });
}

/** Gathers an async iterable (Node 20 has no Array.fromAsync). */
export async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}

/** Polls `check` until it returns a truthy value or `ms` pass. */
export async function pollUntil<T>(check: () => Promise<T> | T, ms = 3000, every = 25): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const value = await check();
    if (value || Date.now() > end) return value;
    await new Promise((r) => setTimeout(r, every));
  }
}
