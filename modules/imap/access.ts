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

/**
 * The rights on a mailbox whether it exists or not ("" when it does not): another user's are looked up
 * either way, so that a hidden mailbox and a missing one cost the same calls, and a busy machine's slower
 * calls cannot tell them apart in time (refusal-timing.ts evens out the rest).
 */
async function rightsEitherWay(s: ImapContext, target: MailboxTarget, exists: boolean): Promise<string> {
  if (target.own) return exists ? ALL_RIGHTS : '';
  const rights = await heldRights(s, target).catch(() => '');
  return exists ? rights : '';
}

/** The user's rights on a mailbox; "" when it does not exist. */
export async function rightsOn(s: ImapContext, target: MailboxTarget): Promise<string> {
  return rightsEitherWay(s, target, await s.services.store.hasMailbox(target.owner, target.mailbox).catch(() => false));
}

/** The rights on a mailbox that exists (`exists`), if they hold `right`; NO otherwise (NONEXISTENT unless it may be seen). */
async function checkRight(s: ImapContext, target: MailboxTarget, exists: boolean, right: string, what: string): Promise<string> {
  const rights = await rightsEitherWay(s, target, exists);
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
