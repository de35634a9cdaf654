// Where log records go: standard output, which must never stop the server. A pipe whose reader stopped
// reading (`postern serve | less` left at its first page, a stuck log shipper) makes a plain write(2)
// block the whole process, so that even SIGTERM could not be acted on; a reader that went away makes it
// fail with EPIPE. On a pipe or a socket (journald) the records are therefore written without blocking,
// held in memory up to a bound while the reader is slow, then dropped and counted; a closed pipe drops
// them. On a file or a terminal, write(2) finishes, and records are written at once.
import { fstatSync, writeSync } from 'node:fs';
import { Socket } from 'node:net';
import { prettyFactory } from 'pino-pretty';

/** What the logger writes to; flush() waits (up to `timeoutMs`) until what was written has gone out. */
export interface LogDestination {
  write(record: string): void;
  flush(timeoutMs: number): Promise<void>;
}

/** Records held for a slow reader before new ones are dropped. */
const MAX_BUFFERED = 8 * 1024 * 1024;

export type LogFormat = 'auto' | 'json' | 'text';

/** Standard output as a LogDestination; `text` turns the JSON records into one readable line each. */
export function stdoutDestination(format: LogFormat = 'auto'): LogDestination {
  let kind: 'stream' | 'direct' | 'none';
  try {
    const st = fstatSync(1);
    kind = st.isFIFO() || st.isSocket() ? 'stream' : 'direct';
  } catch {
    kind = 'none'; // standard output is closed: nowhere to write
  }
  const text = format === 'text' || (format === 'auto' && process.stdout.isTTY === true);
  const out = kind === 'stream' ? new PipeOutput() : kind === 'direct' ? new DirectOutput() : new NoOutput();
  if (!text) return out;
  const pretty = prettyFactory({
    colorize: process.stdout.isTTY === true,
    singleLine: true,
    translateTime: 'SYS:yyyy-mm-dd HH:MM:ss.l',
    ignore: 'pid,hostname',
    customLevels: 'trace:10,debug:20,protocol:25,info:30,warn:40,error:50,fatal:60',
  });
  return { write: (record) => out.write(pretty(record)), flush: (ms) => out.flush(ms) };
}

/** A file or a terminal: write(2) returns, so the record is written at once. */
class DirectOutput implements LogDestination {
  private broken = false;

  write(record: string): void {
    if (this.broken) return;
    try {
      writeSync(1, record);
    } catch {
      this.broken = true; // an unwritable log must not take the server down
    }
  }

  async flush(): Promise<void> {}
}

/** A pipe or a socket, written without blocking (see the top of the file). */
class PipeOutput implements LogDestination {
  private readonly socket = new Socket({ fd: 1, readable: false, writable: true });
  private broken = false;
  private dropped = 0;

  constructor() {
    this.socket.on('error', () => {
      this.broken = true; // EPIPE: the reader went away
      this.socket.destroy();
    });
    this.socket.on('drain', () => this.reportDropped());
    this.socket.unref(); // the log alone never keeps the process running
  }

  write(record: string): void {
    if (this.broken) return;
    if (this.socket.writableLength > MAX_BUFFERED) {
      this.dropped += 1;
      return;
    }
    this.socket.write(record);
  }

  private reportDropped(): void {
    if (this.dropped === 0 || this.broken) return;
    const n = this.dropped;
    this.dropped = 0;
    this.socket.write(
      `${JSON.stringify({
        level: 50,
        time: new Date().toISOString(),
        pid: process.pid,
        dropped: n,
        msg: 'log records dropped: the reader of standard output was not reading',
      })}\n`,
    );
  }

  flush(timeoutMs: number): Promise<void> {
    if (this.broken || this.socket.writableLength === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, timeoutMs);
      this.socket.once('drain', () => {
        clearTimeout(timer);
        resolve();
      });
    });
  }
}

class NoOutput implements LogDestination {
  write(): void {}
  async flush(): Promise<void> {}
}
