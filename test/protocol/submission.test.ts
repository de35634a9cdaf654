// The SMTP submission module in this process over the memory store: its signed-in sessions in ctx.signedIn
// (postern who) and a kick answered 421; local recipients through Sieve as LMTP delivers them (fileinto, an
// ereject answered for that recipient alone in a delivery report); the connection closed after maxAuthAttempts
// failures, each failure answered no sooner than authFailureTime. The real clients: test/interop/smtp-submission.test.ts.
import { performance } from 'node:perf_hooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type InProcessServer, startInProcess } from '../helpers/in-process.js';
import { RawPop } from '../helpers/pop-client.js';

const alice = { name: 'alice', domain: 'example.org' };
const bob = { name: 'bob', domain: 'example.org' };
const carol = { name: 'carol', domain: 'example.org' };

let server: InProcessServer;

beforeAll(async () => {
  server = await startInProcess({
    config: {
      listeners: [{ name: 'submissions', module: 'submission', address: '127.0.0.1', port: 0, tls: 'implicit' }],
      submissionService: { authFailureDelay: 0, authFailureTime: 0.3, maxAuthAttempts: 2 },
    },
  });
  await server.addAccount('alice', 'a');
  await server.addAccount('bob', 'b');
  await server.addAccount('carol', 'c');
  const store = server.ctx.store;
  for (const a of [alice, bob, carol]) await store.createMailbox(a, 'INBOX');
  await store.createMailbox(bob, 'Lists');
  const bobs = store.sieveScripts(bob);
  await bobs.put('rules', Buffer.from('require "fileinto";\nif header :contains "subject" "news" { fileinto "Lists"; }\n'));
  await bobs.setActive('rules');
  const carols = store.sieveScripts(carol);
  await carols.put('no', Buffer.from('require "ereject";\nereject "I take no mail from alice";\n'));
  await carols.setActive('no');
});
afterAll(async () => {
  await server?.stop();
});

/** A session on 465 signed in as alice, EHLO answered. */
async function signedIn(): Promise<RawPop> {
  const c = await RawPop.connect(server.portOf('submissions'));
  expect(await c.line()).toMatch(/^220 /);
  c.send('EHLO client.test\r\n');
  for (let line = await c.line(); !line.startsWith('250 '); line = await c.line());
  expect(await c.command(`AUTH PLAIN ${Buffer.from('\0alice@example.org\0a').toString('base64')}`)).toMatch(/^235 /);
  return c;
}

async function subjectsIn(account: typeof alice, mailbox: string): Promise<string[]> {
  const view = await server.ctx.store.open(account, mailbox);
  const out: string[] = [];
  for (const m of view.messages) {
    const chunks: Buffer[] = [];
    for await (const chunk of await view.open(m.uid)) chunks.push(chunk as Buffer);
    out.push(/^Subject: (.*)$/m.exec(Buffer.concat(chunks).toString('latin1'))?.[1]?.trim() ?? '');
  }
  view.close();
  return out;
}

async function send(c: RawPop, to: string[], subject: string): Promise<string> {
  expect(await c.command('MAIL FROM:<alice@example.org>')).toMatch(/^250 /);
  for (const r of to) expect(await c.command(`RCPT TO:<${r}>`)).toMatch(/^250 /);
  expect(await c.command('DATA')).toMatch(/^354 /);
  return c.command(`From: alice@example.org\r\nSubject: ${subject}\r\n\r\nhello\r\n.`);
}

describe('SMTP submission in process', () => {
  it('a signed-in session is listed in ctx.signedIn; a kick answers 421 and closes it', async () => {
    const c = await signedIn();
    const listed = server.ctx.signedIn.list().filter((s) => s.protocol === 'submission');
    expect(listed).toEqual([expect.objectContaining({ account: 'alice@example.org', protocol: 'submission' })]);
    expect(server.ctx.signedIn.kick('alice@example.org', 'submission', 'kicked by the operator')).toBe(1);
    expect(await c.line()).toBe('421 4.3.2 kicked by the operator');
    await c.closed(5000);
    // the server learns of the close right after the client does
    await expect.poll(() => server.ctx.signedIn.list().filter((s) => s.protocol === 'submission')).toEqual([]);
  });

  it("local recipients through their Sieve scripts: fileinto, and an ereject named in the answer and in alice's report", async () => {
    const c = await signedIn();
    const answer = await send(c, ['bob@example.org', 'carol@example.org'], 'news of the day');
    expect(answer).toMatch(/^250 2\.0\.0 Ok: sent as \S+, but not to <carol@example\.org> \(a delivery report is in your INBOX\)$/);
    expect(await subjectsIn(bob, 'Lists')).toEqual(['news of the day']);
    expect(await subjectsIn(carol, 'INBOX')).toEqual([]);
    expect(await subjectsIn(alice, 'INBOX')).toEqual(['Undelivered Mail Returned to Sender']);
    // the only recipient refusing: nothing was delivered, and the client is told so (550 5.7.1 with the reason)
    const refused = await send(c, ['carol@example.org'], 'again');
    expect(refused).toMatch(
      /^550 5\.7\.1 <carol@example\.org>: refused by its Sieve filter: I take no mail from alice; nothing was delivered$/,
    );
    c.close();
  });

  it('a failed AUTH takes authFailureTime; after maxAuthAttempts failures the connection is closed with 421', async () => {
    const c = await RawPop.connect(server.portOf('submissions'));
    await c.line();
    c.send('EHLO client.test\r\n');
    for (let line = await c.line(); !line.startsWith('250 '); line = await c.line());
    const wrong = `AUTH PLAIN ${Buffer.from('\0alice@example.org\0nope').toString('base64')}`;
    const at = performance.now();
    expect(await c.command(wrong)).toBe('535 5.7.8 Authentication credentials invalid');
    expect(performance.now() - at).toBeGreaterThanOrEqual(290);
    expect(await c.command(wrong)).toBe('535 5.7.8 Authentication credentials invalid');
    expect(await c.line()).toMatch(/^421 4\.7\.0 Too many failed sign-ins/);
    await c.closed(5000);
  });
});
