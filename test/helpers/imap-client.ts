// A raw-socket IMAP client for tests that must see the exact bytes on the wire: it sends tagged
// commands and gathers every response line up to the tagged one, with literals read by their counts
// (a line ending in {n} is followed by n octets, then the rest of the response).
import { type Endpoint, RawPop } from './pop-client.js';

export interface ImapAnswer {
  /** The untagged responses and continuations, each with its literals inline. */
  untagged: string[];
  /** The tagged line, e.g. "a1 OK LOGIN completed". */
  tagged: string;
  /** "OK", "NO" or "BAD". */
  status: string;
}

export class RawImap {
  private n = 0;
  private constructor(readonly raw: RawPop) {}

  static async connect(port: Endpoint, tls = false, host = '127.0.0.1'): Promise<{ client: RawImap; greeting: string }> {
    const raw = tls ? await RawPop.connectTls(port, host) : await RawPop.connect(port, host);
    const client = new RawImap(raw);
    return { client, greeting: await client.response() };
  }

  /** Connects and signs in with LOGIN. */
  static async signIn(port: Endpoint, user: string, password: string, host = '127.0.0.1'): Promise<RawImap> {
    const { client } = await RawImap.connect(port, false, host);
    const answer = await client.command(`LOGIN ${user} ${password}`);
    if (answer.status !== 'OK') throw new Error(answer.tagged);
    return client;
  }

  nextTag(): string {
    this.n += 1;
    return `a${this.n}`;
  }

  /** One response: a line, with any literals it announces and the lines that continue it. */
  async response(timeoutMs = 5000): Promise<string> {
    let text = await this.raw.line(timeoutMs);
    for (let m = /\{(\d+)\+?\}$/.exec(text); m; m = /\{(\d+)\+?\}$/.exec(text)) {
      const bytes = await this.raw.bytes(Number(m[1]), timeoutMs);
      text += `\r\n${bytes.toString('latin1')}${await this.raw.line(timeoutMs)}`;
    }
    return text;
  }

  /** Sends `tag command` and reads to the tagged answer. */
  async command(command: string | Buffer, timeoutMs = 5000): Promise<ImapAnswer> {
    const tag = this.nextTag();
    this.raw.send(
      typeof command === 'string' ? `${tag} ${command}\r\n` : Buffer.concat([Buffer.from(`${tag} `), command, Buffer.from('\r\n')]),
    );
    return this.until(tag, timeoutMs);
  }

  /** Reads responses until the one tagged `tag`. */
  async until(tag: string, timeoutMs = 5000): Promise<ImapAnswer> {
    const untagged: string[] = [];
    for (;;) {
      const line = await this.response(timeoutMs);
      if (line.startsWith(`${tag} `)) return { untagged, tagged: line, status: line.split(' ')[1] };
      untagged.push(line);
    }
  }

  send(text: string | Buffer): void {
    this.raw.send(text);
  }

  close(): void {
    this.raw.close();
  }
}

/** Reads what the server sends until it closes the connection (or `ms` pass). */
export async function untilClosed(client: RawImap, ms: number): Promise<{ lines: string[]; closed: boolean }> {
  const lines: string[] = [];
  const deadline = Date.now() + ms;
  for (;;) {
    const left = deadline - Date.now();
    if (left <= 0) return { lines, closed: false };
    try {
      lines.push(await client.raw.line(left));
    } catch (err) {
      return { lines, closed: /connection closed/.test((err as Error).message) };
    }
  }
}
