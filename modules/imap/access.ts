// Rights on mailboxes (RFC 4314 letters, the same dovecot-acl files the POP module reads): the owner
// holds every right; anyone else what the mailbox's ACL grants. A mailbox the user may neither see
// (l) nor read (r) answers exactly as one that does not exist, so none can be probed.
import { ALL_RIGHTS } from '../../accounts/rights.js';
import type { ImapContext } from './context.js';
import { no } from './imap-error.js';
import type { MailboxTarget } from './mailbox-names.js';

export async function rightsOn(s: ImapContext, target: MailboxTarget): Promise<string> {
  if (target.own) return ALL_RIGHTS;
  if (!(await s.services.accounts.exists(target.owner))) return '';
  if (!(await s.services.store.hasMailbox(target.owner, target.mailbox))) return '';
  return s.services.store.rights(target.owner, target.mailbox, s.user());
}

/** The user's rights on an existing mailbox that holds `right`; NO otherwise (NONEXISTENT unless it may be seen). */
export async function requireRight(s: ImapContext, target: MailboxTarget, right: string, what: string): Promise<string> {
  const exists = await s.services.store.hasMailbox(target.owner, target.mailbox).catch(() => false);
  const rights = exists ? await rightsOn(s, target) : '';
  if (!exists || (!rights.includes('l') && !rights.includes('r'))) throw no('No such mailbox', 'NONEXISTENT');
  if (!rights.includes(right)) throw no(`You may not ${what} in ${target.display}`, 'NOPERM');
  return rights;
}

/** As requireRight, for a target that must exist to receive messages: NO [TRYCREATE] when it does not (RFC 9051 6.4.7). */
export async function requireRightOrTryCreate(s: ImapContext, target: MailboxTarget, right: string, what: string): Promise<string> {
  const exists = await s.services.store.hasMailbox(target.owner, target.mailbox).catch(() => false);
  if (!exists) {
    if (target.own) throw no(`There is no mailbox ${target.display}; create it first`, 'TRYCREATE');
    throw no('No such mailbox', 'NONEXISTENT');
  }
  return requireRight(s, target, right, what);
}
