// checkRealFolders (real-folders.ts) made in place when lib/in-place.ts allows it, for the delivery path: a
// delivery checks its folder's path twice or three times, and each lstat through the thread pool costs
// several times the call itself (lib/quick-fs.ts). The same judgement: every part from the account folder
// down a real folder, no link. When in-place calls are off (or a slow look-up turns them off on the way),
// checkRealFolders itself, through the pool.
import { lstatSync, type Stats } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { inPlaceNow, timedInPlace } from '../../lib/in-place.js';
import { checkRealFolders, MailboxLinkError, type RealFolders } from './real-folders.js';

export async function checkRealFoldersQuick(accountDir: string, folder: string, subs: readonly string[] = []): Promise<RealFolders> {
  return (inPlaceNow() && checkRealFoldersNow(accountDir, folder, subs)) || checkRealFolders(accountDir, folder, subs);
}

/** lstat in place, timed; GAVE_UP when in-place calls are off (or just turned off by a slow one). */
function lstatNow(path: string): Stats | undefined | typeof GAVE_UP {
  if (!inPlaceNow()) return GAVE_UP;
  return timedInPlace(() => lstatSync(path, { throwIfNoEntry: false }));
}

const GAVE_UP = Symbol('in-place calls turned off');

/** The look-ups in place, one by one; null when in-place calls turned off on the way (the pool's twin then). */
function checkRealFoldersNow(accountDir: string, folder: string, subs: readonly string[]): RealFolders | null {
  const inside = relative(accountDir, folder);
  const parts = inside === '' ? [] : inside.split(sep);
  let path = accountDir;
  for (let i = 0; i <= parts.length; i++) {
    if (i > 0) path = join(path, parts[i - 1]);
    const st = lstatNow(path);
    if (st === GAVE_UP) return null;
    if (st === undefined) return { folder: false, subs: subs.map(() => false) }; // not there (yet): nothing below it is either
    if (!st.isDirectory()) throw new MailboxLinkError(path);
  }
  const there: boolean[] = [];
  for (const sub of subs) {
    const st = lstatNow(join(folder, sub));
    if (st === GAVE_UP) return null;
    if (st !== undefined && !st.isDirectory()) throw new MailboxLinkError(join(folder, sub));
    there.push(st !== undefined);
  }
  return { folder: true, subs: there };
}
