// When a message file may be read with direct (synchronous) system calls on the event loop, and when it
// must go through the thread pool. A message being read is nearly always in the page cache (it was just
// delivered, listed or read), and from there a read takes microseconds: less than the thread pool's round
// trips (open, read, close each wait for a pool thread to be scheduled), so FETCH and RETR read small
// messages, and large ones chunk by chunk, directly (view.ts readNow, message-stream.ts). A read that
// takes long came from the disk (or a network file system): after a few of them every message read goes
// through the thread pool for a while, so a slow disk holds the other sessions up for a few reads, never
// for one read per message. (One slow read alone is usually the scheduler: with every thread of the
// server pinned to one core, about one file in ten had one.)

/** A read slower than this did not come from the page cache. */
export const SLOW_READ_MS = 1;
/** Slow reads in a row (of one file, or of small files) after which reads go through the thread pool. */
const SLOW_READS = 3;
/** How long reads go through the thread pool after the disk showed itself. */
const DISK_SLOW_MS = 5_000;

let diskSlowAt = -Infinity;
let slowInARow = 0;

/** True when a direct read is advised now (the disk has not been slow lately). */
export function directReadsAdvised(): boolean {
  return Date.now() - diskSlowAt > DISK_SLOW_MS;
}

/** The disk was found slow: reads go through the thread pool for a while. */
export function diskWasSlow(): void {
  diskSlowAt = Date.now();
}

/** Notes how long a direct read of a small message took (readNow); three slow ones in a row: the disk. */
export function noteDirectRead(ms: number): void {
  if (ms <= SLOW_READ_MS) {
    slowInARow = 0;
    return;
  }
  if (++slowInARow >= SLOW_READS) {
    slowInARow = 0;
    diskWasSlow();
  }
}
