// /admin/who and /admin/kick over HTTP for remote tools, served on the metrics HTTP server (metrics:
// {address, port}) beside /metrics. Each request carries `Authorization: Bearer TOKEN` with admin.token
// from the config (compared in constant time); without admin.token the endpoints answer 403, without the
// right token 401. JSON both ways:
//   GET  /admin/who?account=ann@*&protocol=imap&address=10.0.0.0/8&node=host:1234
//   POST /admin/kick   {"account":"ann@example.org","protocol":"imap"}   (or ?account=...&protocol=...)
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AdminScope } from '../cluster/admin/who.js';
import type { Logger } from '../observability/logger.js';
import { adminAnswer } from './admin-requests.js';

const MAX_BODY = 16 * 1024;

const digest = (s: string) => createHash('sha256').update(s).digest();

export class AdminHttp {
  /** admin.token of the config in use (a reload changes it). */
  token: string | null;

  constructor(
    private readonly admin: AdminScope,
    private readonly logger: Logger,
    token: string | undefined,
  ) {
    this.token = token ?? null;
  }

  /** Takes a request for /admin/...; false for any other path (/metrics). */
  readonly route = (req: IncomingMessage, res: ServerResponse): boolean => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (!url.pathname.startsWith('/admin/') && url.pathname !== '/admin') return false;
    void this.handle(req, res, url).catch((err: Error) => {
      this.logger.error({ err: err.message }, 'admin HTTP: cannot answer');
      if (!res.headersSent) json(res, 500, { ok: false, error: 'internal error; the server log says more' });
    });
    return true;
  };

  private async handle(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    if (this.token === null) {
      json(res, 403, { ok: false, error: 'the admin endpoints are off: set admin.token in the config' });
      return;
    }
    if (!this.authorized(req.headers.authorization)) {
      this.logger.info({ peer: req.socket.remoteAddress, path: url.pathname }, 'admin HTTP: refused (no token or a wrong one)');
      res.setHeader('WWW-Authenticate', 'Bearer realm="postern admin"');
      json(res, 401, { ok: false, error: 'send Authorization: Bearer TOKEN with admin.token of the config' });
      return;
    }
    const params = Object.fromEntries(url.searchParams);
    if (url.pathname === '/admin/who') {
      if (req.method !== 'GET') return methodNotAllowed(res, 'GET');
      reply(res, await adminAnswer(this.admin, { op: 'who', query: params }, 'http', this.logger));
    } else if (url.pathname === '/admin/kick') {
      if (req.method !== 'POST') return methodNotAllowed(res, 'POST');
      const body = await readBody(req);
      if (body === null) {
        json(res, 413, { ok: false, error: `the body is at most ${MAX_BODY} octets` });
        return;
      }
      let fields: Record<string, unknown> = params;
      if (body.trim() !== '') {
        try {
          fields = { ...params, ...(JSON.parse(body) as Record<string, unknown>) };
        } catch {
          json(res, 400, { ok: false, error: 'the body is JSON: {"account":"name@domain","protocol":"imap"}' });
          return;
        }
      }
      reply(res, await adminAnswer(this.admin, { op: 'kick', account: fields.account, protocol: fields.protocol }, 'http', this.logger));
    } else {
      json(res, 404, { ok: false, error: 'the admin endpoints are /admin/who (GET) and /admin/kick (POST)' });
    }
  }

  /** The bearer token, compared in constant time (both hashed: equal lengths). */
  private authorized(header: string | undefined): boolean {
    const m = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header ?? '');
    return m !== null && this.token !== null && timingSafeEqual(digest(m[1]), digest(this.token));
  }
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' }).end(`${JSON.stringify(body)}\n`);
}

function reply(res: ServerResponse, answer: { ok: boolean }): void {
  json(res, answer.ok ? 200 : 400, answer);
}

function methodNotAllowed(res: ServerResponse, allowed: string): void {
  res.setHeader('Allow', allowed);
  json(res, 405, { ok: false, error: `use ${allowed}` });
}

/** The body as text, or null when it is too large (read to its end all the same, so the answer reaches the client). */
function readBody(req: IncomingMessage): Promise<string | null> {
  return new Promise((resolve, reject) => {
    let size = 0;
    const parts: Buffer[] = [];
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_BODY) parts.push(chunk);
    });
    req.on('end', () => resolve(size > MAX_BODY ? null : Buffer.concat(parts).toString('utf8')));
    req.on('error', reject);
  });
}
