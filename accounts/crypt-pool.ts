// crypt(3) strings checked off the main thread, on a small pool of worker threads (one per core up to 4,
// made when first needed, never keeping the process alive): a burst of sign-ins of accounts moved from
// Dovecot would otherwise stall every session.
//
// Each worker calls the system's own crypt(3), libcrypt.so.1 (libxcrypt on Debian: the library Dovecot's
// CRYPT, SHA512-CRYPT, SHA256-CRYPT and BLF-CRYPT schemes call), through koffi's foreign-function
// interface, with crypt_rn and a work area of its own (reentrant: no state shared between threads). So
// every method the system knows is checked ($6$, $5$, $2b$/$2y$, yescrypt $y$, $gy$, $7$, DES...) with
// the same result Dovecot gets, and at C speed: a default SHA512-CRYPT ($6$, 5,000 rounds) takes about
// 1.2 ms here against 17 ms in JavaScript (unixcrypt). Where libcrypt or koffi cannot be loaded (another C
// library, a platform koffi has no build for), the worker falls back to unixcrypt ($5$, $6$) and bcryptjs
// ($2a$, $2b$, $2y$); other methods are then answered 'unsupported'.
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';

/** What the check of one crypt string found. */
export type CryptVerdict = 'match' | 'mismatch' | 'unsupported';

interface Task {
  id: number;
  password: string;
  hash: string;
  done: (verdict: CryptVerdict | Error) => void;
}

// The worker's whole program. It gets the libraries' resolved locations (it cannot resolve them from
// wherever the server was started), and answers { id, verdict } or { id, error }. crypt_rn returns NULL
// for a setting the library does not know; its result is compared in constant time.
const WORKER = `
import('node:worker_threads').then(async ({ parentPort, workerData }) => {
  const { timingSafeEqual } = await import('node:crypto');
  let system = null;
  try {
    const koffi = (await import(workerData.koffi)).default;
    const lib = koffi.load('libcrypt.so.1');
    const cryptRn = lib.func('const char *crypt_rn(const char *phrase, const char *setting, _Inout_ uint8_t *data, int size)');
    const area = Buffer.alloc(32768); // struct crypt_data
    system = (password, setting) => cryptRn(password, setting, area, area.length);
  } catch {}
  const fallback = Promise.all([import(workerData.unixcrypt), import(workerData.bcryptjs)]);
  const same = (a, b) => {
    const x = Buffer.from(a, 'utf8');
    const y = Buffer.from(b, 'utf8');
    return x.length === y.length && timingSafeEqual(x, y);
  };
  parentPort.on('message', async ({ id, password, hash }) => {
    try {
      let verdict;
      if (system !== null) {
        const result = system(password, hash);
        verdict = result === null ? 'unsupported' : same(result, hash) ? 'match' : 'mismatch';
      } else if (/^\\$[56]\\$/.test(hash)) {
        verdict = (await fallback)[0].verify(password, hash) === true ? 'match' : 'mismatch';
      } else if (/^\\$2[aby]\\$/.test(hash)) {
        const bcryptjs = (await fallback)[1];
        verdict = (bcryptjs.default ?? bcryptjs).compareSync(password, hash) === true ? 'match' : 'mismatch';
      } else verdict = 'unsupported';
      parentPort.postMessage({ id, verdict });
    } catch (err) {
      parentPort.postMessage({ id, error: String((err && err.message) || err) });
    }
  });
});
`;

const queue: Task[] = [];
const idle: Worker[] = [];
const busy = new Map<Worker, Task>();
let workers = 0;
let nextId = 0;
const size = Math.max(1, Math.min(availableParallelism(), 4));

function spawnWorker(): Worker {
  const worker = new Worker(WORKER, {
    eval: true,
    workerData: {
      koffi: import.meta.resolve('koffi'),
      unixcrypt: import.meta.resolve('unixcrypt'),
      bcryptjs: import.meta.resolve('bcryptjs'),
    },
  });
  worker.unref();
  workers += 1;
  worker.on('message', (msg: { id: number; verdict?: CryptVerdict; error?: string }) => {
    const task = busy.get(worker);
    busy.delete(worker);
    if (task && task.id === msg.id)
      task.done(msg.error !== undefined || msg.verdict === undefined ? new Error(msg.error ?? 'no verdict') : msg.verdict);
    idle.push(worker);
    pump();
  });
  worker.on('error', (err) => {
    // a crashed worker: its task fails, a new worker takes the next one
    const task = busy.get(worker);
    busy.delete(worker);
    workers -= 1;
    task?.done(err);
    pump();
  });
  return worker;
}

function pump(): void {
  while (queue.length > 0) {
    const worker = idle.pop() ?? (workers < size ? spawnWorker() : undefined);
    if (!worker) return;
    const task = queue.shift()!;
    busy.set(worker, task);
    worker.postMessage({ id: task.id, password: task.password, hash: task.hash });
  }
}

/**
 * Checks `password` against the crypt string `hash` as crypt(3) does. The password must hold no NUL
 * (crypt(3) would stop there): the caller refuses such a one first. Rejects when the check failed.
 */
export function checkCryptString(password: string, hash: string): Promise<CryptVerdict> {
  return new Promise((resolve, reject) => {
    queue.push({ id: ++nextId, password, hash, done: (r) => (r instanceof Error ? reject(r) : resolve(r)) });
    pump();
  });
}
