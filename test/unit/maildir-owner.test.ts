// What the Maildir store makes in a tree another user owns: Postern may run as root while Dovecot reads
// the same tree as the mail user, so every file and folder Postern makes there (messages, uidlist,
// dovecot-uidvalidity, keywords, subscriptions, acl, a new mailbox) belongs to the folder's owner, and a
// message copied or moved into another user's mailbox becomes theirs without taking the original with
// it. And INBOX, or part of it, removed by an operator is made again by the next delivery.
import { chmod, chown, lstat, mkdir, mkdtemp, readdir, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { AccountAddress } from '../../accounts/names.js';
import { MaildirStore } from '../../store/maildir/store.js';

const asRoot = process.getuid?.() === 0;
const alice: AccountAddress = { name: 'alice', domain: 'example.org' };
const bob: AccountAddress = { name: 'bob', domain: 'example.org' };

let dir: string;
let store: MaildirStore;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'postern-owner-'));
  store = new MaildirStore(
    { accountDir: (a) => join(dir, a.name), maildir: (a) => join(dir, a.name, 'Maildir') },
    { mainDomain: 'example.org', watching: { fileWatch: false } },
  );
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function* chunks(text: string): AsyncGenerator<Buffer> {
  yield Buffer.from(text);
}

/** Every entry below `root` (itself included) as "path uid:gid", for the ones not owned by uid:gid. */
async function notOwnedBy(root: string, uid: number, gid: number): Promise<string[]> {
  const odd: string[] = [];
  for (const entry of ['', ...(await readdir(root, { recursive: true }))]) {
    const st = await lstat(join(root, entry));
    if (st.uid !== uid || st.gid !== gid) odd.push(`${entry || '.'} ${st.uid}:${st.gid}`);
  }
  return odd;
}

async function accountOwnedBy(account: AccountAddress, uid: number, gid: number, mode = 0o700): Promise<string> {
  const folder = join(dir, account.name);
  await mkdir(folder);
  await chown(folder, uid, gid);
  await chmod(folder, mode);
  return folder;
}

describe.skipIf(!asRoot)('as root, in a tree another user owns', () => {
  for (const [what, uid, gid, mode] of [
    ['uid 1234, gid 1234', 1234, 1234, 0o700],
    ['uid 1234, gid 1235, set-group-ID', 1234, 1235, 0o2770],
  ] as const) {
    it(`everything Postern makes belongs to the folder's owner (${what})`, async () => {
      const account = await accountOwnedBy(alice, uid, gid, mode);
      // INBOX is made by the first delivery, with its uidlist and the tree's dovecot-uidvalidity
      const first = await store.deliver(alice, 'INBOX', chunks('Subject: one\r\n\r\nhello\r\n'));
      await store.deliver(alice, 'INBOX', chunks('Subject: two\r\n\r\nhello\r\n'), { flags: ['\\Seen', '$Label1'] });
      await store.createMailbox(alice, 'Work/2024');
      await store.deliver(alice, 'Work/2024', chunks('Subject: three\r\n\r\nhello\r\n'));
      await store.subscribe(alice, 'Work/2024');
      await store.setRights(alice, 'Work', { user: bob }, 'lr');
      const inbox = await store.open(alice, 'INBOX');
      await inbox.claimRecent('claim');
      await inbox.copy([first.uid], { account: alice, mailbox: 'Work' });
      inbox.close();

      const maildir = join(account, 'Maildir');
      const names = await readdir(maildir);
      for (const made of [
        'dovecot-uidlist',
        'dovecot-uidvalidity',
        'dovecot-keywords',
        'subscriptions',
        'postern-recent',
        '.Work',
        '.Work.2024',
      ])
        expect(names).toContain(made);
      expect(names.some((n) => /^dovecot-uidvalidity\.[0-9a-f]{8}$/.test(n))).toBe(true);
      expect(await readdir(join(maildir, '.Work'))).toContain('dovecot-acl');
      expect(await notOwnedBy(account, uid, gid)).toEqual([]);
      // the message files keep their mode
      for (const sub of ['new', 'cur'])
        for (const n of await readdir(join(maildir, sub))) expect((await lstat(join(maildir, sub, n))).mode & 0o777).toBe(0o600);
    });
  }

  it("a message copied into another user's mailbox is theirs; the original stays its owner's", async () => {
    await accountOwnedBy(alice, 1234, 1234);
    await accountOwnedBy(bob, 1235, 1235);
    await store.deliver(alice, 'INBOX', chunks('Subject: shared\r\n\r\nhello\r\n'));
    await store.deliver(alice, 'INBOX', chunks('Subject: moved\r\n\r\nhello\r\n'));
    await store.deliver(bob, 'INBOX', chunks('Subject: bob\r\n\r\nhello\r\n'));
    const inbox = await store.open(alice, 'INBOX');
    const [copied, moved] = inbox.messages.map((m) => m.uid);
    expect((await inbox.copy([copied], { account: bob, mailbox: 'INBOX' })).mapping).toHaveLength(1);
    expect((await inbox.move([moved], { account: bob, mailbox: 'INBOX' })).mapping).toHaveLength(1);
    inbox.close();
    // (a hard link would have been one file for both: chowned to bob, alice's own copy too)
    expect(await notOwnedBy(join(dir, 'alice'), 1234, 1234)).toEqual([]);
    expect(await notOwnedBy(join(dir, 'bob'), 1235, 1235)).toEqual([]);
    const bobs = await store.open(bob, 'INBOX');
    expect(bobs.messages).toHaveLength(3);
    const texts = await Promise.all(bobs.messages.map(async (m) => (await bobs.readHeader(m.uid)).toString()));
    expect(texts.map((t) => /Subject: (\w+)/.exec(t)?.[1])).toEqual(['bob', 'shared', 'moved']);
    bobs.close();
    const alices = await store.open(alice, 'INBOX');
    expect(alices.messages).toHaveLength(1);
    alices.close();
  });

  it("a copy within one owner's tree is a hard link (no second file)", async () => {
    await accountOwnedBy(alice, 1234, 1234);
    await store.deliver(alice, 'INBOX', chunks('Subject: one\r\n\r\nhello\r\n'));
    await store.createMailbox(alice, 'Work');
    const inbox = await store.open(alice, 'INBOX');
    await inbox.copy([inbox.messages[0].uid], { account: alice, mailbox: 'Work' });
    inbox.close();
    const [name] = await readdir(join(dir, 'alice/Maildir/new'));
    expect((await lstat(join(dir, 'alice/Maildir/new', name))).nlink).toBe(2);
  });
});

describe('INBOX removed by an operator', () => {
  for (const removed of ['tmp', 'new', 'cur', '']) {
    it(`still takes a delivery with ${removed ? `${removed}/` : 'the whole Maildir'} removed`, async () => {
      const first = await store.deliver(alice, 'INBOX', chunks('Subject: one\r\n\r\nhello\r\n'));
      const maildir = join(dir, 'alice/Maildir');
      await rm(join(maildir, removed), { recursive: true });
      const second = await store.deliver(alice, 'INBOX', chunks('Subject: two\r\n\r\nhello\r\n'));
      for (const sub of ['tmp', 'new', 'cur']) expect((await lstat(join(maildir, sub))).isDirectory()).toBe(true);
      const view = await store.open(alice, 'INBOX');
      if (removed === '') {
        expect(view.uidValidity).not.toBe(first.uidValidity); // a new mailbox
        expect(view.messages.map((m) => m.uid)).toEqual([second.uid]);
      } else {
        expect(second.uidValidity).toBe(first.uidValidity);
        expect(view.messages.map((m) => m.uid)).toEqual(removed === 'new' ? [second.uid] : [first.uid, second.uid]);
      }
      expect((await view.readHeader(second.uid)).toString()).toContain('Subject: two');
      view.close();
    });
  }

  it('a link in place of tmp/ is refused, not followed', async () => {
    await store.deliver(alice, 'INBOX', chunks('Subject: one\r\n\r\nhello\r\n'));
    const maildir = join(dir, 'alice/Maildir');
    const elsewhere = await mkdtemp(join(tmpdir(), 'postern-elsewhere-'));
    try {
      await rm(join(maildir, 'tmp'), { recursive: true });
      await symlink(elsewhere, join(maildir, 'tmp'));
      await expect(store.deliver(alice, 'INBOX', chunks('Subject: two\r\n\r\nhello\r\n'))).rejects.toThrow(/symbolic link/);
      expect(await readdir(elsewhere)).toEqual([]);
    } finally {
      await rm(elsewhere, { recursive: true, force: true });
    }
  });
});
