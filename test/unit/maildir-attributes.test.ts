// dovecot-attributes, the file Dovecot's "file" dict keeps METADATA entries in (store/maildir/metadata-file.ts):
// its tab escapes both ways, what a crash can leave, and the bound on an account's file (store/maildir/metadata.ts).
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { AccountAddress } from '../../accounts/names.js';
import { MetadataTooManyError } from '../../store/contract.js';
import { formatAttributes, parseAttributes } from '../../store/maildir/metadata-file.js';
import { MaildirStore } from '../../store/maildir/store.js';

describe('dovecot-attributes', () => {
  it("reads and writes Dovecot's tab escapes (\\001 then 1, t, r, n; 0 for NUL on reading), keys and values alike", () => {
    const written = formatAttributes(new Map([['shared/g/a\tb', Buffer.from('x\x01y\tz\r\n')]]));
    expect(written.toString('latin1')).toBe('shared/g/a\x01tb\nx\x011y\x01tz\x01r\x01n\n');
    expect(parseAttributes(written)).toEqual(new Map([['shared/g/a\tb', Buffer.from('x\x01y\tz\r\n')]]));
    expect(parseAttributes(Buffer.from('k\na\x010b\n'))).toEqual(new Map([['k', Buffer.from('a\0b')]]));
  });

  it('drops a key whose value line a crash cut off, as Dovecot does', () => {
    expect(parseAttributes(Buffer.from('k1\nv1\nk2\nv2-half'))).toEqual(new Map([['k1', Buffer.from('v1')]]));
  });

  describe('an account file', () => {
    let dir: string;
    let store: MaildirStore;
    const alice: AccountAddress = { name: 'alice', domain: 'example.org' };
    beforeEach(async () => {
      dir = await mkdtemp(join(tmpdir(), 'postern-attributes-'));
      const folders = {
        accountDir: (a: AccountAddress) => join(dir, a.name),
        maildir: (a: AccountAddress) => join(dir, a.name, 'Maildir'),
      };
      store = new MaildirStore(folders, { mainDomain: 'example.org' });
    });
    afterEach(() => rm(dir, { recursive: true, force: true }));

    it('grows to at most 4 MiB: past it nothing more is kept, yet entries can still be removed', async () => {
      const scope = { owner: alice, mailbox: 'INBOX', user: alice };
      const mib = Buffer.alloc(1024 * 1024, 0x61);
      for (let i = 0; i < 3; i++) await store.setMetadata(scope, new Map([[`/shared/big${i}`, mib]]), 1000);
      const more = new Map([
        ['/private/big3', mib],
        ['/shared/big4', mib],
      ]);
      await expect(store.setMetadata(scope, more, 1000)).rejects.toBeInstanceOf(MetadataTooManyError);
      expect((await store.metadata(scope)).size).toBe(3);
      await store.setMetadata(scope, new Map([['/shared/big0', null]]), 1000);
      const file = await readFile(join(dir, 'alice', 'Maildir', 'dovecot-attributes'));
      expect(file.length).toBeLessThan(2.1 * 1024 * 1024);
    });
  });
});
