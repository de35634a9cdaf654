// The ManageSieve module's own metrics, registered on the registry the server gives it (ModuleContext.metrics),
// beside the ones every session shares (connections cut for slowness).
import type { Counter, Gauge } from 'prom-client';
import { CountByLabel, type Metrics } from '../../observability/metrics.js';

export class ManageSieveMetrics {
  readonly commands: CountByLabel;
  readonly sessionsOpen: Gauge;
  /** PUTSCRIPT and CHECKSCRIPT by result: stored/checked, refused (does not compile), quota. */
  readonly scripts: Counter<'command' | 'result'>;

  constructor(readonly shared: Metrics) {
    this.commands = new CountByLabel(shared.counter('postern_managesieve_commands_total', 'ManageSieve commands, by verb', ['command']));
    this.sessionsOpen = shared.gauge('postern_managesieve_sessions_open', 'ManageSieve sessions open now');
    this.scripts = shared.counter('postern_managesieve_scripts_total', 'Scripts sent by PUTSCRIPT and CHECKSCRIPT, by result', [
      'command',
      'result',
    ]);
  }

  get timedOut(): Counter<'what'> {
    return this.shared.timedOut;
  }
}
