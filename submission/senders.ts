// Whose addresses a signed-in account may send as (submission.senders), for every way mail is submitted
// (SMTP submission's MAIL FROM and From/Sender fields, POP's XTND XMIT):
//   own     the account's own address and every address that routes to it (postern route)
//   domain  also any address of a domain the account administers: a domain whose postmaster address
//           (RFC 5321 section 4.5.1: the one who answers for the domain) routes to the account, that is
//           the account postmaster@DOMAIN itself, or the account a route for postmaster@DOMAIN (or *@DOMAIN) names
//   any     no check (the MTA behind the relay checks, as with Dovecot's submission service)
import { type AccountAddress, formatAddress, NameError } from '../accounts/names.js';
import type { Router } from '../accounts/router.js';

export type SenderPolicy = 'own' | 'domain' | 'any';

async function routesTo(router: Router, address: string, account: AccountAddress): Promise<boolean> {
  try {
    const routed = await router.route(address);
    return routed !== null && routed.account.name === account.name && routed.account.domain === account.domain;
  } catch (err) {
    if (err instanceof NameError) return false;
    throw err;
  }
}

/** True when `account` may send as `address` (lower-case) under `policy`. */
export async function mayUseSender(policy: SenderPolicy, router: Router, account: AccountAddress, address: string): Promise<boolean> {
  if (policy === 'any' || address === formatAddress(account)) return true;
  if (await routesTo(router, address, account)) return true;
  if (policy !== 'domain') return false;
  const at = address.lastIndexOf('@');
  return at > 0 && (await routesTo(router, `postmaster@${address.slice(at + 1)}`, account));
}
