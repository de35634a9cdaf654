// An account's Sieve scripts on disk as Pigeonhole's file storage keeps them (sieve = file:~/sieve;
// active=~/.dovecot.sieve), so Dovecot's managesieved and lda/lmtp on the same tree see the same scripts:
// - the home is the account folder (the parent of Maildir/); each script is home/sieve/NAME.sieve;
// - the active one is named by the symbolic link home/.dovecot.sieve -> sieve/NAME.sieve (relative);
// - a script is written in sieve/tmp/ and renamed into place (a reader sees the old or the new one);
// - the link is replaced by making a new link beside it and renaming it over the old one;
// - a rename links the new name, moves the active link if it pointed to the old one, then unlinks the old;
// - a .dovecot.sieve that is a regular file (an old installation's single script) is run as the active
//   script, listed as none, and copied to sieve/dovecot.orig.sieve before it is replaced or removed, so
//   nothing a user stored is lost (Pigeonhole's "rescue").
// Pigeonhole's compiled .svbin files beside the scripts are Dovecot's: never read nor written here.
// Links inside the account folder are not followed (real-folders.ts): sieve/ and sieve/tmp/ must be folders,
// and a script file is read with O_NOFOLLOW.
import { randomBytes } from 'node:crypto';
import type { BigIntStats } from 'node:fs';
import { link, lstat, mkdir, open, readdir, readlink, rename, symlink, unlink } from 'node:fs/promises';
import { hostname } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { checkLength, syncDir, writeAll } from '../../lib/atomic-file.js';
import { lstatQuick, readlinkQuick } from '../../lib/quick-fs.js';
import {
  checkSieveScriptName,
  isSieveScriptName,
  MailError,
  MailStoreError,
  type SieveScriptEntry,
  type SieveScripts,
  UnsafeMailboxError,
} from '../contract.js';
import { inheritOwner } from './owner.js';
import { checkRealFolders, READ_NO_FOLLOW } from './real-folders.js';

/** Where Pigeonhole keeps a user's scripts, in the home. */
export const SIEVE_DIR = 'sieve';
/** The active script's link, in the home. */
export const ACTIVE_LINK = '.dovecot.sieve';
/** A script file's extension (Pigeonhole's SIEVE_SCRIPT_FILEEXT). */
const EXT = '.sieve';
/** The name a regular-file .dovecot.sieve is kept under in sieve/ before it is replaced (as Pigeonhole). */
export const RESCUED_NAME = 'dovecot.orig';
/** What active() names a regular-file .dovecot.sieve (its file name without the extension, as Pigeonhole does). */
export const REGULAR_ACTIVE_NAME = '.dovecot';
/** The longest file name most file systems keep (NAME_MAX), in octets. */
const MAX_FILE_NAME = 255;
const HOST = hostname();

/** What the active script was when read, by the path of the active link (knownActive). */
interface ActiveRead {
  /** The link's target as read. */
  readonly target: string;
  /** The script file's path. */
  readonly file: string;
  readonly identity: string;
  readonly name: string;
  readonly content: Buffer;
}

/** Active scripts read, for every account of the process (the oldest used dropped first). */
const activeCache = new Map<string, ActiveRead>();
const ACTIVE_CACHE_ENTRIES = 5000;
/** A file changed this recently is read again (its times may not show a second change within one clock tick). */
const SETTLED_NS = 2_000_000_000n;

function fileIdentity(st: BigIntStats): string {
  return `${st.dev}:${st.ino}:${st.size}:${st.mtimeNs}:${st.ctimeNs}`;
}

function recentlyChanged(st: BigIntStats): boolean {
  const now = BigInt(Date.now()) * 1_000_000n;
  return now - st.ctimeNs < SETTLED_NS || now - st.mtimeNs < SETTLED_NS;
}

/** The script name of a file name in sieve/ ("a.sieve": "a"), or null for another file. */
export function scriptNameOfFile(file: string): string | null {
  if (!file.endsWith(EXT) || file.length === EXT.length) return null;
  return file.slice(0, -EXT.length);
}

export class MaildirSieveScripts implements SieveScripts {
  private readonly dir: string;
  private readonly activePath: string;

  /** `home`: the account folder (dataDir/accounts/DOMAIN/NAME). */
  constructor(private readonly home: string) {
    this.dir = join(home, SIEVE_DIR);
    this.activePath = join(home, ACTIVE_LINK);
  }

  async list(): Promise<SieveScriptEntry[]> {
    if (!(await checkRealFolders(this.home, this.dir)).folder) return [];
    const [files, active] = await Promise.all([readdir(this.dir), this.activeLinkName()]);
    const out: SieveScriptEntry[] = [];
    await Promise.all(
      files.map(async (file) => {
        const name = scriptNameOfFile(file);
        if (name === null || !isSieveScriptName(name)) return;
        const st = await lstat(join(this.dir, file)).catch(() => null);
        if (st?.isFile()) out.push({ name, active: name === active, size: st.size });
      }),
    );
    return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  async get(name: string): Promise<Buffer | null> {
    return this.read(this.fileOf(name));
  }

  async put(name: string, content: Buffer): Promise<void> {
    const path = this.fileOf(name);
    await this.ready();
    const tmp = join(this.dir, 'tmp', tmpName(name));
    try {
      const handle = await open(tmp, 'wx', 0o600);
      try {
        await writeAll(handle, content);
        await handle.sync();
        await checkLength(handle, content.length);
      } finally {
        await handle.close();
      }
      await inheritOwner(tmp, { created: true });
      await rename(tmp, path);
    } catch (err) {
      await unlink(tmp).catch(() => {}); // (nothing half-written is left behind)
      throw err;
    }
    await syncDir(this.dir);
  }

  async delete(name: string): Promise<void> {
    const path = this.fileOf(name);
    await this.checkFolders();
    // RFC 5804 section 2.10: the active script cannot be deleted
    if ((await this.activeLinkName()) === name) throw new MailStoreError(MailError.NOTPOSSIBLE, 'the active script cannot be deleted');
    try {
      await unlink(path);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw notFound(name);
      throw err;
    }
  }

  async rename(from: string, to: string): Promise<void> {
    const oldPath = this.fileOf(from);
    const newPath = this.fileOf(to);
    await this.checkFolders();
    // link(), not rename(): rename would replace a script of the new name without a word
    try {
      await link(oldPath, newPath);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') throw notFound(from);
      if (code === 'EEXIST') throw new MailStoreError(MailError.EXISTS, `a script named "${to}" exists already`);
      throw err;
    }
    try {
      if ((await this.activeLinkName()) === from) await this.replaceLink(to);
    } catch (err) {
      await unlink(newPath).catch(() => {});
      throw err;
    }
    await unlink(oldPath).catch(() => {}); // (gone meanwhile: the rename is done all the same)
  }

  async setActive(name: string | null): Promise<void> {
    if (name === null) {
      await this.checkFolders();
      await this.rescueRegular();
      await unlink(this.activePath).catch((err: NodeJS.ErrnoException) => {
        if (err.code !== 'ENOENT') throw err;
      });
      return;
    }
    const path = this.fileOf(name);
    await this.checkFolders();
    const st = await lstat(path).catch(() => null);
    if (!st?.isFile()) throw notFound(name);
    await this.rescueRegular();
    await this.replaceLink(name);
  }

  async active(): Promise<{ name: string; content: Buffer } | null> {
    const known = await this.knownActive();
    if (known !== undefined) return known;
    const found = await this.activeFromDisk();
    return found;
  }

  /**
   * The active script as read before, when the link names the same file and the file is the same (device,
   * inode, size, change and modification times) and was not changed in the last seconds (a file system's
   * coarse clock can give a rewrite within one tick the same times); undefined: read it from disk. Each
   * delivery runs this: four look-ups instead of a dozen calls and a read.
   */
  private async knownActive(): Promise<{ name: string; content: Buffer } | null | undefined> {
    const cached = activeCache.get(this.activePath);
    if (!cached) return undefined;
    // made in place when allowed, not through the thread pool (lib/quick-fs.ts): four look-ups in the kernel's caches
    try {
      if (
        !(await lstatQuick(this.home))?.isDirectory() ||
        !(await lstatQuick(this.dir))?.isDirectory() ||
        (await readlinkQuick(this.activePath)) !== cached.target
      )
        return undefined;
      const file = await lstatQuick(cached.file);
      if (!file?.isFile() || fileIdentity(file) !== cached.identity || recentlyChanged(file)) return undefined;
    } catch {
      return undefined; // something is gone or odd: the full look says what
    }
    if (activeCache.get(this.activePath) === cached) {
      activeCache.delete(this.activePath); // the most recently used goes last (unless replaced meanwhile)
      activeCache.set(this.activePath, cached);
    }
    return { name: cached.name, content: cached.content };
  }

  private async activeFromDisk(): Promise<{ name: string; content: Buffer } | null> {
    activeCache.delete(this.activePath);
    await this.checkFolders();
    const st = await lstat(this.activePath).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return null;
      throw err;
    });
    if (st === null) return null;
    if (st.isFile()) {
      // an old installation's single script: it runs (as in Pigeonhole) until a script is activated
      const content = await this.read(this.activePath);
      return content ? { name: REGULAR_ACTIVE_NAME, content } : null;
    }
    const target = await this.activeLinkTarget();
    const name = target === null ? null : this.scriptOfTarget(target);
    if (target === null || name === null) return null;
    const file = join(this.dir, `${name}${EXT}`);
    const read = await this.readWithIdentity(file);
    if (!read) return null;
    if (!recentlyChanged(read.stat)) {
      activeCache.set(this.activePath, { target, file, identity: fileIdentity(read.stat), name, content: read.content });
      if (activeCache.size > ACTIVE_CACHE_ENTRIES) activeCache.delete(activeCache.keys().next().value!);
    }
    return { name, content: read.content };
  }

  /** The file of a script name (the name checked: no way out of sieve/). */
  private fileOf(name: string): string {
    const file = `${checkSieveScriptName(name)}${EXT}`;
    if (Buffer.byteLength(file) > MAX_FILE_NAME)
      throw new MailStoreError(
        MailError.NOTPOSSIBLE,
        `the script name is too long to be kept as a file (at most ${MAX_FILE_NAME - EXT.length} octets)`,
      );
    return join(this.dir, file);
  }

  /** Refuses a sieve/ or sieve/tmp/ (or account folder) that is a link. */
  private async checkFolders(): Promise<void> {
    await checkRealFolders(this.home, this.dir, ['tmp']);
  }

  /** Makes sieve/ and sieve/tmp/ (mode 0700, as Pigeonhole) when they are missing. */
  private async ready(): Promise<void> {
    const there = await checkRealFolders(this.home, this.dir, ['tmp']);
    if (there.folder && there.subs[0]) return;
    await mkdir(this.home, { recursive: true, mode: 0o700 });
    for (const dir of [this.dir, join(this.dir, 'tmp')]) {
      const made = await mkdir(dir, { mode: 0o700 }).then(
        () => true,
        (err: NodeJS.ErrnoException) => {
          if (err.code === 'EEXIST') return false;
          throw err;
        },
      );
      if (made) await inheritOwner(dir, { created: true });
    }
    await this.checkFolders();
  }

  /** The file's content, or null when it is not there; never through a link. */
  private async read(path: string): Promise<Buffer | null> {
    return (await this.readWithIdentity(path))?.content ?? null;
  }

  /** The file's content and what it was when read (its stat through the open file), or null when it is not there. */
  private async readWithIdentity(path: string): Promise<{ content: Buffer; stat: BigIntStats } | null> {
    await this.checkFolders();
    try {
      const handle = await open(path, READ_NO_FOLLOW);
      try {
        const stat = await handle.stat({ bigint: true });
        if (!stat.isFile()) return null;
        return { content: await handle.readFile(), stat };
      } finally {
        await handle.close();
      }
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return null;
      if (code === 'ELOOP')
        throw new UnsafeMailboxError(path, `${path} is a symbolic link; Postern does not follow links inside an account folder`);
      throw err;
    }
  }

  /**
   * The name of the script the active link points to, or null: no link, a regular file, or a link that
   * points elsewhere than a .sieve file of sieve/ (Pigeonhole reports "no active script" then too, and the
   * next activation replaces it).
   */
  private async activeLinkName(): Promise<string | null> {
    const target = await this.activeLinkTarget();
    return target === null ? null : this.scriptOfTarget(target);
  }

  /** What the active link points to; null: no link (or a regular file). */
  private async activeLinkTarget(): Promise<string | null> {
    try {
      return await readlink(this.activePath);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'EINVAL') return null;
      throw err;
    }
  }

  /** The script name a link target names, or null when it is not a .sieve file of sieve/. */
  private scriptOfTarget(target: string): string | null {
    const name = scriptNameOfFile(basename(target));
    if (name === null || !isSieveScriptName(name)) return null;
    return resolve(this.home, dirname(target)) === resolve(this.dir) ? name : null;
  }

  /** Points the active link at the script, atomically: a new link beside it renamed over it. */
  private async replaceLink(name: string): Promise<void> {
    const target = `${SIEVE_DIR}/${name}${EXT}`;
    for (;;) {
      const now = Date.now();
      const fresh = `${this.activePath}-new.${Math.floor(now / 1000)}.P${process.pid}M${randomBytes(3).readUIntBE(0, 3)}.${HOST}`;
      try {
        await symlink(target, fresh);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'EEXIST') continue;
        throw err;
      }
      try {
        await inheritOwner(fresh, { created: true });
        await rename(fresh, this.activePath);
      } catch (err) {
        await unlink(fresh).catch(() => {});
        throw err;
      }
      await syncDir(this.home);
      return;
    }
  }

  /**
   * A .dovecot.sieve that is a regular file is copied to sieve/dovecot.orig.sieve before the link takes its
   * place (Pigeonhole's sieve_file_storage_active_rescue_regular); anything else but a link there is refused.
   */
  private async rescueRegular(): Promise<void> {
    const st = await lstat(this.activePath).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return null;
      throw err;
    });
    if (st === null || st.isSymbolicLink()) return;
    if (!st.isFile())
      throw new UnsafeMailboxError(this.activePath, `${this.activePath} is neither a symbolic link nor a file; the operator must fix it`);
    const content = await this.read(this.activePath);
    if (content) await this.put(RESCUED_NAME, content);
  }
}

function notFound(name: string): MailStoreError {
  return new MailStoreError(MailError.NOTFOUND, `there is no script named "${name}"`);
}

/** A name in sieve/tmp/ as Pigeonhole makes them (NAME_SECS.MUSECSPPID.HOST.sieve), shorter when the name is long. */
function tmpName(name: string): string {
  const now = Date.now();
  const unique = `${Math.floor(now / 1000)}.M${(now % 1000) * 1000 + (randomBytes(2).readUInt16BE(0) % 1000)}P${process.pid}.${HOST}`;
  const full = `${name}_${unique}${EXT}`;
  return Buffer.byteLength(full) <= MAX_FILE_NAME ? full : `${unique}.tmp`;
}
