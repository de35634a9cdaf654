// What the processes of one site count together, whichever way they are joined: the workers of one
// server (kept by its primary, workers/) and the nodes sharing a Redis (nodes/).
import type { SharedAdmission } from '../listeners/admission.js';
import type { SharedRate } from '../submission/submitter.js';
import type { SharedThrottle } from '../sessions/auth-throttle.js';

/** Admission, the sign-in throttle and the submission rate, counted by every process of the site. */
export interface SharedLimits {
  readonly admission: SharedAdmission;
  readonly throttle: SharedThrottle;
  /** submission.maxPerHour. */
  readonly rate: SharedRate;
}
