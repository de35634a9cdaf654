// A worker's side of the limits the primary keeps for all of them (coordinator.ts): each question goes
// over the cluster's IPC channel and is answered in well under a millisecond on one machine. When the
// primary does not answer within a few seconds (it is gone: the worker will be stopped too), the
// question fails and the connection is refused rather than let in uncounted.
import type { SharedAdmission } from '../../listeners/admission.js';
import type { SharedRate } from '../../submission/submitter.js';
import type { SharedThrottle } from '../../sessions/auth-throttle.js';
import type { SharedLimits } from '../shared-limits.js';
import { type AdmitAnswer, isPrimaryMessage, type MetricsJson, type Request, type WorkerMessage } from './messages.js';
import type { LocalAdmin } from '../admin/who.js';

const ANSWER_TIMEOUT_MS = 5000;

export class WorkerLink implements SharedLimits {
  private nextId = 0;
  private readonly waiting = new Map<number, { resolve: (a: unknown) => void; reject: (e: Error) => void; timer: NodeJS.Timeout }>();
  private readonly evictors = new Map<string, (sid: string) => void>();
  private metrics: (() => Promise<MetricsJson>) | null = null;
  private admin: LocalAdmin | null = null;

  constructor(private readonly sendRaw: (m: WorkerMessage) => void) {
    process.on('message', (m: unknown) => {
      if (!isPrimaryMessage(m)) return;
      if (m.postern === 'answer') {
        const w = this.waiting.get(m.id);
        if (!w) return;
        this.waiting.delete(m.id);
        clearTimeout(w.timer);
        w.resolve(m.answer);
      } else if (m.postern === 'evict') this.evictors.get(m.pool)?.(m.sid);
      else if (m.postern === 'metrics?' && this.metrics) {
        const id = m.id;
        this.metrics().then(
          (metrics) => this.send({ postern: 'metrics', id, metrics }),
          () => {},
        );
      } else if (m.postern === 'who?' && this.admin) {
        this.send({ postern: 'who', id: m.id, answer: { sessions: this.admin.list(m.query), unanswered: [] } });
      } else if (m.postern === 'kick?' && this.admin) {
        this.send({ postern: 'kicked', id: m.id, answer: { kicked: this.admin.kickHere(m.request), unanswered: [] } });
      }
    });
  }

  /** The primary answers postern who and postern kick (cluster/admin/) with every worker's sessions. */
  answerAdmin(admin: LocalAdmin): void {
    this.admin = admin;
  }

  /** The primary serves /metrics and asks each worker for its own (cluster-metrics.ts). */
  answerMetrics(produce: () => Promise<MetricsJson>): void {
    this.metrics = produce;
  }

  /** Sends, whatever becomes of it: with the primary gone, this worker is being stopped anyway. */
  private send(m: WorkerMessage): void {
    try {
      this.sendRaw(m);
    } catch {
      // the channel closed
    }
  }

  private ask<T>(request: Request): Promise<T> {
    const id = ++this.nextId;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting.delete(id);
        // if the answer still comes, the primary counted a connection this worker refused: take it back
        if (request.op === 'admit') this.send({ postern: 'released', pool: request.pool, sid: request.sid });
        reject(new Error('the primary process did not answer'));
      }, ANSWER_TIMEOUT_MS);
      this.waiting.set(id, { resolve: resolve as (a: unknown) => void, reject, timer });
      this.send({ postern: 'request', id, request });
    });
  }

  readonly admission: SharedAdmission = {
    admit: (pool, address, limits, sid) => this.ask<AdmitAnswer>({ op: 'admit', pool, address, limits, sid }),
    signedIn: (pool, sid) => this.send({ postern: 'signedIn', pool, sid }),
    released: (pool, sid) => this.send({ postern: 'released', pool, sid }),
    onEvict: (pool, evict) => void this.evictors.set(pool, evict),
    kept: (pool, sid, address) => this.send({ postern: 'kept', pool, sid, address }),
  };

  readonly throttle: SharedThrottle = (pool, address, baseSeconds) => this.ask<number>({ op: 'throttle', pool, address, baseSeconds });

  readonly rate: SharedRate = (key, max, windowMs) => this.ask<boolean>({ op: 'rate', key, max, windowMs });
}
