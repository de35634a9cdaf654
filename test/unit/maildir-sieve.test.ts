// The Maildir store's Sieve scripts on disk, in Pigeonhole's layout (store/maildir/sieve-scripts.ts), and its
// delivery memory file (store/maildir/delivery-memory.ts): what Dovecot's tools find in the account folder.
import { lstat, mkdir, mkdtemp, readdir, readFile, readlink, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { COMPACT_AT, DELIVERY_MEMORY_FILE, MAX_KEYS, MaildirDeliveryMemory } from '../../store/maildir/delivery-memory.js';
import { MaildirSieveScripts } from '../../store/maildir/sieve-scripts.js';
import { MailError, MailStoreError } from '../../store/contract.js';

let dir: string;
let home: string;
let scripts: MaildirSieveScripts;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'postern-sieve-'));
  home = join(dir, 'accounts', 'example.org', 'alice');
  await mkdir(join(home, 'Maildir'), { recursive: true });
  scripts = new MaildirSieveScripts(home);
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function codeOf(attempt: () => Promise<unknown>): Promise<string> {
  try {
    await attempt();
    return 'no error';
  } catch (err) {
    return err instanceof MailStoreError ? err.mailError : String(err);
  }
}

describe("Pigeonhole's layout (sieve = file:~/sieve;active=~/.dovecot.sieve)", () => {
  it('scripts are home/sieve/NAME.sieve; the active one the relative link .dovecot.sieve -> sieve/NAME.sieve', async () => {
    await scripts.put('Rules', Buffer.from('keep;\r\n'));
    expect(await readFile(join(home, 'sieve', 'Rules.sieve'), 'utf8')).toBe('keep;\r\n');
    expect((await stat(join(home, 'sieve'))).mode & 0o777).toBe(0o700);
    expect((await stat(join(home, 'sieve', 'Rules.sieve'))).mode & 0o777).toBe(0o600);
    expect(await readdir(join(home, 'sieve', 'tmp'))).toEqual([]); // written there, renamed into place
    await scripts.setActive('Rules');
    expect(await readlink(join(home, '.dovecot.sieve'))).toBe('sieve/Rules.sieve');
    await scripts.rename('Rules', 'Filters');
    expect(await readlink(join(home, '.dovecot.sieve'))).toBe('sieve/Filters.sieve');
    expect((await readdir(join(home, 'sieve'))).sort()).toEqual(['Filters.sieve', 'tmp']);
    await scripts.setActive(null);
    await expect(lstat(join(home, '.dovecot.sieve'))).rejects.toThrow(/ENOENT/);
    expect(await readdir(home)).not.toContain('.dovecot.sieve-new'); // no link left beside it
    // nothing but the scripts and tmp/: no compiled .svbin (Dovecot's), nothing of Postern's
    expect((await readdir(join(home, 'sieve'))).sort()).toEqual(['Filters.sieve', 'tmp']);
  });

  it("reads what Pigeonhole wrote: an absolute link into sieve/, and leaves Dovecot's .svbin files alone", async () => {
    await mkdir(join(home, 'sieve', 'tmp'), { recursive: true });
    await writeFile(join(home, 'sieve', 'vacation.sieve'), 'require "vacation";\nvacation "away";\n');
    await writeFile(join(home, 'sieve', 'vacation.svbin'), 'compiled by Dovecot');
    await writeFile(join(home, 'sieve', 'notes.txt'), 'not a script');
    await symlink(join(home, 'sieve', 'vacation.sieve'), join(home, '.dovecot.sieve'));
    expect(await scripts.list()).toEqual([{ name: 'vacation', active: true, size: 37 }]);
    expect((await scripts.active())?.name).toBe('vacation');
    await scripts.put('vacation', Buffer.from('keep;\n'));
    expect(await readFile(join(home, 'sieve', 'vacation.svbin'), 'utf8')).toBe('compiled by Dovecot');
  });

  it('a link that points outside sieve/ (or at no .sieve file) is no active script, and is never followed', async () => {
    await writeFile(join(dir, 'secret.sieve'), 'stolen');
    await scripts.put('mine', Buffer.from('keep;'));
    for (const target of ['../../../../secret.sieve', join(dir, 'secret.sieve'), 'sieve/mine.txt', 'sieve/.sieve', 'sieve/gone.sieve']) {
      await rm(join(home, '.dovecot.sieve'), { force: true });
      await symlink(target, join(home, '.dovecot.sieve'));
      expect(await scripts.active(), target).toBeNull();
      expect((await scripts.list()).some((e) => e.active)).toBe(false);
    }
    await scripts.setActive('mine'); // activation repairs it
    expect(await readlink(join(home, '.dovecot.sieve'))).toBe('sieve/mine.sieve');
  });

  it('a regular .dovecot.sieve (an old installation) runs as the active script, and is kept as dovecot.orig when replaced', async () => {
    await writeFile(join(home, '.dovecot.sieve'), 'require "fileinto";\nfileinto "Old";\n');
    expect(await scripts.active()).toEqual({ name: '.dovecot', content: Buffer.from('require "fileinto";\nfileinto "Old";\n') });
    expect(await scripts.list()).toEqual([]); // listed as no active script, as Pigeonhole does
    await scripts.put('new', Buffer.from('keep;'));
    await scripts.setActive('new');
    expect(await readlink(join(home, '.dovecot.sieve'))).toBe('sieve/new.sieve');
    expect(await readFile(join(home, 'sieve', 'dovecot.orig.sieve'), 'utf8')).toBe('require "fileinto";\nfileinto "Old";\n');
    expect((await scripts.list()).map((e) => [e.name, e.active])).toEqual([
      ['dovecot.orig', false],
      ['new', true],
    ]);
    // deactivating rescues it too
    await rm(join(home, '.dovecot.sieve'));
    await writeFile(join(home, '.dovecot.sieve'), 'discard;\n');
    await scripts.setActive(null);
    await expect(lstat(join(home, '.dovecot.sieve'))).rejects.toThrow(/ENOENT/);
    expect(await readFile(join(home, 'sieve', 'dovecot.orig.sieve'), 'utf8')).toBe('discard;\n');
  });

  it('links inside the account folder are refused, never followed (Postern may run as root)', async () => {
    await mkdir(join(dir, 'elsewhere'));
    await writeFile(join(dir, 'elsewhere', 'x.sieve'), 'keep;');
    await symlink(join(dir, 'elsewhere'), join(home, 'sieve'));
    expect(await codeOf(() => scripts.list())).toBe(MailError.UNAVAILABLE);
    expect(await codeOf(() => scripts.put('y', Buffer.from('keep;')))).toBe(MailError.UNAVAILABLE);
    expect(await readdir(join(dir, 'elsewhere'))).toEqual(['x.sieve']);
    await rm(join(home, 'sieve'));
    await scripts.put('real', Buffer.from('keep;'));
    await symlink('/etc/passwd', join(home, 'sieve', 'passwd.sieve'));
    expect((await scripts.list()).map((e) => e.name)).toEqual(['real']);
    expect(await codeOf(() => scripts.get('passwd'))).toBe(MailError.UNAVAILABLE);
  });

  it('a name too long for a file is refused (NOTPOSSIBLE), one with a slash never reaches the disk (PARAMS)', async () => {
    expect(await codeOf(() => scripts.put('é'.repeat(200), Buffer.from('keep;')))).toBe(MailError.NOTPOSSIBLE);
    expect(await codeOf(() => scripts.put('../Maildir/x', Buffer.from('keep;')))).toBe(MailError.PARAMS);
    expect(await readdir(join(home, 'Maildir'))).toEqual([]);
  });
});

describe('the delivery memory file (postern-sieve-memory)', () => {
  const file = () => join(home, DELIVERY_MEMORY_FILE);
  const now = () => Math.floor(Date.now() / 1000);
  const record = (until: number, hash: string) => `${String(until).padStart(10, '0')} ${hash}\n`;

  it('holds one line per key, hashed (no address in it), and is shared by every handle', async () => {
    const memory = new MaildirDeliveryMemory(home);
    await memory.remember('vacation:bob@example.net', 60);
    const text = await readFile(file(), 'utf8');
    expect(text).toMatch(/^\d{10} [0-9a-f]{32}\n$/);
    expect(text).not.toContain('bob');
    expect(await new MaildirDeliveryMemory(home).seen('vacation:bob@example.net')).toBe(true);
    expect(await readdir(home)).not.toContain(`${DELIVERY_MEMORY_FILE}.lock`);
  });

  it('loses no record when many writers append at once (the dotlock)', async () => {
    const keys = Array.from({ length: 60 }, (_, i) => `dup:<${i}@example.net>`);
    await Promise.all(keys.map((k) => new MaildirDeliveryMemory(home).remember(k, 600)));
    const fresh = new MaildirDeliveryMemory(home);
    expect((await Promise.all(keys.map((k) => fresh.seen(k)))).every(Boolean)).toBe(true);
    expect((await readFile(file(), 'utf8')).split('\n').length - 1).toBe(60);
  });

  it('past COMPACT_AT octets it is rewritten with the keys that have not expired, at most MAX_KEYS', async () => {
    const hex = (i: number) => i.toString(16).padStart(32, '0');
    const lines: string[] = [];
    for (let i = 0; i < MAX_KEYS; i++) lines.push(record(now() - 10, hex(i))); // expired
    for (let i = 0; i < MAX_KEYS + 500; i++) lines.push(record(now() + 1000 + i, hex(100_000 + i))); // live
    await writeFile(file(), lines.join(''));
    expect((await stat(file())).size).toBeGreaterThan(COMPACT_AT);
    const memory = new MaildirDeliveryMemory(home);
    await memory.remember('vacation:carol@example.net', 3600);
    const kept = (await readFile(file(), 'latin1')).trimEnd().split('\n');
    expect(kept).toHaveLength(MAX_KEYS);
    expect(kept.some((l) => l.endsWith(hex(0)))).toBe(false); // expired: dropped
    expect(kept.some((l) => l.endsWith(hex(100_000)))).toBe(false); // the live ones that expire first give way
    expect(kept.some((l) => l.endsWith(hex(100_000 + MAX_KEYS + 499)))).toBe(true);
    expect((await stat(file())).size).toBeLessThan(COMPACT_AT);
    expect(await new MaildirDeliveryMemory(home).seen('vacation:carol@example.net')).toBe(true);
  });
});
