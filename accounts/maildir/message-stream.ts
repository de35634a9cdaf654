// A large message file as a stream, for RETR and FETCH BODY[]. A message being read is nearly always in
// the page cache (it was just delivered, or just listed), and from there a 128 KiB read takes tens of
// microseconds: done directly on the event loop it costs less than the thread pool's round trip, and
// a server pinned to one core (as the benchmark pins it, and as a busy machine schedules it) no longer
// waits for a pool thread to be scheduled between every chunk. FETCH BODY[] of 10 MB went from
// 263-382 MB/s to 914-1691 MB/s that way (measured pinned to one core, see the README).
// Reads that take long mean the file comes from the disk (or a network filesystem): after three of them
// the rest of the file goes through the thread pool, and so do the files opened in the next 5 seconds,
// so a slow disk holds up the other sessions for three reads, not three per message. (One slow read alone
// is usually the scheduler: in the benchmark, with every thread of the server pinned to one core, about
// one file in ten had one.)
import { readSync } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { Readable } from 'node:stream';

const CHUNK = 128 * 1024;
/** A read slower than this did not come from the page cache. */
const SLOW_READ_MS = 1;
/** Slow reads of one file after which the rest of it is read through the thread pool. */
const SLOW_READS = 3;
/** After a file turned out to come from the disk, files opened within this time start in the thread pool. */
const DISK_SLOW_MS = 5_000;
let diskSlowAt = -Infinity;

export class MessageFileStream extends Readable {
  private position = 0;
  private direct = Date.now() - diskSlowAt > DISK_SLOW_MS;
  private slowReads = 0;

  /** `slowReadMs`: how long a direct read may take before the rest goes through the pool. */
  constructor(
    private readonly handle: FileHandle,
    private readonly slowReadMs = SLOW_READ_MS,
  ) {
    super({ highWaterMark: CHUNK });
  }

  override _read(): void {
    if (this.direct) {
      const started = performance.now();
      let chunk: Buffer | null;
      try {
        chunk = this.readDirect();
      } catch (err) {
        this.destroy(err as Error);
        return;
      }
      // One slow read can be the scheduler (a garbage collection thread on the same core); two are the disk.
      if (performance.now() - started > this.slowReadMs && ++this.slowReads >= SLOW_READS) {
        this.direct = false;
        diskSlowAt = Date.now();
      }
      this.push(chunk);
      return;
    }
    const buffer = Buffer.allocUnsafe(CHUNK);
    this.handle.read(buffer, 0, CHUNK, this.position).then(
      ({ bytesRead }) => {
        this.position += bytesRead;
        this.push(bytesRead > 0 ? buffer.subarray(0, bytesRead) : null);
      },
      (err: Error) => this.destroy(err),
    );
  }

  private readDirect(): Buffer | null {
    const buffer = Buffer.allocUnsafe(CHUNK);
    const n = readSync(this.handle.fd, buffer, 0, CHUNK, this.position);
    this.position += n;
    return n > 0 ? buffer.subarray(0, n) : null;
  }

  override _destroy(err: Error | null, callback: (err?: Error | null) => void): void {
    this.handle.close().then(
      () => callback(err),
      (closeErr: Error) => callback(err ?? closeErr),
    );
  }
}
