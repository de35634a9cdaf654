// Bulletins (popper -b): numbered files in pop.bulletinDir ("23.pophost_down_sunday"), each one message.
// At sign-in every bulletin newer than the account's mark is delivered into its INBOX, with To:
// rewritten to the account and Status: removed, and the mark moves on. The rule, popper's: an account
// gets every bulletin posted after it was created and never an older one. `account add` sets the mark
// to the highest number; an account without a mark (made before bulletins were turned on) gets the
// bulletins posted after its creation time (a bulletin's posting time is its file's modification time).
import { readdir, readFile, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { AccountRecord, AccountStore } from '../accounts/account-store.js';
import { writeFileAtomic } from '../lib/atomic-file.js';
import type { MailStore } from '../store/contract.js';
import { type AccountAddress, formatAddress } from '../accounts/names.js';
import { deliveredOctets } from './delivered-octets.js';
import { RawMessage } from './message-header.js';

export interface Bulletin {
  number: number;
  path: string;
  /** When it was posted (the file's modification time), ms since the epoch. */
  posted: number;
}

/** Some bulletins were delivered, then one could not be (a full disk): the mark stops before it. */
export class BulletinDeliveryError extends Error {
  constructor(
    readonly delivered: number,
    override readonly cause: unknown,
  ) {
    super(`bulletin delivery stopped after ${delivered}: ${(cause as Error).message}`);
  }
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
    const out: Bulletin[] = [];
    for (const name of names) {
      const m = /^(\d{1,9})(?:\.|$)/.exec(name);
      if (!m) continue;
      const path = join(this.dir, name);
      const info = await stat(path).catch(() => null);
      if (info?.isFile()) out.push({ number: Number(m[1]), path, posted: info.mtimeMs });
    }
    return out.sort((a, b) => a.number - b.number);
  }

  async highest(): Promise<number> {
    return (await this.list()).at(-1)?.number ?? 0;
  }

  /** Copies the message `text` into the bulletin folder under the next number (atomically: whole or not at all). */
  async post(file: string, text: Buffer): Promise<Bulletin> {
    const number = (await this.highest()) + 1;
    const suffix =
      basename(file)
        .replace(/^\d+\.?/, '')
        .replace(/[^A-Za-z0-9._-]/g, '_') || 'bulletin';
    const path = join(this.dir, `${number}.${suffix}`);
    await writeFileAtomic(path, text, 0o644);
    return { number, path, posted: Date.now() };
  }

  /**
   * Delivers the bulletins the account has not had yet; returns how many. `record` is the account as
   * just read at sign-in; the mark is read again under the lock before anything is delivered. If one
   * cannot be stored, the mark stays on the last one delivered (none is delivered twice, none lost)
   * and BulletinDeliveryError says so.
   */
  async deliverNew(record: AccountRecord): Promise<number> {
    const account: AccountAddress = { name: record.name, domain: record.domain };
    const bulletins = await this.list();
    const highest = bulletins.at(-1)?.number ?? 0;
    if (record.bulletinMark !== undefined && record.bulletinMark !== null && record.bulletinMark >= highest) return 0;
    let delivered = 0;
    let failure: unknown = null;
    await this.accounts.modify(account, async (r) => {
      const created = Date.parse(r.created);
      const due = (b: Bulletin) =>
        r.bulletinMark === undefined || r.bulletinMark === null ? b.posted > created : b.number > r.bulletinMark;
      for (const b of bulletins) {
        if (!due(b)) continue;
        try {
          await this.deliverOne(account, b);
        } catch (err) {
          failure = err;
          break;
        }
        r.bulletinMark = b.number;
        delivered += 1;
      }
      // Nothing was due (or the account had no mark): it has now seen everything up to here.
      if (failure === null) r.bulletinMark = highest;
    });
    if (failure !== null) throw new BulletinDeliveryError(delivered, failure);
    return delivered;
  }

  private async deliverOne(account: AccountAddress, b: Bulletin): Promise<void> {
    const message = RawMessage.parse(await readFile(b.path));
    message.set('To', formatAddress(account));
    message.remove('Status');
    const data = message.toBuffer();
    // a bulletin file may start with an mbox "From " line, as popper's do
    await this.store.deliver(
      account,
      'INBOX',
      deliveredOctets(
        (async function* () {
          yield data;
        })(),
        { dropMboxFromLine: true },
      ),
    );
  }
}
