// A large message file as a stream, for RETR and FETCH BODY[], read chunk by chunk directly on the
// event loop while the file comes from the page cache (see direct-reads.ts): FETCH BODY[] of 10 MB went
// from 263-382 MB/s to 914-1691 MB/s that way (measured pinned to one core, see the README). After three
// slow reads of one file the rest of it goes through the thread pool, and so do the reads of the next
// few seconds.
import { readSync } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { directReadsAdvised, diskWasSlow, SLOW_READ_MS } from './direct-reads.js';

const CHUNK = 128 * 1024;
/** Slow reads of one file after which the rest of it is read through the thread pool. */
const SLOW_READS = 3;

export class MessageFileStream extends Readable {
  private position = 0;
  private direct = directReadsAdvised();
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
        diskWasSlow();
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
