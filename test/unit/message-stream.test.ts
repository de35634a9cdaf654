// The large-message stream of the Maildir store: every octet, in order, whether the file is read on the
// event loop (page cache) or, after a slow read (lib/in-place.ts), through the thread pool; the file is closed at the end
// and when the reader gives up early.
import { randomBytes } from 'node:crypto';
import { mkdtemp, open, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { resetInPlaceForTests } from '../../lib/in-place.js';
import { MessageFileStream } from '../../store/maildir/message-stream.js';

let dir: string;
let file: string;
const content = randomBytes(3 * 128 * 1024 + 12345);

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'postern-stream-'));
  file = join(dir, 'message');
  await writeFile(file, content);
});
afterAll(() => rm(dir, { recursive: true, force: true }));
afterEach(() => resetInPlaceForTests());

async function readAll(): Promise<{ bytes: Buffer; chunks: number; closed: boolean }> {
  const handle = await open(file, 'r');
  const parts: Buffer[] = [];
  for await (const chunk of new MessageFileStream(handle)) parts.push(chunk as Buffer);
  for (let i = 0; i < 100 && handle.fd !== -1; i++) await new Promise((r) => setTimeout(r, 10));
  return { bytes: Buffer.concat(parts), chunks: parts.length, closed: handle.fd === -1 }; // -1 once closed
}

describe('MessageFileStream', () => {
  it('reads the whole file on the event loop, in 128 KiB chunks, and closes it', async () => {
    const r = await readAll();
    expect(r.bytes.equals(content)).toBe(true);
    expect(r.chunks).toBe(4);
    expect(r.closed).toBe(true);
  });

  it('after a slow read, reads the rest through the thread pool, just as exactly', async () => {
    let now = 0;
    resetInPlaceForTests(() => (now += 3)); // every call seems to take 3 ms: the first two reads are direct, the rest asynchronous
    const r = await readAll();
    expect(r.bytes.equals(content)).toBe(true);
    expect(r.closed).toBe(true);
  });

  it('closes the file when the reader stops early', async () => {
    const handle = await open(file, 'r');
    for await (const chunk of new MessageFileStream(handle)) {
      expect((chunk as Buffer).length).toBe(128 * 1024);
      break;
    }
    for (let i = 0; i < 100 && handle.fd !== -1; i++) await new Promise((r) => setTimeout(r, 10)); // a read in flight finishes first
    expect(handle.fd).toBe(-1);
  });
});
