// Prometheus metrics (prom-client), served as text at http://address:port/metrics when `metrics` is
// configured. The counters always exist; only the HTTP endpoint is optional.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client';

export class Metrics {
  readonly registry = new Registry();
  readonly connections = new Counter({
    name: 'postern_connections_total',
    help: 'Connections accepted, by listener',
    labelNames: ['listener'],
    registers: [this.registry],
  });
  readonly refused = new Counter({
    name: 'postern_connections_refused_total',
    help: 'Connections refused by a channel limit',
    labelNames: ['limit'],
    registers: [this.registry],
  });
  readonly evicted = new Counter({
    name: 'postern_connections_evicted_total',
    help: 'Connections not signed in closed to make room for a new one, by the limit reached',
    labelNames: ['limit'],
    registers: [this.registry],
  });
  readonly timedOut = new Counter({
    name: 'postern_connections_timed_out_total',
    help: 'Connections closed for being too slow, by what was too slow',
    labelNames: ['what'],
    registers: [this.registry],
  });
  readonly deliveries = new Counter({
    name: 'postern_deliveries_total',
    help: 'Messages stored by the server, by source',
    labelNames: ['source'],
    registers: [this.registry],
  });
  private readonly endpoint = new MetricsEndpoint(() => this.registry.metrics(), this.registry.contentType);

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'postern_' });
  }

  /**
   * The counter `name` on this registry, created on first use: a module registers its own series when
   * it starts, and gets the same one back when it is started again or reconfigured.
   */
  counter<T extends string = string>(name: string, help: string, labelNames: readonly T[] = []): Counter<T> {
    const known = this.registry.getSingleMetric(name) as Counter<T> | undefined;
    return known ?? new Counter<T>({ name, help, labelNames, registers: [this.registry] });
  }

  /** The gauge `name` on this registry, created on first use (see counter()). */
  gauge(name: string, help: string): Gauge {
    return (this.registry.getSingleMetric(name) as Gauge | undefined) ?? new Gauge({ name, help, registers: [this.registry] });
  }

  /** Serves /metrics on address:port (null stops it); a no-op when already serving there. Resolves with the port. */
  serve(where: { address: string; port: number } | null): Promise<number | null> {
    return this.endpoint.serve(where);
  }

  /** Serves other paths beside /metrics on the same HTTP server (the admin endpoints, server/admin-http.ts). */
  serveAlso(route: HttpRoute): void {
    this.endpoint.also = route;
  }

  close(): Promise<void> {
    return this.endpoint.close();
  }
}

/**
 * A counter with one label counted on a hot path (a command per client line): the labelled children are
 * kept, so counting does not hash labels each time.
 */
export class CountByLabel {
  private readonly children = new Map<string, { inc(): void }>();

  constructor(private readonly counter: Counter) {}

  inc(label: string): void {
    let child = this.children.get(label);
    if (!child) {
      child = this.counter.labels(label);
      this.children.set(label, child);
    }
    child.inc();
  }
}

/** Another path served on the metrics HTTP server: true when it took the request. */
export type HttpRoute = (req: IncomingMessage, res: ServerResponse) => boolean;

/** The HTTP endpoint at /metrics, serving whatever text `produce` gives. */
export class MetricsEndpoint {
  private server: Server | null = null;
  private bound: string | null = null;
  /** Other paths it serves (the admin endpoints). */
  also: HttpRoute | null = null;

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
      if (this.also?.(req, res)) return;
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
