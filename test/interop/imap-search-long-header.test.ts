// SEARCH header keys read the whole header (issue 20's leftovers), as Dovecot does, up to Dovecot's own
// bound for a header block (10 MiB): a field after 200 KiB of other fields is found by SUBJECT and
// HEADER (it was not: only the first 64 KiB were read), by Postern and by Dovecot alike. Postern stops at
// 10 MiB of header (a documented bound: memory and time per message stay bounded whatever a sender puts
// there); Dovecot 2.3.19's SEARCH reads on and finds a field past it: the one difference, pinned here.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Dovecot, shareWithDovecot, startDovecot } from '../helpers/dovecot.js';
import { type ImapAnswer, RawImap } from '../helpers/imap-client.js';
import { startServer, type TestServer } from '../helpers/server.js';

const PASSWORD = 'a secret';
let server: TestServer;
let dovecot: Dovecot;

function signIn(side: 'postern' | 'dovecot', user: string): Promise<RawImap> {
  return RawImap.signIn(side === 'postern' ? server.portOf('imap') : dovecot.imapPort, user, `"${PASSWORD}"`);
}

async function ok(c: RawImap, command: string | Buffer, timeoutMs = 30_000): Promise<ImapAnswer> {
  const answer = await c.command(command, timeoutMs);
  if (answer.status !== 'OK') throw new Error(`${String(command).slice(0, 80)}: ${answer.tagged}`);
  return answer;
}

/** A message whose header has `filler` octets of other fields before its Subject and X-Tail. */
function longHeader(filler: number, tag: string): Buffer {
  const line = `X-Filler: ${'f'.repeat(60)}\r\n`;
  const fields = line.repeat(Math.ceil(filler / line.length));
  return Buffer.from(`From: a@example.net\r\n${fields}Subject: needle-${tag}\r\nX-Tail: deep-${tag}\r\n\r\nbody\r\n`);
}

beforeAll(async () => {
  server = await startServer({ config: { listeners: [{ name: 'imap', module: 'imap', address: '127.0.0.1', port: 0 }] } });
  const accounts = join(server.dataDir, 'accounts', 'example.org');
  for (const user of ['pat', 'dan']) await server.addAccount(user, PASSWORD);
  for (const user of ['pat', 'dan']) await shareWithDovecot(server.dir, join(accounts, user));
  dovecot = await startDovecot(
    ['pat', 'dan'].map((name) => ({ name, password: PASSWORD })),
    accounts,
  );
}, 60_000);

afterAll(async () => {
  await dovecot?.stop();
  await server?.stop();
});

describe('SEARCH on a long header', () => {
  it('finds a field after 200 KiB of header, as Dovecot does; not one past 10 MiB (Dovecot does)', async () => {
    const found: Record<string, string[]> = {};
    for (const [side, user] of [
      ['postern', 'pat'],
      ['dovecot', 'dan'],
    ] as const) {
      const c = await signIn(side, user);
      for (const [filler, tag] of [
        [200 * 1024, 'late'],
        [10 * 1024 * 1024 + 4096, 'past'],
        [100, 'early'],
      ] as const) {
        const m = longHeader(filler, tag);
        await ok(c, Buffer.concat([Buffer.from(`APPEND INBOX {${m.length}+}\r\n`), m]));
      }
      await ok(c, 'SELECT INBOX');
      found[side] = [];
      for (const key of [
        'SUBJECT needle-late',
        'HEADER X-Tail deep-late',
        'HEADER X-Tail deep-early',
        'HEADER X-Tail deep-past',
        'SUBJECT needle',
      ]) {
        found[side].push(`${key}: ${(await ok(c, `SEARCH ${key}`)).untagged.join(' ')}`);
      }
      c.close();
    }
    expect(found.postern).toEqual([
      'SUBJECT needle-late: * SEARCH 1',
      'HEADER X-Tail deep-late: * SEARCH 1',
      'HEADER X-Tail deep-early: * SEARCH 3',
      'HEADER X-Tail deep-past: * SEARCH',
      'SUBJECT needle: * SEARCH 1 3',
    ]);
    expect(found.dovecot).toEqual([...found.postern.slice(0, 3), 'HEADER X-Tail deep-past: * SEARCH 2', 'SUBJECT needle: * SEARCH 1 2 3']);
  }, 120_000);
});
