// The IMAP module's own metrics, registered on the registry the server gives it (ModuleContext.metrics),
// beside the ones every session shares (connections cut for slowness).
import type { Counter, Gauge } from 'prom-client';
import { CountByLabel, type Metrics } from '../../observability/metrics.js';

export class ImapMetrics {
  readonly commands: CountByLabel;
  readonly octetsSent: Counter;
  readonly sessionsOpen: Gauge;

  constructor(readonly shared: Metrics) {
    this.commands = new CountByLabel(shared.counter('postern_imap_commands_total', 'IMAP commands, by verb', ['command']));
    this.octetsSent = shared.counter('postern_imap_message_octets_sent_total', 'Message octets sent by FETCH');
    this.sessionsOpen = shared.gauge('postern_imap_sessions_open', 'IMAP sessions open now');
  }

  get timedOut(): Counter<'what'> {
    return this.shared.timedOut;
  }
}
