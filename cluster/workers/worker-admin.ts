// postern who and postern kick in the primary of serve --workers: each question goes to every started
// worker over IPC ('who?', 'kick?'), which answers for its own sessions; the answers are put together.
// A worker that does not answer within ADMIN_WAIT_MS is named in `unanswered` (a kick may still reach
// it: its sessions were not counted).
import type { Worker } from 'node:cluster';
import type { AdminScope, KickAnswer, KickRequest, WhoAnswer, WhoQuery } from '../admin/who.js';
import { joinKick, joinWho } from '../admin/who.js';
import type { PrimaryMessage } from './messages.js';

const ADMIN_WAIT_MS = 2000;

export class WorkerAdmin implements AdminScope {
  private readonly waiting = new Map<number, (workerId: number, answer: unknown) => void>();
  private nextId = 0;

  constructor(
    private readonly send: (w: Worker, m: PrimaryMessage) => void,
    /** The workers serving now, with their numbers. */
    private readonly workers: () => readonly (readonly [number, Worker])[],
  ) {}

  /** A worker's answer to a 'who?' or 'kick?'. */
  answer(id: number, workerId: number, answer: unknown): void {
    this.waiting.get(id)?.(workerId, answer);
  }

  async who(query: WhoQuery): Promise<WhoAnswer> {
    return joinWho(await this.ask<WhoAnswer>((id) => ({ postern: 'who?', id, query }), { sessions: [], unanswered: [] }));
  }

  async kick(request: KickRequest): Promise<KickAnswer> {
    return joinKick(await this.ask<KickAnswer>((id) => ({ postern: 'kick?', id, request }), { kicked: 0, unanswered: [] }));
  }

  private async ask<T extends { unanswered: string[] }>(message: (id: number) => PrimaryMessage, none: T): Promise<T[]> {
    const id = ++this.nextId;
    const workers = this.workers();
    const got = new Map<number, T>();
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ADMIN_WAIT_MS);
      const done = () => {
        clearTimeout(timer);
        resolve();
      };
      this.waiting.set(id, (workerId, answer) => {
        got.set(workerId, answer as T);
        if (got.size === workers.length) done();
      });
      for (const [, w] of workers) this.send(w, message(id));
      if (workers.length === 0) done();
    });
    this.waiting.delete(id);
    return workers.map(([n, w]) => got.get(w.id) ?? { ...none, unanswered: [`worker ${n}`] });
  }
}
