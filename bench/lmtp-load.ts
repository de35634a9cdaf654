// The LMTP load of the `sieve` part (sieve-scenario.ts): several concurrent clients, each one connection
// that sends transaction after transaction as Postfix's lmtp client does (LHLO once, then MAIL, RCPT and
// DATA pipelined in one write, the message, one reply per recipient), each to one account in turn. Runs
// in the orchestrator's process: a few thousand deliveries a second are little work next to the servers'.
import { connect, type Socket } from 'node:net';
import { MeasuredWindow } from './window.js';

export interface LmtpTarget {
  host: string;
  port: number;
}

/** One LMTP connection: lines out, replies (multi-line ones whole) in. */
export class LmtpConnection {
  private buffer = '';
  private readonly waiting: { resolve: (reply: string) => void; reject: (err: Error) => void }[] = [];
  private closed: Error | null = null;

  private constructor(private readonly socket: Socket) {
    socket.setNoDelay(true);
    socket.setEncoding('latin1');
    socket.on('data', (text: string) => {
      this.buffer += text;
      this.drain();
    });
    const fail = (err: Error) => {
      this.closed = err;
      for (const w of this.waiting.splice(0)) w.reject(err);
    };
    socket.on('error', fail);
    socket.on('close', () => fail(new Error('connection closed by the server')));
  }

  static open(target: LmtpTarget, timeoutMs = 10_000): Promise<LmtpConnection> {
    return new Promise((resolve, reject) => {
      const socket = connect(target.port, target.host);
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new Error(`no LMTP connection to ${target.host}:${target.port} within ${timeoutMs} ms`));
      }, timeoutMs);
      socket.once('connect', () => {
        clearTimeout(timer);
        resolve(new LmtpConnection(socket));
      });
      socket.once('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
    });
  }

  private drain(): void {
    for (;;) {
      if (this.waiting.length === 0) return;
      // a reply ends with the line whose code is followed by a space (or nothing)
      const end = /^\d{3}(?: [^\r\n]*)?\r\n/m.exec(this.buffer);
      if (!end) return;
      const stop = end.index + end[0].length;
      const reply = this.buffer.slice(0, stop - 2);
      this.buffer = this.buffer.slice(stop);
      this.waiting.shift()!.resolve(reply);
    }
  }

  reply(): Promise<string> {
    if (this.closed) return Promise.reject(this.closed);
    return new Promise((resolve, reject) => {
      this.waiting.push({ resolve, reject });
      this.drain();
    });
  }

  send(text: string | Buffer): void {
    this.socket.write(text);
  }

  close(): void {
    this.socket.end('QUIT\r\n');
    this.socket.destroy();
  }
}

/** Opens a connection and says LHLO; throws when the greeting or the LHLO answer is not a 2xx. */
export async function lmtpSession(target: LmtpTarget): Promise<LmtpConnection> {
  const c = await LmtpConnection.open(target);
  const greeting = await c.reply();
  if (!greeting.startsWith('220')) throw new Error(`LMTP greeting: ${greeting}`);
  c.send('LHLO bench.example\r\n');
  const lhlo = await c.reply();
  if (!lhlo.startsWith('250')) throw new Error(`LHLO: ${lhlo}`);
  return c;
}

/** MAIL, RCPT, DATA pipelined (PIPELINING, RFC 2920), the dot-stuffed message, its one reply. */
export async function deliverOne(c: LmtpConnection, sender: string, recipient: string, stuffed: Buffer): Promise<void> {
  c.send(`MAIL FROM:<${sender}>\r\nRCPT TO:<${recipient}>\r\nDATA\r\n`);
  const [mail, rcpt, data] = [c.reply(), c.reply(), c.reply()];
  const answers = await Promise.all([mail, rcpt, data]);
  if (!answers[0].startsWith('250')) throw new Error(`MAIL: ${answers[0]}`);
  if (!answers[1].startsWith('250')) throw new Error(`RCPT TO:<${recipient}>: ${answers[1]}`);
  if (!answers[2].startsWith('354')) throw new Error(`DATA: ${answers[2]}`);
  c.send(stuffed);
  const done = await c.reply();
  if (!done.startsWith('250')) throw new Error(`after the message to ${recipient}: ${done}`);
}

/** A message as it goes on the wire after DATA: CRLF lines, leading dots doubled, the final ".". */
export function dotStuffed(message: string): Buffer {
  const crlf = message.replace(/\r?\n/g, '\r\n');
  return Buffer.from(`${crlf.replace(/^\./gm, '..')}${crlf.endsWith('\r\n') ? '' : '\r\n'}.\r\n`, 'latin1');
}

export interface LoadFigures {
  clients: number;
  /** Deliveries that completed inside the measured window. */
  deliveries: number;
  seconds: number;
  perSecond: number;
  failures: { count: number; first: string[] };
  /** The orchestrator's own CPU over the window (it is the load generator), share of one core. */
  generatorCpuOfOneCore: number;
}

/**
 * `clients` connections deliver for `warmupMs` + `durationMs`; message i of client k goes to
 * recipients[(k + i * clients) % n] with messages[(k + i) % m]. `during` is called at the window's start
 * and end (the caller reads the server's CPU there).
 */
export async function runLmtpLoad(
  target: LmtpTarget,
  o: { clients: number; warmupMs: number; durationMs: number },
  recipients: readonly string[],
  messages: readonly { sender: string; wire: Buffer }[],
  window: { started: () => void; ended: () => void },
): Promise<LoadFigures> {
  const failures: string[] = [];
  let failureCount = 0;
  const measured = new MeasuredWindow(o.warmupMs, o.durationMs, (phase) => (phase === 'start' ? window.started() : window.ended()));
  let counted = 0;
  const client = async (k: number) => {
    let c: LmtpConnection | null = null;
    for (let i = 0; measured.running; i++) {
      try {
        c ??= await lmtpSession(target);
        const m = messages[(k + i) % messages.length];
        await deliverOne(c, m.sender, recipients[(k + i * o.clients) % recipients.length], m.wire);
        if (Date.now() >= measured.start) measured.open();
        if (measured.contains()) counted++;
      } catch (err) {
        failureCount++;
        if (failures.length < 5) failures.push((err as Error).message);
        c?.close();
        c = null;
        await new Promise((r) => setTimeout(r, 50));
      }
    }
    c?.close();
  };
  await Promise.all(Array.from({ length: o.clients }, (_, k) => client(k)));
  const cpu = measured.finish();
  const seconds = o.durationMs / 1000;
  return {
    clients: o.clients,
    deliveries: counted,
    seconds,
    perSecond: counted / seconds,
    failures: { count: failureCount, first: failures },
    generatorCpuOfOneCore: (cpu.user + cpu.system) / seconds,
  };
}
