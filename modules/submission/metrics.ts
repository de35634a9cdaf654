// The submission module's own metrics, registered on the registry the server gives it (ModuleContext.metrics).
import type { Counter, Gauge } from 'prom-client';
import type { Metrics } from '../../observability/metrics.js';

export class SubmissionMetrics {
  readonly sessionsOpen: Gauge;
  /** Messages by result: sent (every recipient reached), partly (a delivery report went to the sender), refused, failed (4xx). */
  readonly messages: Counter<'result'>;

  constructor(readonly shared: Metrics) {
    this.sessionsOpen = shared.gauge('postern_smtp_submission_sessions_open', 'SMTP submission sessions open now');
    this.messages = shared.counter('postern_smtp_submissions_total', 'Messages sent through SMTP submission, by result', ['result']);
  }

  get timedOut(): Counter<'what'> {
    return this.shared.timedOut;
  }
}
