// The limits of a single-process node counted in this process, by the same Coordinator the primary of
// several workers uses: what RedisLimits falls back to while Redis is away.
import type { SharedAdmission } from '../../listeners/admission.js';
import type { SharedRate } from '../../submission/submitter.js';
import type { SharedThrottle } from '../../sessions/auth-throttle.js';
import { Coordinator } from '../workers/coordinator.js';
import type { AdmitAnswer } from '../workers/messages.js';
import type { SharedLimits } from '../shared-limits.js';

const SELF = 0;

export class LocalLimits implements SharedLimits {
  private readonly evictors = new Map<string, (sid: string) => void>();
  private readonly coordinator = new Coordinator((_worker, pool, sid) => this.evictors.get(pool)?.(sid));

  readonly admission: SharedAdmission = {
    admit: async (pool, address, limits, sid) => this.coordinator.answer(SELF, { op: 'admit', pool, address, limits, sid }) as AdmitAnswer,
    signedIn: (pool, sid) => this.coordinator.signedIn(SELF, pool, sid),
    released: (pool, sid) => this.coordinator.released(SELF, pool, sid),
    onEvict: (pool, evict) => void this.evictors.set(pool, evict),
    kept: (pool, sid, address) => this.coordinator.kept(SELF, pool, sid, address),
  };

  readonly throttle: SharedThrottle = async (pool, address, baseSeconds) =>
    this.coordinator.answer(SELF, { op: 'throttle', pool, address, baseSeconds }) as number;

  readonly rate: SharedRate = async (key, max, windowMs) => this.coordinator.answer(SELF, { op: 'rate', key, max, windowMs }) as boolean;
}
