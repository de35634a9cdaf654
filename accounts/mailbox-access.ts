// Opening the mailbox a login name asks for, for the account that signed in: its own mailboxes, other
// accounts' mailboxes it has been granted (~owner/mailbox), public ones (~public/mailbox), and Direct
// Mailbox Addressing (a routed address sees only mail addressed to it). A mailbox that does not exist
// and one the user may not read give the same answer, so neither can be probed.
import { ALL_RIGHTS, rightsOf } from './acl.js';
import type { AccountStore } from './account-store.js';
import type { LoginName } from './login-name.js';
import { isInbox, MailboxNameError, type MailboxSnapshot, type MailStore } from './mail-store.js';
import { type AccountAddress, NameError } from './names.js';
import type { Routed } from './router.js';

/** The mailbox does not exist, or the user may not read it (deliberately one error for both). */
export class MailboxUnavailable extends Error {
  constructor() {
    super('No such mailbox, or no right to read it');
  }
}

export interface OpenedMailbox {
  owner: AccountAddress;
  mailbox: string;
  /** RFC 4314 rights the user holds on it (all of them on their own mailboxes). */
  rights: string;
  snapshot: MailboxSnapshot;
}

export interface AccessOptions {
  /** Header that lists the individual names for Direct Mailbox Addressing (X-Real-To). */
  realToHeader: string;
  /** Leave out messages flagged Trashed. */
  hideTrashed: boolean;
  /** At most this many messages, the oldest; 0 = all. */
  limit: number;
}

/** The owner account a "~owner" prefix names, in the user's domain unless it gives one. */
function ownerOf(accounts: AccountStore, user: AccountAddress, owner: string): AccountAddress {
  return accounts.domains.parse(owner.includes('@') ? owner : `${owner}@${user.domain}`);
}

export async function openForUser(
  accounts: AccountStore,
  store: MailStore,
  login: LoginName,
  routed: Routed,
  options: AccessOptions,
): Promise<OpenedMailbox> {
  const user = routed.account;
  let owner: AccountAddress;
  let folder: string;
  try {
    owner = login.owner === null ? user : ownerOf(accounts, user, login.owner);
    folder = store.folder(owner, login.mailbox); // checks the mailbox name
  } catch (err) {
    if (err instanceof NameError || err instanceof MailboxNameError) throw new MailboxUnavailable();
    throw err;
  }
  const own = owner.name === user.name && owner.domain === user.domain;
  if (!own && !(await accounts.exists(owner))) throw new MailboxUnavailable();
  if (!(own && isInbox(login.mailbox)) && !(await store.hasMailbox(owner, login.mailbox))) throw new MailboxUnavailable();
  const rights = own ? ALL_RIGHTS : await rightsOf(folder, owner, user, accounts.domains.main);
  if (!rights.includes('r')) throw new MailboxUnavailable();
  const realTo = routed.localPart !== null ? { header: options.realToHeader, name: routed.localPart } : undefined;
  const snapshot = await store.openMailbox(owner, login.mailbox, { realTo, hideTrashed: options.hideTrashed, limit: options.limit });
  return { owner, mailbox: login.mailbox, rights, snapshot };
}
