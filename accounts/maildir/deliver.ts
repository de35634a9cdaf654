// Delivery into a Maildir folder: write tmp/NAME, fsync, rename to new/NAME,S=<size>,W=<pop size>.
// The rename is the commit: a crash before it leaves the message only in tmp/ (never shown) and the
// caller has not been told it was stored, so the sender keeps it and tries again.
import { open, rename, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { StagedDelivery } from '../mail-store.js';
import { checkLength, syncDir, writeAll } from '../atomic-file.js';
import { CrlfSizeCounter } from '../store/crlf-size.js';
import { newBaseName } from './filename.js';

/** The input held no message at all. */
export class EmptyMessageError extends Error {
  constructor() {
    super('the message is empty');
  }
}

const FLUSH_AT = 256 * 1024;

/**
 * Writes a message read from `input` into tmp/ of `folder`; commit() shows it in new/. A leading mbox
 * "From " envelope line is dropped, and a last line without a line ending gets one, so that the stored
 * size and the POP size agree with what other Maildir readers (Dovecot) compute.
 */
export async function stageInMaildir(folder: string, input: AsyncIterable<Buffer>, extraHeader?: string): Promise<StagedDelivery> {
  const base = newBaseName();
  const tmpPath = join(folder, 'tmp', base);
  const handle = await open(tmpPath, 'wx', 0o600);
  const counter = new CrlfSizeCounter();
  let size = 0;
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  let head: Buffer | null = Buffer.alloc(0); // bytes of the first line while we decide about "From "
  let lastByte = -1;
  let crlfStyle = false;

  const write = async (chunk: Buffer, force = false) => {
    if (chunk.length > 0) {
      counter.add(chunk);
      size += chunk.length;
      lastByte = chunk[chunk.length - 1];
      pending.push(chunk);
      pendingBytes += chunk.length;
    }
    if (pendingBytes >= FLUSH_AT || (force && pendingBytes > 0)) {
      const data = pending.length === 1 ? pending[0] : Buffer.concat(pending);
      pending = [];
      pendingBytes = 0;
      await writeAll(handle, data);
    }
  };

  try {
    for await (const raw of input) {
      let chunk = raw;
      if (head !== null) {
        head = Buffer.concat([head, chunk]);
        const nl = head.indexOf(10);
        if (nl < 0 && head.length < 4096) continue;
        crlfStyle = nl > 0 && head[nl - 1] === 13;
        chunk = head.subarray(0, 5).toString('latin1') === 'From ' && nl >= 0 ? head.subarray(nl + 1) : head;
        head = null;
        if (extraHeader) await write(Buffer.from(`${extraHeader}${crlfStyle ? '\r\n' : '\n'}`));
      }
      await write(chunk);
    }
    if (head !== null && head.length > 0) {
      // a short message with no line ending at all
      if (extraHeader) await write(Buffer.from(`${extraHeader}\n`));
      await write(head);
    }
    if (size === 0) throw new EmptyMessageError();
    if (lastByte !== 10) await write(Buffer.from(crlfStyle ? '\r\n' : '\n'));
    await write(Buffer.alloc(0), true);
    await handle.sync();
    // The size the name will carry must be what the file holds: nothing half-written is ever shown.
    await checkLength(handle, size);
    await handle.close();
  } catch (err) {
    await handle.close().catch(() => {});
    await unlink(tmpPath).catch(() => {});
    throw err;
  }

  const name = `${base},S=${size},W=${counter.size}`;
  return {
    async commit() {
      try {
        await rename(tmpPath, join(folder, 'new', name));
      } catch (err) {
        await unlink(tmpPath).catch(() => {});
        throw err;
      }
      await syncDir(join(folder, 'new'));
      return { id: name, size, popSize: counter.size };
    },
    async abort() {
      await unlink(tmpPath).catch(() => {});
    },
  };
}
