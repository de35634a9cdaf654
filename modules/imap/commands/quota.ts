// QUOTA (RFC 9208): GETQUOTA, GETQUOTAROOT and SETQUOTA over the store's quota (store/quota/). Each user
// has one quota root, named as Dovecot names its `quota = maildir:User quota` root, holding every one of
// the user's own mailboxes; other users' and public mailboxes are in no root the user can see (as
// Dovecot's quota covers the private namespace only). STORAGE is in units of 1024 octets, rounded up as
// Dovecot rounds it; a resource without a limit is left out of the QUOTA response, and an account with no
// limit at all has no quota root (Dovecot answers "No quota"; RFC 9208's QUOTA needs a resource).
import type { AccountAddress } from '../../../accounts/names.js';
import { quoteClient } from '../../../sessions/client-text.js';
import { limited, type QuotaReport } from '../../../store/quota/quota.js';
import { rightsOn } from '../access.js';
import type { Command, ImapContext } from '../context.js';
import { no } from '../imap-error.js';
import { astring } from '../wire/encode.js';
import { mailboxArg, wireName } from './mailbox-commands.js';

/** The name of the user's one quota root (Dovecot's, from `quota = maildir:User quota`). */
export const QUOTA_ROOT = 'User quota';

/** Octets in RFC 9208's units of 1024, rounded up. */
export function kilobytes(octets: number): number {
  return Math.ceil(octets / 1024);
}

/** RFC 9208 section 5.1: `* QUOTA root (resource usage limit ...)`, the resources that have a limit. */
function quotaResponse(report: QuotaReport): string {
  const resources: string[] = [];
  if (report.limits.storage > 0) resources.push(`STORAGE ${kilobytes(report.usage.storage)} ${kilobytes(report.limits.storage)}`);
  if (report.limits.messages > 0) resources.push(`MESSAGE ${report.usage.messages} ${report.limits.messages}`);
  return `* QUOTA ${astring(QUOTA_ROOT)} (${resources.join(' ')})`;
}

/** The account's quota, when it has a limit (else it has no quota root). */
async function quotaOf(s: ImapContext, account: AccountAddress): Promise<QuotaReport | null> {
  const report = await s.services.store.quota(account);
  return limited(report.limits) ? report : null;
}

// RFC 9208 section 4.2: GETQUOTA quota-root
export async function getquota(s: ImapContext, c: Command): Promise<void> {
  c.args.sp();
  const root = c.args.astring('a quota root');
  c.args.end();
  if (root !== QUOTA_ROOT) throw no(`There is no quota root ${quoteClient(root, 60)}; yours is "${QUOTA_ROOT}"`, 'NONEXISTENT');
  const report = await quotaOf(s, s.user());
  if (!report) throw no('There is no quota root: this account has no limits', 'NONEXISTENT');
  s.send(quotaResponse(report));
}

// RFC 9208 section 4.3: GETQUOTAROOT mailbox -> QUOTAROOT, then QUOTA for each root
export async function getquotaroot(s: ImapContext, c: Command): Promise<void> {
  c.args.sp();
  const { target } = mailboxArg(s, c.args);
  c.args.end();
  const rights = await rightsOn(s, target);
  if (!rights.includes('l') && !rights.includes('r')) throw no('No such mailbox', 'NONEXISTENT');
  if (!(await s.services.store.hasMailbox(target.owner, target.mailbox))) throw no('No such mailbox', 'NONEXISTENT');
  const report = target.own ? await quotaOf(s, s.user()) : null;
  if (!report) {
    s.send(`* QUOTAROOT ${wireName(s, target)}`);
    return;
  }
  s.send(`* QUOTAROOT ${wireName(s, target)} ${astring(QUOTA_ROOT)}`);
  s.send(quotaResponse(report));
}

// RFC 9208 section 4.1: SETQUOTA quota-root (resource limit ...). Limits are the operator's (the config
// and `postern quota set`): refused, as Dovecot refuses it to a user who is no admin.
export async function setquota(_s: ImapContext, c: Command): Promise<void> {
  c.args.sp();
  c.args.astring('a quota root');
  c.args.sp();
  c.args.list(() => {
    c.args.atom('a resource name');
    c.args.sp();
    c.args.number('a limit');
  }, 'the resource limits');
  c.args.end();
  throw no('Quota can be changed only by the administrator', 'NOPERM');
}
