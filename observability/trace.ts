// log.trace (popper -t, OpenVMS TCPIP$POP_TRACE): a transcript of every session in one file, a line per
// command and response: "2026-11-22T00:40:00.000Z 3kf20001 C: STAT". Secrets are redacted by the
// session before they get here; message bodies are summarised, not copied.
import { createWriteStream, type WriteStream } from 'node:fs';

export class TraceLog {
  private stream: WriteStream | null = null;
  private path: string | null = null;

  /** Opens (or with null closes) the trace file; reopening the same path is a no-op. */
  open(path: string | null): void {
    if (path === this.path) return;
    this.stream?.end();
    this.path = path;
    this.stream = path ? createWriteStream(path, { flags: 'a', mode: 0o600 }) : null;
    this.stream?.on('error', () => {
      this.stream = null; // an unwritable trace file must not take the server down
    });
  }

  get enabled(): boolean {
    return this.stream !== null;
  }

  line(cid: string, direction: 'C' | 'S' | '-', text: string): void {
    this.stream?.write(`${new Date().toISOString()} ${cid} ${direction}: ${text}\n`);
  }

  close(): void {
    this.open(null);
  }
}
