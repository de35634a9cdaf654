// Sieve at delivery over a real `postern serve` (the built server: the runs in worker threads): LMTP and
// `postern deliver` run the site's before/after scripts and the user's active script; what they decide is
// seen through IMAP (folders, flags) and at a real SMTP server standing for submission.relay (redirect,
// vacation, reject).
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { TestServer } from '../helpers/server.js';
import { activeScript, lmtpDeliver, mailboxContents, message, startRelay, startSieveServer } from '../helpers/sieve-delivery.js';

let relay: Awaited<ReturnType<typeof startRelay>>;
let server: TestServer;
const lmtp = () => server.portOf('lmtp');
const imap = () => server.portOf('imap');

const FILING = `require ["fileinto", "imap4flags", "mailbox", "reject", "ereject"];
if header :contains "subject" "work" { fileinto :flags ["\\\\Seen", "$Work"] "Work"; }
elsif header :contains "subject" "create" { fileinto :create "Lists/New"; }
elsif header :contains "subject" "missing" { fileinto "Missing"; }
elsif header :contains "subject" "discard" { discard; }
elsif header :contains "subject" "forward" { redirect "carol@remote.example"; }
elsif header :contains "subject" "bounce" { ereject "We do not take this here."; }
elsif header :contains "subject" "refuse" { reject "Not wanted."; }
`;

beforeAll(async () => {
  relay = await startRelay();
  server = await startSieveServer(relay.port, { before: ['site/before'], after: ['site/after.sieve'] });
  // the site's scripts: a spam rule before everyone's own, a rule after them
  await mkdir(join(server.dir, 'site/before'), { recursive: true });
  await writeFile(
    join(server.dir, 'site/before/10-spam.sieve'),
    'require "fileinto";\nif header :is "X-Spam-Flag" "YES" { fileinto "Junk"; stop; }\n',
  );
  await writeFile(join(server.dir, 'site/after.sieve'), 'require "fileinto";\nif header :contains "subject" "late" { fileinto "Late"; }\n');
  for (const name of ['alice', 'bob', 'dave']) await server.addAccount(name, 'secret');
  for (const [account, mailbox] of [
    ['alice', 'Work'],
    ['alice', 'Junk'],
    ['bob', 'Junk'],
    ['bob', 'Late'],
  ]) {
    expect((await server.cli(['mailbox', 'create', account, mailbox])).code).toBe(0);
  }
  await activeScript(server, 'alice', 'filing', FILING);
  await activeScript(
    server,
    'dave',
    'away',
    'require "vacation";\nvacation :days 1 :subject "Away" :addresses ["dave@example.org"] "I am away until Monday.";\n',
  );
  // the site scripts are read at start and at each reload
  server.process.kill('SIGHUP');
  await server.waitForLog((r) => r.msg === 'reloaded the config and certificates', 10_000);
});
afterAll(async () => {
  await server?.stop();
  await relay.close();
});
beforeEach(() => {
  relay.received.length = 0;
});

describe('Sieve at delivery (LMTP)', () => {
  it('files into a folder with the flags and keywords the script sets, seen through IMAP', async () => {
    expect(await lmtpDeliver(lmtp(), 'bob@remote.example', ['alice@example.org'], message('work: the plan'))).toEqual([
      expect.stringMatching(/^250 /),
    ]);
    const work = await mailboxContents(imap(), 'alice', 'Work');
    expect(work).toHaveLength(1);
    expect(work[0].flags.split(' ').sort()).toEqual(['$Work', '\\Seen']);
    expect(await mailboxContents(imap(), 'alice', 'INBOX')).toEqual([]);
  });

  it(':create makes the folder; a folder that does not exist keeps to INBOX, and the log says so', async () => {
    await lmtpDeliver(lmtp(), 'bob@remote.example', ['alice@example.org'], message('create it'));
    expect(await mailboxContents(imap(), 'alice', 'Lists/New')).toEqual([{ flags: '', subject: 'create it' }]);
    await lmtpDeliver(lmtp(), 'bob@remote.example', ['alice@example.org'], message('missing folder'));
    expect(await mailboxContents(imap(), 'alice', 'INBOX')).toEqual([{ flags: '', subject: 'missing folder' }]);
    const line = await server.waitForLog((r) => r.msg.includes('does not exist') && r.mailbox === 'Missing');
    expect(line).toMatchObject({ account: 'alice@example.org', to: 'alice@example.org' });
  });

  it('discard stores nothing; the MTA is told the message was delivered', async () => {
    const before = (await mailboxContents(imap(), 'alice', 'INBOX')).length;
    expect(await lmtpDeliver(lmtp(), 'bob@remote.example', ['alice@example.org'], message('discard me'))).toEqual([
      expect.stringMatching(/^250 /),
    ]);
    expect(await mailboxContents(imap(), 'alice', 'INBOX')).toHaveLength(before);
  });

  it('redirects through the relay: the original envelope sender, the message as stored, the trace fields', async () => {
    const text = message('forward this');
    await lmtpDeliver(lmtp(), 'bob@remote.example', ['alice@example.org'], text);
    expect(relay.received).toHaveLength(1);
    const sent = relay.received[0];
    expect(sent.from).toBe('bob@remote.example');
    expect(sent.to).toEqual(['carol@remote.example']);
    expect(sent.data).toMatch(/^X-Sieve: Postern Sieve\r\nX-Sieve-Redirected-From: alice@example\.org\r\n/);
    expect(sent.data).not.toMatch(/^Return-Path:/m);
    expect(sent.data).toContain(text.split('\r\n\r\n')[1]);
    // the MTA delivers the same message again: it is not forwarded twice (sieve.redirectDuplicatePeriod)
    await lmtpDeliver(lmtp(), 'bob@remote.example', ['alice@example.org'], text);
    expect(relay.received).toHaveLength(1);
    // a null sender stays null (RFC 5228 section 4.2)
    await lmtpDeliver(lmtp(), '', ['alice@example.org'], message('forward a bounce'));
    expect(relay.received[1].from).toBe('');
  });

  it('ereject answers 550 5.7.1 with the reason for that recipient alone; reject sends the rejection to the sender', async () => {
    const replies = await lmtpDeliver(lmtp(), 'bob@remote.example', ['alice@example.org', 'bob@example.org'], message('bounce it'));
    expect(replies[0]).toBe('550 5.7.1 <alice@example.org>: We do not take this here.');
    expect(replies[1]).toMatch(/^250 /);
    expect(relay.received).toHaveLength(0);

    expect(await lmtpDeliver(lmtp(), 'bob@remote.example', ['alice@example.org'], message('refuse it'))).toEqual([
      expect.stringMatching(/^250 /),
    ]);
    expect(relay.received).toHaveLength(1);
    expect(relay.received[0]).toMatchObject({ from: '', to: ['bob@remote.example'] });
    expect(relay.received[0].data).toContain('Subject: Rejected: refuse it');
    expect(relay.received[0].data).toContain('Your message to <alice@example.org> was automatically rejected:\r\nNot wanted.');
  });

  it("the site scripts run before and after the user's: the spam rule files into Junk, the after rule sees what is left", async () => {
    await lmtpDeliver(
      lmtp(),
      'x@remote.example',
      ['alice@example.org', 'bob@example.org'],
      message('cheap work', { headers: ['X-Spam-Flag: YES'] }),
    );
    expect(await mailboxContents(imap(), 'alice', 'Junk')).toEqual([{ flags: '', subject: 'cheap work' }]);
    expect(await mailboxContents(imap(), 'bob', 'Junk')).toEqual([{ flags: '', subject: 'cheap work' }]);
    expect((await mailboxContents(imap(), 'alice', 'Work')).map((m) => m.subject)).not.toContain('cheap work');
    await lmtpDeliver(lmtp(), 'x@remote.example', ['bob@example.org'], message('late news'));
    expect(await mailboxContents(imap(), 'bob', 'Late')).toEqual([{ flags: '', subject: 'late news' }]);
  });

  it('answers vacation once per sender within :days, from the null sender; never to lists or automatic mail', async () => {
    await lmtpDeliver(lmtp(), 'bob@remote.example', ['dave@example.org'], message('are you there?', { headers: ['To: dave@example.org'] }));
    expect(relay.received).toHaveLength(1);
    const reply = relay.received[0];
    expect(reply.from).toBe('');
    expect(reply.to).toEqual(['bob@remote.example']);
    expect(reply.data).toMatch(/^Subject: Away\r$/m);
    expect(reply.data).toMatch(/^Auto-Submitted: auto-replied/m);
    expect(reply.data).toContain('I am away until Monday.');
    // within :days: not again
    await lmtpDeliver(lmtp(), 'bob@remote.example', ['dave@example.org'], message('still there?', { headers: ['To: dave@example.org'] }));
    // a list, automatic mail: not answered (RFC 5230 section 5)
    await lmtpDeliver(
      lmtp(),
      'list@remote.example',
      ['dave@example.org'],
      message('digest', { from: 'list@remote.example', headers: ['To: dave@example.org', 'List-Id: <news.remote.example>'] }),
    );
    await lmtpDeliver(
      lmtp(),
      'robot@remote.example',
      ['dave@example.org'],
      message('report', { from: 'robot@remote.example', headers: ['To: dave@example.org', 'Auto-Submitted: auto-generated'] }),
    );
    expect(relay.received).toHaveLength(1);
    expect(await mailboxContents(imap(), 'dave', 'INBOX')).toHaveLength(4);
  });
});

describe('Sieve at delivery (postern deliver)', () => {
  it('files as LMTP does, and an ereject exits 77 with the reason (as dovecot-lda -e)', async () => {
    const filed = await server.cli(['deliver', 'alice', '--from', 'bob@remote.example'], message('work by pipe'));
    expect(filed.code).toBe(0);
    expect((await mailboxContents(imap(), 'alice', 'Work')).map((m) => m.subject)).toContain('work by pipe');
    const refused = await server.cli(['deliver', 'alice@example.org', '--from', 'bob@remote.example'], message('bounce by pipe'));
    expect(refused.code).toBe(77);
    expect(refused.stderr).toContain('postern: We do not take this here.');
  });
});
