// Opening the mailbox a login name asks for, for the account that signed in: its own mailboxes, other
// accounts' mailboxes it has been granted (~owner/mailbox), public ones (~public/mailbox). A mailbox
// that does not exist and one the user may not read give the same answer, so neither can be probed.
// Protocol-neutral: POP's login names and IMAP's "~owner/mailbox" both end here.
import type { AccountStore } from '../accounts/account-store.js';
import { type AccountAddress, NameError } from '../accounts/names.js';
import { ALL_RIGHTS } from '../accounts/rights.js';
import { checkMailboxName, MailError, mailErrorOf, MailStoreError, type MailboxView, type MailStore } from '../store/contract.js';

/** What a user is told of a mailbox that does not exist or that they may not read. */
export const NO_SUCH_MAILBOX = 'No such mailbox, or no right to read it';

/**
 * The mailbox does not exist, or the user may not read it (deliberately one error for both): NOTFOUND,
 * as Dovecot reports a mailbox the user may not see.
 */
export class MailboxUnavailable extends MailStoreError {
  constructor() {
    super(MailError.NOTFOUND, NO_SUCH_MAILBOX);
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
export async function openForUser(
  accounts: AccountStore,
  store: MailStore,
  user: AccountAddress,
  owner: string | null,
  mailbox: string,
): Promise<OpenedMailbox> {
  let ownerAddress: AccountAddress;
  let name: string;
  try {
    ownerAddress = owner === null ? user : ownerOf(accounts, user, owner);
    name = checkMailboxName(mailbox);
  } catch (err) {
    // a name no mailbox can have is answered as a missing mailbox: no name can be probed
    const code = mailErrorOf(err);
    if (err instanceof NameError || code === MailError.PARAMS || code === MailError.LIMIT) throw new MailboxUnavailable();
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
    if (mailErrorOf(err) === MailError.NOTFOUND) throw new MailboxUnavailable(); // deleted meanwhile
    throw err;
  }
}
