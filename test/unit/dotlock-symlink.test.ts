// The symbolic-link form of the dotlock (store/maildir/dotlock.ts), which Postern's own files take
// (postern-modseq, postern-recent, postern-sieve-memory): the same rules as Dovecot's file form (a live holder
// is waited for, a dead one of this host is taken over, another host's once nothing changed for the stale
// time), a lock of either form honoured whichever form the taker asks for, and mutual exclusion between
// processes that really run at once: every one of their increments of a shared counter kept.
import { spawn } from 'node:child_process';
import { lstat, mkdtemp, readFile, readlink, rm, symlink, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { acquireDotlock, LockTimeoutError } from '../../store/maildir/dotlock.js';

let dir: string;
const lock = () => join(dir, 'postern-modseq.lock');
const symlinkForm = { timeoutMs: 5000, staleMs: 120_000, form: 'symlink' as const };

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'postern-dotlock-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

it('is a symbolic link naming its holder while held, and gone once released', async () => {
  const held = await acquireDotlock(lock(), symlinkForm);
  expect((await lstat(lock())).isSymbolicLink()).toBe(true);
  expect(await readlink(lock())).toBe(`${process.pid}:${hostname()}`);
  await held.touch();
  await held.release();
  await expect(lstat(lock())).rejects.toThrow(/ENOENT/);
});

it('is waited for while its holder (this process) keeps it, then taken', async () => {
  const first = await acquireDotlock(lock(), symlinkForm);
  let second = false;
  const waiting = acquireDotlock(lock(), symlinkForm).then((l) => {
    second = true;
    return l;
  });
  await new Promise((r) => setTimeout(r, 400));
  expect(second).toBe(false);
  await first.release();
  await (await waiting).release();
  expect(second).toBe(true);
});

it('is taken over from a process of this host that no longer runs, and never from one that runs', async () => {
  await symlink(`999999:${hostname()}`, lock());
  // its age is the link's own time (made now): taken over once 2 s old
  const t0 = Date.now();
  const held = await acquireDotlock(lock(), symlinkForm);
  expect(Date.now() - t0).toBeGreaterThanOrEqual(1800);
  expect(await readlink(lock())).toBe(`${process.pid}:${hostname()}`);
  await held.release();

  const sleeper = spawn('sleep', ['30']);
  try {
    await symlink(`${sleeper.pid}:${hostname()}`, lock());
    await expect(acquireDotlock(lock(), { ...symlinkForm, timeoutMs: 2500, staleMs: 500 })).rejects.toThrow(LockTimeoutError);
    expect(await readlink(lock())).toBe(`${sleeper.pid}:${hostname()}`);
  } finally {
    sleeper.kill();
  }
});

it('is taken over from another host once neither it nor the guarded file changed for the stale time', async () => {
  await symlink('12345:some-other-host', lock());
  const t0 = Date.now();
  const held = await acquireDotlock(lock(), { ...symlinkForm, staleMs: 700 });
  expect(Date.now() - t0).toBeGreaterThanOrEqual(650);
  await held.release();
});

it('a lock of the file form is honoured by a taker of the symlink form, and the other way round', async () => {
  const sleeper = spawn('sleep', ['30']);
  try {
    await writeFile(lock(), `${sleeper.pid}:${hostname()}`);
    await expect(acquireDotlock(lock(), { ...symlinkForm, timeoutMs: 800 })).rejects.toThrow(LockTimeoutError);
    await rm(lock());
    await symlink(`${sleeper.pid}:${hostname()}`, lock());
    await expect(acquireDotlock(lock(), { timeoutMs: 800, staleMs: 120_000 })).rejects.toThrow(LockTimeoutError);
  } finally {
    sleeper.kill();
  }
});

it('keeps four processes that increment one counter under it from losing any increment', async () => {
  const counter = join(dir, 'counter');
  await writeFile(counter, '0');
  // the built module (npm test builds dist/ first, as the servers the other tests start run from it)
  const dotlock = fileURLToPath(new URL('../../dist/store/maildir/dotlock.js', import.meta.url));
  // each child: 50 times take the lock, read the counter, yield, write it plus one, release
  const child = `
    import { readFile, writeFile } from 'node:fs/promises';
    const { acquireDotlock } = await import(${JSON.stringify(dotlock)});
    for (let i = 0; i < 50; i++) {
      const l = await acquireDotlock(${JSON.stringify(lock())}, { timeoutMs: 60000, staleMs: 120000, form: 'symlink' });
      const n = Number(await readFile(${JSON.stringify(counter)}, 'utf8'));
      await new Promise((r) => setImmediate(r));
      await writeFile(${JSON.stringify(counter)}, String(n + 1));
      await l.release();
    }`;
  const runs = Array.from(
    { length: 4 },
    () =>
      new Promise<number | null>((resolve) => {
        const p = spawn(process.execPath, ['--input-type=module', '-e', child], { stdio: ['ignore', 'ignore', 'inherit'] });
        p.on('exit', (code) => resolve(code));
      }),
  );
  expect(await Promise.all(runs)).toEqual([0, 0, 0, 0]);
  expect(await readFile(counter, 'utf8')).toBe('200');
}, 120_000);
