// checkRealFolders (real-folders.ts) made in place when lib/in-place.ts allows it, for the delivery path: a
// delivery checks its folder's path twice or three times, and each lstat through the thread pool costs
// several times the call itself (lib/quick-fs.ts). The same judgement: every part from the account folder
// down a real folder, no link. When in-place calls are off, checkRealFolders itself (through the pool).
import { lstatSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { inPlaceNow, timedInPlace } from '../../lib/in-place.js';
import { checkRealFolders, MailboxLinkError, type RealFolders } from './real-folders.js';

export async function checkRealFoldersQuick(accountDir: string, folder: string, subs: readonly string[] = []): Promise<RealFolders> {
  if (!inPlaceNow()) return checkRealFolders(accountDir, folder, subs);
  return timedInPlace(() => checkRealFoldersNow(accountDir, folder, subs));
}

function checkRealFoldersNow(accountDir: string, folder: string, subs: readonly string[]): RealFolders {
  const inside = relative(accountDir, folder);
  const parts = inside === '' ? [] : inside.split(sep);
  let path = accountDir;
  for (let i = 0; i <= parts.length; i++) {
    if (i > 0) path = join(path, parts[i - 1]);
    const st = lstatSync(path, { throwIfNoEntry: false });
    if (st === undefined) return { folder: false, subs: subs.map(() => false) }; // not there (yet): nothing below it is either
    if (!st.isDirectory()) throw new MailboxLinkError(path);
  }
  return {
    folder: true,
    subs: subs.map((sub) => {
      const st = lstatSync(join(folder, sub), { throwIfNoEntry: false });
      if (st !== undefined && !st.isDirectory()) throw new MailboxLinkError(join(folder, sub));
      return st !== undefined;
    }),
  };
}
