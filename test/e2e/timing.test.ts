// Sign-in answers must not tell which names are accounts by their timing. Found in a hostile run: APOP
// answered a known name in 0.35 ms and an unknown one in 0.24 ms (p = 1.9e-53 over 250 tries each), and
// CRAM-MD5 the same. Every failed sign-in is now answered pop.authFailureTime after the client's line.
// This test measures both distributions over real sockets and compares them (Mann-Whitney U).
import { createHash, createHmac } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RawPop } from '../helpers/pop-client.js';
import { startServer, type TestServer } from '../helpers/server.js';
import { mannWhitneyZ, median } from '../helpers/stats.js';

let server: TestServer;
const SAMPLES = 160; // per name and mechanism
const WORKERS = 8;

beforeAll(async () => {
  server = await startServer({
    config: { pop: { maxAuthAttempts: 100, saslMechanisms: ['PLAIN', 'LOGIN', 'CRAM-MD5'], maxBadCommands: 1000 } },
  });
  const r = await server.cli(['account', 'add', 'alice', '--password-stdin', '--apop-secret', 'tanstaaf'], 'a secret');
  if (r.code !== 0) throw new Error(r.stderr);
});
afterAll(async () => {
  await server.stop();
});

/** One timed attempt: the time from the client's last line to the server's -ERR, in ms. */
type Attempt = (c: RawPop, name: string) => Promise<number>;

async function timeIt(c: RawPop, line: string): Promise<{ ms: number; answer: string }> {
  const t0 = process.hrtime.bigint();
  c.send(`${line}\r\n`);
  const answer = await c.line(10_000);
  return { ms: Number(process.hrtime.bigint() - t0) / 1e6, answer };
}

const apop: Attempt = async (c, name) => {
  const digest = createHash('md5').update(`wrong${name}`).digest('hex');
  const { ms, answer } = await timeIt(c, `APOP ${name} ${digest}`);
  expect(answer).toBe('-ERR [AUTH] Authentication failed');
  return ms;
};

const cramMd5: Attempt = async (c, name) => {
  const challenge = await c.command('AUTH CRAM-MD5');
  expect(challenge).toMatch(/^\+ /);
  const text = Buffer.from(challenge.slice(2), 'base64').toString();
  const digest = createHmac('md5', 'not the secret').update(text).digest('hex');
  const { ms, answer } = await timeIt(c, Buffer.from(`${name} ${digest}`).toString('base64'));
  expect(answer).toBe('-ERR [AUTH] Authentication failed');
  return ms;
};

const plain: Attempt = async (c, name) => {
  const { ms, answer } = await timeIt(c, `AUTH PLAIN ${Buffer.from(`\0${name}\0wrong password`).toString('base64')}`);
  expect(answer).toBe('-ERR [AUTH] Authentication failed');
  return ms;
};

/** SAMPLES attempts for each name, interleaved, over WORKERS connections at once. */
async function sample(attempt: Attempt): Promise<{ known: number[]; unknown: number[] }> {
  const known: number[] = [];
  const unknown: number[] = [];
  await Promise.all(
    Array.from({ length: WORKERS }, async (_, w) => {
      let c: RawPop | null = null;
      for (let i = 0; i < SAMPLES / WORKERS; i++) {
        if (i % 45 === 0) {
          // a fresh connection before pop.maxAuthAttempts (100) failures close it
          c?.close();
          c = await RawPop.connect(server.port);
          await c.line();
        }
        // in alternating order, half of the connections starting with each name: they run in step (each
        // answer comes at the same failure time), and the server reads a line only once the lines that came
        // with it have been worked on; were they all on the same name at once, the others' work on that
        // name would count in each one's time (as in test/interop/imap-mailboxes-rights.test.ts)
        if ((i + w) % 2 === 0) {
          known.push(await attempt(c!, 'alice'));
          unknown.push(await attempt(c!, 'nobody-here'));
        } else {
          unknown.push(await attempt(c!, 'nobody-here'));
          known.push(await attempt(c!, 'alice'));
        }
      }
      c?.close();
    }),
  );
  return { known, unknown };
}

describe('failed sign-ins take the same time for a known and an unknown name', () => {
  for (const [mechanism, attempt] of [
    ['APOP', apop],
    ['CRAM-MD5', cramMd5],
    ['AUTH PLAIN', plain],
  ] as const) {
    it(mechanism, async () => {
      const { known, unknown } = await sample(attempt);
      const z = mannWhitneyZ(known, unknown);
      console.log(
        `${mechanism}: median known ${median(known).toFixed(3)} ms, unknown ${median(unknown).toFixed(3)} ms, Mann-Whitney z ` +
          `= ${z.toFixed(2)} (n = ${known.length} + ${unknown.length})`,
      );
      expect(Math.min(...known, ...unknown)).toBeGreaterThanOrEqual(199); // pop.authFailureTime: 0.2 (the default)
      expect(Math.abs(z)).toBeLessThan(4);
    });
  }
});
