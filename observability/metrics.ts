// Prometheus metrics (prom-client), served as text at http://address:port/metrics when `metrics` is
// configured. The counters always exist; only the HTTP endpoint is optional.
import { createServer, type Server } from 'node:http';
import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client';

export class Metrics {
  readonly registry = new Registry();
  readonly connections = new Counter({ name: 'postern_connections_total', help: 'Connections accepted, by listener', labelNames: ['listener'], registers: [this.registry] });
  readonly refused = new Counter({ name: 'postern_connections_refused_total', help: 'Connections refused by a channel limit', labelNames: ['limit'], registers: [this.registry] });
  readonly evicted = new Counter({ name: 'postern_connections_evicted_total', help: 'Connections not signed in closed to make room for a new one, by the limit reached', labelNames: ['limit'], registers: [this.registry] });
  readonly timedOut = new Counter({ name: 'postern_connections_timed_out_total', help: 'Connections closed for being too slow, by what was too slow', labelNames: ['what'], registers: [this.registry] });
  readonly signIns = new Counter({ name: 'postern_sign_ins_total', help: 'Sign-in attempts, by result and mechanism', labelNames: ['result', 'mechanism'], registers: [this.registry] });
  readonly commands = new Counter({ name: 'postern_pop_commands_total', help: 'POP commands, by verb', labelNames: ['command'], registers: [this.registry] });
  readonly octetsSent = new Counter({ name: 'postern_pop_message_octets_sent_total', help: 'Message octets sent by RETR and TOP', registers: [this.registry] });
  readonly sessionsOpen = new Gauge({ name: 'postern_pop_sessions_open', help: 'POP sessions open now', registers: [this.registry] });
  readonly imapCommands = new Counter({ name: 'postern_imap_commands_total', help: 'IMAP commands, by verb', labelNames: ['command'], registers: [this.registry] });
  readonly imapOctetsSent = new Counter({ name: 'postern_imap_message_octets_sent_total', help: 'Message octets sent by FETCH', registers: [this.registry] });
  readonly imapSessionsOpen = new Gauge({ name: 'postern_imap_sessions_open', help: 'IMAP sessions open now', registers: [this.registry] });
  readonly deliveries = new Counter({ name: 'postern_deliveries_total', help: 'Messages stored by the server, by source', labelNames: ['source'], registers: [this.registry] });
  readonly submissions = new Counter({ name: 'postern_submissions_total', help: 'XTND XMIT submissions, by result', labelNames: ['result'], registers: [this.registry] });
  /** Labelled children of `commands`, one per verb, so counting a command does not hash labels. */
  private readonly commandCounters = new Map<string, { inc(): void }>();
  private readonly imapCommandCounters = new Map<string, { inc(): void }>();
  private readonly endpoint = new MetricsEndpoint(() => this.registry.metrics(), this.registry.contentType);

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'postern_' });
  }

  /** Counts one POP command (runs for every command a client sends). */
  countCommand(verb: string): void {
    let counter = this.commandCounters.get(verb);
    if (!counter) {
      counter = this.commands.labels(verb);
      this.commandCounters.set(verb, counter);
    }
    counter.inc();
  }

  /** Counts one IMAP command. */
  countImapCommand(verb: string): void {
    let counter = this.imapCommandCounters.get(verb);
    if (!counter) {
      counter = this.imapCommands.labels(verb);
      this.imapCommandCounters.set(verb, counter);
    }
    counter.inc();
  }

  /** Serves /metrics on address:port (null stops it); a no-op when already serving there. Resolves with the port. */
  serve(where: { address: string; port: number } | null): Promise<number | null> {
    return this.endpoint.serve(where);
  }

  close(): Promise<void> {
    return this.endpoint.close();
  }

}

/** The HTTP endpoint at /metrics, serving whatever text `produce` gives. */
export class MetricsEndpoint {
  private server: Server | null = null;
  private bound: string | null = null;

  constructor(
    private readonly produce: () => Promise<string>,
    private readonly contentType: string,
  ) {}

  /** Serves /metrics on address:port (null stops it); a no-op when already serving there. Resolves with the port. */
  async serve(where: { address: string; port: number } | null): Promise<number | null> {
    const key = where ? `${where.address}:${where.port}` : null;
    if (key === this.bound && this.server) return (this.server.address() as { port: number }).port;
    await this.close();
    if (!where) return null;
    const server = createServer((req, res) => {
      if (req.method === 'GET' && req.url?.split('?')[0] === '/metrics') {
        this.produce().then(
          (text) => res.writeHead(200, { 'Content-Type': this.contentType }).end(text),
          () => res.writeHead(500).end(),
        );
      } else {
        res.writeHead(404, { 'Content-Type': 'text/plain' }).end('Not found: the metrics are at /metrics\n');
      }
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(where.port, where.address, () => resolve());
    });
    this.server = server;
    this.bound = key;
    return (server.address() as { port: number }).port;
  }

  async close(): Promise<void> {
    const server = this.server;
    this.server = null;
    this.bound = null;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
