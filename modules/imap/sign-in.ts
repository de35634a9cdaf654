// Signing in (RFC 9051 sections 6.2.2 and 6.2.3): the login name is routed to its account and the
// secret checked. Every failure gets the same NO [AUTHENTICATIONFAILED] at the same moment after the
// client's line, whatever the reason (unknown name, wrong password, disabled account); the log says
// which it was. IMAP opens mailboxes with SELECT, so a login name's "mailbox#" part (POP's CommuniGate
// addressing) is not used here: the name signs in as its address.
import type { SignInResult } from '../../accounts/account-store.js';
import { parseLoginName } from '../../accounts/login-name.js';
import { type AccountAddress, formatAddress } from '../../accounts/names.js';
import type { Connection } from '../../listeners/connection.js';
import { until } from '../../sessions/answer-at.js';
import type { Logger } from '../../observability/logger.js';
import type { CheckSecret, ImapServices } from './context.js';
import { ImapError } from './imap-error.js';

export interface SignInAttempt {
  readonly services: ImapServices;
  readonly log: Logger;
  readonly conn: Connection;
  /** When the client's line was taken up (performance.now()). */
  readonly lineTakenAt: number;
  failures: number;
}

/** Closes the connection after the answer (too many failures). */
export class TooManyFailures extends ImapError {}


export async function signIn(s: SignInAttempt, login: string, mechanism: string, check: CheckSecret): Promise<{ account: AccountAddress; alerts: string[] }> {
  const name = parseLoginName(login);
  const routed = name ? await s.services.router.routeOrNull(name.address) : null;
  const result: SignInResult = await check(routed?.account ?? null);
  const settings = s.services.settings;
  s.services.metrics.signIns.inc({ result: result.ok ? 'ok' : result.reason, mechanism: `imap-${mechanism}` });
  if (!result.ok || !name || !routed) {
    s.failures += 1;
    const delay = await s.services.throttle.failedShared(s.conn.remoteAddress);
    const reason = result.ok ? 'unknown-user' : result.reason;
    s.log.info({ user: login.slice(0, 100), mechanism, reason, attempt: s.failures, delayMs: delay }, 'sign-in refused');
    await until(s.lineTakenAt + settings.authFailureTimeMs + delay);
    if (s.failures >= settings.maxAuthAttempts) throw new TooManyFailures('NO', 'AUTHENTICATIONFAILED', 'Authentication failed; too many attempts, closing connection');
    throw new ImapError('NO', 'AUTHENTICATIONFAILED', 'Authentication failed');
  }
  const account = routed.account;
  const user = formatAddress(account);
  if (routed.localPart !== null) {
    // A route that leaves a local part shows a POP user only the messages addressed to that name; IMAP
    // would show the whole shared account, so it is refused (the password was right: nothing leaks).
    s.log.info({ user, login: login.slice(0, 100), mechanism }, 'sign-in refused: a routed address with a local part reads its mail by POP only');
    throw new ImapError('NO', 'AUTHORIZATIONFAILED', 'This address reads its mail by POP only; sign in with the account name to use IMAP');
  }
  // CommuniGate alerts: shown once, at the sign-in after they were posted.
  const alerts: string[] = [];
  if (result.account.alerts.length > 0) {
    for (let alert = await s.services.accounts.takeAlert(account); alert !== null; alert = await s.services.accounts.takeAlert(account)) {
      alerts.push(alert.replace(/[\r\n]+/g, ' '));
      if (alerts.length >= 20) break;
    }
  }
  s.log.info({ user, mechanism }, 'signed in');
  return { account, alerts };
}
