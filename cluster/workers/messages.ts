// What the primary process and its workers say to each other over the cluster's IPC channel (serve
// --workers): requests with an id and their answers, notices without one. Every message carries
// `postern` so other IPC traffic (the cluster module's own) is never taken for ours.
import type { Registry } from 'prom-client';
import type { AdmissionLimits } from '../../listeners/admission.js';
import type { KickAnswer, KickRequest, WhoAnswer, WhoQuery } from '../admin/who.js';

export type MetricsJson = Awaited<ReturnType<Registry['getMetricsAsJSON']>>;

export type Request =
  | { readonly op: 'admit'; readonly pool: string; readonly address: string; readonly limits: AdmissionLimits; readonly sid: string }
  | { readonly op: 'throttle'; readonly pool: string; readonly address: string; readonly baseSeconds: number }
  | { readonly op: 'rate'; readonly key: string; readonly max: number; readonly windowMs: number };

export type AdmitAnswer = { readonly refusedBy: string | null; readonly evicted: string[] };

export type WorkerMessage =
  | { readonly postern: 'ready' }
  | { readonly postern: 'request'; readonly id: number; readonly request: Request }
  | { readonly postern: 'signedIn' | 'released'; readonly pool: string; readonly sid: string }
  | { readonly postern: 'kept'; readonly pool: string; readonly sid: string; readonly address: string }
  /** A worker's metrics (prom-client's getMetricsAsJSON()), answering 'metrics?'. */
  | { readonly postern: 'metrics'; readonly id: number; readonly metrics: MetricsJson }
  /** A worker's signed-in sessions (answering 'who?') and how many it kicked (answering 'kick?'). */
  | { readonly postern: 'who'; readonly id: number; readonly answer: WhoAnswer }
  | { readonly postern: 'kicked'; readonly id: number; readonly answer: KickAnswer };

export type PrimaryMessage =
  | { readonly postern: 'answer'; readonly id: number; readonly answer: AdmitAnswer | number | boolean }
  | { readonly postern: 'evict'; readonly pool: string; readonly sid: string }
  | { readonly postern: 'metrics?'; readonly id: number }
  /** postern who / postern kick (cluster/admin/): each worker answers for its own sessions. */
  | { readonly postern: 'who?'; readonly id: number; readonly query: WhoQuery }
  | { readonly postern: 'kick?'; readonly id: number; readonly request: KickRequest };

function ours(m: unknown): boolean {
  return typeof m === 'object' && m !== null && typeof (m as { postern?: unknown }).postern === 'string';
}

export function isWorkerMessage(m: unknown): m is WorkerMessage {
  return ours(m);
}

export function isPrimaryMessage(m: unknown): m is PrimaryMessage {
  return ours(m);
}
