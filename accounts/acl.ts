// Mailbox rights (RFC 4314 letters) kept in a "dovecot-acl" file in each mailbox folder, in Dovecot's
// format, so that Dovecot serving the same tree enforces the same rights:
//   owner lrwstipekxa
//   user=jsmith@example.org lrs
//   authenticated lr
//   anyone lr
// The owner of a mailbox always holds every right.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { withFileLock, writeFileAtomic } from './atomic-file.js';
import { type AccountAddress, formatAddress } from './names.js';

export const ALL_RIGHTS = 'lrwstipekxa';
const FILE = 'dovecot-acl';

export type Grantee = 'anyone' | 'authenticated' | { user: AccountAddress };

export class AclError extends Error {}

/** Normalises a rights string: letters from RFC 4314 only, each once, in the usual order. */
export function checkRights(rights: string): string {
  if (rights === 'none' || rights === '-') return '';
  for (const c of rights) if (!ALL_RIGHTS.includes(c)) throw new AclError(`"${rights}": rights are letters from ${ALL_RIGHTS} (RFC 4314), or "none"`);
  return [...ALL_RIGHTS].filter((c) => rights.includes(c)).join('');
}

function identifier(g: Grantee): string {
  return typeof g === 'string' ? g : `user=${formatAddress(g.user)}`;
}

export async function readAcl(folder: string): Promise<Map<string, string>> {
  const acl = new Map<string, string>();
  let text: string;
  try {
    text = await readFile(join(folder, FILE), 'utf8');
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

/** Sets (or with "" removes) the rights of one grantee; returns the whole ACL after the change. */
export async function setRights(folder: string, grantee: Grantee, rights: string): Promise<Map<string, string>> {
  const path = join(folder, FILE);
  return withFileLock(path, async () => {
    const acl = await readAcl(folder);
    if (!acl.has('owner')) acl.set('owner', ALL_RIGHTS);
    if (rights === '') acl.delete(identifier(grantee));
    else acl.set(identifier(grantee), rights);
    await writeFileAtomic(path, [...acl].map(([who, r]) => `${who} ${r}\n`).join(''), 0o644);
    return acl;
  });
}

/**
 * The rights `user` holds on a mailbox of `owner` kept in `folder`: everything for the owner, else the
 * union of the entries for anyone, authenticated and the user (named with or without the main domain).
 */
export async function rightsOf(folder: string, owner: AccountAddress, user: AccountAddress, mainDomain: string): Promise<string> {
  if (owner.name === user.name && owner.domain === user.domain) return ALL_RIGHTS;
  const acl = await readAcl(folder);
  const names = [`user=${formatAddress(user)}`, ...(user.domain === mainDomain ? [`user=${user.name}`] : []), 'anyone', 'authenticated'];
  const held = new Set<string>();
  for (const n of names) for (const c of acl.get(n) ?? '') held.add(c);
  return [...ALL_RIGHTS].filter((c) => held.has(c)).join('');
}
