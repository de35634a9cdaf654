// The message of one LMTP transaction, kept in a file while it is delivered to each recipient: LMTP
// sends it once for all of them (RFC 2033 section 4.2), and it is never held whole in memory. The file
// lives in dataDir/spool/ (on the same disk as the mail: when that is full, the MTA is told to retry),
// is readable by the server only, and is removed once every recipient has its answer; files left by a
// crash are removed at the next start.
import { randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, open, readdir, rm, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';

export interface SpooledMessage {
  /** Octets the MTA sent (counted past the limit too). */
  readonly size: number;
  /** More than `max` octets arrived: only the first ones were kept, the message must be refused. */
  readonly tooLarge: boolean;
  /** The message as it arrived, after `head`. */
  read(): Readable;
  remove(): Promise<void>;
}

const PREFIX = 'lmtp-';

export class Spool {
  constructor(private readonly dir: string) {}

  /** Makes the folder and removes what a crashed process left in it. */
  async prepare(): Promise<void> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    for (const name of await readdir(this.dir)) if (name.startsWith(PREFIX)) await rm(join(this.dir, name), { force: true });
  }

  /**
   * Writes `head` (header fields the server adds) and then `input` into a new file; keeps at most `max`
   * octets of input (0 = no limit) and reads the rest to the end without storing it. Throws the I/O
   * error when the file cannot be written (a full disk: ENOSPC), or the input's error, after removing it.
   */
  async write(head: string, input: AsyncIterable<Buffer>, max: number): Promise<SpooledMessage> {
    const path = join(this.dir, `${PREFIX}${Date.now()}-${randomBytes(6).toString('hex')}`);
    const file = await open(path, 'wx', 0o600);
    let size = 0;
    let failure: unknown = null;
    try {
      await file.write(head);
      for await (const chunk of input) {
        size += chunk.length;
        if (failure !== null || (max > 0 && size > max)) continue; // read the rest, keep nothing more
        try {
          await file.write(chunk);
        } catch (err) {
          failure = err;
        }
      }
    } catch (err) {
      failure ??= err; // the MTA went away mid-message
    } finally {
      await file.close().catch((err: unknown) => (failure ??= err));
    }
    if (failure !== null) {
      await unlink(path).catch(() => {});
      throw failure;
    }
    return {
      size,
      tooLarge: max > 0 && size > max,
      read: () => createReadStream(path, { highWaterMark: 128 * 1024 }),
      remove: () => unlink(path).catch(() => {}),
    };
  }
}
