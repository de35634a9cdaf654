// Mailbox names to Maildir++ folders: "INBOX" is the Maildir root, "lists/info" is ".lists.info".
// Every name is checked here, so no name can reach outside the account's Maildir.
import { join } from 'node:path';
import { isInbox, MailboxNameError } from '../mail-store.js';
import { printable } from '../names.js';

const MAX_NAME = 200;
// A component: anything printable except the separators "/" and "." and the backslash.
const COMPONENT = /^[^\x00-\x1f\x7f/\\.]{1,64}$/;

/** The folder holding `mailbox` under the Maildir root; throws MailboxNameError for an unusable name. */
export function mailboxFolder(maildirRoot: string, mailbox: string): string {
  if (isInbox(mailbox)) return maildirRoot;
  if (mailbox.length === 0 || mailbox.length > MAX_NAME) {
    throw new MailboxNameError(`mailbox name must be 1-${MAX_NAME} characters`);
  }
  const parts = mailbox.split('/');
  for (const part of parts) {
    if (!COMPONENT.test(part)) {
      throw new MailboxNameError(
        `"${printable(mailbox)}" is not a valid mailbox name: use "/" between parts, and no empty part, ".", "\\" or control characters`,
      );
    }
  }
  return join(maildirRoot, `.${parts.join('.')}`);
}
