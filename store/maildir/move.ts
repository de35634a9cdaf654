// MOVE within one file system as one rename(2) per message: the file goes from the source folder's
// new/ or cur/ straight into the target's, so at every instant it is in exactly one place. A crash
// (kill -9, power loss) before the target's uidlist has its record leaves the file in the target
// without a UID, and the next look at the target gives it one, as a delivery that was never
// recorded; it never leaves a copy in each folder. Two sessions (of any process, or Dovecot) moving
// one message race on the rename: one wins, the other finds the file gone (ENOENT) and moves nothing.
//
// The moved file gets a new base name, as Dovecot's own copies do: a base the target's uidlist
// already knows (the message was there before and moved away) would get its old UID back in
// Dovecot's view. The size fields (",S=", ",W="), the flag letters (keywords translated to the
// target's dovecot-keywords) and the modification time (INTERNALDATE) are kept.
import { lstat, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { syncDir } from '../../lib/atomic-file.js';
import { MailboxOperationError, MailError, MessageGoneError } from '../contract.js';
import { newBaseName, parseMaildirName } from './filename.js';
import { flagsOf, keywordsWithoutLetter, lettersOf } from './flags.js';
import type { MaildirFolder } from './folder.js';
import { addKeywords } from './keywords.js';
import { inheritOwner } from './owner.js';
import { guidField } from '../object-ids.js';

export interface RenameMoveResult {
  /** Source UID and the UID it has in the target, ascending source UIDs. */
  mapping: [number, number][];
  uidValidity: number;
  /** Source UIDs that live on another file system than the target (EXDEV): copy them instead. */
  elsewhere: number[];
}

interface Moved {
  uid: number;
  key: string;
  from: string;
  to: string;
  base: string;
  /** The source's GUID, kept in the target's record (G), so the message keeps its EMAILID. */
  guid: string;
}

/**
 * Renames the messages `items` (ascending UIDs) of `source` into `target` under the target's uidlist
 * lock and gives them the target's next UIDs. A message that is gone (removed or moved by someone
 * else first) is left out of the mapping.
 */
export async function renameInto(
  source: MaildirFolder,
  target: MaildirFolder,
  items: readonly { uid: number; key: string }[],
): Promise<RenameMoveResult> {
  return target.locked(async () => {
    await source.refreshKeywords(); // a letter in a source name may be newer than what was read
    let keywords = target.keywords;
    const moved: Moved[] = [];
    const elsewhere: number[] = [];
    try {
      for (const item of items) {
        try {
          await source.withFile(item.key, async (from) => {
            const name = from.slice(from.lastIndexOf('/') + 1);
            const previous = parseMaildirName(name).flags;
            const flags = flagsOf(previous, source.keywords);
            const missing = keywordsWithoutLetter(flags, keywords);
            if (missing.length > 0) keywords = await addKeywords(target.path, keywords, missing);
            const letters = lettersOf(flags, keywords, previous);
            const sizes = /,S=\d+(?:,W=\d+)?/.exec(item.key)?.[0] ?? '';
            const base = `${newBaseName()}${sizes}`;
            const to = letters === '' ? join(target.path, 'new', base) : join(target.path, 'cur', `${base}:2,${letters}`);
            try {
              await source.renameOwn(from, to, target);
            } catch (err) {
              // ENOENT with the source still there: the target's folder went away (a DELETE meanwhile)
              if ((err as NodeJS.ErrnoException).code === 'ENOENT' && (await lstat(from).catch(() => null))) {
                throw new MailboxOperationError(MailError.NOTPOSSIBLE, 'the target mailbox was deleted meanwhile');
              }
              throw err;
            }
            moved.push({ uid: item.uid, key: item.key, from, to, base, guid: source.messageGuid(item.key) });
            await inheritOwner(to); // into another user's mailbox (~bob/...): theirs now, as a copy would be
          });
        } catch (err) {
          if (err instanceof MessageGoneError) continue; // someone else moved or removed it first
          if ((err as NodeJS.ErrnoException).code === 'EXDEV') {
            elsewhere.push(item.uid);
            continue;
          }
          throw err;
        }
        source.removed(item.key);
      }
    } catch (err) {
      await recordOrReturn(source, target, moved);
      throw err;
    }
    if (keywords !== target.keywords) await target.refreshKeywords();
    const uids = await recordOrReturn(source, target, moved);
    return { mapping: moved.map((m, i) => [m.uid, uids[i]] as [number, number]), uidValidity: target.uidValidity, elsewhere };
  });
}

/**
 * Makes the renames durable and gives the moved files their UIDs in the target. When the UIDs cannot
 * be written (a full disk), the files are renamed back where they were (best effort: a file that
 * cannot go back stays in the target, where it gets a UID later; it is never in both places).
 */
async function recordOrReturn(source: MaildirFolder, target: MaildirFolder, moved: readonly Moved[]): Promise<number[]> {
  if (moved.length === 0) return [];
  await syncDir(join(target.path, 'new'));
  await syncDir(join(target.path, 'cur'));
  await syncDir(join(source.path, 'cur'));
  await syncDir(join(source.path, 'new'));
  try {
    const uids = await target.appendRecords(moved.map((m) => ({ base: m.base, fields: guidField(m.guid) })));
    for (const m of moved) target.added(m.to);
    return uids;
  } catch (err) {
    for (const m of moved) await rename(m.to, m.from).catch(() => {});
    throw err;
  }
}
