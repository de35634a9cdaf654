// A question to the site's admin (postern who, postern kick), as the control socket and /admin/* take
// it: checked here once, answered by every process (cluster/admin/), a kick logged with where it came from.
import { type AdminScope, type KickAnswer, queryProblem, type WhoAnswer, type WhoQuery } from '../cluster/admin/who.js';
import type { Logger } from '../observability/logger.js';

export type AdminReply = ({ ok: true } & (WhoAnswer | KickAnswer)) | { ok: false; error: string };

const QUERY_KEYS = ['account', 'protocol', 'address', 'node'];

/** `question`: {op: 'who', query} or {op: 'kick', account, protocol}. */
export async function adminAnswer(admin: AdminScope, question: unknown, via: string, logger: Logger): Promise<AdminReply> {
  const q = (typeof question === 'object' && question !== null ? question : {}) as Record<string, unknown>;
  if (q.op === 'who') {
    const query = (q.query ?? {}) as WhoQuery;
    if (typeof query !== 'object' || query === null || Array.isArray(query)) return { ok: false, error: 'query: expected an object' };
    const unknown = Object.keys(query).find((k) => !QUERY_KEYS.includes(k));
    if (unknown !== undefined) return { ok: false, error: `query.${unknown}: unknown; the keys are ${QUERY_KEYS.join(', ')}` };
    const problem = queryProblem(query);
    if (problem) return { ok: false, error: `query.${problem}` };
    return { ok: true, ...(await admin.who(query)) };
  }
  if (q.op === 'kick') {
    const { account, protocol } = q;
    if (typeof account !== 'string' || !/^[^@\s]+@[^@\s]+$/.test(account) || account.length > 320)
      return { ok: false, error: 'account: expected an account as name@domain' };
    if (protocol !== undefined && protocol !== null && (typeof protocol !== 'string' || protocol === '' || protocol.length > 64))
      return { ok: false, error: 'protocol: expected a module name (imap, pop, managesieve ...) or null' };
    const request = { account: account.toLowerCase(), protocol: (protocol as string | null | undefined) ?? null };
    const answer = await admin.kick(request);
    logger.info({ ...request, kicked: answer.kicked, unanswered: answer.unanswered, via }, 'kick');
    return { ok: true, ...answer };
  }
  return { ok: false, error: 'op: expected who or kick' };
}
