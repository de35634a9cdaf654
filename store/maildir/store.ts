// The embedded mail store (MailStore in ../store/contract.ts): each account's mailboxes in Maildir++
// under its account folder, with Dovecot's own metadata in Dovecot's formats (dovecot-uidlist,
// dovecot-keywords, dovecot-uidvalidity, subscriptions, dovecot-acl), so Dovecot and Postern can serve
// one tree at the same time. INBOX is the Maildir root; "lists/info" is the folder ".lists.info", each
// level in modified UTF-7 as Dovecot writes it.
import { mkdir, readdir, rename, rm, stat, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { AccountAddress } from '../../accounts/names.js';
import { ALL_RIGHTS, type Grantee, rightsFromAcl } from '../../accounts/rights.js';
import {
  type Acl,
  type AppendedMessage,
  type AppendOptions,
  checkMailboxName,
  DELIMITER,
  isInbox,
  type MailboxEntry,
  MailboxNameTooLongError,
  MailboxNotFoundError,
  MailboxOperationError,
  MailError,
  type MailboxRef,
  type MailboxView,
  type MailStore,
  normalizeFlag,
  parentsOf,
  type StagedMessage,
  type MetadataScope,
  MailStoreError,
} from '../contract.js';
import { forgetMailbox, type MetadataPlaces, privateEntryByGuid, readMailboxGuid, readMetadata, writeMetadata } from './metadata.js';
import { readAclFile, setRightsInFile } from './acl-file.js';
import { type FolderState, type FolderWatching, MaildirFolder } from './folder.js';
import { decodeMutf7, encodeMutf7 } from '../../lib/mutf7.js';
import { writeToTmp } from './place.js';
import { checkRealFolders, MailboxLinkError, reportOnce, type StoreLog } from './real-folders.js';
import { checkRealFoldersQuick } from './real-folders-now.js';
import { type InPlacePolicy, learnFileSystem, setInPlacePolicy } from '../../lib/in-place.js';
import { changeSubscription, readSubscriptions } from './subscriptions.js';
import { inheritOwner } from './owner.js';
import { cleanTmpSometimes } from './tmp-cleanup.js';
import { MaildirView } from './view.js';
import { MaildirQuota, sumFolder } from './maildirsize.js';
import { NO_LIMITS, type QuotaLimitsOf, type QuotaReport } from '../quota/quota.js';
import type { QuotaValues } from '../quota/quota.js';
import { commitStaged, stagedFolder, stagedMessage } from './staged.js';
import type { ViewIndex } from './view.js';
import { MaildirSieveScripts } from './sieve-scripts.js';
import { MaildirDeliveryMemory } from './delivery-memory.js';

/** Where accounts keep their mail (the account store knows). */
export interface AccountFolders {
  accountDir(a: AccountAddress): string;
  maildir(a: AccountAddress): string;
}

export interface MaildirStoreOptions {
  /** Where an ACL's "user=NAME" without a domain points. */
  mainDomain: string;
  /** Where odd entries left out of a mailbox, and other things for the operator, are reported. */
  log?: StoreLog;
  /** Change notices between sessions and nodes, and whether the kernel's file watch is used too (default: yes). */
  watching?: FolderWatching;
  /** Each account's quota limits (store/quota/limits.ts); none without it. */
  quota?: QuotaLimitsOf;
  /** Whether quick file-system calls may be made in place (lib/in-place.ts; config store.inPlaceCalls). Default auto. */
  inPlaceCalls?: InPlacePolicy;
  /**
   * Whether each mailbox keeps a SEARCH index (store/search-index/; config `index`), and whether other
   * machines share the tree (sharedTree: the index file then uses SQLite's rollback journal, not WAL). Default: no index.
   */
  searchIndex?: boolean;
  sharedTree?: boolean;
}

const SUBS = ['tmp', 'new', 'cur'] as const;
/** cur/ is what makes a folder a mailbox (as exists() looks). */
const CUR = SUBS.indexOf('cur');
/** The longest folder name most file systems keep (NAME_MAX), in octets. */
const MAX_FOLDER_NAME = 255;
/** Account folders remembered as having had their file system learned. */
const KEPT_FILE_SYSTEMS = 100_000;
/**
 * Folders whose state is kept between sessions (a view keeps its own folder alive meanwhile): always the
 * last 64 used, and up to 2,048 while they hold at most 50,000 messages in all. A site's POP users sign in
 * in turn every few minutes: a folder kept is a sign-in without readdir of new/ and cur/ or a whole read of
 * the uidlist.
 */
const KEPT_FOLDERS = 64;
const KEPT_FOLDERS_MAX = 2048;
const KEPT_MESSAGES = 50_000;
/** How often (in uses of a folder) the kept folders' messages are counted against KEPT_MESSAGES. */
const TRIM_EVERY = 32;

export class MaildirStore implements MailStore {
  private readonly folders = new Map<string, MaildirFolder>();
  /** Uses of folder() (the kept folders are trimmed at every TRIM_EVERY-th). */
  private uses = 0;

  /** Account folders whose file system was asked for (learnFileSystem), bounded. */
  private readonly fileSystemsLearned = new Set<string>();

  constructor(
    private readonly accounts: AccountFolders,
    private readonly options: MaildirStoreOptions,
  ) {
    setInPlacePolicy(options.inPlaceCalls ?? 'auto');
  }

  /**
   * The file system each account folder is on is learned once per process, at its first use (statfs(2),
   * through the pool; in-place calls are off until it answers): a network or FUSE one turns in-place calls off
   * for good (lib/in-place.ts). Per account, as a directory's homes or a linked domain folder may live elsewhere.
   */
  private learnFileSystemOf(accountDir: string): void {
    if (this.fileSystemsLearned.has(accountDir) || this.options.inPlaceCalls === 'never') return;
    if (this.fileSystemsLearned.size >= KEPT_FILE_SYSTEMS) this.fileSystemsLearned.clear(); // asked again: harmless
    this.fileSystemsLearned.add(accountDir);
    void learnFileSystem(accountDir);
  }

  /** The folder path of a mailbox (the name checked; it may not exist). */
  private pathOf(account: AccountAddress, mailbox: string): string {
    const name = checkMailboxName(mailbox);
    this.learnFileSystemOf(this.accounts.accountDir(account));
    const root = this.accounts.maildir(account);
    if (name === 'INBOX') return root;
    // Maildir++ keeps every level in one folder name: in modified UTF-7, 200 characters can be too many
    const folder = `.${name.split(DELIMITER).map(encodeMutf7).join('.')}`;
    if (Buffer.byteLength(folder) > MAX_FOLDER_NAME)
      throw new MailboxNameTooLongError(`the mailbox name is too long to be kept (at most ${MAX_FOLDER_NAME} octets on disk)`);
    return join(root, folder);
  }

  /** The folder path, checked to be real folders down from the account folder (no links). */
  private async realPath(account: AccountAddress, mailbox: string, subs: readonly string[] = []): Promise<string> {
    const path = this.pathOf(account, mailbox);
    await checkRealFolders(this.accounts.accountDir(account), path, subs);
    return path;
  }

  private folder(account: AccountAddress, path: string): MaildirFolder {
    let f = this.folders.get(path);
    if (f) {
      this.folders.delete(path); // most recently used last
    } else {
      f = new MaildirFolder(path, this.accounts.maildir(account), this.options.log, this.options.watching);
    }
    this.folders.set(path, f);
    cleanTmpSometimes(path, (removed) => this.options.log?.warn({ path, removed }, 'removed files that writers which died left in tmp/'));
    // the messages the kept folders list are counted at every TRIM_EVERY-th use (or when past KEPT_FOLDERS_MAX): counted at
    // each, over 200 folders, it was the costliest function of a cached POP sign-in; the bound is one of memory, not exact
    if (this.folders.size > KEPT_FOLDERS && (this.folders.size > KEPT_FOLDERS_MAX || ++this.uses % TRIM_EVERY === 0)) {
      let messages = 0;
      for (const kept of this.folders.values()) messages += kept.listedMessages;
      while (this.folders.size > KEPT_FOLDERS && (this.folders.size > KEPT_FOLDERS_MAX || messages > KEPT_MESSAGES)) {
        const oldest = this.folders.keys().next().value!;
        const gone = this.folders.get(oldest)!;
        messages -= gone.listedMessages;
        gone.release();
        this.folders.delete(oldest);
      }
    }
    return f;
  }

  private forget(prefix: string): void {
    for (const [path, folder] of [...this.folders]) {
      if (path !== prefix && !path.startsWith(`${prefix}.`)) continue;
      folder.release();
      this.folders.delete(path);
    }
    // their index files moved or went with them: the connections to them are closed (opened again where they are now)
    void this.indexes?.then((indexes) => indexes.forget(prefix));
  }

  private async exists(path: string): Promise<boolean> {
    try {
      return (await stat(join(path, 'cur'))).isDirectory();
    } catch {
      return false;
    }
  }

  /**
   * Makes what is missing of a folder and its tmp/, new/ and cur/ (INBOX is re-made, whole or in part,
   * if an operator removed it); the check for links says what is there already, which is not made
   * again (this runs on every delivery to INBOX).
   */
  private async make(account: AccountAddress, mailbox: string): Promise<string> {
    const path = this.pathOf(account, mailbox);
    const found = await checkRealFoldersQuick(this.accounts.accountDir(account), path, SUBS);
    // undefined: there already (someone made it meanwhile), and left as it is
    if (!found.folder && (await mkdir(path, { recursive: true, mode: 0o700 })) !== undefined) await inheritOwner(path, { created: true });
    for (const [i, sub] of SUBS.entries()) {
      if (found.subs[i]) continue;
      try {
        await mkdir(join(path, sub), { mode: 0o700 });
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'EEXIST') continue; // made meanwhile
        throw err;
      }
      await inheritOwner(join(path, sub), { created: true });
    }
    if (!found.subs[CUR]) {
      if (!isInbox(mailbox)) {
        await writeFile(join(path, 'maildirfolder'), '', { mode: 0o600 });
        await inheritOwner(join(path, 'maildirfolder'), { created: true });
      }
      await this.folder(account, path).create();
    }
    return path;
  }

  /** The folder messages go into: INBOX is made when missing, another mailbox must be there. */
  private async targetPath(account: AccountAddress, mailbox: string): Promise<string> {
    if (isInbox(mailbox)) return this.make(account, 'INBOX');
    const path = this.pathOf(account, mailbox);
    const found = await checkRealFoldersQuick(this.accounts.accountDir(account), path, SUBS);
    if (!found.subs[CUR]) throw new MailboxNotFoundError(mailbox);
    return path;
  }

  async listMailboxes(account: AccountAddress): Promise<MailboxEntry[]> {
    const root = this.accounts.maildir(account);
    const names = new Map<string, boolean>(); // name -> has a folder of its own
    let entries: import('node:fs').Dirent[] = [];
    try {
      entries = await readdir(root, { withFileTypes: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    for (const e of entries) {
      if (!e.isDirectory() || !e.name.startsWith('.') || e.name === '.' || e.name === '..' || e.name.length < 2) continue;
      let name: string;
      try {
        name = checkMailboxName(e.name.slice(1).split('.').map(decodeMutf7).join(DELIMITER));
      } catch {
        continue; // a folder no mailbox name stands for
      }
      if (name === 'INBOX' || !(await this.exists(join(root, e.name)))) continue;
      if (
        name.startsWith('INBOX/') &&
        /^\.inbox\./i.test(e.name) &&
        !e.name.startsWith('.INBOX.') &&
        !(await this.adoptInboxCase(root, e.name, name))
      )
        continue;
      names.set(name, true);
      // a level only there for the mailboxes below it; INBOX is always a mailbox ("INBOX/x")
      for (const parent of parentsOf(name)) if (!names.has(parent) && parent !== 'INBOX') names.set(parent, false);
    }
    const all = [...names.keys()];
    const sorted = all.sort();
    const entry = (name: string, selectable: boolean): MailboxEntry => ({
      name,
      selectable,
      hasChildren: all.some((n) => n.startsWith(`${name}${DELIMITER}`)),
    });
    return [entry('INBOX', true), ...sorted.map((n) => entry(n, names.get(n)!))];
  }

  /**
   * A folder ".inbox.x" (made before "inbox/x" meant "INBOX/x") is renamed to the ".INBOX.x" its name now
   * points to, so its mail stays reachable; false when that cannot be done (a ".INBOX.x" exists too:
   * the operator is told, and it is left out).
   */
  private async adoptInboxCase(root: string, folder: string, name: string): Promise<boolean> {
    const canonical = `.INBOX${folder.slice(6)}`;
    try {
      if (await this.exists(join(root, canonical))) throw new Error(`${canonical} exists too`);
      await rename(join(root, folder), join(root, canonical));
      this.forget(join(root, folder));
      this.options.log?.warn(
        { from: join(root, folder), to: join(root, canonical) },
        `mailbox folder renamed: ${name} is below INBOX (INBOX is case-insensitive)`,
      );
      return true;
    } catch (err) {
      reportOnce(
        this.options.log,
        join(root, folder),
        `a folder for ${name} beside ${canonical}: merge them by hand (${(err as Error).message})`,
      );
      return false;
    }
  }

  async hasMailbox(account: AccountAddress, mailbox: string): Promise<boolean> {
    if (isInbox(mailbox)) return true; // made when first used
    try {
      // cur/ there as a real folder (each delivery to a mailbox asks: the look-ups are made in place when allowed)
      return (await checkRealFoldersQuick(this.accounts.accountDir(account), this.pathOf(account, mailbox), ['cur'])).subs[0];
    } catch (err) {
      // a mailbox folder that is a link is no mailbox (and the operator is told)
      if (!(err instanceof MailboxLinkError)) throw err;
      this.options.log?.warn({ path: err.path }, err.message);
      return false;
    }
  }

  async createMailbox(account: AccountAddress, mailbox: string): Promise<boolean> {
    const name = checkMailboxName(mailbox);
    if (await this.hasMailbox(account, name)) return false;
    for (const parent of parentsOf(name)) if (!(await this.hasMailbox(account, parent))) await this.make(account, parent);
    await this.make(account, name);
    return true;
  }

  async renameMailbox(account: AccountAddress, from: string, to: string): Promise<void> {
    const source = checkMailboxName(from);
    const target = checkMailboxName(to);
    if (isInbox(target)) throw new MailboxOperationError(MailError.NOTPOSSIBLE, 'INBOX cannot be a new name');
    if (!(await this.hasMailbox(account, source))) throw new MailboxNotFoundError(from);
    if (await this.hasMailbox(account, target)) throw new MailboxOperationError(MailError.EXISTS, `${to} exists already`);
    if (target.startsWith(`${source}${DELIMITER}`))
      throw new MailboxOperationError(MailError.NOTPOSSIBLE, `${from} cannot be moved below itself`);
    for (const parent of parentsOf(target)) if (!(await this.hasMailbox(account, parent))) await this.make(account, parent);
    if (source === 'INBOX') {
      // RFC 9051 section 6.3.6: INBOX's messages move into the new mailbox; INBOX stays, empty
      await this.make(account, target);
      const inbox = await this.open(account, 'INBOX');
      await inbox.move(
        inbox.messages.map((m) => m.uid),
        { account, mailbox: target },
      );
      inbox.close();
      return;
    }
    const root = this.accounts.maildir(account);
    const sourcePath = await this.realPath(account, source);
    const targetPath = await this.realPath(account, target);
    const prefix = sourcePath.slice(root.length + 1); // ".lists"
    const resume = await this.holdIndexes(sourcePath);
    try {
      for (const e of await readdir(root)) {
        if (e !== prefix && !e.startsWith(`${prefix}.`)) continue;
        await rename(join(root, e), join(root, targetPath.slice(root.length + 1) + e.slice(prefix.length)));
      }
      this.forget(sourcePath);
    } finally {
      resume();
    }
  }

  async deleteMailbox(account: AccountAddress, mailbox: string): Promise<void> {
    const name = checkMailboxName(mailbox);
    if (name === 'INBOX') throw new MailboxOperationError(MailError.NOTPOSSIBLE, 'INBOX cannot be deleted');
    const path = await this.realPath(account, name);
    if (!(await this.exists(path))) throw new MailboxNotFoundError(mailbox);
    // its messages leave the quota's usage with it
    const [fresh, seen] = await Promise.all([sumFolder(join(path, 'new')), sumFolder(join(path, 'cur'))]);
    const guid = await readMailboxGuid(path).catch(() => null); // its metadata entries go with it
    // Only its own folder goes: the mailboxes below it have folders of their own (".a.b" beside ".a"),
    // and "a" is then listed as a level above them (\Noselect), as Maildir++ shows a missing parent.
    const resume = await this.holdIndexes(path);
    try {
      await rm(path, { recursive: true, force: true });
      this.forget(path);
    } finally {
      resume();
    }
    await this.quotaOf(account).changed({ storage: -(fresh.storage + seen.storage), messages: -(fresh.messages + seen.messages) });
    if (guid) await forgetMailbox(this.metadataPlaces, account, guid);
  }

  async subscriptions(account: AccountAddress): Promise<string[]> {
    return (await readSubscriptions(this.accounts.maildir(account))).sort();
  }

  async subscribe(account: AccountAddress, mailbox: string): Promise<void> {
    await changeSubscription(this.accounts.maildir(account), checkMailboxName(mailbox), true);
  }

  async unsubscribe(account: AccountAddress, mailbox: string): Promise<void> {
    await changeSubscription(this.accounts.maildir(account), checkMailboxName(mailbox), false);
  }

  private async existingPath(account: AccountAddress, mailbox: string): Promise<string> {
    const path = await this.realPath(account, mailbox);
    if (!isInbox(mailbox) && !(await this.exists(path))) throw new MailboxNotFoundError(mailbox);
    return path;
  }

  async acl(owner: AccountAddress, mailbox: string): Promise<Acl> {
    return readAclFile(await this.existingPath(owner, mailbox));
  }

  async setRights(owner: AccountAddress, mailbox: string, grantee: Grantee, rights: string): Promise<Acl> {
    return setRightsInFile(await this.existingPath(owner, mailbox), grantee, rights);
  }

  async rights(owner: AccountAddress, mailbox: string, user: AccountAddress): Promise<string> {
    if (owner.name === user.name && owner.domain === user.domain) return ALL_RIGHTS;
    return rightsFromAcl(await readAclFile(await this.existingPath(owner, mailbox)), user, this.options.mainDomain);
  }

  async append(
    account: AccountAddress,
    mailbox: string,
    input: AsyncIterable<Buffer>,
    options: AppendOptions = {},
    /** Look at the quota before the message is staged too (not for deliver(), which commits at once). */
    lookEarly = true,
  ): Promise<StagedMessage> {
    const path = await this.targetPath(account, mailbox);
    const flags = new Set((options.flags ?? []).map(normalizeFlag));
    const written = await writeToTmp(path, input);
    const folder = this.folder(account, path);
    const quota = this.quotaOf(account);
    // a message that cannot fit is refused now, before anyone relies on its staging (a submission's relay)
    if (lookEarly) {
      await quota.check({ storage: written.size, messages: 1 }).catch(async (err: unknown) => {
        await unlink(written.tmp).catch(() => {});
        throw err;
      });
    }
    return stagedMessage({ folder, quota, written, flags, internalDate: options.internalDate });
  }

  async deliver(account: AccountAddress, mailbox: string, input: AsyncIterable<Buffer>, options?: AppendOptions): Promise<AppendedMessage> {
    const staged = await this.append(account, mailbox, input, options, false);
    const appended = await staged.commit();
    this.indexLater(stagedFolder(staged));
    return appended;
  }

  async commitAll(staged: readonly StagedMessage[]): Promise<AppendedMessage[]> {
    const folder = staged.length > 0 ? stagedFolder(staged[0]) : undefined;
    const appended = await commitStaged(staged);
    this.indexLater(folder);
    return appended;
  }

  /** This process's SEARCH indexes (store/search-index/), loaded at the first use: a command that keeps none never loads them. */
  private indexes?: Promise<import('../search-index/search-indexes.js').SearchIndexes>;

  private searchIndexes(): Promise<import('../search-index/search-indexes.js').SearchIndexes> {
    const log = this.options.log as import('../search-index/mailbox-index.js').IndexLog | undefined;
    return (this.indexes ??= import('../search-index/search-indexes.js').then((m) =>
      m.searchIndexes(log, this.options.sharedTree ? 'delete' : 'wal'),
    ));
  }

  /**
   * The folder's messages as they are now, for the index's upkeep thread: their UIDs and sizes, and their
   * files when the thread asks (from the listing in memory: no file call, and no message read here).
   */
  private async indexSnapshot(folder: MaildirFolder): Promise<import('../search-index/upkeep-job.js').MailboxFiles> {
    const state = await folder.state();
    const uids = new Uint32Array(state.messages.length);
    const sizes = new Float64Array(state.messages.length);
    for (const [i, m] of state.messages.entries()) {
      uids[i] = m.uid;
      sizes[i] = m.size;
    }
    const pathOf = (uid: number): string | null => {
      const m = state.byUid.get(uid);
      const e = m && folder.entry(m.key);
      return e ? `${folder.path}/${e.sub}/${e.name}` : null; // (a template, not join(): this runs for every message)
    };
    return { snapshot: { uidValidity: state.uidValidity, uids, sizes }, pathsOf: (list) => list.map(pathOf) };
  }

  /** The mailbox's messages and their files, for the SEARCH index's upkeep thread (postern index rebuild). */
  indexFiles(account: AccountAddress, mailbox: string): Promise<import('../search-index/upkeep-job.js').MailboxFiles> {
    return this.indexSnapshot(this.folder(account, this.pathOf(account, isInbox(mailbox) ? 'INBOX' : mailbox)));
  }

  /** Holds the SEARCH index upkeep of `path` and the folders below it (renamed or deleted meanwhile): none writes there. */
  private async holdIndexes(path: string): Promise<() => void> {
    if (!this.options.searchIndex) return () => {};
    return (await import('../search-index/search-indexes.js')).holdSearchIndexes(path);
  }

  /** Ends this process's SEARCH index upkeep thread (the server stops); nothing when no index was used. */
  async stopIndexing(): Promise<void> {
    if (!this.options.searchIndex) return;
    // the process's indexes, whichever store (before a SIGHUP's reload) started them
    await (await import('../search-index/search-indexes.js')).stopSearchIndexes();
  }

  /** Messages came: the folder's index takes them in the background (never awaited: a delivery answers at once). */
  private indexLater(folder: MaildirFolder | undefined): void {
    if (!this.options.searchIndex || folder === undefined) return;
    void this.searchIndexes().then(
      (indexes) => indexes.keepUp(folder.path, () => this.indexSnapshot(folder)),
      () => {},
    );
  }

  /** How a view of `folder` gets its index (none when the store keeps none). */
  private async viewIndexOf(folder: MaildirFolder): Promise<((view: MailboxView) => ViewIndex) | undefined> {
    if (!this.options.searchIndex) return undefined;
    const indexes = await this.searchIndexes();
    const { ViewSearchIndex } = await import('../search-index/search-indexes.js');
    return (view) => new ViewSearchIndex(indexes, folder.path, view, () => this.indexSnapshot(folder));
  }

  async checkRoom(account: AccountAddress, add: QuotaValues): Promise<void> {
    await this.quotaOf(account).check(add);
  }

  async open(account: AccountAddress, mailbox: string): Promise<MailboxView> {
    const name = isInbox(mailbox) ? 'INBOX' : mailbox;
    const path = this.pathOf(account, name);
    // the check for links down to the folder, in place while lib/in-place.ts allows it: every POP sign-in and
    // IMAP SELECT or STATUS opens a mailbox, and each lstat through the thread pool costs several times the
    // call itself. Its cur/ and new/ are the folder's look's to find (folder.ts stamp: real folders, not links),
    // or its watch's to vouch for: looked at here too, cur/ was a tenth of a cached POP sign-in's file calls.
    const found = await checkRealFoldersQuick(this.accounts.accountDir(account), path);
    if (!found.folder) {
      if (name !== 'INBOX') throw new MailboxNotFoundError(mailbox);
      await this.make(account, 'INBOX'); // re-made if an operator removed it
    }
    const folder = this.folder(account, path);
    let state: FolderState;
    try {
      state = await folder.state();
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      // a folder without cur/ or new/ is no mailbox (a parent kept for its children); INBOX is made whole again
      if (name !== 'INBOX') throw new MailboxNotFoundError(mailbox);
      await this.make(account, 'INBOX');
      state = await folder.state();
    }
    const view = new MaildirView(
      folder,
      state,
      (to: MailboxRef) => this.folderFor(to),
      { own: this.quotaOf(account), of: (a) => this.quotaOf(a) },
      await this.viewIndexOf(folder),
    );
    return view;
  }

  /** The account's quota over its Maildir root (maildirsize.ts). */
  private quotaOf(account: AccountAddress): MaildirQuota {
    const limits = this.options.quota;
    return new MaildirQuota(this.accounts.maildir(account), limits ? () => limits(account) : async () => NO_LIMITS);
  }

  async quota(account: AccountAddress): Promise<QuotaReport> {
    return this.quotaOf(account).report();
  }

  async recountQuota(account: AccountAddress): Promise<QuotaReport> {
    return this.quotaOf(account).recalculate();
  }

  /** The folder a copy or move goes to (it must exist). */
  private async folderFor(to: MailboxRef): Promise<MaildirFolder> {
    return this.folder(to.account, await this.targetPath(to.account, to.mailbox));
  }

  async removeAccount(account: AccountAddress): Promise<void> {
    this.forget(this.accounts.maildir(account));
  }

  /** Pigeonhole's layout in the account folder (its home): sieve/NAME.sieve and .dovecot.sieve (sieve-scripts.ts). */
  sieveScripts(account: AccountAddress): MaildirSieveScripts {
    this.learnFileSystemOf(this.accounts.accountDir(account));
    return new MaildirSieveScripts(this.accounts.accountDir(account));
  }

  /** postern-sieve-memory in the account folder (delivery-memory.ts). */
  deliveryMemory(account: AccountAddress): MaildirDeliveryMemory {
    return new MaildirDeliveryMemory(this.accounts.accountDir(account));
  }

  // Metadata (RFC 5464): in Dovecot's attribute dict at the Maildir's root, by mailbox GUID (metadata.ts)
  private readonly metadataPlaces: MetadataPlaces = {
    maildir: (a) => this.accounts.maildir(a),
    guid: (a, mailbox) => this.mailboxGuid(a, mailbox),
    ready: async (a) => void (await this.make(a, 'INBOX')),
  };

  /** The mailbox's GUID, from its dovecot-uidlist (made when there is none yet, as opening it would). */
  private async mailboxGuid(account: AccountAddress, mailbox: string): Promise<string> {
    const path = isInbox(mailbox) ? await this.make(account, 'INBOX') : await this.existingPath(account, mailbox);
    let guid = await readMailboxGuid(path);
    if (guid === undefined) {
      await this.folder(account, path).create();
      guid = await readMailboxGuid(path);
    }
    if (!guid)
      throw new MailStoreError(
        MailError.NOTPOSSIBLE,
        `${path}/dovecot-uidlist names no mailbox GUID yet (Dovecot adds one when it rewrites it)`,
      );
    return guid;
  }

  async metadata(scope: MetadataScope): Promise<Map<string, Buffer>> {
    return readMetadata(this.metadataPlaces, scope);
  }

  async setMetadata(scope: MetadataScope, changes: ReadonlyMap<string, Buffer | null>, maxEntries: number): Promise<void> {
    await writeMetadata(this.metadataPlaces, scope, changes, maxEntries);
  }

  async entryOfMailboxes(account: AccountAddress, entry: string, mailboxes: readonly string[]): Promise<Map<string, Buffer>> {
    const out = new Map<string, Buffer>();
    const byGuid = await privateEntryByGuid(this.metadataPlaces, account, entry);
    // most accounts have none: no uidlist is read; else 16 at a time, until every GUID is placed
    for (let at = 0; at < mailboxes.length && out.size < byGuid.size; at += 16) {
      const batch = mailboxes.slice(at, at + 16);
      const guids = await Promise.all(batch.map((name) => readMailboxGuid(this.pathOf(account, name)).catch(() => null)));
      for (const [i, guid] of guids.entries()) {
        const value = guid ? byGuid.get(guid) : undefined;
        if (value) out.set(batch[i], value);
      }
    }
    return out;
  }
}
