// Rights on mailboxes (RFC 4314 letters, the same dovecot-acl files the POP module reads): the owner
// holds every right; anyone else what the mailbox's ACL grants. A mailbox the user may neither see
// (l) nor read (r) answers exactly as one that does not exist, so none can be probed.
import { ALL_RIGHTS } from '../../accounts/rights.js';
import type { ImapContext } from './context.js';
import { no } from './imap-error.js';
import type { MailboxTarget } from './mailbox-names.js';

/** The rights the user holds on a mailbox known to exist. */
async function heldRights(s: ImapContext, target: MailboxTarget): Promise<string> {
  if (target.own) return ALL_RIGHTS;
  if (!(await s.services.accounts.exists(target.owner))) return '';
  return s.services.store.rights(target.owner, target.mailbox, s.user());
}

/** The user's rights on a mailbox; "" when it does not exist. */
export async function rightsOn(s: ImapContext, target: MailboxTarget): Promise<string> {
  const exists = await s.services.store.hasMailbox(target.owner, target.mailbox).catch(() => false);
  return exists ? heldRights(s, target) : '';
}

/** The rights on a mailbox that exists (`exists`), if they hold `right`; NO otherwise (NONEXISTENT unless it may be seen). */
async function checkRight(s: ImapContext, target: MailboxTarget, exists: boolean, right: string, what: string): Promise<string> {
  const rights = exists ? await heldRights(s, target) : '';
  if (!exists || (!rights.includes('l') && !rights.includes('r'))) throw no('No such mailbox', 'NONEXISTENT');
  if (!rights.includes(right)) throw no(`You may not ${what} in ${target.display}`, 'NOPERM');
  return rights;
}

/** The user's rights on an existing mailbox that holds `right`; NO otherwise (NONEXISTENT unless it may be seen). */
export async function requireRight(s: ImapContext, target: MailboxTarget, right: string, what: string): Promise<string> {
  return checkRight(s, target, await s.services.store.hasMailbox(target.owner, target.mailbox).catch(() => false), right, what);
}

/** As requireRight, for a target that must exist to receive messages: NO [TRYCREATE] when it does not (RFC 9051 6.4.7). */
export async function requireRightOrTryCreate(s: ImapContext, target: MailboxTarget, right: string, what: string): Promise<string> {
  const exists = await s.services.store.hasMailbox(target.owner, target.mailbox).catch(() => false);
  if (!exists && target.own) throw no(`There is no mailbox ${target.display}; create it first`, 'TRYCREATE');
  return checkRight(s, target, exists, right, what);
}
