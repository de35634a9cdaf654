// The program of the SEARCH index's upkeep thread (upkeep-thread.ts starts it, one per process): it does
// the jobs the main thread sends, one at a time (upkeep-work.ts), with connections of its own to the index
// files (the main thread keeps its own for the answers: SQLite's unix VFS shares one process's POSIX locks
// between its connections, search-indexes.ts); it asks the main thread where the files of the messages
// it reads are, and sends back progress, log lines and each job's end.
// Its connections stay open between jobs (the least recently used closed past KEPT: SQLite removes the
// -wal and -shm files at the last close, and makes them again at the next open); 'release' closes those
// of a folder about to be renamed or deleted, ending its job under way between two transactions. 'stop'
// ends the job under way the same way, closes the files, and ends the thread.
import { parentPort } from 'node:worker_threads';
import type { IndexJournal } from './index-file.js';
import { type IndexLog, MailboxIndex } from './mailbox-index.js';
import type { FromWorker, ToWorker, UpkeepJob } from './upkeep-job.js';
import { keepUp } from './upkeep-work.js';

const port = parentPort;
if (!port) throw new Error('store/search-index/upkeep-worker.js runs in the upkeep thread of the SEARCH index');

/** Mailboxes whose connection and UIDs this thread keeps, the least recently used closed and forgotten. */
const KEPT = 64;

const send = (m: FromWorker): void => port.postMessage(m);

const log: IndexLog = {
  info: (details, message) => send({ type: 'log', level: 'info', details, message }),
  warn: (details, message) => send({ type: 'log', level: 'warn', details, message }),
};

const indexes = new Map<string, MailboxIndex>();
let stopping = false;
let running: Promise<void> = Promise.resolve();
/** The folder of the job under way, and whether a release of it ends it. */
let current: { folder: string; released: boolean } | null = null;

/** Whether `folder` is `prefix` or a folder below it (Maildir++: ".a.b" below ".a"). */
const within = (folder: string, prefix: string): boolean => folder === prefix || folder.startsWith(`${prefix}.`);
/** The job's question for its files, waiting for the main thread's answer (one at a time). */
let asked: { id: number; answer: (paths: (string | null)[]) => void } | null = null;

function filesOf(id: number, uids: readonly number[]): Promise<(string | null)[]> {
  return new Promise((answer) => {
    asked = { id, answer };
    send({ type: 'paths?', id, uids: [...uids] });
  });
}

function indexOf(folder: string, journal: IndexJournal): MailboxIndex {
  let index = indexes.get(folder);
  if (index) indexes.delete(folder);
  else index = new MailboxIndex(folder, log, journal);
  indexes.set(folder, index);
  if (indexes.size > KEPT) {
    const [oldest, least] = indexes.entries().next().value!;
    least.close();
    indexes.delete(oldest);
  }
  return index;
}

async function run(job: UpkeepJob): Promise<void> {
  const index = indexOf(job.folder, job.journal);
  const under = { folder: job.folder, released: false };
  current = under;
  try {
    const progress = (done: number, total: number) => send({ type: 'progress', id: job.id, done, total });
    await keepUp(
      job,
      index,
      (uids) => filesOf(job.id, uids),
      log,
      progress,
      () => stopping || under.released,
    );
    send({ type: 'done', id: job.id });
  } catch (err) {
    // the mailbox went away, the disk is full, the file is damaged: logged (fail), the main thread told
    const code = (err as { code?: unknown }).code;
    if (code !== 'ENOENT' && code !== 'SQLITE_CANTOPEN') index.fail(err);
    send({ type: 'done', id: job.id, error: { message: (err as Error).message, code: typeof code === 'string' ? code : undefined } });
  } finally {
    current = null;
  }
}

port.on('message', (m: ToWorker) => {
  if (m.type === 'job') {
    running = running.then(() => run(m.job));
    return;
  }
  if (m.type === 'paths') {
    const question = asked;
    if (question?.id !== m.id) return;
    asked = null;
    question.answer(m.paths);
    return;
  }
  if (m.type === 'release') {
    if (current !== null && within(current.folder, m.prefix)) current.released = true;
    running = running.then(() => {
      for (const [folder, index] of [...indexes]) {
        if (!within(folder, m.prefix)) continue;
        index.close();
        indexes.delete(folder);
      }
      send({ type: 'released', id: m.id });
    });
    return;
  }
  stopping = true;
  // a question the main thread will not answer now (it stops): the job ends with no file to read
  const question = asked;
  asked = null;
  question?.answer([]);
  void running.then(() => {
    for (const index of indexes.values()) index.close();
    send({ type: 'stopped' });
    port.close();
  });
});
