// What the Sieve-at-delivery end-to-end tests share: a real SMTP server standing for submission.relay, LMTP
// transactions over a real socket, scripts placed as Pigeonhole keeps them, and IMAP to look at the result.
import { mkdir, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { RawImap } from './imap-client.js';
import { RawLmtp } from './lmtp-client.js';
import { startServer, type TestServer } from './server.js';
import { type RecordedMail, type SmtpRecorder, startSmtpRecorder } from './smtp-recorder.js';

/** A message the relay took; its data as latin1 text. */
export type Received = RecordedMail<string>;

/** A real SMTP server that records what the relay hands it; it refuses (550) recipients whose address contains "refuse". */
export function startRelay(): Promise<SmtpRecorder<string>> {
  return startSmtpRecorder((data) => data.toString('latin1'));
}

/** A real `postern serve` with IMAP and LMTP listeners, `relayPort` as submission.relay, and these `sieve:` keys. */
export function startSieveServer(relayPort: number, sieve: Record<string, unknown>): Promise<TestServer> {
  return startServer({
    config: {
      listeners: [
        { name: 'imap', module: 'imap', address: '127.0.0.1', port: 0 },
        { name: 'lmtp', module: 'lmtp', address: '127.0.0.1', port: 0 },
      ],
      submission: { relay: { host: '127.0.0.1', port: relayPort } },
      sieve,
    },
  });
}

/** One LMTP transaction: the reply to each recipient after the data (RFC 2033 section 4.2). */
export async function lmtpDeliver(
  port: number,
  from: string,
  recipients: string[],
  message: string | Buffer,
  timeoutMs = 20_000,
): Promise<string[]> {
  const c = await RawLmtp.open({ port });
  try {
    await c.reply();
    c.send('LHLO mta.test\r\n');
    await c.reply();
    c.send(`MAIL FROM:<${from}>\r\n`);
    await c.reply();
    for (const r of recipients) {
      c.send(`RCPT TO:<${r}>\r\n`);
      const answer = (await c.reply()).join('\n');
      if (!answer.startsWith('250')) throw new Error(`RCPT ${r}: ${answer}`);
    }
    c.send('DATA\r\n');
    await c.reply();
    const text = Buffer.isBuffer(message) ? message.toString('latin1') : message;
    c.send(`${text.replace(/^\./gm, '..')}${text.endsWith('\r\n') ? '' : '\r\n'}.\r\n`);
    const replies: string[] = [];
    for (const _ of recipients) replies.push((await c.reply(timeoutMs)).join('\n'));
    c.send('QUIT\r\n');
    return replies;
  } finally {
    c.close();
  }
}

/** Places `script` as the account's active script, as Pigeonhole keeps it (~/sieve/NAME.sieve, ~/.dovecot.sieve). */
export async function activeScript(server: TestServer, account: string, name: string, script: string): Promise<void> {
  const home = join(server.dataDir, 'accounts/example.org', account);
  await mkdir(join(home, 'sieve'), { recursive: true });
  await writeFile(join(home, 'sieve', `${name}.sieve`), script);
  await rm(join(home, '.dovecot.sieve'), { force: true });
  await symlink(`sieve/${name}.sieve`, join(home, '.dovecot.sieve'));
}

/** The messages of a mailbox as IMAP shows them: flags (\\Recent left out) and subject of each. */
export async function mailboxContents(imapPort: number, user: string, mailbox: string): Promise<{ flags: string; subject: string }[]> {
  const imap = await RawImap.signIn(imapPort, user, 'secret');
  try {
    const selected = await imap.command(`EXAMINE "${mailbox}"`);
    if (selected.status !== 'OK') throw new Error(`${mailbox}: ${selected.tagged}`);
    const exists = Number(/\* (\d+) EXISTS/.exec(selected.untagged.join('\n'))?.[1] ?? 0);
    if (exists === 0) return [];
    const fetched = await imap.command('FETCH 1:* (FLAGS BODY.PEEK[HEADER.FIELDS (SUBJECT)])');
    return fetched.untagged
      .filter((l) => /^\* \d+ FETCH/.test(l))
      .map((l) => ({
        flags: (/FLAGS \(([^)]*)\)/.exec(l)?.[1] ?? '')
          .split(' ')
          .filter((f) => f !== '' && f !== '\\Recent')
          .join(' '),
        subject: /Subject: ([^\r\n]*)/i.exec(l)?.[1] ?? '',
      }));
  } finally {
    imap.close();
  }
}

/** A message from `from` with `subject` (and extra header lines). */
export function message(subject: string, options: { from?: string; headers?: string[]; body?: string } = {}): string {
  const from = options.from ?? 'bob@remote.example';
  const id = `<${Math.random().toString(36).slice(2)}@remote.example>`;
  return [
    `From: ${from}`,
    'To: alice@example.org',
    `Subject: ${subject}`,
    `Message-ID: ${id}`,
    'Date: Sun, 06 Dec 2026 10:00:00 +0000',
    ...(options.headers ?? []),
    '',
    options.body ?? 'Hello.',
    '',
  ].join('\r\n');
}
