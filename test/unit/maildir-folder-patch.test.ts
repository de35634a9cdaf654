// The folder state of a Maildir folder is patched with what this process changed instead of being built
// again from every message (store/maildir/folder.ts), and views sync by the UIDs the folder says changed
// (view.ts): whatever mix of changes by this process and by another one, every view must end up with
// exactly what a process reading the tree afresh sees, and each sync must report exactly the differences.
import { mkdirSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { AccountAddress } from '../../accounts/names.js';
import type { MailboxView, MessageInfo } from '../../store/contract.js';
import { MaildirStore } from '../../store/maildir/store.js';

const alice: AccountAddress = { name: 'alice', domain: 'example.org' };
let dir: string;

function makeStore(fileWatch: boolean): MaildirStore {
  const folders = {
    accountDir: (a: AccountAddress) => join(dir, a.domain, a.name),
    maildir: (a: AccountAddress) => join(dir, a.domain, a.name, 'Maildir'),
  };
  return new MaildirStore(folders, { mainDomain: 'example.org', watching: { fileWatch } });
}

async function* chunks(text: string): AsyncGenerator<Buffer> {
  yield Buffer.from(text);
}

/** A small deterministic random source (the same run every time). */
function random(seed: number): () => number {
  let x = seed;
  return () => {
    x = (x * 1103515245 + 12345) % 2 ** 31;
    return x / 2 ** 31;
  };
}

type Seen = [number, string, number][];

const shown = (messages: readonly MessageInfo[]): Seen => messages.map((m) => [m.uid, [...m.flags].sort().join(' '), m.modseq]);

/** A view's list kept up to date from what its syncs report only. */
class Model {
  list: Map<number, MessageInfo>;
  constructor(view: MailboxView) {
    this.list = new Map(view.messages.map((m) => [m.uid, m]));
  }
  async sync(view: MailboxView): Promise<void> {
    const changes = await view.sync();
    for (const uid of changes.expunged) {
      expect(this.list.has(uid)).toBe(true);
      this.list.delete(uid);
    }
    for (const m of changes.added) {
      expect(this.list.has(m.uid)).toBe(false);
      this.list.set(m.uid, m);
    }
    for (const m of changes.flagsChanged) {
      expect(this.list.has(m.uid)).toBe(true);
      this.list.set(m.uid, m);
    }
    expect(shown([...this.list.values()].sort((a, b) => a.uid - b.uid))).toEqual(shown(view.messages));
  }
}

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'postern-patch-'));
});
afterEach(() => rm(dir, { recursive: true, force: true }));

describe('Maildir folder state patched with the changes', () => {
  for (const fileWatch of [false, true]) {
    const watched = fileWatch ? 'on' : 'off';
    it(`views agree with a fresh read after any mix of changes here and by another process (file watch ${watched})`, async () => {
      const here = makeStore(fileWatch);
      const other = makeStore(false);
      await here.createMailbox(alice, 'Archive');
      for (let i = 0; i < 40; i++) await here.deliver(alice, 'INBOX', chunks(`Subject: ${i}\n\n${i}\n`));
      const views = [await here.open(alice, 'INBOX'), await here.open(alice, 'INBOX')];
      const models = views.map((v) => new Model(v));
      const elsewhere = await other.open(alice, 'INBOX');
      const next = random(7);
      const pick = (view: MailboxView, n: number) => {
        const uids = view.messages.map((m) => m.uid);
        const out = new Set<number>();
        for (let i = 0; i < n && uids.length > 0; i++) out.add(uids[Math.floor(next() * uids.length)]);
        return [...out];
      };
      const flags = ['\\Seen', '\\Flagged', '\\Answered', 'work', '$Junk'];
      for (let step = 0; step < 120; step++) {
        const which = Math.floor(next() * 2);
        const view = views[which];
        const flag = flags[Math.floor(next() * flags.length)];
        const op = Math.floor(next() * 7);
        if (op <= 1) {
          // a view's own changes show at once (the caller is told by store()), not in its next sync
          const changed = await view.store(pick(view, 1 + Math.floor(next() * 4)), next() < 0.6 ? { add: [flag] } : { remove: [flag] });
          for (const m of changed) models[which].list.set(m.uid, m);
        } else if (op === 2) await view.expunge(pick(view, 1));
        else if (op === 3) await here.deliver(alice, 'INBOX', chunks(`Subject: new ${step}\n\nx\n`));
        else if (op === 4) await view.move(pick(view, 1), { account: alice, mailbox: 'Archive' });
        else if (op === 5) {
          // another process (another worker, node or server on the tree)
          await elsewhere.sync();
          const uids = pick(elsewhere, 2);
          if (next() < 0.5) await elsewhere.store(uids, { add: [flag] });
          else await elsewhere.expunge(uids.slice(0, 1));
        } else await other.deliver(alice, 'INBOX', chunks(`Subject: there ${step}\n\ny\n`));
        // views sync now and then, so that a sync spans several changes
        for (let i = 0; i < views.length; i++) if (next() < 0.5) await models[i].sync(views[i]);
        if (step % 10 === 9) {
          for (let i = 0; i < views.length; i++) await models[i].sync(views[i]);
          const fresh = await makeStore(false).open(alice, 'INBOX');
          for (const v of views) expect(shown(v.messages)).toEqual(shown(fresh.messages));
          fresh.close();
        }
      }
      for (const v of [...views, elsewhere]) v.close();
    }, 60_000);
  }

  it('a flag change and the sync after it cost about as much in a mailbox of 20,000 messages as in one of 200', async () => {
    // the messages are written as files (a delivery each would take long), then given UIDs by the first open
    const accounts = [
      { account: { name: 'small', domain: 'example.org' }, count: 200 },
      { account: { name: 'large', domain: 'example.org' }, count: 20_000 },
    ];
    for (const { account, count } of accounts) {
      const maildir = join(dir, account.domain, account.name, 'Maildir');
      for (const sub of ['cur', 'new', 'tmp']) mkdirSync(join(maildir, sub), { recursive: true });
      for (let i = 0; i < count; i++)
        writeFileSync(join(maildir, 'new', `${1_700_000_000 + i}.M${i}P1Q${i}.test,S=20,W=21`), 'Subject: x\r\n\r\nbody\r\n');
    }
    const store = makeStore(true);
    const views = await Promise.all(
      accounts.map(async ({ account }) => [await store.open(account, 'INBOX'), await store.open(account, 'INBOX')]),
    );
    // watched, as a session with the mailbox selected watches it (the watch vouches for the listing)
    const unwatch = views.flat().map((v) => v.watch(() => {}));
    const costs: number[][] = [[], []];
    for (let round = 0; round < 21; round++) {
      for (let i = 0; i < views.length; i++) {
        // one session changes a message, both sync (as IMAP sessions do at their next command)
        const [mine, theirs] = views[i];
        const uid = mine.messages[(Math.floor(round / 2) * 7919) % mine.messages.length].uid; // flagged, then unflagged
        const started = performance.now();
        await mine.store([uid], round % 2 === 0 ? { add: ['\\Flagged'] } : { remove: ['\\Flagged'] });
        await mine.sync();
        expect((await theirs.sync()).flagsChanged.map((m) => m.uid)).toEqual([uid]);
        costs[i].push(performance.now() - started);
      }
    }
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
    // before the folder state was patched, the large one took 100 times the small one's (every message looked at)
    expect(median(costs[1])).toBeLessThan(4 * median(costs[0]) + 5);
    for (const stop of unwatch) stop();
    for (const pair of views) for (const v of pair) v.close();
  }, 120_000);
});
