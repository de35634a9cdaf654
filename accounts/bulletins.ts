// Bulletins (popper -b): numbered files in pop.bulletinDir ("23.pophost_down_sunday"), each one message.
// At sign-in every bulletin newer than the account's mark is delivered into its INBOX, with To:
// rewritten to the account and Status: removed, and the mark moves on. An account that has no mark yet
// (a new user) is given the current highest number, so new users never get old bulletins.
import { readdir, readFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { RawMessage } from '../submission/message-header.js';
import type { AccountRecord, AccountStore } from './account-store.js';
import { writeFileAtomic } from './atomic-file.js';
import type { MailStore } from './mail-store.js';
import { type AccountAddress, formatAddress } from './names.js';

export interface Bulletin {
  number: number;
  path: string;
}

export class Bulletins {
  constructor(
    private readonly dir: string,
    private readonly accounts: AccountStore,
    private readonly store: MailStore,
  ) {}

  async list(): Promise<Bulletin[]> {
    let names: string[];
    try {
      names = await readdir(this.dir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
    return names
      .map((name) => ({ m: /^(\d{1,9})(?:\.|$)/.exec(name), name }))
      .filter((x) => x.m !== null)
      .map((x) => ({ number: Number(x.m![1]), path: join(this.dir, x.name) }))
      .sort((a, b) => a.number - b.number);
  }

  async highest(): Promise<number> {
    return (await this.list()).at(-1)?.number ?? 0;
  }

  /** Copies `file` into the bulletin folder under the next number. */
  async post(file: string): Promise<Bulletin> {
    const text = await readFile(file);
    const number = (await this.highest()) + 1;
    const suffix = basename(file).replace(/^\d+\.?/, '').replace(/[^A-Za-z0-9._-]/g, '_') || 'bulletin';
    const path = join(this.dir, `${number}.${suffix}`);
    await writeFileAtomic(path, text, 0o644);
    return { number, path };
  }

  /**
   * Delivers the bulletins the account has not had yet; returns how many. `record` is the account as
   * just read at sign-in; the mark is read again under the lock before anything is delivered.
   */
  async deliverNew(record: AccountRecord): Promise<number> {
    const account: AccountAddress = { name: record.name, domain: record.domain };
    const bulletins = await this.list();
    const highest = bulletins.at(-1)?.number ?? 0;
    if (record.bulletinMark !== undefined && record.bulletinMark !== null && record.bulletinMark >= highest) return 0;
    let delivered = 0;
    await this.accounts.transact(account, async (r) => {
      if (r.bulletinMark === undefined || r.bulletinMark === null) {
        r.bulletinMark = highest; // a new user: no old bulletins
        return;
      }
      for (const b of bulletins) {
        if (b.number <= r.bulletinMark) continue;
        const message = RawMessage.parse(await readFile(b.path));
        message.set('To', formatAddress(account));
        message.remove('Status');
        const data = message.toBuffer();
        await this.store.deliver(account, 'INBOX', (async function* () {
          yield data;
        })());
        r.bulletinMark = b.number;
        delivered += 1;
      }
    });
    return delivered;
  }
}
