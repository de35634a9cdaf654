// The first-seen (\Recent) mark of a Maildir folder (store/maildir/first-seen.ts): the file it
// keeps, what a missing, malformed or stale file counts as, and that a mark never drops.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { firstSeenMark, RECENT_FILE, startMark } from '../../store/maildir/first-seen.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'postern-first-seen-'));
});
afterEach(() => rm(dir, { recursive: true, force: true }));

describe('firstSeenMark', () => {
  it('a missing file counts as 0; a claim writes "UIDVALIDITY mark" and never lowers it; a peek writes nothing', async () => {
    expect(await firstSeenMark(dir, 7, 3, false)).toBe(0);
    await expect(readFile(join(dir, RECENT_FILE))).rejects.toMatchObject({ code: 'ENOENT' });
    expect(await firstSeenMark(dir, 7, 5, true)).toBe(0);
    expect(await readFile(join(dir, RECENT_FILE), 'utf8')).toBe('7 5\n');
    expect(await firstSeenMark(dir, 7, 3, true)).toBe(5); // a view that knows less takes nothing
    expect(await readFile(join(dir, RECENT_FILE), 'utf8')).toBe('7 5\n');
    expect(await firstSeenMark(dir, 7, 9, false)).toBe(5);
    expect(await readFile(join(dir, RECENT_FILE), 'utf8')).toBe('7 5\n');
  });

  it('claims at once take turns: each UID goes to one of them', async () => {
    const marks = await Promise.all([firstSeenMark(dir, 1, 4, true), firstSeenMark(dir, 1, 4, true), firstSeenMark(dir, 1, 6, true)]);
    expect(marks).toEqual([0, 4, 4]);
    expect(await readFile(join(dir, RECENT_FILE), 'utf8')).toBe('1 6\n');
  });

  it('a mark of another UIDVALIDITY, or a malformed file, counts as 0 (the mailbox was made anew)', async () => {
    await writeFile(join(dir, RECENT_FILE), '3 40\n');
    expect(await firstSeenMark(dir, 4, 10, false)).toBe(0);
    expect(await firstSeenMark(dir, 3, 50, false)).toBe(40);
    const other = await mkdtemp(join(tmpdir(), 'postern-first-seen-'));
    try {
      await writeFile(join(other, RECENT_FILE), 'garbage');
      expect(await firstSeenMark(other, 3, 2, true)).toBe(0);
      expect(await readFile(join(other, RECENT_FILE), 'utf8')).toBe('3 2\n');
    } finally {
      await rm(other, { recursive: true, force: true });
    }
  });

  it('a folder without a mark (Dovecot made it) starts from the one the caller gives, written at once, by a peek too', async () => {
    expect(await firstSeenMark(dir, 7, 9, false, () => 6)).toBe(6);
    expect(await readFile(join(dir, RECENT_FILE), 'utf8')).toBe('7 6\n');
    expect(await firstSeenMark(dir, 7, 9, true, () => 8)).toBe(6); // the start is read, not asked again
    expect(await readFile(join(dir, RECENT_FILE), 'utf8')).toBe('7 9\n');
    const other = await mkdtemp(join(tmpdir(), 'postern-first-seen-'));
    try {
      expect(await firstSeenMark(other, 7, 9, true, () => 4)).toBe(4);
      expect(await readFile(join(other, RECENT_FILE), 'utf8')).toBe('7 9\n');
    } finally {
      await rm(other, { recursive: true, force: true });
    }
  });

  it('a folder Postern makes starts at 0 (startMark), and a mark already there is never lowered by it', async () => {
    await startMark(dir, 5);
    expect(await firstSeenMark(dir, 5, 3, false, () => 3)).toBe(0);
    expect(await firstSeenMark(dir, 5, 3, true, () => 3)).toBe(0);
    await startMark(dir, 5);
    expect(await readFile(join(dir, RECENT_FILE), 'utf8')).toBe('5 3\n');
  });
});
