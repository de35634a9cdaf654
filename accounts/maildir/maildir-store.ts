// The embedded mail store: each account's mailboxes in Maildir++ under its account folder.
import { mkdir, readdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { AccountStore } from '../account-store.js';
import type { DeliveryResult, MailboxSnapshot, MailStore, StagedDelivery } from '../mail-store.js';
import type { AccountAddress } from '../names.js';
import { stageInMaildir } from './deliver.js';
import { isInbox } from '../mail-store.js';
import { mailboxFolder } from './mailbox-path.js';
import { MaildirSnapshot, type SnapshotOptions } from './maildir-snapshot.js';
import { checkRealFolders, MailboxLinkError, type StoreLog } from './real-folders.js';

const SUBS = ['tmp', 'new', 'cur'] as const;

export class MaildirStore implements MailStore {
  constructor(
    private readonly accounts: AccountStore,
    /** Where odd entries left out of a mailbox are reported. */
    private readonly log?: StoreLog,
  ) {}

  folder(account: AccountAddress, mailbox: string): string {
    return mailboxFolder(this.accounts.maildir(account), mailbox);
  }

  /** The mailbox's folder, checked to be a real folder down from the account folder (no links). */
  private realFolder(account: AccountAddress, mailbox: string, subs: readonly string[]): string {
    const folder = this.folder(account, mailbox); // a bad name throws MailboxNameError
    checkRealFolders(this.accounts.accountDir(account), folder, subs);
    return folder;
  }

  /** True when the mailbox exists. A mailbox folder that is a link is no mailbox (and is logged). */
  async hasMailbox(account: AccountAddress, mailbox: string): Promise<boolean> {
    const folder = this.folder(account, mailbox);
    try {
      this.realFolder(account, mailbox, ['cur']);
      return (await stat(join(folder, 'cur'))).isDirectory();
    } catch (err) {
      if (err instanceof MailboxLinkError) this.log?.warn({ path: err.path }, err.message);
      return false;
    }
  }

  /** Creates the folder's tmp/, new/ and cur/ (INBOX is re-created if an operator removed it). */
  async ensureMailbox(account: AccountAddress, mailbox: string): Promise<string> {
    const folder = this.realFolder(account, mailbox, SUBS);
    for (const sub of SUBS) await mkdir(join(folder, sub), { recursive: true, mode: 0o700 });
    return folder;
  }

  async openMailbox(account: AccountAddress, mailbox: string, options: SnapshotOptions = {}): Promise<MailboxSnapshot> {
    const folder = this.realFolder(account, mailbox, []); // new/ and cur/ are checked as they are listed
    try {
      return await MaildirSnapshot.open(folder, options, this.log);
    } catch (err) {
      // An INBOX whose folders an operator removed is made again (the common case pays nothing for it).
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT' || !isInbox(mailbox)) throw err;
      await this.ensureMailbox(account, mailbox);
      return MaildirSnapshot.open(folder, options, this.log);
    }
  }

  async deliver(account: AccountAddress, mailbox: string, input: AsyncIterable<Buffer>, extraHeader?: string): Promise<DeliveryResult> {
    return (await this.stage(account, mailbox, input, extraHeader)).commit();
  }

  async stage(account: AccountAddress, mailbox: string, input: AsyncIterable<Buffer>, extraHeader?: string): Promise<StagedDelivery> {
    const folder = isInbox(mailbox) ? await this.ensureMailbox(account, mailbox) : this.realFolder(account, mailbox, ['tmp', 'new']);
    return stageInMaildir(folder, input, extraHeader);
  }

  /** Creates a Maildir++ folder (with its "maildirfolder" marker) for a new mailbox. */
  async ensureFolder(account: AccountAddress, mailbox: string): Promise<string> {
    await this.createMailbox(account, mailbox);
    return this.folder(account, mailbox);
  }

  async createMailbox(account: AccountAddress, mailbox: string): Promise<boolean> {
    if (isInbox(mailbox) || (await this.hasMailbox(account, mailbox))) return false;
    const folder = await this.ensureMailbox(account, mailbox);
    await writeFile(join(folder, 'maildirfolder'), '', { mode: 0o600 });
    return true;
  }

  /** The account's mailboxes: INBOX, then the Maildir++ folders as "a/b" names, sorted. */
  async listMailboxes(account: AccountAddress): Promise<string[]> {
    const names: string[] = [];
    for (const entry of await readdir(this.accounts.maildir(account), { withFileTypes: true })) {
      if (entry.isDirectory() && entry.name.startsWith('.') && entry.name.length > 1) names.push(entry.name.slice(1).split('.').join('/'));
    }
    return ['INBOX', ...names.sort()];
  }
}
