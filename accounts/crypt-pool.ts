// SHA-crypt ($5$, $6$: unixcrypt) and bcrypt ($2y$: bcryptjs) checks run synchronously in JavaScript
// for 3-40 ms each: done on the main thread, a burst of sign-ins of accounts moved from Dovecot would
// stall every session. They run on a small pool of worker threads instead (one per core, made when
// first needed, never keeping the process alive).
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';

export type CryptKind = 'sha-crypt' | 'bcrypt';

interface Task {
  id: number;
  kind: CryptKind;
  password: string;
  hash: string;
  done: (matched: boolean | Error) => void;
}

// The worker's whole program. It gets the libraries' resolved locations (it cannot resolve them from
// wherever the server was started), and answers { id, matched } or { id, error }.
const WORKER = `
import('node:worker_threads').then(({ parentPort, workerData }) => {
  const ready = Promise.all([import(workerData.unixcrypt), import(workerData.bcryptjs)]);
  parentPort.on('message', async ({ id, kind, password, hash }) => {
    try {
      const [unixcrypt, bcryptjs] = await ready;
      const matched = kind === 'bcrypt' ? (bcryptjs.default ?? bcryptjs).compareSync(password, hash) : unixcrypt.verify(password, hash);
      parentPort.postMessage({ id, matched: matched === true });
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
    workerData: { unixcrypt: import.meta.resolve('unixcrypt'), bcryptjs: import.meta.resolve('bcryptjs') },
  });
  worker.unref();
  workers += 1;
  worker.on('message', (msg: { id: number; matched?: boolean; error?: string }) => {
    const task = busy.get(worker);
    busy.delete(worker);
    if (task && task.id === msg.id) task.done(msg.error !== undefined ? new Error(msg.error) : msg.matched === true);
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
    worker.postMessage({ id: task.id, kind: task.kind, password: task.password, hash: task.hash });
  }
}

/** True when `password` matches the crypt string `hash`. Rejects when the string cannot be checked. */
export function cryptMatches(kind: CryptKind, password: string, hash: string): Promise<boolean> {
  return new Promise((resolve, reject) => {
    queue.push({ id: ++nextId, kind, password, hash, done: (r) => (r instanceof Error ? reject(r) : resolve(r)) });
    pump();
  });
}
