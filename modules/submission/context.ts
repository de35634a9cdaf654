// What a submission session is given: the services of one config (rebuilt at each reload) and its settings.
import type { SMTPServer } from 'smtp-server';
import type { AccountStore } from '../../accounts/account-store.js';
import type { LocalDelivery } from '../../delivery/local-delivery.js';
import type { TraceLog } from '../../observability/trace.js';
import type { CleartextPolicy } from '../../sessions/sasl.js';
import type { SignedInSessions } from '../../sessions/signed-in.js';
import type { SignInPolicy } from '../../sessions/sign-in.js';
import type { Submitter } from '../../submission/submitter.js';
import type { SubmissionMetrics } from './metrics.js';

export interface SubmissionSettings {
  readonly hostname: string;
  /** submission.maxSize: the largest message, announced as SIZE. */
  readonly maxSize: number;
  readonly loginTimeoutMs: number;
  readonly cleartextAuth: CleartextPolicy;
}

export interface SubmissionServices {
  readonly accounts: AccountStore;
  readonly submitter: Submitter;
  /** Local recipients: routed and delivered as LMTP does (delivery/, Sieve included). */
  readonly delivery: LocalDelivery;
  readonly signIn: SignInPolicy;
  readonly signedIn: SignedInSessions;
  readonly metrics: SubmissionMetrics;
  readonly trace: TraceLog;
  readonly settings: SubmissionSettings;
  /** smtp-server, one for connections in the clear (offering STARTTLS) and one for those with TLS from the first byte. */
  readonly servers: { readonly plain: SMTPServer; readonly implicit: SMTPServer };
}
