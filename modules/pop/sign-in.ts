// Signing in (RFC 1939 sections 4 and 7, RFC 5034): the secret is checked as in every protocol
// (sessions/sign-in.ts: every failure gets the same -ERR [AUTH] at the same moment after the client's
// line), and on success the mailbox the login name names is opened as the session's maildrop.
import type { AccountRecord } from '../../accounts/account-store.js';
import { type OpenedMailbox, openForUser } from '../../sessions/mailbox-access.js';
import { formatAddress } from '../../accounts/names.js';
import { BulletinDeliveryError } from '../../delivery/bulletins.js';
import { type CheckSecret, checkSignIn, type SignInAttempt } from '../../sessions/sign-in.js';
import type { PopServices, PopSettings, SignedIn } from './context.js';
import { Maildrop } from './maildrop.js';
import { PopError } from './pop-error.js';
import { popErrorFor } from './store-errors.js';

/** What a sign-in needs of its session. */
export interface SignInSession extends SignInAttempt {
  readonly services: PopServices;
  readonly settings: PopSettings;
}

export async function signIn(s: SignInSession, login: string, mechanism: string, check: CheckSecret): Promise<SignedIn> {
  const { name, routed, record } = await checkSignIn(s.services.signIn, s, login, mechanism, check, (last, reason) =>
    reason === 'unavailable'
      ? new PopError('SYS/TEMP', 'Temporary authentication failure; try again later')
      : last
        ? new PopError('AUTH', 'Authentication failed; too many attempts, closing connection', false, true)
        : new PopError('AUTH', 'Authentication failed'),
  );
  const settings = s.settings;
  const account = routed.account;
  const user = formatAddress(account);
  // CommuniGate alerts: a correct sign-in with alerts pending is answered with the next one instead.
  const alert = record.alerts.length > 0 ? await s.services.accounts.takeAlert(account) : null;
  if (alert !== null) {
    s.log.info({ user, mechanism }, 'alert shown instead of signing in');
    throw new PopError(null, alert.replace(/[\r\n]+/g, ' '));
  }
  await deliverBulletins(s, record, user);
  let opened: OpenedMailbox;
  try {
    opened = await openForUser(s.services.accounts, s.services.store, account, name.owner, name.mailbox);
  } catch (err) {
    const answer = popErrorFor(err, s.log, { user });
    if (answer instanceof PopError) {
      s.log.info({ user, login: login.slice(0, 200) }, 'mailbox unavailable');
      throw answer;
    }
    s.log.error({ user, err }, 'cannot open the mailbox');
    throw new PopError('SYS/TEMP', 'Cannot open the mailbox now; try again later');
  }
  const { view } = opened;
  let maildrop: Maildrop;
  try {
    maildrop = await Maildrop.open(view, {
      realTo: routed.localPart !== null ? { header: settings.realToHeader, name: routed.localPart } : undefined,
      hideDeleted: settings.deleteAction.kind === 'flag',
      limit: settings.messageMaximum,
      uidlFormat: settings.uidlFormat,
      idHeader: settings.idHeaders ? (uidl) => `X-POP3-Server: ${settings.hostname} Postern\r\nX-POP3-ID: ${uidl}\r\n` : undefined,
    });
  } catch (err) {
    view.close();
    s.log.error({ user, err }, 'cannot open the mailbox');
    throw new PopError('SYS/TEMP', 'Cannot open the mailbox now; try again later');
  }
  const label = `${formatAddress(opened.owner)}/${opened.mailbox}`;
  s.log.info(
    {
      user,
      mailbox: label,
      localPart: routed.localPart,
      rights: opened.rights,
      mechanism,
      messages: maildrop.count,
      octets: maildrop.octets,
    },
    'signed in',
  );
  return { address: account, owner: opened.owner, mailbox: opened.mailbox, label, rights: opened.rights, maildrop };
}

/** popper -b: bulletins the account has not had yet. One that cannot be stored (a full disk) follows later. */
async function deliverBulletins(s: SignInSession, record: AccountRecord, user: string): Promise<void> {
  const bulletins = s.services.bulletins;
  if (!bulletins) return;
  const n = await bulletins.deliverNew(record).catch((err: unknown) => {
    const delivered = err instanceof BulletinDeliveryError ? err.delivered : 0;
    s.log.error(
      { user, delivered, err: err instanceof BulletinDeliveryError ? err.cause : err },
      'cannot deliver bulletins now; they follow at a later sign-in',
    );
    return delivered;
  });
  if (n > 0) {
    s.services.metrics.deliveries.inc({ source: 'bulletin' }, n);
    s.log.info({ user, bulletins: n }, 'bulletins delivered');
  }
}
