// The POP module's own metrics, registered on the registry the server gives it (ModuleContext.metrics),
// beside the ones every session shares (connections cut for slowness, deliveries).
import type { Counter, Gauge } from 'prom-client';
import { CountByLabel, type Metrics } from '../../observability/metrics.js';

export class PopMetrics {
  readonly commands: CountByLabel;
  readonly octetsSent: Counter;
  readonly sessionsOpen: Gauge;
  readonly submissions: Counter<'result'>;

  constructor(readonly shared: Metrics) {
    this.commands = new CountByLabel(shared.counter('postern_pop_commands_total', 'POP commands, by verb', ['command']));
    this.octetsSent = shared.counter('postern_pop_message_octets_sent_total', 'Message octets sent by RETR and TOP');
    this.sessionsOpen = shared.gauge('postern_pop_sessions_open', 'POP sessions open now');
    this.submissions = shared.counter('postern_submissions_total', 'XTND XMIT submissions, by result', ['result']);
  }

  get timedOut(): Counter<'what'> {
    return this.shared.timedOut;
  }

  get deliveries(): Counter<'source'> {
    return this.shared.deliveries;
  }
}
