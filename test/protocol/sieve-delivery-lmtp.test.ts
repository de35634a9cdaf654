// The LMTP module in this process over the memory store, with Sieve: the run pool is in its in-thread mode here
// (the TypeScript sources cannot start a worker; the threads and their limits are in test/e2e/sieve-delivery*).
// An account's script decides per recipient; an account without one is stored as before; sieve.enabled false
// runs nothing; the runs are counted in postern_sieve_runs_total.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultPoolMode } from '../../sieve/run-pool.js';
import { type InProcessServer, startInProcess } from '../helpers/in-process.js';
import { RawLmtp } from '../helpers/lmtp-client.js';

const alice = { name: 'alice', domain: 'example.org' };
const bob = { name: 'bob', domain: 'example.org' };

async function transaction(server: InProcessServer, recipients: string[], message: string): Promise<string[]> {
  const c = await RawLmtp.open({ port: server.portOf('lmtp') });
  await c.reply();
  c.send('LHLO mta\r\nMAIL FROM:<sender@remote.example>\r\n');
  await c.replies(2);
  for (const r of recipients) {
    c.send(`RCPT TO:<${r}>\r\n`);
    await c.reply();
  }
  c.send(`DATA\r\n`);
  await c.reply();
  c.send(`${message}\r\n.\r\n`);
  const replies = await c.replies(recipients.length);
  c.close();
  return replies;
}

async function count(server: InProcessServer, account: typeof alice, mailbox: string): Promise<number> {
  const view = await server.ctx.store.open(account, mailbox);
  const n = view.messages.length;
  view.close();
  return n;
}

async function start(enabled: boolean): Promise<InProcessServer> {
  const server = await startInProcess({
    config: { sieve: { enabled }, listeners: [{ name: 'lmtp', module: 'lmtp', address: '127.0.0.1', port: 0 }] },
  });
  await server.addAccount('alice', 'a');
  await server.addAccount('bob', 'b');
  const store = server.ctx.store;
  await store.createMailbox(alice, 'INBOX');
  await store.createMailbox(bob, 'INBOX');
  await store.createMailbox(alice, 'Lists');
  const scripts = store.sieveScripts(alice);
  await scripts.put('rules', Buffer.from('require "fileinto";\nif header :contains "list-id" "news" { fileinto "Lists"; }\n'));
  await scripts.setActive('rules');
  return server;
}

describe('LMTP with Sieve, in process', () => {
  let server: InProcessServer;
  beforeAll(async () => {
    server = await start(true);
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('runs in the calling thread when loaded from the sources', () => {
    expect(defaultPoolMode()).toBe('in-thread');
  });

  it("files by the recipient's own script; a recipient without one gets the message in INBOX", async () => {
    const replies = await transaction(server, ['alice@example.org', 'bob@example.org'], 'List-Id: <news.example>\r\nSubject: n\r\n\r\nhi');
    expect(replies).toEqual([expect.stringMatching(/^250 /), expect.stringMatching(/^250 /)]);
    expect(await count(server, alice, 'Lists')).toBe(1);
    expect(await count(server, alice, 'INBOX')).toBe(0);
    expect(await count(server, bob, 'INBOX')).toBe(1);
    const metrics = await server.ctx.metrics.registry.getSingleMetricAsString('postern_sieve_runs_total');
    expect(metrics).toContain('postern_sieve_runs_total{outcome="ok"} 1');
  });
});

describe('mailboxexists (RFC 5490) at delivery', () => {
  it("reads the account's mailboxes: a script that requires mailbox is given the list (the others are not)", async () => {
    const server = await start(true);
    try {
      const script =
        'require ["fileinto", "mailbox", "imap4flags"];\n' +
        'if mailboxexists "Lists" { addflag "has-lists"; }\n' +
        'if mailboxexists "Nowhere" { addflag "has-nowhere"; }\n' +
        'if mailboxexists ["INBOX", "Lists"] { fileinto "Lists"; }\n';
      await server.ctx.store.sieveScripts(alice).put('rules', Buffer.from(script));
      await transaction(server, ['alice@example.org'], 'Subject: any\r\n\r\nhi');
      const view = await server.ctx.store.open(alice, 'Lists');
      expect(view.messages.map((m) => [...m.flags])).toEqual([['has-lists']]);
      view.close();
    } finally {
      await server.stop();
    }
  });
});

describe('sieve.enabled: false', () => {
  it('runs no script: the message goes to INBOX', async () => {
    const server = await start(false);
    try {
      await transaction(server, ['alice@example.org'], 'List-Id: <news.example>\r\nSubject: n\r\n\r\nhi');
      expect(await count(server, alice, 'INBOX')).toBe(1);
      expect(await count(server, alice, 'Lists')).toBe(0);
    } finally {
      await server.stop();
    }
  });
});
