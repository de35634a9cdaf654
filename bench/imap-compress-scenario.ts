// Scenario 7 (issue 22): the server's memory per idle COMPRESS=DEFLATE session. The same idle sessions
// as scenario 4 (LOGIN, SELECT INBOX, IDLE, then nothing) are opened twice on a restarted server: once
// plain, once with COMPRESS DEFLATE after LOGIN; RSS per session of each, and what compression adds.
// Target: at most 64 KiB per idle compressed session. Run it alone with
//   npm run bench -- --only postern --protocols imap --imap-parts compress --quick --imap-idle 2000
import { idle, type ImapIdleFigures } from './imap-scenarios.js';
import type { Options } from './options.js';
import type { Credentials } from './protocol.js';
import type { BenchServer } from './server.js';

export interface ImapCompressFigures {
  /** Sessions asked for in each run. */
  sessions: number;
  plain: ImapIdleFigures;
  compressed: ImapIdleFigures;
  /** RSS per idle compressed session (the figure judged against the target), KiB. */
  rssPerSessionKiB: number;
  /** What compression adds to an idle session: compressed minus plain RSS per session, KiB. */
  addedPerSessionKiB: number;
}

export async function runCompressIdle(server: BenchServer, logins: Credentials[], total: number, o: Options): Promise<ImapCompressFigures> {
  const plain = await idle(server, logins, total, o, false);
  const compressed = await idle(server, logins, total, o, true);
  return {
    sessions: total,
    plain,
    compressed,
    rssPerSessionKiB: compressed.rssPerSessionKiB,
    addedPerSessionKiB: compressed.rssPerSessionKiB - plain.rssPerSessionKiB,
  };
}
