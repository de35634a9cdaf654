// Login names (CommuniGate): [ [~OWNER/]MAILBOX # ] ADDRESS
//   jsmith                           INBOX of jsmith
//   private#jsmith                   mailbox "private" of jsmith
//   lists/info#jsmith@client1.com    mailbox "lists/info" of jsmith@client1.com
//   ~public/announces#jsmith         public mailbox "announces" (account "public" of jsmith's domain)
//   ~boss/INBOX#jsmith               boss's INBOX, if boss granted jsmith the right to read it
// The password is always ADDRESS's own.

export interface LoginName {
  /** Whose password signs in: NAME or NAME@DOMAIN as typed. */
  address: string;
  /** The account that owns the mailbox, as typed after "~"; null for ADDRESS's own account. */
  owner: string | null;
  /** The mailbox name; "INBOX" when none was given. */
  mailbox: string;
}

/** Splits a login name; null when it does not follow the grammar (nothing is ever looked up for it). */
export function parseLoginName(login: string): LoginName | null {
  const hash = login.lastIndexOf('#');
  if (hash < 0) return login.length > 0 ? { address: login, owner: null, mailbox: 'INBOX' } : null;
  const address = login.slice(hash + 1);
  let mailboxPart = login.slice(0, hash);
  if (address.length === 0 || mailboxPart.length === 0) return null;
  let owner: string | null = null;
  if (mailboxPart.startsWith('~')) {
    const slash = mailboxPart.indexOf('/');
    if (slash < 0) return null;
    owner = mailboxPart.slice(1, slash);
    mailboxPart = mailboxPart.slice(slash + 1);
    if (owner.length === 0 || mailboxPart.length === 0) return null;
  }
  return { address, owner, mailbox: mailboxPart };
}
