// End to end with a real MTA (issue 23): swaks sends to a real Postfix (test/helpers/postfix.ts, one
// instance per test), Postfix delivers over LMTP to a real `postern serve`, and a real IMAP client
// (imapflow) reads what was stored. First the plain path (no script: INBOX, an unknown user bounced by
// Postern's RCPT answer), then a user's Sieve script in Pigeonhole's layout (home/sieve/NAME.sieve and the
// home/.dovecot.sieve symlink) that files, flags and answers with vacation through `submission.relay`, a
// real SMTP server (smtp-server, test/helpers/sieve-delivery.ts) in this process.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ImapFlow } from 'imapflow';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { startPostfix } from '../helpers/postfix.js';
import { startServer, type TestServer } from '../helpers/server.js';
import { activeScript, startRelay } from '../helpers/sieve-delivery.js';

const PASSWORD = 'a secret';
let relay: Awaited<ReturnType<typeof startRelay>>;
let server: TestServer;
let siteDir: string;

// The site-wide spam rule (config sieve.before, Pigeonhole's sieve_before): its `stop` ends the sequence,
// so the user's script (and its vacation) does not run for spam, as with Pigeonhole.
const SPAM_RULE = 'require ["fileinto"];\nif header :contains "X-Spam-Flag" "YES" { fileinto "Junk"; stop; }\n';

// Alice's script: reports are flagged and filed, and every sender is told once a week that she is away.
const ALICE_SCRIPT = `require ["fileinto", "imap4flags", "vacation"];
if allof (header :contains "Subject" "report", address :domain :is "From" "example.net") {
  addflag ["\\\\Flagged", "$Work"];
  fileinto "Reports";
}
vacation :days 7 :subject "Away until Monday" :addresses ["alice@example.org"] "I am away until Monday; your message is filed.";
`;

async function imap<T>(user: string, work: (client: ImapFlow) => Promise<T>): Promise<T> {
  const client = new ImapFlow({
    host: '127.0.0.1',
    port: server.portOf('imap'),
    secure: false,
    tls: { rejectUnauthorized: false },
    auth: { user, pass: PASSWORD },
    logger: false,
  });
  client.on('error', () => {});
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.logout();
  }
}

/** Subject and flags of every message of `mailbox`, in UID order. */
async function messagesIn(user: string, mailbox: string): Promise<{ subject: string; flags: string[]; source: string }[]> {
  return imap(user, async (client) => {
    const lock = await client.getMailboxLock(mailbox);
    try {
      const out: { subject: string; flags: string[]; source: string }[] = [];
      if ((client.mailbox as { exists: number }).exists === 0) return out;
      for await (const m of client.fetch('1:*', { envelope: true, flags: true, source: true })) {
        out.push({ subject: m.envelope?.subject ?? '', flags: [...(m.flags ?? [])].sort(), source: m.source?.toString('utf8') ?? '' });
      }
      return out;
    } finally {
      lock.release();
    }
  });
}

function message(from: string, to: string, subject: string, id: string): string {
  return [
    `From: ${from}`,
    `To: ${to}`,
    `Subject: ${subject}`,
    `Message-ID: <${id}@example.net>`,
    'Date: Sun, 06 Dec 2026 10:00:00 +0000',
    '',
    `The body of ${subject}.`,
    '',
  ].join('\r\n');
}

beforeAll(async () => {
  relay = await startRelay();
  siteDir = await mkdtemp(join(tmpdir(), 'postern-sieve-site-'));
  await writeFile(join(siteDir, 'spam.sieve'), SPAM_RULE);
  server = await startServer({
    config: {
      sieve: { before: [join(siteDir, 'spam.sieve')] },
      listeners: [
        { name: 'imap', module: 'imap', address: '127.0.0.1', port: 0 },
        { name: 'lmtp', module: 'lmtp', address: '127.0.0.1', port: 0 },
      ],
      submission: { relay: { host: '127.0.0.1', port: relay.port } },
    },
  });
  await server.addAccount('alice', PASSWORD);
  await server.addAccount('carol', PASSWORD);
});
afterAll(async () => {
  await server?.stop();
  await relay?.close();
  if (siteDir) await rm(siteDir, { recursive: true, force: true });
});

describe('Postfix delivering over LMTP to Postern', () => {
  it('a message sent to Postfix reaches the INBOX; an unknown user is bounced by Postern’s RCPT answer', async () => {
    const postfix = await startPostfix({ lmtp: { port: server.portOf('lmtp') } });
    onTestFinished(() => postfix.stop());
    const id = await postfix.send(
      { from: 'bob@example.net', to: ['carol@example.org', 'nobody@example.org'] },
      message('Bob <bob@example.net>', 'carol@example.org', 'plain delivery', 'plain-1'),
    );
    const outcomes = await postfix.outcome(id, 2);
    const byRecipient = Object.fromEntries(outcomes.map((o) => [o.recipient, o]));
    expect(byRecipient['carol@example.org'].status, byRecipient['carol@example.org'].line).toBe('sent');
    expect(byRecipient['carol@example.org'].line).toMatch(/relay=127\.0\.0\.1\[127\.0\.0\.1\]:\d+/);
    expect(byRecipient['nobody@example.org'].status).toBe('bounced');
    expect(byRecipient['nobody@example.org'].line).toMatch(/said: 550 5\.1\.1 <nobody@example\.org>: no such user here/);

    const inbox = await messagesIn('carol', 'INBOX');
    expect(inbox.map((m) => m.subject)).toEqual(['plain delivery']);
    // Postfix's own trace is on it, and the envelope sender as Return-Path
    expect(inbox[0].source).toMatch(/^Return-Path: <bob@example\.net>\r\n/);
    expect(inbox[0].source).toMatch(/Received: from client\.example\.net \(localhost \[127\.0\.0\.1\]\)\r\n\tby mta\.postfix\.test/);
    expect(inbox[0].flags).toEqual([]);
  });
});

describe('Sieve at delivery from Postfix', () => {
  it(
    'the user’s script in Pigeonhole’s layout files and flags the message, and vacation answers the envelope sender once ' +
      'through the relay; the site-wide spam rule files into Junk ahead of it',
    async () => {
      await activeScript(server, 'alice', 'holiday', ALICE_SCRIPT);
      await imap('alice', async (client) => {
        await client.mailboxCreate('Reports');
        await client.mailboxCreate('Junk');
      });
      const postfix = await startPostfix({ lmtp: { port: server.portOf('lmtp') } });
      onTestFinished(() => postfix.stop());

      // The envelope sender differs from From: the reply goes to the envelope sender (the return path), not to From.
      const first = await postfix.send(
        { from: 'bounces+bob@example.net', to: ['alice@example.org'] },
        message('Bob <bob@example.net>', 'Alice <alice@example.org>', 'quarterly report', 'report-1'),
      );
      const [sent] = await postfix.outcome(first, 1);
      expect(sent.status, sent.line).toBe('sent');

      const reports = await messagesIn('alice', 'Reports');
      expect(reports.map((m) => [m.subject, m.flags])).toEqual([['quarterly report', ['$Work', '\\Flagged']]]);
      expect(await messagesIn('alice', 'INBOX')).toEqual([]);

      // The vacation reply went out through submission.relay, to the envelope sender only, with a null
      // envelope sender of its own (RFC 3834 section 3.3) and marked as an automatic reply.
      const deadline = Date.now() + 10_000;
      while (relay.received.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      expect(relay.received).toHaveLength(1);
      const reply = relay.received[0];
      expect(reply.to).toEqual(['bounces+bob@example.net']);
      expect(reply.from).toBe('');
      expect(reply.data).toMatch(/^Auto-Submitted: auto-replied/im);
      expect(reply.data).toMatch(/^Subject: Away until Monday\r?$/im);
      expect(reply.data).toMatch(/^In-Reply-To: <report-1@example\.net>\r?$/im);
      expect(reply.data).toMatch(/^From: .*alice@example\.org/im);
      expect(reply.data).toContain('I am away until Monday; your message is filed.');

      // The same sender again within :days: filed and flagged again, no second reply.
      const second = await postfix.send(
        { from: 'bounces+bob@example.net', to: ['alice@example.org'] },
        message('Bob <bob@example.net>', 'alice@example.org', 'monthly report', 'report-2'),
      );
      expect((await postfix.outcome(second, 1))[0].status).toBe('sent');
      // Spam: the site rule files it into Junk and stops; neither Reports nor a vacation reply.
      const spam = await postfix.send(
        { from: 'spammer@example.com', to: ['alice@example.org'] },
        message('Spammer <spammer@example.com>', 'alice@example.org', 'cheap report', 'spam-1').replace(
          'Subject:',
          'X-Spam-Flag: YES\r\nSubject:',
        ),
      );
      expect((await postfix.outcome(spam, 1))[0].status).toBe('sent');
      await new Promise((r) => setTimeout(r, 1500));
      expect((await messagesIn('alice', 'Reports')).map((m) => m.subject)).toEqual(['quarterly report', 'monthly report']);
      expect((await messagesIn('alice', 'Junk')).map((m) => m.subject)).toEqual(['cheap report']);
      expect(await messagesIn('alice', 'INBOX')).toEqual([]);
      expect(relay.received).toHaveLength(1);
    },
  );
});
