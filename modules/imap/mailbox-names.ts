// IMAP mailbox names (RFC 9051 sections 5.1 and 6.3.10) and the namespaces Postern offers, as in
// CommuniGate and in POP login names: the user's own mailboxes ("INBOX", "lists/info"), other users'
// ("~boss/INBOX", "~boss@client1.com/Sent") and the public ones ("~public/announces", the account
// "public" of the user's domain). On the wire, IMAP4rev1 clients use modified UTF-7 (RFC 3501 section
// 5.1.3) and IMAP4rev2 clients UTF-8.
import type { AccountStore } from '../../accounts/account-store.js';
import { ownerOf } from '../../sessions/mailbox-access.js';
import { type AccountAddress, formatAddress, NameError } from '../../accounts/names.js';
import { checkMailboxName, DELIMITER, isInbox } from '../../store/contract.js';
import { decodeMutf7, encodeMutf7 } from '../../lib/mutf7.js';
import { ImapError, no } from './imap-error.js';
import { quoteClient } from '../../sessions/client-text.js';

/** The prefix of other users' mailboxes (NAMESPACE: other users "~", shared "~public/"). */
export const OTHERS = '~';
export const PUBLIC_ACCOUNT = 'public';

/** Where a name points: a mailbox of the user's own account or of another one. */
export interface MailboxTarget {
  readonly owner: AccountAddress;
  /** The name in the owner's account ("INBOX", "lists/info"). */
  readonly mailbox: string;
  readonly own: boolean;
  /** The name as the client sees it, Unicode ("~boss/INBOX"). */
  readonly display: string;
}

/**
 * The name in Unicode, or null when it is not valid modified UTF-7 (RFC 3501 section 5.1.3): a shift
 * not ended by "-", base64 that is not whole UTF-16, or printable ASCII shifted ("&AGE-" for "a").
 * Only the canonical spelling is accepted (decoded and encoded again it must be the same), as Dovecot does.
 */
export function decodeNameOrNull(wire: string, utf8: boolean): string | null {
  if (utf8 || !wire.includes('&')) return wire;
  if (!/^(?:[^&]|&-|&[A-Za-z0-9+,]+-)*$/.test(wire)) return null;
  const name = decodeMutf7(wire);
  if (/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/.test(name) || encodeMutf7(name) !== wire) return null;
  return name;
}

/**
 * A name as it arrived, in Unicode: IMAP4rev1's modified UTF-7 decoded; rev2 sends UTF-8. A name that
 * is not valid modified UTF-7 is well-formed IMAP naming no mailbox: NO, not BAD (as Dovecot answers).
 */
export function decodeName(wire: string, utf8: boolean): string {
  const name = decodeNameOrNull(wire, utf8);
  if (name === null) throw new ImapError('NO', null, 'Mailbox name is not valid modified UTF-7');
  return name;
}

/** A Unicode name as the client expects it. */
export function encodeName(name: string, utf8: boolean): string {
  return utf8 ? name : encodeMutf7(name);
}

/** The prefix for `owner`'s mailboxes as `user` sees them: "~boss/" (same domain) or "~boss@client1.com/". */
export function prefixFor(owner: AccountAddress, user: AccountAddress): string {
  return `${OTHERS}${owner.domain === user.domain ? owner.name : formatAddress(owner)}${DELIMITER}`;
}

/**
 * Resolves a Unicode name for `user`. NO [NONEXISTENT] for another user's namespace that names no
 * account (the answer is the same as for a missing mailbox: no name can be probed); a name no mailbox
 * can have is the store's MailboxNameError (NO [CANNOT], or NO [LIMIT] for one too long).
 */
export function resolveName(accounts: AccountStore, user: AccountAddress, name: string): MailboxTarget {
  try {
    if (name.startsWith(OTHERS)) {
      const slash = name.indexOf(DELIMITER);
      if (slash < 2 || slash === name.length - 1)
        throw no(`${quoteClient(name, 80)} names another user's namespace, not a mailbox; add the mailbox: ~user/INBOX`, 'NONEXISTENT');
      const owner = ownerOf(accounts, user, name.slice(1, slash));
      const own = owner.name === user.name && owner.domain === user.domain;
      const mailbox = checkMailboxName(name.slice(slash + 1));
      return { owner, mailbox, own, display: own ? mailbox : `${prefixFor(owner, user)}${mailbox}` };
    }
    const mailbox = checkMailboxName(name);
    return { owner: user, mailbox, own: true, display: isInbox(mailbox) ? 'INBOX' : mailbox };
  } catch (err) {
    if (err instanceof NameError) throw no('No such mailbox', 'NONEXISTENT');
    throw err; // a name the store refuses: answered by its code (store-errors.ts)
  }
}

/** RFC 6154 special-use attributes, from the usual names (as Thunderbird, Apple Mail and Outlook make them). */
const SPECIAL_USE: Record<string, string> = {
  drafts: '\\Drafts',
  sent: '\\Sent',
  'sent messages': '\\Sent',
  'sent items': '\\Sent',
  'sent mail': '\\Sent',
  trash: '\\Trash',
  'deleted messages': '\\Trash',
  'deleted items': '\\Trash',
  junk: '\\Junk',
  spam: '\\Junk',
  'junk e-mail': '\\Junk',
  archive: '\\Archive',
  archives: '\\Archive',
};

export function specialUse(mailbox: string): string | null {
  if (mailbox.includes(DELIMITER)) return null;
  return SPECIAL_USE[mailbox.toLowerCase()] ?? null;
}
