// The mail the benchmark serves: the same message files, with the same names, written into each
// server's own tree, so every server starts from an identical, never-opened Maildir.
//
// Names follow Postern's delivery (store/maildir/filename.ts): SECS.M<usec>P<pid>Q<n>.HOST,S=<size>,W=<pop size>
// in new/. Messages are written with CRLF line ends, so the POP size W equals the file size S and
// neither server has to open a file to know it (Dovecot reads W= too).
import { closeSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { join } from 'node:path';

export interface MailboxSpec {
  account: string;
  messages: number;
  /** Approximate octets per message. */
  size: number;
}

const FIRST_SECOND = 1_700_000_000;
const FAKE_PID = 4242;
const HOST = 'bench.example';
const LINE = 'The quick brown fox jumps over the lazy dog; POP3 benchmark body text 0123456789.\r\n';

/** A body of about `octets` octets in whole CRLF lines (no line starts with a dot). */
function body(octets: number): Buffer {
  const lines = Math.max(1, Math.round(octets / LINE.length));
  return Buffer.from(LINE.repeat(lines), 'latin1');
}

function header(account: string, n: number, secs: number): Buffer {
  return Buffer.from(
    [
      'Return-Path: <sender@example.org>',
      'From: Bench Sender <sender@example.org>',
      `To: ${account}@localhost`,
      `Subject: Benchmark message ${n} for ${account}`,
      `Date: ${new Date(secs * 1000).toUTCString().replace('GMT', '+0000')}`,
      `Message-ID: <${n}.${account}@${HOST}>`,
      'MIME-Version: 1.0',
      'Content-Type: text/plain; charset=us-ascii',
      '',
      '',
    ].join('\r\n'),
    'latin1',
  );
}

function writeAll(fd: number, data: Buffer): void {
  for (let done = 0; done < data.length; ) done += writeSync(fd, data, done);
}

/**
 * Writes the messages of `spec` into `maildir`/new (cur/ and tmp/ are created if missing).
 * Returns the total octets written.
 */
export function writeMailbox(maildir: string, spec: MailboxSpec): number {
  for (const sub of ['cur', 'new', 'tmp']) mkdirSync(join(maildir, sub), { recursive: true });
  const newDir = join(maildir, 'new');
  const text = body(Math.max(0, spec.size - 300)); // the header is about 300 octets
  let total = 0;
  for (let i = 0; i < spec.messages; i++) {
    // One second apart, oldest first: both servers number them in this order.
    const secs = FIRST_SECOND + i;
    const head = header(spec.account, i + 1, secs);
    const size = head.length + text.length;
    const name = `${secs}.M${(i * 7919) % 1_000_000}P${FAKE_PID}Q${i + 1}.${HOST},S=${size},W=${size}`;
    const fd = openSync(join(newDir, name), 'wx', 0o600);
    try {
      writeAll(fd, head);
      writeAll(fd, text);
    } finally {
      closeSync(fd);
    }
    total += size;
  }
  return total;
}
