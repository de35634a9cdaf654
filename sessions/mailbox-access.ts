// Opening the mailbox a login name asks for, for the account that signed in: its own mailboxes, other
// accounts' mailboxes it has been granted (~owner/mailbox), public ones (~public/mailbox). A mailbox
// that does not exist and one the user may not read give the same answer, so neither can be probed.
// Protocol-neutral: POP's login names and IMAP's "~owner/mailbox" both end here.
import type { AccountStore } from '../accounts/account-store.js';
import { type AccountAddress, NameError } from '../accounts/names.js';
import { ALL_RIGHTS } from '../accounts/rights.js';
import { checkMailboxName, MailboxNameError, MailboxNotFoundError, type MailboxView, type MailStore } from '../store/contract.js';

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
  view: MailboxView;
}

/** The owner account a "~owner" prefix names, in the user's domain unless it gives one. */
export function ownerOf(accounts: AccountStore, user: AccountAddress, owner: string): AccountAddress {
  return accounts.domains.parse(owner.includes('@') ? owner : `${owner}@${user.domain}`);
}

/** Opens `mailbox` of `owner` (null: the user's own) for `user`, if the user may read it. */
export async function openForUser(accounts: AccountStore, store: MailStore, user: AccountAddress, owner: string | null, mailbox: string): Promise<OpenedMailbox> {
  let ownerAddress: AccountAddress;
  let name: string;
  try {
    ownerAddress = owner === null ? user : ownerOf(accounts, user, owner);
    name = checkMailboxName(mailbox);
  } catch (err) {
    if (err instanceof NameError || err instanceof MailboxNameError) throw new MailboxUnavailable();
    throw err;
  }
  const own = ownerAddress.name === user.name && ownerAddress.domain === user.domain;
  if (!own && !(await accounts.exists(ownerAddress))) throw new MailboxUnavailable();
  if (!(await store.hasMailbox(ownerAddress, name))) throw new MailboxUnavailable();
  const rights = own ? ALL_RIGHTS : await store.rights(ownerAddress, name, user);
  if (!rights.includes('r')) throw new MailboxUnavailable();
  try {
    return { owner: ownerAddress, mailbox: name, rights, view: await store.open(ownerAddress, name) };
  } catch (err) {
    if (err instanceof MailboxNotFoundError) throw new MailboxUnavailable();
    throw err;
  }
}
