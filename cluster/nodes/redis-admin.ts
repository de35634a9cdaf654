// postern who and postern kick across the nodes that share a Redis: a question is published on the
// `admin` channel; every serving process subscribed to it (each node's process, or each of its workers)
// answers on the asker's own channel with its sessions (or how many it kicked). PUBLISH says how many
// processes heard the question, so the asker waits for that many answers, at most ANSWER_WAIT_MS. The
// asking server's own processes answer "skipped": it asks them directly (IPC, or its own list), so
// nothing is counted twice. While Redis is down, the answer says the other nodes could not be asked.
import { randomBytes } from 'node:crypto';
import {
  type AdminScope,
  type KickAnswer,
  type KickRequest,
  type LocalAdmin,
  queryProblem,
  type WhoAnswer,
  type WhoQuery,
  type WhoSession,
} from '../admin/who.js';
import type { RedisLink } from './redis-link.js';

const ANSWER_WAIT_MS = 1000;
const CHANNEL = 'admin';

interface Question {
  readonly id: string;
  readonly op: 'who' | 'kick';
  /** The channel (without the prefix) to answer on. */
  readonly replyTo: string;
  /** The asking server: its processes answer skipped. */
  readonly node: string;
  readonly query?: WhoQuery;
  readonly request?: KickRequest;
}

interface Reply {
  readonly id: string;
  readonly skipped?: boolean;
  readonly sessions?: WhoSession[];
  readonly kicked?: number;
}

export class RedisAdmin implements AdminScope {
  private local: LocalAdmin | null = null;
  private readonly waiting = new Map<string, (reply: Reply) => void>();
  private readonly replyTo: string;

  constructor(
    private readonly link: RedisLink,
    /** This server's node name (cluster/admin/who.ts nodeName). */
    private readonly node: string,
  ) {
    this.replyTo = `admin-reply:${link.node}`;
    link.subscribe(this.replyTo, (message) => this.replied(message));
  }

  /** This process serves: it answers the other nodes' questions for its own sessions. */
  answerFrom(local: LocalAdmin): void {
    if (this.local === null) this.link.subscribe(CHANNEL, (message) => this.heard(message));
    this.local = local;
  }

  private heard(message: string): void {
    const local = this.local;
    let q: Question;
    try {
      q = JSON.parse(message) as Question;
    } catch {
      return;
    }
    if (!local || typeof q?.id !== 'string' || typeof q.replyTo !== 'string' || !q.replyTo.startsWith('admin-reply:')) return;
    let reply: Reply;
    if (q.node === this.node) reply = { id: q.id, skipped: true };
    else if (q.op === 'who' && typeof q.query === 'object' && q.query !== null && queryProblem(q.query) === null)
      reply = { id: q.id, sessions: local.list(q.query) };
    else if (q.op === 'kick' && typeof q.request?.account === 'string')
      reply = { id: q.id, kicked: local.kickHere({ account: q.request.account, protocol: q.request.protocol ?? null }) };
    else reply = { id: q.id, skipped: true };
    this.link.publish(q.replyTo, JSON.stringify(reply)).catch(() => {});
  }

  private replied(message: string): void {
    try {
      const reply = JSON.parse(message) as Reply;
      if (typeof reply?.id === 'string') this.waiting.get(reply.id)?.(reply);
    } catch {
      // not ours
    }
  }

  async who(query: WhoQuery): Promise<WhoAnswer> {
    const { replies, unanswered } = await this.ask({ op: 'who', query });
    return { sessions: replies.flatMap((r) => (Array.isArray(r.sessions) ? r.sessions : [])), unanswered };
  }

  async kick(request: KickRequest): Promise<KickAnswer> {
    const { replies, unanswered } = await this.ask({ op: 'kick', request });
    return { kicked: replies.reduce((n, r) => n + (typeof r.kicked === 'number' ? r.kicked : 0), 0), unanswered };
  }

  private async ask(what: Pick<Question, 'op' | 'query' | 'request'>): Promise<{ replies: Reply[]; unanswered: string[] }> {
    if (!this.link.up) return { replies: [], unanswered: ['the other nodes (Redis is unreachable)'] };
    const id = randomBytes(8).toString('hex');
    const replies: Reply[] = [];
    let expected = Number.POSITIVE_INFINITY;
    let timer: NodeJS.Timeout | undefined;
    const all = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, ANSWER_WAIT_MS);
      this.waiting.set(id, (reply) => {
        replies.push(reply);
        if (replies.length >= expected) resolve();
      });
      const question: Question = { id, replyTo: this.replyTo, node: this.node, ...what };
      this.link.publish(CHANNEL, JSON.stringify(question)).then(
        (heard) => {
          expected = Number(heard);
          if (replies.length >= expected) resolve();
        },
        () => resolve(),
      );
    });
    await all;
    clearTimeout(timer);
    this.waiting.delete(id);
    if (!Number.isFinite(expected)) return { replies, unanswered: ['the other nodes (Redis did not take the question)'] };
    const missing = expected - replies.length;
    return {
      replies,
      unanswered: missing > 0 ? [`${missing} process(es) of other nodes (no answer over Redis within ${ANSWER_WAIT_MS} ms)`] : [],
    };
  }
}
