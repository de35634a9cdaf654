// Signing in (RFC 9051 sections 6.2.2 and 6.2.3): the secret is checked as in every protocol
// (sessions/sign-in.ts: every failure gets the same NO [AUTHENTICATIONFAILED] at the same moment after
// the client's line, whatever the reason). IMAP opens mailboxes with SELECT, so a login name's
// "mailbox#" part (POP's CommuniGate addressing) is not used here: the name signs in as its address.
import { type AccountAddress, formatAddress } from '../../accounts/names.js';
import { type CheckSecret, checkSignIn, type SignInAttempt } from '../../sessions/sign-in.js';
import type { ImapServices } from './context.js';
import { ImapError } from './imap-error.js';

/** What a sign-in needs of its session. */
export interface SignInSession extends SignInAttempt {
  readonly services: ImapServices;
}

/** Closes the connection after the answer (too many failures). */
export class TooManyFailures extends ImapError {}

export async function signIn(
  s: SignInSession,
  login: string,
  mechanism: string,
  check: CheckSecret,
): Promise<{ account: AccountAddress; alerts: string[] }> {
  const { routed, record } = await checkSignIn(s.services.signIn, s, login, mechanism, check, (last, reason) =>
    reason === 'unavailable'
      ? new ImapError('NO', 'UNAVAILABLE', 'Temporary authentication failure; try again later')
      : last
        ? new TooManyFailures('NO', 'AUTHENTICATIONFAILED', 'Authentication failed; too many attempts, closing connection')
        : new ImapError('NO', 'AUTHENTICATIONFAILED', 'Authentication failed'),
  );
  const account = routed.account;
  const user = formatAddress(account);
  if (routed.localPart !== null) {
    // A route that leaves a local part shows a POP user only the messages addressed to that name; IMAP
    // would show the whole shared account, so it is refused (the password was right: nothing leaks).
    s.log.info(
      { user, login: login.slice(0, 100), mechanism },
      'sign-in refused: a routed address with a local part reads its mail by POP only',
    );
    throw new ImapError('NO', 'AUTHORIZATIONFAILED', 'This address reads its mail by POP only; sign in with the account name to use IMAP');
  }
  // CommuniGate alerts: shown once, at the sign-in after they were posted.
  const alerts: string[] = [];
  if (record.alerts.length > 0) {
    for (let alert = await s.services.accounts.takeAlert(account); alert !== null; alert = await s.services.accounts.takeAlert(account)) {
      alerts.push(alert.replace(/[\r\n]+/g, ' '));
      if (alerts.length >= 20) break;
    }
  }
  s.log.info({ user, mechanism }, 'signed in');
  return { account, alerts };
}
