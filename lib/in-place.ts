// Whether a file-system call may be made in place on the event loop now, or must go through libuv's
// thread pool (fs/promises or fs's callbacks). A call in place that only touches the kernel's caches on a
// local disk costs a few microseconds where the pool's round trip costs about 25 us of CPU (lib/quick-fs.ts),
// so the store's quick paths (each delivery's look-ups, locks and small writes; message reads from the page
// cache) are made in place. But a call in place that waits (a network file system asking its server, a
// FUSE daemon, a cold cache, a disk that stalls) makes every session of the process wait. So:
// - every call made in place is timed (timedInPlace); two in a row slower than SLOW_CALL_MS, or one slower
//   than VERY_SLOW_CALL_MS, turn in-place calls off for the process for OFF_MS (a slow disk costs the other
//   sessions a slow call or two, not one per command); found slow again soon after that, for twice as long
//   each time, up to MAX_OFF_MS. (One call alone a little slow is usually not the file system: a garbage
//   collection or the scheduler took the thread meanwhile, which on a loaded machine happens every few
//   thousand calls; and the pool's round trips are slowest then.)
// - a mail tree on a network or FUSE file system (learnFileSystem: statfs(2)'s type) turns them off for good,
//   and so does the config (`store: { inPlaceCalls: never }`); while a statfs is under way they are off too.
// Callers ask inPlaceNow() before each call and take their async twin when it says no: same result, off the loop.
import { statfs } from 'node:fs/promises';
import { dirname } from 'node:path';

/**
 * A call in place slower than this (ms) did not come from the kernel's caches, or the process was held: 10,
 * not 2, because on a busy machine the scheduler or a garbage collection holds a call for a few ms (at 2 the
 * mixed IMAP load ran 13-22% slower, its calls sent through the pool for nothing).
 */
export const SLOW_CALL_MS = 10;
/** Slow calls in a row that turn in-place calls off. */
export const SLOW_CALLS_IN_A_ROW = 2;
/** A call in place slower than this (ms) turns them off alone: no pause of the process is that long. */
export const VERY_SLOW_CALL_MS = 50;
/** How long in-place calls stay off after slow calls (ms). */
export const OFF_MS = 5_000;
/** The longest off period, for a file system found slow again and again (ms). */
export const MAX_OFF_MS = 60_000;

export type InPlacePolicy = 'auto' | 'never';

/** statfs(2) f_type values of file systems whose look-ups may wait for a server or a daemon (linux/magic.h). */
export const NETWORK_FILE_SYSTEMS: ReadonlyMap<number, string> = new Map([
  [0x6969, 'nfs'],
  [0xff534d42, 'cifs'],
  [0xfe534d42, 'smb2'],
  [0x517b, 'smb'],
  [0x65735546, 'fuse'],
  [0x00c36400, 'ceph'],
  [0x01021997, '9p'],
  [0x47504653, 'gpfs'],
  [0x0bd00bd0, 'lustre'],
  [0x6b414653, 'afs'],
  [0x5346414f, 'afs'],
  [0x564c, 'ncp'],
  [0x7461636f, 'ocfs2'],
  [0x01161970, 'gfs2'],
  [0x73757245, 'coda'],
]);

/** The name of a network or FUSE file system type, or null for a local one. */
export function networkFileSystem(type: number | bigint): string | null {
  return NETWORK_FILE_SYSTEMS.get(Number(type)) ?? null;
}

let policy: InPlacePolicy = 'auto';
/** Why calls are off for good (a network file system seen), or null. */
let offForGood: string | null = null;
/** statfs calls under way: until they answer, calls are not made in place. */
let learning = 0;
let offUntil = -Infinity;
let lastOffMs = 0;
let slowInARow = 0;
/** Injected by tests: the clock. */
let clock: () => number = () => performance.now();

/** True when a file-system call may be made in place now. */
export function inPlaceNow(): boolean {
  return policy === 'auto' && offForGood === null && learning === 0 && clock() >= offUntil;
}

/** Sets the config's policy (`store.inPlaceCalls`): never turns every in-place call off. */
export function setInPlacePolicy(p: InPlacePolicy): void {
  policy = p;
}

/**
 * Notes how long a call made in place took (ms); SLOW_CALLS_IN_A_ROW slow ones, or a very slow one, turn
 * in-place calls off for OFF_MS, or for twice the last period (up to MAX_OFF_MS) when the last period ended
 * less than OFF_MS ago.
 */
export function noteInPlaceCall(ms: number): void {
  if (ms <= SLOW_CALL_MS) {
    slowInARow = 0;
    return;
  }
  if (++slowInARow < SLOW_CALLS_IN_A_ROW && ms <= VERY_SLOW_CALL_MS) return;
  slowInARow = 0;
  const now = clock();
  if (now < offUntil) return; // already off (a call that began before)
  const off = now - offUntil < OFF_MS ? Math.min(lastOffMs * 2, MAX_OFF_MS) : OFF_MS;
  offUntil = now + off;
  lastOffMs = off;
}

/** Makes `call` in place, timed (see noteInPlaceCall); the caller asked inPlaceNow() first. */
export function timedInPlace<T>(call: () => T): T {
  const started = clock();
  try {
    return call();
  } finally {
    noteInPlaceCall(clock() - started);
  }
}

/**
 * Learns the file system `path` is on (the nearest existing folder above it when it is not there yet): a
 * network or FUSE one turns in-place calls off for the process for good. Calls are off until it answers.
 * Resolves to the network file system's name, or null.
 */
export async function learnFileSystem(path: string): Promise<string | null> {
  learning++;
  try {
    for (let at = path; ; at = dirname(at)) {
      try {
        const name = networkFileSystem((await statfs(at)).type);
        if (name !== null) offForGood ??= `${at} is on ${name}`;
        return name;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT' || dirname(at) === at) return null;
      }
    }
  } finally {
    learning--;
  }
}

/** What the rule says now, for the operator and the tests. */
export function inPlaceState(): { policy: InPlacePolicy; offForGood: string | null; offForMs: number } {
  return { policy, offForGood, offForMs: Math.max(0, offUntil - clock()) };
}

/** Tests only: back to the start, with a clock of their own. */
export function resetInPlaceForTests(testClock: () => number = () => performance.now()): void {
  policy = 'auto';
  offForGood = null;
  learning = 0;
  offUntil = -Infinity;
  lastOffMs = 0;
  slowInARow = 0;
  clock = testClock;
}
