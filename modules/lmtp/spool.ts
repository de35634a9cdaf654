// The message of one LMTP transaction, kept while it is delivered to each recipient: LMTP sends it once
// for all of them (RFC 2033 section 4.2). Up to 256 KB it is held in memory; a larger one in a file, never
// whole in memory. The file
// lives in dataDir/spool/ (on the same disk as the mail: when that is full, the MTA is told to retry),
// is readable by the server only, and is removed once every recipient has its answer; files left by a
// crash are removed at a later start (after an hour: another server on the same tree may be using its own).
import { randomBytes } from 'node:crypto';
import { type FileHandle, mkdir, open, readdir, rm, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';

export interface SpooledMessage {
  /** Octets the MTA sent (counted past the limit too). */
  readonly size: number;
  /** More than `max` octets arrived: only the first ones were kept, the message must be refused. */
  readonly tooLarge: boolean;
  /** The message with `head` in front, read from the file; opened only when read, closed when done. */
  read(): AsyncIterable<Buffer>;
  remove(): Promise<void>;
}

const PREFIX = 'lmtp-';
/** Messages up to this size are kept in memory, not in a file. */
const IN_MEMORY = 256 * 1024;
/** Files older than this at start were left by a process that is gone (a live one keeps them for seconds). */
const LEFT_BEHIND_MS = 3_600_000;

/**
 * The file's octets, opened on the first read and closed however the reading ends (a store that fails
 * before it reads at all never opens it: no descriptor is left open, no error goes unheard).
 */
async function* readFile(path: string): AsyncGenerator<Buffer> {
  const handle = await open(path, 'r');
  try {
    const buffer = Buffer.allocUnsafe(128 * 1024);
    for (;;) {
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, null);
      if (bytesRead === 0) return;
      yield Buffer.from(buffer.subarray(0, bytesRead));
    }
  } finally {
    await handle.close();
  }
}

async function* inMemory(message: Buffer): AsyncGenerator<Buffer> {
  if (message.length > 0) yield message;
}

export class Spool {
  constructor(private readonly dir: string) {}

  /** Makes the folder and removes what a crashed process left in it (not what a running one is using). */
  async prepare(): Promise<void> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    const now = Date.now();
    for (const name of await readdir(this.dir)) {
      if (!name.startsWith(PREFIX)) continue;
      const path = join(this.dir, name);
      const info = await stat(path).catch(() => null);
      if (info && now - info.mtimeMs > LEFT_BEHIND_MS) await rm(path, { force: true });
    }
  }

  /**
   * Writes `input` (the octets the MTA sent) into a new file; keeps at most `max` octets (0 = no limit) and reads the rest to the end
   * without storing it. Throws the I/O
   * error when the file cannot be written (a full disk: ENOSPC), or the input's error, after removing it.
   */
  async write(input: AsyncIterable<Buffer>, max: number): Promise<SpooledMessage> {
    // A message of at most IN_MEMORY octets (most mail) stays in memory: no file to write, read back and
    // remove for each transaction. A larger one goes to a file from the chunk that passes the mark.
    const held: Buffer[] = [];
    let size = 0;
    let path: string | null = null;
    let file: FileHandle | null = null;
    let failure: unknown = null;
    try {
      for await (const chunk of input) {
        size += chunk.length;
        if (failure !== null || (max > 0 && size > max)) continue; // read the rest, keep nothing more
        if (file === null && size <= IN_MEMORY) {
          held.push(chunk);
          continue;
        }
        try {
          if (file === null) {
            path = join(this.dir, `${PREFIX}${Date.now()}-${randomBytes(6).toString('hex')}`);
            file = await open(path, 'wx', 0o600);
            for (const earlier of held.splice(0)) await file.write(earlier);
          }
          await file.write(chunk);
        } catch (err) {
          failure = err;
        }
      }
    } catch (err) {
      failure ??= err; // the MTA went away mid-message
    } finally {
      await file?.close().catch((err: unknown) => (failure ??= err));
    }
    if (failure !== null) {
      if (path !== null) await unlink(path).catch(() => {});
      throw failure;
    }
    const tooLarge = max > 0 && size > max;
    if (path === null) {
      const whole = held.length === 1 ? held[0] : Buffer.concat(held);
      return {
        size,
        tooLarge,
        read: () => inMemory(whole),
        remove: async () => {},
      };
    }
    const spooled = path;
    return { size, tooLarge, read: () => readFile(spooled), remove: () => unlink(spooled).catch(() => {}) };
  }
}
