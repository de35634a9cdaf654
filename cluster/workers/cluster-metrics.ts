// /metrics of serve --workers, served by the primary: every started worker's metrics added up
// (counters, and gauges such as the sessions open). Each scrape asks the workers over IPC
// ('metrics?'); one that does not answer within METRICS_WAIT_MS is counted at its last answer, and the
// counters of workers that exited are kept, so that a sum never goes down (Prometheus would take that
// for a reset).
import type { Worker } from 'node:cluster';
import { AggregatorRegistry } from 'prom-client';
import type { MetricsJson, PrimaryMessage } from './messages.js';

const METRICS_WAIT_MS = 2000;

const isCounter = (m: MetricsJson[number]) => String(m.type) === 'counter' || String(m.type) === 'histogram';

export class ClusterMetrics {
  private readonly waiting = new Map<number, (workerId: number, metrics: MetricsJson) => void>();
  private nextId = 0;
  /** Each live worker's counters at its last answer, by cluster worker id. */
  private readonly lastCounters = new Map<number, MetricsJson>();
  /** The counters of workers that exited. */
  private departed: MetricsJson[] = [];

  constructor(private readonly send: (w: Worker, m: PrimaryMessage) => void) {}

  /** A worker's answer to a 'metrics?'. */
  answer(id: number, workerId: number, metrics: MetricsJson): void {
    this.waiting.get(id)?.(workerId, metrics);
  }

  /** A worker exited: its last counters stay in the sums. */
  workerGone(workerId: number): void {
    const last = this.lastCounters.get(workerId);
    this.lastCounters.delete(workerId);
    if (last) this.departed.push(last);
  }

  /** The Prometheus text for the workers serving now. */
  async collect(workers: readonly Worker[]): Promise<string> {
    const id = ++this.nextId;
    const got = new Map<number, MetricsJson>();
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, METRICS_WAIT_MS);
      const done = () => {
        clearTimeout(timer);
        resolve();
      };
      this.waiting.set(id, (workerId, metrics) => {
        got.set(workerId, metrics);
        if (got.size === workers.length) done();
      });
      for (const w of workers) this.send(w, { postern: 'metrics?', id });
      if (workers.length === 0) done();
    });
    this.waiting.delete(id);
    const parts: MetricsJson[] = [];
    for (const w of workers) {
      const answer = got.get(w.id);
      if (answer) this.lastCounters.set(w.id, answer.filter(isCounter));
      const part = answer ?? this.lastCounters.get(w.id);
      if (part) parts.push(part);
    }
    if (this.departed.length > 1) this.departed = [await AggregatorRegistry.aggregate(this.departed).getMetricsAsJSON()];
    return AggregatorRegistry.aggregate([...parts, ...this.departed]).metrics();
  }
}
