// A message MaildirStore.append() wrote into tmp/ and holds until it is committed or aborted. Committed
// alone (commit()) or with others of the same folder (commitStaged(): MULTIAPPEND, RFC 3502), the
// messages are placed by one place() under one quota turn: the room is checked for all of them at once,
// so a batch that does not fit stores none of them (OverQuotaError), and every one leaves tmp/.
import { unlink } from 'node:fs/promises';
import type { AppendedMessage, StagedMessage } from '../contract.js';
import type { MaildirFolder } from './folder.js';
import type { MaildirQuota } from './maildirsize.js';
import { place, type Placing } from './place.js';

/** What a staged message is made of: the written file, how it is placed, and whose quota it counts on. */
export interface MaildirStaging extends Placing {
  readonly folder: MaildirFolder;
  readonly quota: MaildirQuota;
}

interface Held {
  readonly staging: MaildirStaging;
  done: boolean;
}

/** Each staged message this store made, until it is committed or aborted (no path crosses the contract). */
const held = new WeakMap<StagedMessage, Held>();

export function stagedMessage(staging: MaildirStaging): StagedMessage {
  const staged: StagedMessage = {
    async commit(): Promise<AppendedMessage> {
      return (await commitStaged([staged]))[0];
    },
    async abort(): Promise<void> {
      const h = held.get(staged)!;
      h.done = true;
      await unlink(h.staging.written.tmp).catch(() => {});
    },
  };
  held.set(staged, { staging, done: false });
  return staged;
}

/** The folder a message was staged for (the store keeps its SEARCH index up to date after the commit). */
export function stagedFolder(staged: StagedMessage): MaildirFolder | undefined {
  return held.get(staged)?.staging.folder;
}

/** Places staged messages of one folder together: all of them or, over quota, none (their files removed). */
export async function commitStaged(staged: readonly StagedMessage[]): Promise<AppendedMessage[]> {
  const all = staged.map((m) => held.get(m));
  if (all.some((h) => h === undefined || h.done)) throw new Error('a message was committed or aborted already, or staged by another store');
  const items = (all as Held[]).map((h) => h.staging);
  for (const h of all as Held[]) h.done = true;
  if (items.length === 0) return [];
  const { folder, quota } = items[0];
  try {
    if (items.some((i) => i.folder.path !== folder.path)) throw new Error('messages staged for different mailboxes are committed apart');
    const add = { storage: items.reduce((sum, i) => sum + i.written.size, 0), messages: items.length };
    const { uids, uidValidity } = await quota.withRoom(add, async () => ({ result: await place(folder, items), added: add }));
    return items.map((i, n) => ({ uid: uids[n], uidValidity, key: i.written.base, storedSize: i.written.size, size: i.written.crlfSize! }));
  } catch (err) {
    await Promise.all(items.map((i) => unlink(i.written.tmp).catch(() => {})));
    throw err;
  }
}
