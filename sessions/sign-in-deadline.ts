// pop.loginTimeout, imap.loginTimeout: a connection that has not signed in within its time is closed,
// so that clients which never sign in cannot hold their channels. A sign-in being checked when the time
// comes finishes first (the deadline looks again every second until the session only waits for its
// client).
import type { Counter } from 'prom-client';
import type { Logger } from '../observability/logger.js';

/** What the deadline asks of its session. */
export interface SigningIn {
  /** True while the connection is open and not signed in. */
  readonly notSignedIn: boolean;
  /** True while the session only waits for its client (no sign-in being checked). */
  readonly waitingForClient: boolean;
  /** Closes the connection, telling the client why in the protocol's words (`seconds`: the limit). */
  closeNotSignedIn(seconds: number): void;
}

export class SignInDeadline {
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly ms: number,
    private readonly session: SigningIn,
    private readonly log: Logger,
    private readonly timedOut: Counter<'what'>,
  ) {}

  start(): void {
    this.timer = setTimeout(() => this.expired(), this.ms);
  }

  /** Signed in, or the connection closed: the deadline no longer applies. */
  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  private expired(): void {
    this.timer = null;
    if (!this.session.notSignedIn) return;
    if (!this.session.waitingForClient) {
      this.timer = setTimeout(() => this.expired(), 1000); // a sign-in being checked finishes first
      return;
    }
    this.log.info({ limitMs: this.ms }, 'not signed in in time; closing');
    this.timedOut.inc({ what: 'sign-in' });
    this.session.closeNotSignedIn(this.ms / 1000);
  }
}
