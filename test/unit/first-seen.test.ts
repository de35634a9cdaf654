// The first-seen (\Recent) mark of a Maildir folder (store/maildir/first-seen.ts): the link it
// keeps, what a missing, malformed or stale mark counts as (an older Postern's file too), and that a mark never drops.
import { lstat, mkdtemp, readdir, readlink, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { firstSeenMark, RECENT_FILE, startMark } from '../../store/maildir/first-seen.js';

/** The mark as it is in the folder: the target of its link. */
const markIn = (folder: string) => readlink(join(folder, RECENT_FILE));

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'postern-first-seen-'));
});
afterEach(() => rm(dir, { recursive: true, force: true }));

describe('firstSeenMark', () => {
  it('a missing mark counts as 0; a claim links it to "UIDVALIDITY mark" and never lowers it; a peek writes nothing', async () => {
    expect(await firstSeenMark(dir, 7, 3, false)).toBe(0);
    await expect(lstat(join(dir, RECENT_FILE))).rejects.toMatchObject({ code: 'ENOENT' });
    expect(await firstSeenMark(dir, 7, 5, true)).toBe(0);
    expect(await markIn(dir)).toBe('7 5');
    expect(await firstSeenMark(dir, 7, 3, true)).toBe(5); // a view that knows less takes nothing
    expect(await markIn(dir)).toBe('7 5');
    expect(await firstSeenMark(dir, 7, 9, false)).toBe(5);
    expect(await markIn(dir)).toBe('7 5');
  });

  it('claims at once take turns: each UID goes to one of them', async () => {
    const marks = await Promise.all([firstSeenMark(dir, 1, 4, true), firstSeenMark(dir, 1, 4, true), firstSeenMark(dir, 1, 6, true)]);
    expect(marks).toEqual([0, 4, 4]);
    expect(await markIn(dir)).toBe('1 6');
  });

  it("another UIDVALIDITY's mark, or a malformed one, counts as 0; an older Postern's file is read, then replaced by a link", async () => {
    await writeFile(join(dir, RECENT_FILE), '3 40\n');
    expect(await firstSeenMark(dir, 4, 10, false)).toBe(0);
    expect(await firstSeenMark(dir, 3, 50, false)).toBe(40);
    expect(await firstSeenMark(dir, 3, 60, true)).toBe(40);
    expect(await markIn(dir)).toBe('3 60');
    const other = await mkdtemp(join(tmpdir(), 'postern-first-seen-'));
    try {
      await writeFile(join(other, RECENT_FILE), 'garbage');
      expect(await firstSeenMark(other, 3, 2, true)).toBe(0);
      expect(await markIn(other)).toBe('3 2');
      expect(await readdir(other)).toEqual([RECENT_FILE]); // no postern-recent.tmp left
    } finally {
      await rm(other, { recursive: true, force: true });
    }
  });

  it('a folder without a mark (Dovecot made it) starts from the one the caller gives, written at once, by a peek too', async () => {
    expect(await firstSeenMark(dir, 7, 9, false, () => 6)).toBe(6);
    expect(await markIn(dir)).toBe('7 6');
    expect(await firstSeenMark(dir, 7, 9, true, () => 8)).toBe(6); // the start is read, not asked again
    expect(await markIn(dir)).toBe('7 9');
    const other = await mkdtemp(join(tmpdir(), 'postern-first-seen-'));
    try {
      expect(await firstSeenMark(other, 7, 9, true, () => 4)).toBe(4);
      expect(await markIn(other)).toBe('7 9');
    } finally {
      await rm(other, { recursive: true, force: true });
    }
  });

  it("a mark whose link a copying tool made a path (Node's fs.cp without verbatimSymlinks) still gives its number", async () => {
    const { symlink } = await import('node:fs/promises');
    await symlink('/some/old/place/4 12', join(dir, RECENT_FILE));
    expect(await firstSeenMark(dir, 4, 20, false)).toBe(12);
  });

  it('a postern-recent.tmp left by a process killed between its link and its rename does not stop the next claim', async () => {
    await startMark(dir, 2);
    await writeFile(join(dir, `${RECENT_FILE}.tmp`), 'left');
    expect(await firstSeenMark(dir, 2, 8, true)).toBe(0);
    expect(await markIn(dir)).toBe('2 8');
    expect((await readdir(dir)).sort()).toEqual([RECENT_FILE]);
  });

  it('a folder Postern makes starts at 0 (startMark), and a mark already there is never lowered by it', async () => {
    await startMark(dir, 5);
    expect(await firstSeenMark(dir, 5, 3, false, () => 3)).toBe(0);
    expect(await firstSeenMark(dir, 5, 3, true, () => 3)).toBe(0);
    await startMark(dir, 5);
    expect(await markIn(dir)).toBe('5 3');
  });
});
