// How the Maildir view reads small messages (SEARCH, RETR, FETCH): open() gives a message up to 256 KiB as one
// chunk, read whole at once, in place or through the thread pool (lib/in-place.ts); a file that grew past the
// size its name gives is still read to its end; readHeader stops at the blank line whichever way it reads.
import { appendFile, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { AccountAddress } from '../../accounts/names.js';
import { resetInPlaceForTests, setInPlacePolicy } from '../../lib/in-place.js';
import { MaildirStore } from '../../store/maildir/store.js';

const alice: AccountAddress = { name: 'alice', domain: 'example.org' };
let dir: string;
let store: MaildirStore;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'postern-read-whole-'));
  store = new MaildirStore(
    { accountDir: (a) => join(dir, a.name), maildir: (a) => join(dir, a.name, 'Maildir') },
    { mainDomain: 'example.org', watching: { fileWatch: false } },
  );
});
afterEach(async () => {
  resetInPlaceForTests();
  await rm(dir, { recursive: true, force: true });
});

async function* one(data: Buffer): AsyncGenerator<Buffer> {
  yield data;
}

async function chunksOf(stream: AsyncIterable<unknown>): Promise<Buffer[]> {
  const out: Buffer[] = [];
  for await (const c of stream) out.push(c as Buffer);
  return out;
}

const header = 'From: ann@example.org\r\nSubject: whole\r\n\r\n';
const message = Buffer.from(`${header}${'a line of the body\r\n'.repeat(2000)}`); // 38 KiB

for (const policy of ['auto', 'never'] as const) {
  describe(`reading small messages (in-place calls ${policy === 'auto' ? 'allowed' : 'off'})`, () => {
    beforeEach(() => setInPlacePolicy(policy));

    it('open() gives the message as one chunk, exactly its octets', async () => {
      const { uid } = await store.deliver(alice, 'INBOX', one(message));
      const view = await store.open(alice, 'INBOX');
      const chunks = await chunksOf(await view.open(uid));
      expect(chunks.length).toBe(1);
      expect(Buffer.concat(chunks).equals(message)).toBe(true);
    });

    it('open() reads a file that grew past the size in its name to its end', async () => {
      const { uid } = await store.deliver(alice, 'INBOX', one(message));
      const inbox = join(dir, 'alice', 'Maildir');
      const sub = (await readdir(join(inbox, 'new'))).length > 0 ? 'new' : 'cur';
      const path = join(inbox, sub, (await readdir(join(inbox, sub)))[0]);
      await appendFile(path, 'more\r\n'.repeat(100_000)); // 600 KB more: past the whole read's bound too
      const view = await store.open(alice, 'INBOX');
      const all = Buffer.concat(await chunksOf(await view.open(uid)));
      expect(all.length).toBe(message.length + 600_000);
      expect(all.subarray(0, message.length).equals(message)).toBe(true);
    });

    it('readHeader gives the header up to its blank line', async () => {
      const { uid } = await store.deliver(alice, 'INBOX', one(message));
      const view = await store.open(alice, 'INBOX');
      expect((await view.readHeader(uid)).toString()).toBe(header);
      expect((await view.readHeader(uid, 10)).toString()).toBe(header.slice(0, 10));
    });
  });
}
