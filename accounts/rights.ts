// Mailbox rights (RFC 4314 letters), as Dovecot's ACL plugin keeps them: identifiers "owner", "anyone",
// "authenticated" and "user=NAME" with their letters. Every store answers rights the same way; where
// the list is kept (a dovecot-acl file in a Maildir folder, memory) is the store's business.
import { type AccountAddress, formatAddress } from './names.js';

export const ALL_RIGHTS = 'lrwstipekxa';

export type Grantee = 'anyone' | 'authenticated' | { user: AccountAddress };

export class AclError extends Error {}

/** Normalises a rights string: letters from RFC 4314 only, each once, in the usual order; "none" is "". */
export function normalizeRights(rights: string): string {
  if (rights === 'none' || rights === '-') return '';
  for (const c of rights)
    if (!ALL_RIGHTS.includes(c)) throw new AclError(`"${rights}": rights are letters from ${ALL_RIGHTS} (RFC 4314), or "none"`);
  return [...ALL_RIGHTS].filter((c) => rights.includes(c)).join('');
}

/** The identifier of a grantee in an ACL ("user=jsmith@example.org"). */
export function identifier(g: Grantee): string {
  return typeof g === 'string' ? g : `user=${formatAddress(g.user)}`;
}

/**
 * The rights `user` holds under `acl` (someone else's mailbox): the union of the entries for anyone,
 * authenticated and the user, named with its domain or, in the main domain, without it.
 */
export function rightsFromAcl(acl: ReadonlyMap<string, string>, user: AccountAddress, mainDomain: string): string {
  const names = [`user=${formatAddress(user)}`, ...(user.domain === mainDomain ? [`user=${user.name}`] : []), 'anyone', 'authenticated'];
  const held = new Set<string>();
  for (const n of names) for (const c of acl.get(n) ?? '') held.add(c);
  return [...ALL_RIGHTS].filter((c) => held.has(c)).join('');
}
