// The mail-store contract (store/contract.ts), one suite for every store: what a protocol
// module may count on, whichever store is underneath.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MaildirStore } from '../../store/maildir/store.js';
import { MemoryStore } from '../../store/memory/memory-store.js';
import {
  checkMailboxName,
  MailError,
  type MailStore,
  MailboxNameError,
  MailboxNameTooLongError,
  MailboxNotFoundError,
  MailboxOperationError,
  MailStoreError,
  MessageGoneError,
  MetadataTooManyError,
} from '../../store/contract.js';
import type { AccountAddress } from '../../accounts/names.js';
import { NO_LIMITS, type QuotaLimitsOf, type QuotaValues } from '../../store/quota/quota.js';

interface Fixture {
  store: MailStore;
  cleanup(): Promise<void>;
}

const STORES: [string, (quota?: QuotaLimitsOf) => Promise<Fixture>][] = [
  ['memory', async (quota) => ({ store: new MemoryStore('example.org', quota), cleanup: async () => {} })],
  [
    'Maildir',
    async (quota) => {
      const dir = await mkdtemp(join(tmpdir(), 'postern-store-'));
      const folders = {
        accountDir: (a: AccountAddress) => join(dir, a.domain, a.name),
        maildir: (a: AccountAddress) => join(dir, a.domain, a.name, 'Maildir'),
      };
      return {
        store: new MaildirStore(folders, { mainDomain: 'example.org', quota }),
        cleanup: () => rm(dir, { recursive: true, force: true }),
      };
    },
  ],
];

const alice: AccountAddress = { name: 'alice', domain: 'example.org' };
const bob: AccountAddress = { name: 'bob', domain: 'example.org' };

async function* chunks(text: string): AsyncGenerator<Buffer> {
  yield Buffer.from(text);
}

async function text(s: MailStore, uid: number, view: Awaited<ReturnType<MailStore['open']>>): Promise<string> {
  void s;
  const parts: Buffer[] = [];
  for await (const c of await view.open(uid)) parts.push(c as Buffer);
  return Buffer.concat(parts).toString();
}

/** The code a store's failure carries (a MailStoreError's), or what else happened. */
async function codeOf(attempt: () => Promise<unknown>): Promise<string> {
  try {
    await attempt();
    return 'no error';
  } catch (err) {
    return err instanceof MailStoreError ? err.mailError : `not a MailStoreError: ${String(err)}`;
  }
}

type Case = [what: string, attempt: () => Promise<unknown>, code: MailError];

/** What each attempt raised, beside the code it should carry, by what it tried (a mismatch names it). */
async function codesOf(cases: readonly Case[]): Promise<{ got: Record<string, string>; wanted: Record<string, string> }> {
  const got: Record<string, string> = {};
  const wanted: Record<string, string> = {};
  for (const [what, attempt, code] of cases) {
    got[what] = await codeOf(attempt);
    wanted[what] = code;
  }
  return { got, wanted };
}

for (const [name, make] of STORES) {
  describe(`the ${name} store`, () => {
    let fx: Fixture;
    let store: MailStore;
    beforeEach(async () => {
      fx = await make();
      store = fx.store;
    });
    afterEach(async () => {
      await fx.cleanup();
    });

    describe('mailboxes', () => {
      it('INBOX is always there; create, list (INBOX first, sorted, with children), rename with children, delete', async () => {
        expect(await store.listMailboxes(alice)).toEqual([{ name: 'INBOX', hasChildren: false, selectable: true }]);
        expect(await store.createMailbox(alice, 'lists/info')).toBe(true);
        expect(await store.createMailbox(alice, 'lists/info')).toBe(false);
        expect(await store.createMailbox(alice, 'Archive')).toBe(true);
        expect(await store.listMailboxes(alice)).toEqual([
          { name: 'INBOX', hasChildren: false, selectable: true },
          { name: 'Archive', hasChildren: false, selectable: true },
          { name: 'lists', hasChildren: true, selectable: true },
          { name: 'lists/info', hasChildren: false, selectable: true },
        ]);
        expect(await store.hasMailbox(alice, 'inbox')).toBe(true);
        await store.deliver(alice, 'lists/info', chunks('Subject: x\n\nin info\n'));
        await store.renameMailbox(alice, 'lists', 'old-lists');
        expect((await store.listMailboxes(alice)).map((m) => m.name)).toEqual(['INBOX', 'Archive', 'old-lists', 'old-lists/info']);
        const moved = await store.open(alice, 'old-lists/info');
        expect(moved.messages).toHaveLength(1);
        moved.close();
        await store.deleteMailbox(alice, 'old-lists/info');
        await store.deleteMailbox(alice, 'old-lists');
        await expect(store.deleteMailbox(alice, 'INBOX')).rejects.toThrow(MailboxOperationError);
        await expect(store.open(alice, 'old-lists')).rejects.toThrow(MailboxNotFoundError);
        expect((await store.listMailboxes(alice)).map((m) => m.name)).toEqual(['INBOX', 'Archive']);
      });

      it('deleting a mailbox keeps the mailboxes below it; it is listed as a level that cannot be opened', async () => {
        await store.createMailbox(alice, 'a/b/c');
        await store.deliver(alice, 'a', chunks('Subject: in a\n\na\n'));
        await store.deliver(alice, 'a/b/c', chunks('Subject: in c\n\nc\n'));
        await store.deleteMailbox(alice, 'a');
        expect(await store.listMailboxes(alice)).toEqual([
          { name: 'INBOX', hasChildren: false, selectable: true },
          { name: 'a', hasChildren: true, selectable: false },
          { name: 'a/b', hasChildren: true, selectable: true },
          { name: 'a/b/c', hasChildren: false, selectable: true },
        ]);
        expect(await store.hasMailbox(alice, 'a')).toBe(false);
        await expect(store.open(alice, 'a')).rejects.toThrow(MailboxNotFoundError);
        await expect(store.deleteMailbox(alice, 'a')).rejects.toThrow(MailboxNotFoundError);
        const c = await store.open(alice, 'a/b/c');
        expect(c.messages).toHaveLength(1);
        c.close();
        // made again, it is a new, empty mailbox
        expect(await store.createMailbox(alice, 'a')).toBe(true);
        const again = await store.open(alice, 'a');
        expect(again.messages).toHaveLength(0);
        again.close();
      });

      it("a view's sync() says the mailbox is gone once it is deleted, renamed, or deleted and made again", async () => {
        for (const [what, change] of [
          ['deleted', () => store.deleteMailbox(alice, 'gone')],
          ['renamed', () => store.renameMailbox(alice, 'gone', 'moved')],
          [
            'made again',
            async () => {
              await store.deleteMailbox(alice, 'gone');
              await store.createMailbox(alice, 'gone');
            },
          ],
        ] as const) {
          await store.createMailbox(alice, 'gone');
          await store.deliver(alice, 'gone', chunks('Subject: x\n\nx\n'));
          const view = await store.open(alice, 'gone');
          expect((await view.sync()).expunged).toEqual([]);
          await change();
          await expect(view.sync(), what).rejects.toThrow(MailboxNotFoundError);
          view.close();
          if (await store.hasMailbox(alice, 'gone')) await store.deleteMailbox(alice, 'gone');
          if (await store.hasMailbox(alice, 'moved')) await store.deleteMailbox(alice, 'moved');
        }
      });

      it('INBOX is one level whatever its case: "inbox/x" and "Inbox/y" are below INBOX', async () => {
        expect(checkMailboxName('inbox/x')).toBe('INBOX/x');
        expect(checkMailboxName('Inbox/y/z')).toBe('INBOX/y/z');
        expect(checkMailboxName('Inboxes/y')).toBe('Inboxes/y');
        expect(await store.createMailbox(alice, 'INBOX/x')).toBe(true);
        expect(await store.createMailbox(alice, 'inbox/x')).toBe(false);
        expect(await store.createMailbox(alice, 'Inbox/y')).toBe(true);
        expect(await store.listMailboxes(alice)).toEqual([
          { name: 'INBOX', hasChildren: true, selectable: true },
          { name: 'INBOX/x', hasChildren: false, selectable: true },
          { name: 'INBOX/y', hasChildren: false, selectable: true },
        ]);
      });

      it('a name too long to keep is MailboxNameTooLongError', async () => {
        for (const long of ['x'.repeat(201), 'y'.repeat(65), `${'m/'.repeat(120)}z`]) {
          await expect(store.createMailbox(alice, long), long.slice(0, 20)).rejects.toThrow(MailboxNameTooLongError);
        }
      });

      it('refuses names that could escape or that no protocol can say', async () => {
        for (const bad of ['', '../x', 'a//b', '/abs', 'a/./b', 'with.dot', 'back\\slash', 'nul\u0000', 'x'.repeat(201)]) {
          await expect(store.createMailbox(alice, bad), JSON.stringify(bad)).rejects.toThrow(MailboxNameError);
        }
        expect(await store.createMailbox(alice, 'Entwürfe')).toBe(true); // non-ASCII is fine
        expect((await store.listMailboxes(alice)).map((m) => m.name)).toContain('Entwürfe');
      });

      it('renaming INBOX moves its messages into the new mailbox and leaves INBOX empty', async () => {
        await store.deliver(alice, 'INBOX', chunks('Subject: one\n\n1\n'));
        await store.deliver(alice, 'INBOX', chunks('Subject: two\n\n2\n'));
        await store.renameMailbox(alice, 'INBOX', 'Old');
        const inbox = await store.open(alice, 'INBOX');
        const old = await store.open(alice, 'Old');
        expect(inbox.messages).toHaveLength(0);
        expect(old.messages).toHaveLength(2);
        inbox.close();
        old.close();
      });

      it('keeps subscriptions', async () => {
        await store.createMailbox(alice, 'Work');
        await store.subscribe(alice, 'Work');
        await store.subscribe(alice, 'INBOX');
        expect(await store.subscriptions(alice)).toEqual(['INBOX', 'Work']);
        await store.unsubscribe(alice, 'Work');
        expect(await store.subscriptions(alice)).toEqual(['INBOX']);
      });

      it('answers rights from the ACL: the owner holds all, others what anyone, authenticated or they are given', async () => {
        await store.createMailbox(bob, 'shared');
        expect(await store.rights(bob, 'shared', bob)).toBe('lrwstipekxa');
        expect(await store.rights(bob, 'shared', alice)).toBe('');
        await store.setRights(bob, 'shared', 'anyone', 'lr');
        await store.setRights(bob, 'shared', { user: alice }, 'rst');
        expect(await store.rights(bob, 'shared', alice)).toBe('lrst');
        const acl = await store.acl(bob, 'shared');
        expect(acl.get('user=alice@example.org')).toBe('rst');
        expect(acl.get('owner')).toBe('lrwstipekxa');
        await store.setRights(bob, 'shared', { user: alice }, '');
        expect(await store.rights(bob, 'shared', alice)).toBe('lr');
      });
    });

    describe('failures carry the same code in every store (each protocol answers by the code)', () => {
      it('mailbox operations: NOTFOUND, EXISTS, NOTPOSSIBLE, PARAMS, LIMIT', async () => {
        await store.createMailbox(alice, 'Work');
        await store.createMailbox(alice, 'Archive');
        const cases: Case[] = [
          ['open a missing mailbox', () => store.open(alice, 'Missing'), MailError.NOTFOUND],
          ['delete a missing mailbox', () => store.deleteMailbox(alice, 'Missing'), MailError.NOTFOUND],
          ['rename a missing mailbox', () => store.renameMailbox(alice, 'Missing', 'Other'), MailError.NOTFOUND],
          ['deliver into a missing mailbox', () => store.deliver(alice, 'Missing', chunks('Subject: x\n\nx\n')), MailError.NOTFOUND],
          ['read the rights on a missing mailbox', () => store.acl(alice, 'Missing'), MailError.NOTFOUND],
          ["read a user's rights on a missing mailbox", () => store.rights(alice, 'Missing', bob), MailError.NOTFOUND],
          ['set rights on a missing mailbox', () => store.setRights(alice, 'Missing', 'anyone', 'lr'), MailError.NOTFOUND],
          ['rename onto an existing mailbox', () => store.renameMailbox(alice, 'Work', 'Archive'), MailError.EXISTS],
          ['rename onto INBOX', () => store.renameMailbox(alice, 'Work', 'INBOX'), MailError.NOTPOSSIBLE],
          ['rename a missing mailbox onto INBOX', () => store.renameMailbox(alice, 'Missing', 'inbox'), MailError.NOTPOSSIBLE],
          ['rename a mailbox below itself', () => store.renameMailbox(alice, 'Work', 'Work/sub'), MailError.NOTPOSSIBLE],
          ['delete INBOX', () => store.deleteMailbox(alice, 'INBOX'), MailError.NOTPOSSIBLE],
          ['create a bad name', () => store.createMailbox(alice, '../escape'), MailError.PARAMS],
          ['open a bad name', () => store.open(alice, 'a//b'), MailError.PARAMS],
          ['rename onto a bad name', () => store.renameMailbox(alice, 'Work', 'with.dot'), MailError.PARAMS],
          ['subscribe a bad name', () => store.subscribe(alice, ''), MailError.PARAMS],
          ['create a name too long', () => store.createMailbox(alice, 'x'.repeat(201)), MailError.LIMIT],
          ['create a level too long', () => store.createMailbox(alice, `a/${'y'.repeat(65)}`), MailError.LIMIT],
        ];
        const { got, wanted } = await codesOf(cases);
        expect(got).toEqual(wanted);
        // nothing was changed by the refusals
        expect((await store.listMailboxes(alice)).map((m) => m.name)).toEqual(['INBOX', 'Archive', 'Work']);
      });

      it('messages: EXPUNGED, INVALIDDATA, PARAMS; a view of a deleted mailbox is NOTFOUND', async () => {
        await store.createMailbox(alice, 'Work');
        const { uid } = await store.deliver(alice, 'Work', chunks('Subject: e\n\ne\n'));
        const kept = await store.deliver(alice, 'Work', chunks('Subject: k\n\nk\n'));
        const a = await store.open(alice, 'Work');
        const b = await store.open(alice, 'Work');
        await a.expunge([uid]);
        const cases: Case[] = [
          ['read an expunged message', () => b.open(uid), MailError.EXPUNGED],
          ['read the header of an expunged message', () => b.readHeader(uid), MailError.EXPUNGED],
          ['deliver an empty message', () => store.deliver(alice, 'INBOX', chunks('')), MailError.INVALIDDATA],
          [
            'append with a flag that cannot be stored',
            () => store.append(alice, 'INBOX', chunks('Subject: f\n\nf\n'), { flags: ['\\Recent'] }),
            MailError.PARAMS,
          ],
          ['store a keyword that is no atom', () => a.store([kept.uid], { add: ['bad keyword'] }), MailError.PARAMS],
          ['copy into a missing mailbox', () => a.copy([kept.uid], { account: alice, mailbox: 'Missing' }), MailError.NOTFOUND],
          ['move into a missing mailbox', () => a.move([kept.uid], { account: alice, mailbox: 'Missing' }), MailError.NOTFOUND],
          [
            'sync a view of a mailbox deleted meanwhile',
            async () => {
              await store.deleteMailbox(alice, 'Work');
              return b.sync();
            },
            MailError.NOTFOUND,
          ],
        ];
        const { got, wanted } = await codesOf(cases);
        expect(got).toEqual(wanted);
        a.close();
        b.close();
      });
    });

    describe('messages', () => {
      it('after most of a mailbox was expunged, the rest keep their UIDs in order, and new mail follows', async () => {
        const view = await store.open(alice, 'INBOX');
        const uids: number[] = [];
        for (let i = 0; i < 120; i++) uids.push((await store.deliver(alice, 'INBOX', chunks(`Subject: m${i}\n\n${i}\n`))).uid);
        await view.sync();
        // keep every tenth (the uidlist then holds far more records than there are files)
        const kept = uids.filter((_, i) => i % 10 === 3);
        await view.expunge(uids.filter((u) => !kept.includes(u)));
        const later = (await store.deliver(alice, 'INBOX', chunks('Subject: later\n\nx\n'))).uid;
        await view.sync();
        expect(view.messages.map((m) => m.uid)).toEqual([...kept, later]);
        const fresh = await store.open(alice, 'INBOX');
        expect(fresh.messages.map((m) => m.uid)).toEqual([...kept, later]);
        expect(await text(store, kept[5], fresh)).toBe(`Subject: m${uids.indexOf(kept[5])}\n\n${uids.indexOf(kept[5])}\n`);
        fresh.close();
        view.close();
      });

      it('append is invisible until commit; UIDs ascend and are never reused; sizes count CRLF', async () => {
        const view = await store.open(alice, 'INBOX');
        const staged = await store.append(alice, 'INBOX', chunks('Subject: one\n\nbody\n'), { flags: ['\\seen', 'Work'] });
        expect((await view.sync()).added).toEqual([]);
        const one = await staged.commit();
        expect(one.uidValidity).toBe(view.uidValidity);
        const aborted = await store.append(alice, 'INBOX', chunks('Subject: never\n\nx\n'));
        await aborted.abort();
        const two = await store.deliver(alice, 'INBOX', chunks('Subject: two\r\n\r\nno final newline'));
        expect(two.uid).toBeGreaterThan(one.uid);
        const changes = await view.sync();
        expect(changes.added.map((m) => m.uid)).toEqual([one.uid, two.uid]);
        const first = view.get(one.uid)!;
        expect([...first.flags].sort()).toEqual(['Work', '\\Seen']);
        expect(first.size).toBe('Subject: one\r\n\r\nbody\r\n'.length);
        // the store keeps the octets it is given: a delivery's final line end is delivery/'s to add
        expect(view.get(two.uid)!.size).toBe('Subject: two\r\n\r\nno final newline'.length);
        expect(await text(store, two.uid, view)).toBe('Subject: two\r\n\r\nno final newline');
        expect((await view.readHeader(one.uid)).toString()).toBe('Subject: one\n\n');
        expect((await view.internalDate(one.uid)).getTime()).toBeLessThanOrEqual(Date.now());
        // expunge the newest: its UID is never given again
        expect(await view.expunge([two.uid])).toEqual([two.uid]);
        const three = await store.deliver(alice, 'INBOX', chunks('Subject: three\n\n3\n'));
        expect(three.uid).toBeGreaterThan(two.uid);
        expect(view.uidNext).toBeGreaterThan(three.uid);
        view.close();
      });

      it('keeps the octets it is given exactly: an mbox From line, bare LFs, no final line end', async () => {
        const sent = 'From sender Mon Jan  1 00:00:00 2026\nSubject: y\r\n\nb\n\nlast';
        const b = await store.deliver(alice, 'INBOX', chunks(sent));
        const view = await store.open(alice, 'INBOX');
        expect(await text(store, b.uid, view)).toBe(sent);
        expect(b.storedSize).toBe(sent.length);
        view.close();
      });

      it('store() adds, removes and replaces flags and keywords; other views see it at sync()', async () => {
        const { uid } = await store.deliver(alice, 'INBOX', chunks('Subject: f\n\nf\n'));
        const mine = await store.open(alice, 'INBOX');
        const theirs = await store.open(alice, 'INBOX');
        let changed = await mine.store([uid], { add: ['\\Seen', '$Label1'] });
        expect([...changed[0].flags].sort()).toEqual(['$Label1', '\\Seen']);
        expect(await mine.store([uid], { add: ['\\Seen'] })).toEqual([]); // no change, nothing reported
        changed = await mine.store([uid], { remove: ['$Label1'] });
        expect([...changed[0].flags]).toEqual(['\\Seen']);
        await mine.store([uid], { replace: ['\\Flagged', '\\Answered', 'Work'] });
        // the view that changed it shows the change at once (a FETCH after STORE), and its sync does not report it again
        expect([...mine.get(uid)!.flags].sort()).toEqual(['Work', '\\Answered', '\\Flagged']);
        expect(mine.messages.find((m) => m.uid === uid)!.flags).toEqual(mine.get(uid)!.flags);
        expect((await mine.sync()).flagsChanged).toEqual([]);
        expect([...theirs.get(uid)!.flags]).toEqual([]);
        const seen = await theirs.sync();
        expect(seen.flagsChanged.map((m) => [m.uid, [...m.flags].sort()])).toEqual([[uid, ['Work', '\\Answered', '\\Flagged']]]);
        await expect(mine.store([uid], { add: ['\\Recent'] })).rejects.toThrow(MailboxOperationError);
        await expect(mine.store([uid], { add: ['bad keyword'] })).rejects.toThrow(MailboxOperationError);
        mine.close();
        theirs.close();
      });

      it('expunge by one view: the other view still lists it until sync, reading it is MessageGoneError', async () => {
        const { uid } = await store.deliver(alice, 'INBOX', chunks('Subject: e\n\ne\n'));
        const keep = await store.deliver(alice, 'INBOX', chunks('Subject: k\n\nk\n'));
        const a = await store.open(alice, 'INBOX');
        const b = await store.open(alice, 'INBOX');
        expect(await a.expunge([uid])).toEqual([uid]);
        expect(b.get(uid)).toBeDefined();
        await expect(b.open(uid)).rejects.toThrow(MessageGoneError);
        expect(await b.store([uid], { add: ['\\Seen'] })).toEqual([]);
        expect(await b.expunge([uid])).toEqual([uid]); // gone already: counts as expunged
        const changes = await b.sync();
        expect(changes.expunged).toEqual([uid]);
        expect(b.messages.map((m) => m.uid)).toEqual([keep.uid]);
        a.close();
        b.close();
      });

      it('copy and move keep flags and report the new UIDs; the target has its own UIDVALIDITY', async () => {
        await store.createMailbox(alice, 'Archive');
        const one = await store.deliver(alice, 'INBOX', chunks('Subject: 1\n\n1\n'), { flags: ['\\Seen'] });
        const two = await store.deliver(alice, 'INBOX', chunks('Subject: 2\n\n2\n'));
        const inbox = await store.open(alice, 'INBOX');
        const copied = await inbox.copy([one.uid], { account: alice, mailbox: 'Archive' });
        const moved = await inbox.move([two.uid], { account: alice, mailbox: 'Archive' });
        const archive = await store.open(alice, 'Archive');
        expect(copied.uidValidity).toBe(archive.uidValidity);
        expect(archive.messages.map((m) => m.uid)).toEqual([copied.mapping[0][1], moved.mapping[0][1]]);
        expect([...archive.get(copied.mapping[0][1])!.flags]).toEqual(['\\Seen']);
        expect(await text(store, moved.mapping[0][1], archive)).toBe('Subject: 2\n\n2\n');
        expect((await inbox.sync()).expunged).toEqual([two.uid]);
        inbox.close();
        archive.close();
      });

      it('two views moving one message at once: it ends up in the target once, one mapping names it', async () => {
        await store.createMailbox(alice, 'Archive');
        const { uid } = await store.deliver(alice, 'INBOX', chunks('Subject: m\n\nm\n'), { flags: ['$Label1'] });
        const a = await store.open(alice, 'INBOX');
        const b = await store.open(alice, 'INBOX');
        const [x, y] = await Promise.all([
          a.move([uid], { account: alice, mailbox: 'Archive' }),
          b.move([uid], { account: alice, mailbox: 'Archive' }),
        ]);
        expect(x.mapping.length + y.mapping.length).toBe(1);
        const archive = await store.open(alice, 'Archive');
        expect(archive.messages).toHaveLength(1);
        expect([...archive.messages[0].flags]).toEqual(['$Label1']);
        expect((await store.open(alice, 'INBOX')).messages).toHaveLength(0);
        a.close();
        b.close();
        archive.close();
      });

      it('claimRecent(): each message is first seen by exactly one claiming view; peek takes nothing; the mark never drops', async () => {
        const one = await store.deliver(alice, 'INBOX', chunks('Subject: 1\n\n1\n'));
        const two = await store.deliver(alice, 'INBOX', chunks('Subject: 2\n\n2\n'));
        const looker = await store.open(alice, 'INBOX');
        expect(await looker.claimRecent('peek')).toEqual([one.uid, two.uid]);
        expect(await looker.claimRecent('peek')).toEqual([one.uid, two.uid]); // still nobody's
        const first = await store.open(alice, 'INBOX');
        const second = await store.open(alice, 'INBOX');
        const [a, b] = await Promise.all([first.claimRecent('claim'), second.claimRecent('claim')]);
        expect([...a, ...b].sort((x, y) => x - y)).toEqual([one.uid, two.uid]);
        expect(a.length === 0 || b.length === 0).toBe(true); // one view took them all
        expect(await looker.claimRecent('peek')).toEqual([]);
        // a view that has not synced the new message takes nothing above what it knows
        const three = await store.deliver(alice, 'INBOX', chunks('Subject: 3\n\n3\n'));
        expect(await first.claimRecent('claim')).toEqual([]);
        await second.sync();
        expect(await second.claimRecent('claim')).toEqual([three.uid]);
        await first.sync();
        expect(await first.claimRecent('claim')).toEqual([]);
        // a fresh view of the same store, as another process would open it, agrees
        const later = await store.open(alice, 'INBOX');
        expect(await later.claimRecent('claim')).toEqual([]);
        for (const v of [looker, first, second, later]) v.close();
      });

      it('watch() says when another session changed the mailbox', async () => {
        const view = await store.open(alice, 'INBOX');
        let calls = 0;
        const stop = view.watch(() => calls++);
        await store.deliver(alice, 'INBOX', chunks('Subject: w\n\nw\n'));
        const deadline = Date.now() + 3000;
        while (calls === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
        expect(calls).toBeGreaterThan(0);
        stop();
        expect((await view.sync()).added).toHaveLength(1);
        view.close();
      });
    });

    describe('metadata entries (RFC 5464)', () => {
      const v = (text: string) => Buffer.from(text);
      const shown = async (scope: Parameters<MailStore['metadata']>[0]) =>
        Object.fromEntries([...(await store.metadata(scope))].map(([k, b]) => [k, b.toString('latin1')]));

      it("keeps server and mailbox entries apart, a user's private ones apart from another's, and removes with null", async () => {
        await store.createMailbox(alice, 'team/sub');
        const server = { owner: alice, mailbox: null, user: alice };
        const team = { owner: alice, mailbox: 'team', user: alice };
        const teamForBob = { owner: alice, mailbox: 'team', user: bob };
        await store.setMetadata(server, new Map([['/private/devicetoken', v('tok')]]), 10);
        await store.setMetadata(
          team,
          new Map([
            ['/shared/comment', v('a\tb\r\n\x01')],
            ['/private/comment', v('alice')],
          ]),
          10,
        );
        await store.setMetadata(teamForBob, new Map([['/private/comment', v('bob')]]), 10);
        expect(await shown(server)).toEqual({ '/private/devicetoken': 'tok' });
        expect(await shown({ owner: alice, mailbox: 'INBOX', user: alice })).toEqual({});
        expect(await shown(team)).toEqual({ '/shared/comment': 'a\tb\r\n\x01', '/private/comment': 'alice' });
        expect(await shown(teamForBob)).toEqual({ '/shared/comment': 'a\tb\r\n\x01', '/private/comment': 'bob' });
        await store.setMetadata(team, new Map([['/shared/comment', null]]), 10);
        expect(await shown(teamForBob)).toEqual({ '/private/comment': 'bob' });
        expect(await codeOf(() => store.metadata({ owner: alice, mailbox: 'nosuch', user: alice }))).toBe(MailError.NOTFOUND);
        expect(await codeOf(() => store.setMetadata(team, new Map([['/shared/x', v('a\0b')]]), 10))).toBe(MailError.PARAMS);
      });

      it('refuses entries past the limit, changing none; follows a rename with the mailboxes below; forgets a deleted one', async () => {
        await store.createMailbox(alice, 'a/b');
        const a = { owner: alice, mailbox: 'a', user: alice };
        await store.setMetadata(
          a,
          new Map([
            ['/shared/one', v('1')],
            ['/private/two', v('2')],
          ]),
          3,
        );
        const tooMany = new Map([
          ['/shared/three', v('3')],
          ['/private/four', v('4')],
        ]);
        await expect(store.setMetadata(a, tooMany, 3)).rejects.toBeInstanceOf(MetadataTooManyError);
        expect(Object.keys(await shown(a)).sort()).toEqual(['/private/two', '/shared/one']);
        await store.setMetadata({ owner: alice, mailbox: 'a/b', user: alice }, new Map([['/private/specialuse', v('\\Archive')]]), 3);
        await store.renameMailbox(alice, 'a', 'z');
        expect(await shown({ owner: alice, mailbox: 'z', user: alice })).toEqual({ '/shared/one': '1', '/private/two': '2' });
        expect(await store.entryOfMailboxes(alice, '/private/specialuse', ['INBOX', 'z', 'z/b'])).toEqual(
          new Map([['z/b', v('\\Archive')]]),
        );
        expect(await store.entryOfMailboxes(alice, '/private/specialuse', ['z'])).toEqual(new Map());
        await store.deleteMailbox(alice, 'z/b');
        await store.createMailbox(alice, 'z/b');
        expect(await shown({ owner: alice, mailbox: 'z/b', user: alice })).toEqual({});
        expect(await store.entryOfMailboxes(alice, '/private/specialuse', ['z/b'])).toEqual(new Map());
      });
    });
    describe('object ids (RFC 8474) and save dates (RFC 8514)', () => {
      const OBJECTID = /^[A-Za-z0-9_-]{1,255}$/;

      it('a mailbox keeps its id through a rename and in every view; another mailbox, or one made again, has its own', async () => {
        await store.createMailbox(alice, 'Ids');
        await store.createMailbox(alice, 'Other');
        const first = await store.open(alice, 'Ids');
        const id = first.mailboxId;
        expect(id).toMatch(OBJECTID);
        first.close();
        expect((await store.open(alice, 'Other')).mailboxId).not.toBe(id);
        expect((await store.open(alice, 'INBOX')).mailboxId).not.toBe(id);
        await store.renameMailbox(alice, 'Ids', 'Renamed/Ids');
        expect((await store.open(alice, 'Renamed/Ids')).mailboxId).toBe(id);
        await store.deleteMailbox(alice, 'Renamed/Ids');
        await store.createMailbox(alice, 'Renamed/Ids');
        expect((await store.open(alice, 'Renamed/Ids')).mailboxId).not.toBe(id);
      });

      it('a message keeps its id in every view and through a copy and a move; each message has its own', async () => {
        await store.createMailbox(alice, 'Copies');
        await store.createMailbox(alice, 'Moved');
        const a = await store.deliver(alice, 'INBOX', chunks('Subject: a\n\na\n'));
        const b = await store.deliver(alice, 'INBOX', chunks('Subject: a\n\na\n')); // the same octets: still its own id
        const view = await store.open(alice, 'INBOX');
        const idOf = (v: typeof view, uid: number) => v.emailId(v.get(uid)!);
        const idA = idOf(view, a.uid);
        expect(idA).toMatch(OBJECTID);
        expect(idOf(view, b.uid)).not.toBe(idA);
        await view.store([a.uid], { add: ['\\Seen'] }); // a flag change renames the Maildir file
        expect(idOf(await store.open(alice, 'INBOX'), a.uid)).toBe(idA);
        const copied = await view.copy([a.uid], { account: alice, mailbox: 'Copies' });
        const copies = await store.open(alice, 'Copies');
        expect(idOf(copies, copied.mapping[0][1])).toBe(idA);
        const moved = await view.move([a.uid], { account: alice, mailbox: 'Moved' });
        expect(idOf(await store.open(alice, 'Moved'), moved.mapping[0][1])).toBe(idA);
        // a message removed meanwhile still has its id in a view that showed it
        const shown = view.get(b.uid)!;
        const idB = view.emailId(shown);
        await (await store.open(alice, 'INBOX')).expunge([b.uid]);
        await view.sync();
        expect(view.get(b.uid)).toBeUndefined();
        expect(view.emailId(shown)).toBe(idB);
        copies.close();
        view.close();
      });

      it('the save date is when the message was put into this mailbox, not its internal date; a flag change keeps it', async () => {
        await store.createMailbox(alice, 'Saved');
        const before = Math.floor(Date.now() / 1000) * 1000;
        const old = new Date('2020-01-02T03:04:05Z');
        const m = await store.deliver(alice, 'INBOX', chunks('Subject: s\n\ns\n'), { internalDate: old });
        const view = await store.open(alice, 'INBOX');
        const saved = await view.saveDate(m.uid);
        expect(saved.getTime()).toBeGreaterThanOrEqual(before);
        expect(saved.getTime()).toBeLessThanOrEqual(Date.now());
        expect((await view.internalDate(m.uid)).getTime()).toBe(old.getTime());
        await view.store([m.uid], { add: ['\\Flagged'] });
        expect((await view.saveDate(m.uid)).getTime()).toBe(saved.getTime());
        await new Promise((r) => setTimeout(r, 1100)); // a Maildir save date counts whole seconds
        const copied = await view.copy([m.uid], { account: alice, mailbox: 'Saved' });
        const target = await store.open(alice, 'Saved');
        const copySaved = await target.saveDate(copied.mapping[0][1]);
        expect(copySaved.getTime()).toBeGreaterThan(saved.getTime());
        expect((await target.internalDate(copied.mapping[0][1])).getTime()).toBe(old.getTime());
        await view.expunge([m.uid]);
        expect(await codeOf(() => view.saveDate(m.uid))).toBe(MailError.EXPUNGED);
        target.close();
        view.close();
      });
    });
    describe('mod-sequences (RFC 7162)', () => {
      it('every change raises HIGHESTMODSEQ: a delivery, a flag change (one modseq per call), an expunge; no-ops do not', async () => {
        const view = await store.open(alice, 'INBOX');
        const start = view.highestModseq;
        expect(start).toBeGreaterThanOrEqual(1);
        const one = await store.deliver(alice, 'INBOX', chunks('Subject: one\n\n1\n'));
        const two = await store.deliver(alice, 'INBOX', chunks('Subject: two\n\n2\n'));
        const three = await store.deliver(alice, 'INBOX', chunks('Subject: three\n\n3\n'));
        await view.sync();
        const afterDelivery = view.highestModseq;
        expect(afterDelivery).toBeGreaterThan(start);
        for (const m of view.messages) {
          expect(m.modseq).toBeGreaterThan(start);
          expect(m.modseq).toBeLessThanOrEqual(afterDelivery);
        }
        // one store() call: one new modseq for every message it changed, above everything before
        const changed = await view.store([one.uid, two.uid], { add: ['\\Flagged'] });
        expect(changed.map((m) => m.modseq)).toEqual([changed[0].modseq, changed[0].modseq]);
        expect(changed[0].modseq).toBeGreaterThan(afterDelivery);
        expect(view.highestModseq).toBe(changed[0].modseq);
        expect(view.get(one.uid)!.modseq).toBe(changed[0].modseq);
        // a change that changes nothing gets no modseq
        expect(await view.store([one.uid], { add: ['\\Flagged'] })).toEqual([]);
        expect(view.highestModseq).toBe(changed[0].modseq);
        // another session sees the same modseqs
        const other = await store.open(alice, 'INBOX');
        expect(other.highestModseq).toBe(changed[0].modseq);
        expect(other.get(two.uid)!.modseq).toBe(changed[0].modseq);
        expect(other.get(three.uid)!.modseq).toBeLessThan(changed[0].modseq);
        const storedAt = other.highestModseq;
        await other.store([three.uid], { add: ['\\Seen'] });
        const sync = await view.sync();
        expect(sync.flagsChanged.map((m) => m.uid)).toEqual([three.uid]);
        expect(view.get(three.uid)!.modseq).toBeGreaterThan(storedAt);
        // an expunge: remembered with its modseq
        const beforeExpunge = view.highestModseq;
        expect(view.expungedSince(beforeExpunge)).toEqual([]);
        await other.expunge([two.uid]);
        await view.sync();
        expect(view.highestModseq).toBeGreaterThan(beforeExpunge);
        expect(view.expungedSince(beforeExpunge)).toEqual([two.uid]);
        expect(view.expungedSince(view.highestModseq)).toEqual([]);
        // a message moved away vanishes here too
        await store.createMailbox(alice, 'Archive');
        const beforeMove = view.highestModseq;
        await view.move([one.uid], { account: alice, mailbox: 'Archive' });
        await view.sync();
        expect(view.highestModseq).toBeGreaterThan(beforeMove);
        expect(view.expungedSince(beforeMove)).toEqual([one.uid]);
        const archive = await store.open(alice, 'Archive');
        expect(archive.messages[0].modseq).toBeGreaterThanOrEqual(1);
        expect(archive.highestModseq).toBeGreaterThanOrEqual(archive.messages[0].modseq);
        for (const v of [view, other, archive]) v.close();
      });

      it('a view whose own change is seen by another session reports it once, with its modseq', async () => {
        const { uid } = await store.deliver(alice, 'INBOX', chunks('Subject: a\n\na\n'));
        const view = await store.open(alice, 'INBOX');
        const other = await store.open(alice, 'INBOX');
        const [stored] = await view.store([uid], { replace: ['$Label1'] });
        expect((await view.sync()).flagsChanged).toEqual([]);
        const seen = await other.sync();
        expect(seen.flagsChanged.map((m) => [m.uid, m.modseq])).toEqual([[uid, stored.modseq]]);
        view.close();
        other.close();
      });
    });

    describe('Sieve scripts (RFC 5804 semantics, store/contract.ts SieveScripts)', () => {
      const script = (text: string) => Buffer.from(text);

      it('put, list (sorted, with sizes and the active one), get, activate, rename the active one, deactivate, delete', async () => {
        const scripts = store.sieveScripts(alice);
        expect(await scripts.list()).toEqual([]);
        expect(await scripts.active()).toBeNull();
        expect(await scripts.get('vacation')).toBeNull();
        await scripts.put('vacation', script('require "vacation";\r\nvacation "away";\r\n'));
        await scripts.put('Filters', script('keep;\r\n'));
        await scripts.put('Filters', script('require "fileinto";\r\nfileinto "Junk";\r\n')); // replaced whole
        expect(await scripts.list()).toEqual([
          { name: 'Filters', active: false, size: 39 },
          { name: 'vacation', active: false, size: 39 },
        ]);
        expect((await scripts.get('Filters'))?.toString()).toBe('require "fileinto";\r\nfileinto "Junk";\r\n');
        await scripts.setActive('Filters');
        expect((await scripts.list()).filter((e) => e.active).map((e) => e.name)).toEqual(['Filters']);
        expect(await scripts.active()).toEqual({ name: 'Filters', content: script('require "fileinto";\r\nfileinto "Junk";\r\n') });
        await scripts.rename('Filters', 'Rules');
        expect(await scripts.list()).toEqual([
          { name: 'Rules', active: true, size: 39 },
          { name: 'vacation', active: false, size: 39 },
        ]);
        expect((await scripts.active())?.name).toBe('Rules');
        await scripts.setActive('vacation');
        await scripts.delete('Rules');
        expect((await scripts.list()).map((e) => [e.name, e.active])).toEqual([['vacation', true]]);
        await scripts.setActive(null);
        expect(await scripts.active()).toBeNull();
        await scripts.setActive(null); // none active already: nothing to do
        await scripts.delete('vacation');
        expect(await scripts.list()).toEqual([]);
        // one account's scripts are its own
        await scripts.put('mine', script('keep;'));
        expect(await store.sieveScripts(bob).list()).toEqual([]);
      });

      it('names as RFC 5804 section 1.6 allows them: any printable Unicode, up to 256 characters', async () => {
        const scripts = store.sieveScripts(alice);
        for (const name of ['a', 'Ferien 2026', 'Ünïcødé ✓ 日本', '..', '.hidden', 'x'.repeat(200), 'dovecot']) {
          await scripts.put(name, script('keep;'));
          expect((await scripts.get(name))?.toString()).toBe('keep;');
        }
        expect((await scripts.list()).map((e) => e.name)).toContain('Ünïcødé ✓ 日本');
      });

      it('refusals carry the code each protocol answers by (no script name reaches outside the scripts)', async () => {
        const scripts = store.sieveScripts(alice);
        await scripts.put('on', script('keep;'));
        await scripts.put('other', script('keep;'));
        await scripts.setActive('on');
        const { got, wanted } = await codesOf([
          ['empty name', () => scripts.put('', script('keep;')), MailError.PARAMS],
          ['a slash', () => scripts.put('../../Maildir/cur/x', script('keep;')), MailError.PARAMS],
          ['a slash in get', () => scripts.get('../sieve/on'), MailError.PARAMS],
          ['a NUL', () => scripts.put('a\0b', script('keep;')), MailError.PARAMS],
          ['a line end', () => scripts.put('a\nb', script('keep;')), MailError.PARAMS],
          ['a C1 control', () => scripts.put('a\u0085b', script('keep;')), MailError.PARAMS],
          ['a line separator', () => scripts.put('a\u2028b', script('keep;')), MailError.PARAMS],
          ['half a character', () => scripts.put('a\ud800b', script('keep;')), MailError.PARAMS],
          ['257 characters', () => scripts.put('x'.repeat(257), script('keep;')), MailError.PARAMS],
          ['deleting the active one', () => scripts.delete('on'), MailError.NOTPOSSIBLE],
          ['deleting a missing one', () => scripts.delete('nothing'), MailError.NOTFOUND],
          ['activating a missing one', () => scripts.setActive('nothing'), MailError.NOTFOUND],
          ['renaming a missing one', () => scripts.rename('nothing', 'x'), MailError.NOTFOUND],
          ['renaming onto another', () => scripts.rename('other', 'on'), MailError.EXISTS],
          ['renaming onto itself', () => scripts.rename('other', 'other'), MailError.EXISTS],
          ['renaming to a bad name', () => scripts.rename('other', 'a/b'), MailError.PARAMS],
        ]);
        expect(got).toEqual(wanted);
        // nothing changed by the refusals
        expect((await scripts.list()).map((e) => [e.name, e.active])).toEqual([
          ['on', true],
          ['other', false],
        ]);
      });
    });

    describe('delivery memory (vacation, duplicate)', () => {
      it('remembers a key until it expires, per account', async () => {
        const memory = store.deliveryMemory(alice);
        expect(await memory.seen('vacation:bob@example.net')).toBe(false);
        await memory.remember('vacation:bob@example.net', 3600);
        await memory.remember('dup:<id@x>', 0); // expires at once
        expect(await memory.seen('vacation:bob@example.net')).toBe(true);
        expect(await store.deliveryMemory(alice).seen('vacation:bob@example.net')).toBe(true); // a new handle sees it too
        expect(await memory.seen('dup:<id@x>')).toBe(false);
        expect(await memory.seen('vacation:carol@example.net')).toBe(false);
        expect(await store.deliveryMemory(bob).seen('vacation:bob@example.net')).toBe(false);
        await memory.remember('vacation:bob@example.net', 0); // remembered again, for no time: the later one counts
        expect(await memory.seen('vacation:bob@example.net')).toBe(false);
      });
    });
  });
}

// Quota (RFC 9208; store/quota/): every way a message enters a mailbox is checked by the store, to the last octet.
for (const [name, make] of STORES) {
  describe(`the ${name} store keeps the quota`, () => {
    let fx: Fixture;
    let store: MailStore;
    let limits: Record<string, QuotaValues>;
    const one = 'Subject: q\n\n12345\n'; // 19 octets
    beforeEach(async () => {
      limits = {};
      fx = await make(async (a) => limits[a.name] ?? NO_LIMITS);
      store = fx.store;
    });
    afterEach(async () => {
      await fx.cleanup();
    });

    it('takes a message that fills the storage to the last octet, refuses one octet more (NOQUOTA), and stores nothing of it', async () => {
      limits.alice = { storage: 3 * one.length, messages: 0 };
      await store.deliver(alice, 'INBOX', chunks(one));
      await store.deliver(alice, 'INBOX', chunks(one));
      expect(await codeOf(() => store.deliver(alice, 'INBOX', chunks(`${one}x`)))).toBe(MailError.NOQUOTA);
      await store.deliver(alice, 'INBOX', chunks(one)); // exactly full
      expect(await store.quota(alice)).toEqual({ usage: { storage: 3 * one.length, messages: 3 }, limits: limits.alice });
      expect(await codeOf(() => store.deliver(alice, 'INBOX', chunks('x')))).toBe(MailError.NOQUOTA);
      // a staged append is refused when staged, before anyone relies on it
      expect(await codeOf(() => store.append(alice, 'INBOX', chunks('x')))).toBe(MailError.NOQUOTA);
      const view = await store.open(alice, 'INBOX');
      expect(view.messages).toHaveLength(3);
      view.close();
      expect((await store.recountQuota(alice)).usage).toEqual({ storage: 3 * one.length, messages: 3 });
    });

    it('commitAll() places staged messages together or, when together they do not fit, none of them', async () => {
      limits.alice = { storage: 3 * one.length, messages: 0 };
      await store.deliver(alice, 'INBOX', chunks(one));
      // each fits alone (the store's early look passes), the two together do not
      const two = [await store.append(alice, 'INBOX', chunks(one)), await store.append(alice, 'INBOX', chunks(`${one}x`))];
      expect(await codeOf(() => store.commitAll(two))).toBe(MailError.NOQUOTA);
      expect(await codeOf(() => two[0].commit())).toBe(
        'not a MailStoreError: Error: a message was committed or aborted already, or staged by another store',
      );
      expect(await codeOf(() => store.checkRoom(alice, { storage: 2 * one.length, messages: 2 }))).toBe('no error');
      expect(await codeOf(() => store.checkRoom(alice, { storage: 2 * one.length + 1, messages: 2 }))).toBe(MailError.NOQUOTA);
      // staged while there was room, committed after a delivery took it: still none
      const later = [await store.append(alice, 'INBOX', chunks(one)), await store.append(alice, 'INBOX', chunks(one))];
      await store.deliver(alice, 'INBOX', chunks(one));
      expect(await codeOf(() => store.commitAll(later))).toBe(MailError.NOQUOTA);
      expect((await store.recountQuota(alice)).usage).toEqual({ storage: 2 * one.length, messages: 2 });
      const third = await store.commitAll([await store.append(alice, 'INBOX', chunks('Subject: a\n\nb\n'))]);
      expect(third.map((m) => m.uid)).toEqual([3]);
      const view = await store.open(alice, 'INBOX');
      expect(view.messages.map((m) => m.uid)).toEqual([1, 2, 3]);
      view.close();
    });

    it('counts messages too; expunge and DELETE give the room back', async () => {
      limits.alice = { storage: 0, messages: 2 };
      await store.createMailbox(alice, 'Trash');
      await store.deliver(alice, 'INBOX', chunks(one));
      await store.deliver(alice, 'Trash', chunks(one));
      expect(await codeOf(() => store.deliver(alice, 'INBOX', chunks(one)))).toBe(MailError.NOQUOTA);
      const view = await store.open(alice, 'INBOX');
      expect(await view.expunge(view.messages.map((m) => m.uid))).toHaveLength(1);
      view.close();
      expect((await store.quota(alice)).usage).toEqual({ storage: one.length, messages: 1 });
      await store.deliver(alice, 'INBOX', chunks(one));
      await store.deleteMailbox(alice, 'Trash');
      expect((await store.quota(alice)).usage).toEqual({ storage: one.length, messages: 1 });
      expect((await store.recountQuota(alice)).usage).toEqual({ storage: one.length, messages: 1 });
    });

    it('COPY must fit whole (nothing copied otherwise); MOVE within the account is not checked, into another account it is', async () => {
      limits.alice = { storage: 3 * one.length, messages: 0 };
      limits.bob = { storage: one.length, messages: 0 };
      await store.createMailbox(alice, 'Archive');
      await store.createMailbox(bob, 'Shared');
      await store.deliver(alice, 'INBOX', chunks(one));
      await store.deliver(alice, 'INBOX', chunks(one));
      const view = await store.open(alice, 'INBOX');
      const uids = view.messages.map((m) => m.uid);
      expect(await codeOf(() => view.copy(uids, { account: alice, mailbox: 'Archive' }))).toBe(MailError.NOQUOTA);
      const archive = await store.open(alice, 'Archive');
      expect(archive.messages).toHaveLength(0);
      expect((await view.copy([uids[0]], { account: alice, mailbox: 'Archive' })).mapping).toHaveLength(1); // to the last octet
      expect((await store.quota(alice)).usage).toEqual({ storage: 3 * one.length, messages: 3 });
      // full, yet a move within the account changes nothing
      expect((await view.move([uids[1]], { account: alice, mailbox: 'Archive' })).mapping).toHaveLength(1);
      expect((await store.quota(alice)).usage).toEqual({ storage: 3 * one.length, messages: 3 });
      await archive.sync();
      const two = archive.messages.map((m) => m.uid);
      expect(await codeOf(() => archive.move(two, { account: bob, mailbox: 'Shared' }))).toBe(MailError.NOQUOTA);
      await archive.sync();
      expect(archive.messages).toHaveLength(2);
      expect((await archive.move([two[0]], { account: bob, mailbox: 'Shared' })).mapping).toHaveLength(1);
      expect((await store.quota(alice)).usage).toEqual({ storage: 2 * one.length, messages: 2 });
      expect((await store.quota(bob)).usage).toEqual({ storage: one.length, messages: 1 });
      view.close();
      archive.close();
    });

    it('an account without limits is never refused, and reports its usage', async () => {
      for (let i = 0; i < 3; i++) await store.deliver(alice, 'INBOX', chunks(one));
      expect(await store.quota(alice)).toEqual({ usage: { storage: 3 * one.length, messages: 3 }, limits: NO_LIMITS });
    });
  });
}
