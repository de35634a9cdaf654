// The control socket `postern who` and `postern kick` talk to (admin.socket, default
// dataDir/postern-control): a unix socket with mode 0600, so only the server's user (and root) may ask,
// opened by the process that answers for the whole server (the primary of serve --workers). One
// question a connection: a JSON line in, a JSON line out.
//   {"op":"who","query":{"account":"ann@*","protocol":"imap","address":"10.0.0.0/8","node":"host:1234"}}
//   {"op":"kick","account":"ann@example.org","protocol":null}
// answered {"ok":true,"sessions":[...],"unanswered":[...]} / {"ok":true,"kicked":2,"unanswered":[]}, or
// {"ok":false,"error":"why"}.
import { chmod, lstat, mkdir, unlink } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import { dirname } from 'node:path';
import type { AdminScope } from '../cluster/admin/who.js';
import { socketAnswers } from '../listeners/listener.js';
import type { Logger } from '../observability/logger.js';
import { adminAnswer } from './admin-requests.js';

const MAX_QUESTION = 64 * 1024;
const QUESTION_TIMEOUT_MS = 10_000;

export class ControlSocket {
  private server: Server | null = null;
  private path: string | null = null;

  constructor(
    private readonly admin: AdminScope,
    private readonly logger: Logger,
  ) {}

  /** Listens at `path`; a stale socket there is replaced, one another server answers on is left alone (an error). */
  async open(path: string): Promise<void> {
    await mkdir(dirname(path), { recursive: true, mode: 0o750 });
    const existing = await lstat(path).catch(() => null);
    if (existing && !existing.isSocket())
      throw new Error(`${path} is there and is not a socket; remove it, or set admin.socket in the config`);
    if (existing) {
      const answer = await socketAnswers(path);
      if (answer === 'listening')
        throw new Error(`another server answers on ${path}; stop it, or give each server its own admin.socket in the config`);
      await unlink(path);
    }
    const server = createServer((socket) => this.serve(socket));
    // Connecting needs write permission on the socket: with the usual umask nobody else has it between
    // bind and the chmod below.
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(path, () => resolve());
    });
    await chmod(path, 0o600);
    this.server = server;
    this.path = path;
  }

  private serve(socket: Socket): void {
    socket.setTimeout(QUESTION_TIMEOUT_MS, () => socket.destroy());
    socket.on('error', () => {});
    let text = '';
    let answered = false;
    const reply = (answer: unknown) => {
      answered = true;
      socket.end(`${JSON.stringify(answer)}\n`);
    };
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      if (answered) return;
      text += chunk;
      const end = text.indexOf('\n');
      if (end < 0) {
        if (text.length > MAX_QUESTION) reply({ ok: false, error: `a question is one JSON line of at most ${MAX_QUESTION} octets` });
        return;
      }
      answered = true;
      let question: unknown;
      try {
        question = JSON.parse(text.slice(0, end));
      } catch {
        reply({ ok: false, error: 'a question is one JSON line' });
        return;
      }
      adminAnswer(this.admin, question, 'control socket', this.logger).then(reply, (err: Error) => {
        this.logger.error({ err: err.message }, 'control socket: cannot answer');
        reply({ ok: false, error: 'internal error; the server log says more' });
      });
    });
  }

  async close(): Promise<void> {
    const server = this.server;
    const path = this.path;
    this.server = null;
    this.path = null;
    if (!server) return;
    await new Promise<void>((resolve) => server.close(() => resolve()));
    if (path) await unlink(path).catch(() => {});
  }
}
