// What `postern who` and `postern kick` ask every process of the site, and what each answers: the
// signed-in sessions it holds (sessions/signed-in.ts), named by node and worker, filtered where they
// are held so that only what was asked for crosses the wire. The site's answer is every process's
// answer put together (site-admin.ts); a process that did not answer in time is named, never waited
// for beyond its timeout.
import { BlockList, isIP } from 'node:net';
import { hostname } from 'node:os';
import type { SignedInSessions, SignedInView } from '../../sessions/signed-in.js';

/** One signed-in session of the site, with where it is served. */
export interface WhoSession extends SignedInView {
  /** The server it is on: host:pid of the server's first process (the primary of serve --workers). */
  readonly node: string;
  /** Its worker (serve --workers), null in a server of one process. */
  readonly worker: number | null;
}

/** What to list: every field optional; all given must match. */
export interface WhoQuery {
  /** An account, or a mask with * and ? (as doveadm who's user mask), case-insensitive. */
  readonly account?: string;
  readonly protocol?: string;
  /** A client address, or a network as ADDRESS/BITS. */
  readonly address?: string;
  readonly node?: string;
}

export interface KickRequest {
  /** The account, exactly (name@domain). */
  readonly account: string;
  /** One protocol's sessions only; null: all of them. */
  readonly protocol: string | null;
}

export interface WhoAnswer {
  readonly sessions: WhoSession[];
  /** Processes that did not answer in time (their sessions are missing from the list). */
  readonly unanswered: string[];
}

export interface KickAnswer {
  readonly kicked: number;
  /** Processes that did not answer in time (their sessions, if any, were not kicked). */
  readonly unanswered: string[];
}

/** What one part of the site answers: this process, the workers of this server, the other nodes. */
export interface AdminScope {
  who(query: WhoQuery): Promise<WhoAnswer>;
  kick(request: KickRequest): Promise<KickAnswer>;
}

/** This server's name among the nodes: host:pid of its first process (a worker names its primary). */
export function nodeName(worker: number | null): string {
  return `${hostname()}:${worker === null ? process.pid : process.ppid}`;
}

/** A query's problem in words, or null when it is usable (the control socket and HTTP check what they are sent). */
export function queryProblem(query: WhoQuery): string | null {
  for (const key of ['account', 'protocol', 'address', 'node'] as const) {
    const value = query[key];
    if (value !== undefined && (typeof value !== 'string' || value === '' || value.length > 320))
      return `${key}: expected a text of 1 to 320 characters`;
  }
  if (query.address !== undefined && addressMatcher(query.address) === null)
    return `address: expected an IP address or a network as ADDRESS/BITS, not ${JSON.stringify(query.address)}`;
  return null;
}

/** A matcher for an address or a network; null when it is neither. */
function addressMatcher(mask: string): ((address: string) => boolean) | null {
  const [ip, bits, extra] = mask.split('/');
  const family = isIP(ip);
  if (family === 0 || extra !== undefined) return null;
  const type = family === 4 ? 'ipv4' : 'ipv6';
  const list = new BlockList();
  if (bits === undefined) list.addAddress(ip, type);
  else {
    const n = Number(bits);
    if (!/^\d{1,3}$/.test(bits) || n > (family === 4 ? 32 : 128)) return null;
    list.addSubnet(ip, n, type);
  }
  return (address) => {
    const f = isIP(address);
    if (f === 0) return false;
    try {
      return list.check(address, f === 4 ? 'ipv4' : 'ipv6');
    } catch {
      return false;
    }
  };
}

/** A matcher for an account mask: * any run of characters, ? one, case-insensitive. */
function accountMatcher(mask: string): (account: string) => boolean {
  const pattern = mask
    .toLowerCase()
    .split('')
    .map((c) => (c === '*' ? '.*' : c === '?' ? '.' : c.replace(/[\\^$.|+()[\]{}]/g, '\\$&')))
    .join('');
  const re = new RegExp(`^${pattern}$`, 's');
  return (account) => re.test(account.toLowerCase());
}

/** The filter a query stands for. */
export function matcher(query: WhoQuery): (s: WhoSession) => boolean {
  const account = query.account === undefined ? null : accountMatcher(query.account);
  const address = query.address === undefined ? null : addressMatcher(query.address);
  return (s) =>
    (account === null || account(s.account)) &&
    (query.protocol === undefined || s.protocol === query.protocol) &&
    (address === null || address(s.remoteAddress)) &&
    (query.node === undefined || s.node === query.node);
}

/** What this process answers from its own list. */
export class LocalAdmin implements AdminScope {
  readonly node: string;

  constructor(
    private readonly signedIn: SignedInSessions,
    readonly worker: number | null,
    private readonly reason: string,
  ) {
    this.node = nodeName(worker);
  }

  async who(query: WhoQuery): Promise<WhoAnswer> {
    return { sessions: this.list(query), unanswered: [] };
  }

  /** The sessions here that match `query`. */
  list(query: WhoQuery): WhoSession[] {
    const node = this.node;
    const worker = this.worker;
    return this.signedIn
      .list()
      .map((s) => ({ ...s, node, worker }))
      .filter(matcher(query));
  }

  async kick(request: KickRequest): Promise<KickAnswer> {
    return { kicked: this.kickHere(request), unanswered: [] };
  }

  kickHere(request: KickRequest): number {
    return this.signedIn.kick(request.account, request.protocol, this.reason);
  }
}

/** Every part's answer as one. */
export function joinWho(answers: readonly WhoAnswer[]): WhoAnswer {
  return { sessions: answers.flatMap((a) => a.sessions), unanswered: answers.flatMap((a) => a.unanswered) };
}

export function joinKick(answers: readonly KickAnswer[]): KickAnswer {
  return { kicked: answers.reduce((n, a) => n + a.kicked, 0), unanswered: answers.flatMap((a) => a.unanswered) };
}

/** The site: this server (its process, or its workers) and, with Redis, the other nodes. */
export class SiteAdmin implements AdminScope {
  constructor(private readonly parts: readonly AdminScope[]) {}

  async who(query: WhoQuery): Promise<WhoAnswer> {
    return joinWho(await Promise.all(this.parts.map((p) => p.who(query))));
  }

  async kick(request: KickRequest): Promise<KickAnswer> {
    return joinKick(await Promise.all(this.parts.map((p) => p.kick(request))));
  }
}
