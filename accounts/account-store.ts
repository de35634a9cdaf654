// The account store: one folder per account, dataDir/accounts/DOMAIN/NAME/, holding account.json
// (settings and the scrypt password hash) and Maildir/ (the mailboxes). With a `directory:` in the
// config (accounts/directory/), the accounts are the directory's instead: read-only to Postern, each
// with the home the directory gives (mail in home/Maildir; dataDir/accounts/DOMAIN/NAME without one).
import { mkdir, readFile, readdir, rm, stat } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { dirname, isAbsolute, join } from 'node:path';
import { withFileLock, writeFileAtomic } from '../lib/atomic-file.js';
import { statQuick } from '../lib/quick-fs.js';
import { type AccountAddress, formatAddress, type LocalDomains } from './names.js';
import type { AuthCache } from './auth-cache.js';
import { needsRehash, verifyStored } from './password-schemes.js';
import { hashPassword, unmatchableHash, verifyNothing, verifyPassword } from './password.js';
import { type DirectoryEntry, DirectoryUnavailable } from './directory/contract.js';
import type { DirectoryHandle } from './directory/open.js';

/** A new password as account.json keeps it: scrypt, in Dovecot's {SCHEME} notation. */
async function storedHash(password: string): Promise<string> {
  return `{SCRYPT}${await hashPassword(password)}`;
}

/** What account.json holds. */
export interface AccountRecord {
  name: string;
  domain: string;
  /**
   * The password hash in Dovecot's passdb notation ("{SCRYPT}$scrypt$...", or a scheme moved from Dovecot such as "{SHA512-CRYPT}$6$...");
   * never the password.
   */
  passwordHash: string;
  /** APOP shared secret (RFC 1939 section 7); APOP needs it in the clear, so the file is mode 0600. */
  apopSecret: string | null;
  disabled: boolean;
  /** ISO date after which sign-in is refused, or null. */
  expires: string | null;
  /** Alerts waiting to be shown at sign-in (CommuniGate), oldest first. */
  alerts: string[];
  /** The highest bulletin delivered (popper's .popbull); absent until the first sign-in or add. */
  bulletinMark?: number | null;
  /** The account's own quota limits, over the config's (`postern quota set`; store/quota/limits.ts); 0 = no limit. */
  quota?: { storage?: number; messages?: number } | null;
  created: string;
}

export interface AccountChanges {
  password?: string;
  apopSecret?: string | null;
  disabled?: boolean;
  expires?: string | null;
}

/** Why a sign-in failed; logged for the operator, never told to the client. */
export type SignInRefusal =
  | 'unknown-user'
  | 'bad-password'
  | 'no-shared-secret'
  | 'disabled'
  | 'expired'
  | 'unusable-hash'
  /** The directory could not answer: a temporary failure, answered as one ([UNAVAILABLE], [SYS/TEMP]), never counted as a failure. */
  | 'unavailable';

export type SignInResult = { ok: true; account: AccountRecord } | { ok: false; reason: SignInRefusal };

/** A problem the operator must fix (a damaged account.json); the message names the file. */
export class AccountStoreError extends Error {}

/** A change asked of an account that lives in a directory, which Postern never writes to. */
export class ReadOnlyDirectoryError extends AccountStoreError {}

/** The record a directory's entry stands for: no alerts, no APOP secret, no bulletins (there is no account.json to mark). */
function directoryRecord(a: AccountAddress, entry: DirectoryEntry): AccountRecord {
  return {
    name: a.name,
    domain: a.domain,
    passwordHash: entry.passwordHash ?? '',
    apopSecret: null,
    disabled: entry.disabled,
    expires: null,
    alerts: [],
    bulletinMark: Number.MAX_SAFE_INTEGER,
    quota: entry.quota,
    created: '',
  };
}

/** How many parsed account records a process keeps (the oldest read goes first). */
const MAX_CACHED_RECORDS = 50_000;
/** How long a stat made by exists() may stand for the file's state when the record is read right after. */
const FRESH_STAT_MS = 50;

/** A copy the caller may change (modify() changes the record it reads before writing it). */
function copyRecord(record: AccountRecord): AccountRecord {
  return { ...record, alerts: [...record.alerts] };
}

export class AccountStore {
  readonly domains: LocalDomains;
  private readonly root: string;
  /** Parsed account.json files by path, with the stat that says which version of the file they are. */
  private readonly records = new Map<string, { version: string; record: AccountRecord }>();
  /** Stats exists() made, for the read of the same record that follows it in a sign-in. */
  private readonly freshStats = new Map<string, { at: number; version: string | null }>();
  /** A directory answer exists() got in the last few milliseconds, by address (taken: it serves once). */
  private readonly freshEntries = new Map<string, { at: number; entry: DirectoryEntry | null }>();

  constructor(
    dataDir: string,
    domains: LocalDomains,
    /** Recent successful password checks (the server passes one; the command line does not). */
    private readonly authCache: AuthCache | null = null,
    /** Replace a hash of another scheme (moved from Dovecot) by a scrypt one at the next correct sign-in. */
    private readonly rehash = false,
    /** The config's `directory:` (opened at its first use), or null: Postern's own account.json files. */
    readonly directory: DirectoryHandle | null = null,
  ) {
    this.root = join(dataDir, 'accounts');
    this.domains = domains;
  }

  /** The homes the directory gave, by address: where accountDir() and maildir() point for its users. */
  private readonly homes = new Map<string, string>();
  /** Homes whose Maildir was made (or found) by this process. */
  private readonly madeHomes = new Set<string>();
  /** A hash the directory gave for some user: an unknown user's password is checked against it (the same cost). */
  private decoyHash: string | null = null;

  accountDir(a: AccountAddress): string {
    if (this.directory) {
      const home = this.homes.get(formatAddress(a));
      if (home) return home;
    }
    return join(this.root, a.domain, a.name);
  }

  /** Whether `a` lives in the directory (a domain's `public` account of shared mailboxes stays Postern's own). */
  private inDirectory(a: AccountAddress): boolean {
    return this.directory !== null && a.name !== 'public';
  }

  /** Refuses a change to an account the directory holds. */
  private refuseWrite(a: AccountAddress): void {
    if (this.inDirectory(a)) {
      throw new ReadOnlyDirectoryError(
        `${formatAddress(a)}: the accounts are in the directory ${this.directory!.description}, which Postern does not change; ` +
          'change it there',
      );
    }
  }

  /**
   * The directory's entry for `a` (its cache answers first). The home it gives is kept for accountDir(),
   * and its Maildir made when missing (as Dovecot makes a home at the first sign-in or delivery).
   * Throws DirectoryUnavailable.
   */
  private async directoryEntry(a: AccountAddress): Promise<DirectoryEntry | null> {
    const entry = await (await this.directory!.directory()).lookup(formatAddress(a));
    if (!entry) return null;
    const key = formatAddress(a);
    const home = entry.home && isAbsolute(entry.home) ? entry.home : join(this.root, a.domain, a.name);
    if (this.homes.get(key) !== home) {
      this.homes.set(key, home);
      if (this.homes.size > MAX_CACHED_RECORDS) this.homes.delete(this.homes.keys().next().value!);
    }
    if (!this.madeHomes.has(home)) {
      for (const sub of ['tmp', 'new', 'cur']) await mkdir(join(home, 'Maildir', sub), { recursive: true, mode: 0o700 });
      this.madeHomes.add(home);
      if (this.madeHomes.size > MAX_CACHED_RECORDS) this.madeHomes.delete(this.madeHomes.values().next().value!);
    }
    return entry;
  }

  /** Closes the directory's connections (server stop, reload). */
  async close(): Promise<void> {
    await this.directory?.close();
  }

  maildir(a: AccountAddress): string {
    return join(this.accountDir(a), 'Maildir');
  }

  private recordPath(a: AccountAddress): string {
    return join(this.accountDir(a), 'account.json');
  }

  /** The account's record, or null when there is no such account. */
  async get(a: AccountAddress): Promise<AccountRecord | null> {
    if (this.inDirectory(a)) {
      const entry = await this.directoryEntry(a);
      return entry ? directoryRecord(a, entry) : null;
    }
    return this.readRecord(this.recordPath(a), a);
  }

  /**
   * account.json as it is now. A sign-in reads it every time, so the parsed record is kept and the file
   * is only read again when a stat says it was replaced or changed (it is always written whole, through
   * a rename: a new inode): one stat per sign-in instead of an open, a read and a close.
   */
  private async readRecord(path: string, a: AccountAddress): Promise<AccountRecord | null> {
    const version = this.takeFreshStat(path) ?? (await this.statVersion(path));
    if (version === null) {
      this.records.delete(path);
      return null;
    }
    const cached = this.records.get(path);
    if (cached?.version === version) return copyRecord(cached.record);
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
    let record: AccountRecord;
    try {
      const parsed = JSON.parse(text) as AccountRecord;
      if (typeof parsed.passwordHash !== 'string') throw new Error('passwordHash is missing');
      record = { ...parsed, alerts: parsed.alerts ?? [], apopSecret: parsed.apopSecret ?? null, expires: parsed.expires ?? null };
    } catch (err) {
      throw new AccountStoreError(
        `${path} is damaged (${(err as Error).message}); restore it or re-create the account with "postern account ` +
          `set ${formatAddress(a)} --password ..."`,
      );
    }
    this.records.delete(path);
    this.records.set(path, { version, record });
    if (this.records.size > MAX_CACHED_RECORDS) this.records.delete(this.records.keys().next().value!);
    return copyRecord(record);
  }

  /** True when the account has an account.json (a stat, not a read: this runs on every sign-in). */
  async exists(a: AccountAddress): Promise<boolean> {
    if (this.inDirectory(a)) {
      const entry = await this.directoryEntry(a);
      // the sign-in that asked (routing looks first) checks the password next: this answer serves it too,
      // so that a sign-in asks the directory once, as Dovecot's passdb lookup does, even without a cache
      this.freshEntries.set(formatAddress(a), { at: performance.now(), entry });
      if (this.freshEntries.size > 1000) this.freshEntries.delete(this.freshEntries.keys().next().value!);
      return entry !== null;
    }
    const path = this.recordPath(a);
    const version = await this.statVersion(path);
    // the sign-in that asked reads the record next: this stat serves it too (one file-system round trip)
    this.freshStats.set(path, { at: performance.now(), version });
    if (this.freshStats.size > 1000) this.freshStats.delete(this.freshStats.keys().next().value!);
    return version !== null;
  }

  /** Which version of the file is there (inode, size, times), or null when there is none. */
  private async statVersion(path: string): Promise<string | null> {
    try {
      const st = await statQuick(path); // in place while lib/in-place.ts allows: this runs on every sign-in
      if (!st.isFile()) return null;
      return `${st.ino}:${st.size}:${st.mtimeNs}:${st.ctimeNs}`;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT' || (err as NodeJS.ErrnoException).code === 'ENOTDIR') return null;
      throw err;
    }
  }

  /** The directory's answer exists() got for `a` in the last few milliseconds, if any (taken: it serves once). */
  private takeFreshEntry(a: AccountAddress): DirectoryEntry | null | undefined {
    const key = formatAddress(a);
    const fresh = this.freshEntries.get(key);
    if (!fresh) return undefined;
    this.freshEntries.delete(key);
    return performance.now() - fresh.at <= FRESH_STAT_MS ? fresh.entry : undefined;
  }

  /** A stat exists() made of `path` in the last few milliseconds (taken: it serves once). */
  private takeFreshStat(path: string): string | null | undefined {
    const fresh = this.freshStats.get(path);
    if (!fresh) return undefined;
    this.freshStats.delete(path);
    return performance.now() - fresh.at <= FRESH_STAT_MS ? fresh.version : undefined;
  }

  async add(
    a: AccountAddress,
    password: string,
    apopSecret: string | null = null,
    bulletinMark: number | null = null,
  ): Promise<AccountRecord> {
    this.refuseWrite(a);
    if (await this.exists(a)) throw new AccountStoreError(`account ${formatAddress(a)} already exists`);
    // A folder without account.json holds someone's mail (a damaged or removed account): never hand it on.
    if (
      await stat(this.accountDir(a)).then(
        () => true,
        () => false,
      )
    ) {
      throw new AccountStoreError(`${this.accountDir(a)} exists without account.json; restore or remove that folder first`);
    }
    const record: AccountRecord = {
      name: a.name,
      domain: a.domain,
      passwordHash: await storedHash(password),
      apopSecret,
      disabled: false,
      expires: null,
      alerts: [],
      bulletinMark,
      created: new Date().toISOString(),
    };
    await mkdir(this.accountDir(a), { recursive: true, mode: 0o700 });
    for (const sub of ['tmp', 'new', 'cur']) await mkdir(join(this.maildir(a), sub), { recursive: true, mode: 0o700 });
    await this.write(record);
    return record;
  }

  /**
   * Creates an account moved from another server, with its password hash as it was stored there
   * ({SCHEME}hash, see password-schemes.ts). Its Maildir may already be in place (moved there first):
   * account.json is written last, so an account exists only once its mail is where it belongs.
   */
  async addImported(
    a: AccountAddress,
    passwordHash: string,
    apopSecret: string | null,
    bulletinMark: number | null,
  ): Promise<AccountRecord> {
    this.refuseWrite(a);
    if (await this.exists(a)) throw new AccountStoreError(`account ${formatAddress(a)} already exists`);
    const record: AccountRecord = {
      name: a.name,
      domain: a.domain,
      passwordHash,
      apopSecret,
      disabled: false,
      expires: null,
      alerts: [],
      bulletinMark,
      created: new Date().toISOString(),
    };
    await mkdir(this.accountDir(a), { recursive: true, mode: 0o700 });
    for (const sub of ['tmp', 'new', 'cur']) await mkdir(join(this.maildir(a), sub), { recursive: true, mode: 0o700 });
    await this.write(record);
    return record;
  }

  /**
   * The "public" account of a domain holds public mailboxes (~public/NAME). Nobody signs in as it:
   * it is created disabled, with no usable password.
   */
  async ensurePublic(domain: string): Promise<AccountAddress> {
    const a = { name: 'public', domain };
    if (await this.exists(a)) return a;
    await mkdir(this.accountDir(a), { recursive: true, mode: 0o700 });
    for (const sub of ['tmp', 'new', 'cur']) await mkdir(join(this.maildir(a), sub), { recursive: true, mode: 0o700 });
    await this.write({
      name: 'public',
      domain,
      passwordHash: '!',
      apopSecret: null,
      disabled: true,
      expires: null,
      alerts: [],
      created: new Date().toISOString(),
    });
    return a;
  }

  async update(a: AccountAddress, changes: AccountChanges): Promise<AccountRecord> {
    this.refuseWrite(a);
    const passwordHash = changes.password !== undefined ? await storedHash(changes.password) : undefined;
    return this.modify(a, (record) => {
      if (passwordHash !== undefined) record.passwordHash = passwordHash;
      if (changes.apopSecret !== undefined) record.apopSecret = changes.apopSecret;
      if (changes.disabled !== undefined) record.disabled = changes.disabled;
      if (changes.expires !== undefined) record.expires = changes.expires;
    });
  }

  /** Reads, changes and writes account.json under a lock (so concurrent changes never lose each other). */
  async modify(a: AccountAddress, change: (record: AccountRecord) => Promise<void> | void): Promise<AccountRecord> {
    this.refuseWrite(a);
    if (!(await this.exists(a))) throw new AccountStoreError(`no account ${formatAddress(a)}`);
    return withFileLock(this.recordPath(a), async () => {
      const record = await this.get(a);
      if (!record) throw new AccountStoreError(`no account ${formatAddress(a)}`);
      await change(record);
      await this.write(record);
      return record;
    });
  }

  /** Queues an alert shown at the account's next sign-ins, one per sign-in, oldest first (CommuniGate). */
  async addAlert(a: AccountAddress, text: string): Promise<number> {
    return (
      await this.modify(a, (record) => {
        record.alerts.push(text);
      })
    ).alerts.length;
  }

  /** Removes and returns the oldest pending alert, or null when there is none. */
  async takeAlert(a: AccountAddress): Promise<string | null> {
    const record = await this.get(a);
    if (!record || record.alerts.length === 0) return null;
    let taken: string | null = null;
    await this.modify(a, (r) => {
      taken = r.alerts.shift() ?? null;
    });
    return taken;
  }

  private async write(record: AccountRecord): Promise<void> {
    await writeFileAtomic(this.recordPath(record), `${JSON.stringify(record, null, 2)}\n`, 0o600);
  }

  /** Every account in every local domain folder, sorted by domain then name. */
  async list(): Promise<AccountRecord[]> {
    if (this.directory) return this.listDirectory();
    const out: AccountRecord[] = [];
    for (const domain of (await readdirOrEmpty(this.root)).sort()) {
      for (const name of (await readdirOrEmpty(join(this.root, domain))).sort()) {
        const record = await this.get({ name, domain });
        if (record) out.push(record);
      }
    }
    return out;
  }

  /**
   * The directory's users (its iterate query) in local domains, and the domains' public accounts, sorted;
   * each user is looked up (its cache answers for most). A name that cannot be an account here is left out.
   */
  private async listDirectory(): Promise<AccountRecord[]> {
    const out: AccountRecord[] = [];
    for (const login of await (await this.directory!.directory()).list()) {
      let a: AccountAddress;
      try {
        a = this.domains.parse(login);
      } catch {
        continue;
      }
      if (!this.inDirectory(a)) continue;
      const entry = await this.directoryEntry(a);
      if (entry) out.push(directoryRecord(a, entry));
    }
    // the domains' public accounts (shared mailboxes) stay Postern's own
    for (const domain of this.domains.list()) {
      const record = await this.get({ name: 'public', domain });
      if (record) out.push(record);
    }
    return out.sort((x, y) => x.domain.localeCompare(y.domain) || x.name.localeCompare(y.name));
  }

  /** Removes the account folder and all its mail. */
  async remove(a: AccountAddress): Promise<void> {
    this.refuseWrite(a);
    if (!(await this.exists(a))) throw new AccountStoreError(`no account ${formatAddress(a)}`);
    await rm(this.accountDir(a), { recursive: true, force: true });
  }

  private get decoyPath(): string {
    return join(this.root, '.nobody', 'account.json');
  }

  /**
   * Writes the decoy record (once): a sign-in as a name that is no account reads it instead, so that
   * both take the same steps — the same file reads queued on the same thread pool as the password
   * checks, and a hash of the same cost. Without it, an unknown name skipped a file read, which showed
   * in the answer time once sign-ins kept the thread pool busy.
   */
  async prepareDecoy(): Promise<void> {
    if (
      await stat(this.decoyPath).then(
        () => true,
        () => false,
      )
    )
      return;
    const secret = randomBytes(24).toString('base64');
    await mkdir(dirname(this.decoyPath), { recursive: true, mode: 0o700 });
    await writeFileAtomic(
      this.decoyPath,
      `${JSON.stringify(
        {
          name: 'nobody',
          domain: this.domains.main,
          passwordHash: unmatchableHash(),
          apopSecret: secret,
          disabled: true,
          expires: null,
          alerts: [],
          created: new Date().toISOString(),
        },
        null,
        2,
      )}\n`,
      0o600,
    );
  }

  /** The record of `a`, or for a name that is no account (null) the decoy, read the same way; null if neither. */
  private async recordOrDecoy(a: AccountAddress | null): Promise<{ record: AccountRecord | null; decoy: AccountRecord | null }> {
    if (a) {
      const record = await this.get(a);
      if (record) return { record, decoy: null };
    }
    const decoy = await this.readRecord(this.decoyPath, { name: 'nobody', domain: this.domains.main }).catch(() => null);
    return { record: null, decoy };
  }

  /**
   * Checks a sign-in. Every path costs one record read and one scrypt computation, so an unknown user,
   * a wrong password and a disabled account take the same time; the reason is for the log only.
   */
  async signIn(a: AccountAddress | null, password: string, now = new Date()): Promise<SignInResult> {
    if (this.directory && (a === null || this.inDirectory(a))) return this.signInToDirectory(a, password, now);
    const { record, decoy } = await this.recordOrDecoy(a);
    if (!record) {
      if (decoy) await verifyPassword(password, decoy.passwordHash);
      else await verifyNothing(password);
      return { ok: false, reason: 'unknown-user' };
    }
    const key = formatAddress(a!);
    if (!this.authCache?.has(key, record.passwordHash, password)) {
      const verdict = await verifyStored(password, record.passwordHash, verifyPassword);
      if (verdict !== 'match') return { ok: false, reason: verdict === 'mismatch' ? 'bad-password' : 'unusable-hash' };
      if (this.rehash && needsRehash(record.passwordHash)) {
        // moved from Dovecot: scrypt from now on (only if nobody changed the password meanwhile)
        const old = record.passwordHash;
        const fresh = await storedHash(password);
        await this.modify(a!, (r) => {
          if (r.passwordHash === old) r.passwordHash = fresh;
        }).catch(() => {}); // a full disk: the old hash still works, the next sign-in tries again
        return usable({ ...record, passwordHash: fresh }, now);
      }
      this.authCache?.add(key, record.passwordHash, password);
    }
    return usable(record, now);
  }

  /**
   * A sign-in against the directory: its entry (or none), then the password against the hash it gave
   * (through the auth cache), or the directory's own check (LDAP's auth bind). An unknown user's password
   * is checked against a hash the directory gave another user, so both cost the same. A directory that
   * cannot answer is 'unavailable', never a wrong password.
   */
  private async signInToDirectory(a: AccountAddress | null, password: string, now: Date): Promise<SignInResult> {
    try {
      const entry = a ? (this.takeFreshEntry(a) ?? (await this.directoryEntry(a))) : null;
      if (!entry || !a) {
        if (this.decoyHash) await verifyStored(password, this.decoyHash, verifyPassword);
        else await verifyNothing(password);
        return { ok: false, reason: 'unknown-user' };
      }
      const key = formatAddress(a);
      const record = directoryRecord(a, entry);
      const directory = await this.directory!.directory();
      if (entry.passwordHash === null && directory.verify) {
        const proof = `bind:${this.directory!.description}`;
        if (!this.authCache?.has(key, proof, password)) {
          if (!(await directory.verify(key, password))) return { ok: false, reason: 'bad-password' };
          this.authCache?.add(key, proof, password);
        }
        return usable(record, now);
      }
      this.decoyHash = record.passwordHash || this.decoyHash;
      if (!this.authCache?.has(key, record.passwordHash, password)) {
        const verdict = await verifyStored(password, record.passwordHash, verifyPassword);
        if (verdict !== 'match') return { ok: false, reason: verdict === 'mismatch' ? 'bad-password' : 'unusable-hash' };
        this.authCache?.add(key, record.passwordHash, password);
      }
      return usable(record, now);
    } catch (err) {
      if (err instanceof DirectoryUnavailable) return { ok: false, reason: 'unavailable' };
      throw err;
    }
  }

  /**
   * Checks a challenge-response sign-in (APOP, CRAM-MD5) against the account's shared secret.
   * `check` gets the secret (a fixed dummy for unknown accounts, so both paths do the same work).
   */
  async signInWithSecret(a: AccountAddress | null, check: (secret: string) => boolean, now = new Date()): Promise<SignInResult> {
    if (this.directory && (a === null || this.inDirectory(a))) {
      // a directory keeps no shared secret: the same lookup, the same refusal
      let entry: DirectoryEntry | null = null;
      try {
        entry = a ? await this.directoryEntry(a) : null;
      } catch (err) {
        if (err instanceof DirectoryUnavailable) return { ok: false, reason: 'unavailable' };
        throw err;
      }
      check('postern-no-shared-secret');
      return { ok: false, reason: entry ? 'no-shared-secret' : 'unknown-user' };
    }
    const { record, decoy } = await this.recordOrDecoy(a);
    if (!record?.apopSecret) {
      check(decoy?.apopSecret ?? 'postern-no-shared-secret');
      return { ok: false, reason: record ? 'no-shared-secret' : 'unknown-user' };
    }
    if (!check(record.apopSecret)) return { ok: false, reason: 'bad-password' };
    return usable(record, now);
  }
}

function usable(record: AccountRecord, now: Date): SignInResult {
  if (record.disabled) return { ok: false, reason: 'disabled' };
  if (record.expires && Date.parse(record.expires) <= now.getTime()) return { ok: false, reason: 'expired' };
  return { ok: true, account: record };
}

async function readdirOrEmpty(dir: string): Promise<string[]> {
  try {
    const names = await readdir(dir);
    const dirs: string[] = [];
    for (const n of names) if (!n.startsWith('.') && (await stat(join(dir, n))).isDirectory()) dirs.push(n);
    return dirs;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
}
