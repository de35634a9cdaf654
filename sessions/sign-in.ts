// Checking a sign-in, the same way in every protocol: the login name ([[~OWNER/]MAILBOX#]ADDRESS) is
// routed to its account, the secret checked (through the account store and its auth cache), the attempt
// counted in postern_sign_ins_total, and every failure answered at the same moment after the client's
// line whatever its reason (an unknown name reads a decoy record, a wrong APOP digest costs no scrypt),
// plus the growing delay of the throttle for repeated failures. The log says which reason it was; the
// client cannot tell. What a protocol does with an account that signed in (open a maildrop, show
// alerts) is its own.
import type { Counter } from 'prom-client';
import type { AccountRecord, SignInRefusal, SignInResult } from '../accounts/account-store.js';
import { DirectoryUnavailable } from '../accounts/directory/contract.js';
import { type LoginName, parseLoginName } from '../accounts/login-name.js';
import type { AccountAddress } from '../accounts/names.js';
import type { Routed, Router } from '../accounts/router.js';
import type { Connection } from '../listeners/connection.js';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import { until } from './answer-at.js';
import type { AuthThrottle } from './auth-throttle.js';

/** How a sign-in checks the secret: given the account the login name reaches (null: none), the verdict. */
export type CheckSecret = (account: AccountAddress | null) => Promise<SignInResult>;

/** Sign-in attempts, by result and mechanism: one series for every protocol. */
export function signInCounter(metrics: Metrics): Counter<'result' | 'mechanism'> {
  return metrics.counter('postern_sign_ins_total', 'Sign-in attempts, by result and mechanism', ['result', 'mechanism']);
}

/** What a sign-in needs of its protocol. */
export interface SignInPolicy {
  readonly router: Router;
  readonly throttle: AuthThrottle;
  readonly signIns: Counter<'result' | 'mechanism'>;
  /** Put before the mechanism in the metric's label ("imap-" for IMAP; POP's have none). */
  readonly mechanismLabel: string;
  /** The least time a failed sign-in takes, from the client's line. */
  readonly authFailureTimeMs: number;
  /** Failures on one connection before it is closed. */
  readonly maxAuthAttempts: number;
}

/** One connection's sign-in attempts. */
export interface SignInAttempt {
  readonly log: Logger;
  readonly conn: Connection;
  /** When the client's line was taken up (performance.now()): a failure is answered relative to it. */
  readonly lineTakenAt: number;
  /** Failed attempts on this connection so far. */
  failures: number;
  /**
   * The client's address when another program signs its clients in over this connection (the auth
   * socket: Dovecot's `rip=`): failures are throttled by it. Absent: the connection's own address.
   */
  readonly clientAddress?: string;
}

/** A sign-in whose secret was right. */
export interface Accepted {
  readonly name: LoginName;
  readonly routed: Routed;
  readonly record: AccountRecord;
}

/**
 * Checks `login`'s secret with `check`. On failure waits until the failure's answer time and throws
 * what `refused` makes (`last`: this was the connection's last attempt, the answer closes it). A
 * directory that cannot answer (`reason` 'unavailable') is refused at once as a temporary failure, in
 * each protocol's words ([UNAVAILABLE], [SYS/TEMP], TRYLATER), logged, and neither counted as a failed
 * attempt nor throttled: the user did nothing wrong.
 */
export async function checkSignIn(
  p: SignInPolicy,
  s: SignInAttempt,
  login: string,
  mechanism: string,
  check: CheckSecret,
  refused: (last: boolean, reason?: SignInRefusal) => Error,
): Promise<Accepted> {
  const name = parseLoginName(login);
  let routed: Routed | null = null;
  let result: SignInResult;
  try {
    routed = name ? await p.router.routeOrNull(name.address) : null;
    result = await check(routed?.account ?? null);
  } catch (err) {
    if (!(err instanceof DirectoryUnavailable)) throw err;
    s.log.warn({ err: err.message }, 'directory unavailable');
    result = { ok: false, reason: 'unavailable' };
  }
  p.signIns.inc({ result: result.ok ? 'ok' : result.reason, mechanism: `${p.mechanismLabel}${mechanism}` });
  if (result.ok && name && routed) return { name, routed, record: result.account };
  if (!result.ok && result.reason === 'unavailable') {
    s.log.warn({ user: login.slice(0, 100), mechanism, reason: result.reason }, 'sign-in refused for now: the directory is unavailable');
    throw refused(false, 'unavailable');
  }
  s.failures += 1;
  const delay = await p.throttle.failedShared(s.clientAddress ?? s.conn.remoteAddress);
  const reason = result.ok ? 'unknown-user' : result.reason;
  s.log.info({ user: login.slice(0, 100), mechanism, reason, attempt: s.failures, delayMs: delay }, 'sign-in refused');
  await until(s.lineTakenAt + p.authFailureTimeMs + delay);
  throw refused(s.failures >= p.maxAuthAttempts);
}
