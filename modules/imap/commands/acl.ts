// Access control (RFC 4314): GETACL, SETACL, DELETEACL, LISTRIGHTS, MYRIGHTS, on the same dovecot-acl
// files the POP module reads. Identifiers are account names (in the user's domain without @domain),
// "anyone" and "authenticated". Changing or reading a list needs the a right.
import { formatAddress } from '../../../accounts/names.js';
import { ALL_RIGHTS, type Grantee, normalizeRights } from '../../../accounts/rights.js';
import { requireRight, rightsOn } from '../access.js';
import type { Command, ImapContext } from '../context.js';
import { bad, no } from '../imap-error.js';
import type { MailboxTarget } from '../mailbox-names.js';
import { astring } from '../wire/encode.js';
import { mailboxArg, wireName } from './mailbox-commands.js';
import { quoteClient } from '../../../sessions/client-text.js';

function grantee(s: ImapContext, identifier: string): Grantee {
  const lower = identifier.toLowerCase();
  if (lower === 'anyone' || lower === 'authenticated') return lower;
  try {
    return { user: s.services.accounts.domains.parse(identifier.includes('@') ? identifier : `${identifier}@${s.user().domain}`) };
  } catch {
    throw bad(`${quoteClient(identifier, 60)} is not an account name, anyone or authenticated`);
  }
}

/** The identifier as clients see it: "owner"'s entry under the owner's name, users without their domain when it is the user's. */
function shown(s: ImapContext, target: MailboxTarget, id: string): string {
  if (id === 'owner') return target.owner.domain === s.user().domain ? target.owner.name : formatAddress(target.owner);
  if (id.startsWith('user=')) {
    const name = id.slice(5);
    const [local, domain] = name.split('@');
    return domain === undefined || domain === s.user().domain ? local : name;
  }
  return id;
}

async function existing(s: ImapContext, c: Command): Promise<MailboxTarget> {
  c.args.sp();
  const { target } = mailboxArg(s, c.args);
  return target;
}

// RFC 4314 section 3.3
export async function getacl(s: ImapContext, c: Command): Promise<void> {
  const target = await existing(s, c);
  c.args.end();
  await requireRight(s, target, 'a', 'read the access list');
  const acl = await s.services.store.acl(target.owner, target.mailbox);
  const entries = new Map<string, string>();
  entries.set(shown(s, target, 'owner'), ALL_RIGHTS);
  for (const [id, rights] of acl) if (rights) entries.set(shown(s, target, id), rights);
  s.send(`* ACL ${wireName(s, target)}${[...entries].map(([id, r]) => ` ${astring(id)} ${r}`).join('')}`);
}

// RFC 4314 section 3.1: SETACL mailbox identifier [+|-]rights
export async function setacl(s: ImapContext, c: Command): Promise<void> {
  const target = await existing(s, c);
  c.args.sp();
  const id = c.args.astring('an identifier');
  c.args.sp();
  const text = c.args.astring('rights');
  c.args.end();
  await requireRight(s, target, 'a', 'change the access list');
  const who = grantee(s, id);
  if (typeof who !== 'string' && who.user.name === target.owner.name && who.user.domain === target.owner.domain)
    throw no("The owner's rights cannot be changed", 'CANNOT');
  const mode = text.startsWith('+') ? '+' : text.startsWith('-') ? '-' : '=';
  // RFC 4314 section 2.1.1: the obsolete c and d stand for k x and e t (x)
  const letters = normalizeRights((mode === '=' ? text : text.slice(1)).replace(/c/g, 'k').replace(/d/g, 'xte'));
  const acl = await s.services.store.acl(target.owner, target.mailbox);
  const key = typeof who === 'string' ? who : `user=${formatAddress(who.user)}`;
  const current =
    acl.get(key) ??
    (typeof who !== 'string' && who.user.domain === s.services.accounts.domains.main ? (acl.get(`user=${who.user.name}`) ?? '') : '');
  let next = letters;
  if (mode === '+') next = normalizeRights(current + letters);
  if (mode === '-') next = [...current].filter((ch) => !letters.includes(ch)).join('');
  await s.services.store.setRights(target.owner, target.mailbox, who, next);
}

// RFC 4314 section 3.2
export async function deleteacl(s: ImapContext, c: Command): Promise<void> {
  const target = await existing(s, c);
  c.args.sp();
  const id = c.args.astring('an identifier');
  c.args.end();
  await requireRight(s, target, 'a', 'change the access list');
  await s.services.store.setRights(target.owner, target.mailbox, grantee(s, id), '');
}

// RFC 4314 section 3.4: l and r may always be granted separately; each other right on its own
export async function listrights(s: ImapContext, c: Command): Promise<void> {
  const target = await existing(s, c);
  c.args.sp();
  const id = c.args.astring('an identifier');
  c.args.end();
  await requireRight(s, target, 'a', 'read the access list');
  const who = grantee(s, id);
  const isOwner = typeof who !== 'string' && who.user.name === target.owner.name && who.user.domain === target.owner.domain;
  if (isOwner) s.send(`* LISTRIGHTS ${wireName(s, target)} ${astring(id)} ${ALL_RIGHTS}`);
  else s.send(`* LISTRIGHTS ${wireName(s, target)} ${astring(id)} "" ${[...ALL_RIGHTS].join(' ')}`);
}

// RFC 4314 section 3.5
export async function myrights(s: ImapContext, c: Command): Promise<void> {
  const target = await existing(s, c);
  c.args.end();
  const rights = await rightsOn(s, target);
  if (!rights.includes('l') && !rights.includes('r') && !rights.includes('a')) throw no('No such mailbox', 'NONEXISTENT');
  s.send(`* MYRIGHTS ${wireName(s, target)} ${rights}`);
}
