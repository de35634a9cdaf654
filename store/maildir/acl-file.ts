// A mailbox's rights in its folder's dovecot-acl file, in the format of Dovecot's ACL plugin, so that
// Dovecot serving the same tree enforces the same rights:
//   owner lrwstipekxa
//   user=jsmith@example.org lrs
//   authenticated lr
//   anyone lr
import { join } from 'node:path';
import { withFileLock, writeFileAtomic } from '../../lib/atomic-file.js';
import { readSmallFileQuick } from '../../lib/quick-fs.js';
import { ALL_RIGHTS, type Grantee, identifier, normalizeRights } from '../../accounts/rights.js';
import { inheritOwner } from './owner.js';

const FILE = 'dovecot-acl';

export async function readAclFile(folder: string): Promise<Map<string, string>> {
  const acl = new Map<string, string>();
  let text: string;
  try {
    // in place: each command on another user's mailbox reads it, and a hidden mailbox must not answer
    // later than a missing one for the pool's queue (modules/imap/refusal-timing.ts)
    text = (await readSmallFileQuick(join(folder, FILE))).toString('utf8');
  } catch {
    return acl;
  }
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const space = line.lastIndexOf(' ');
    if (space <= 0) continue;
    acl.set(line.slice(0, space).trim(), line.slice(space + 1).replace(/[^a-z]/g, ''));
  }
  return acl;
}

/** Sets (or with "" removes) the rights of one grantee; returns the whole list after the change. */
export async function setRightsInFile(folder: string, grantee: Grantee, rights: string): Promise<Map<string, string>> {
  const path = join(folder, FILE);
  const normal = normalizeRights(rights);
  return withFileLock(path, async () => {
    const acl = await readAclFile(folder);
    if (!acl.has('owner')) acl.set('owner', ALL_RIGHTS);
    if (normal === '') acl.delete(identifier(grantee));
    else acl.set(identifier(grantee), normal);
    await writeFileAtomic(path, [...acl].map(([who, r]) => `${who} ${r}\n`).join(''), 0o644);
    await inheritOwner(path, { created: true }); // (written new and renamed over it)
    return acl;
  });
}
