// A raw-socket ManageSieve client (RFC 5804) for tests that must see the exact bytes on the wire: it sends
// command lines and gathers everything up to the OK, NO or BYE that ends the answer, literals read by their counts.
import { type Endpoint, RawPop } from './pop-client.js';

export interface SieveAnswer {
  /** Everything received, exactly, CRLFs included (UTF-8). */
  text: string;
  /** "OK", "NO" or "BYE". */
  status: string;
}

export class RawSieve {
  private constructor(readonly raw: RawPop) {}

  /** Connects and reads the greeting (the capabilities and the OK). */
  static async connect(port: Endpoint, tls = false): Promise<{ client: RawSieve; greeting: SieveAnswer }> {
    const raw = tls ? await RawPop.connectTls(port) : await RawPop.connect(port);
    const client = new RawSieve(raw);
    return { client, greeting: await client.answer() };
  }

  /** Connects and signs in with AUTHENTICATE "PLAIN" and an initial response. */
  static async signIn(port: Endpoint, user: string, password: string): Promise<RawSieve> {
    const { client } = await RawSieve.connect(port);
    const answer = await client.command(`AUTHENTICATE "PLAIN" "${Buffer.from(`\0${user}\0${password}`).toString('base64')}"`);
    if (answer.status !== 'OK') throw new Error(answer.text);
    return client;
  }

  /** One line with the literals it announces, exactly as received (CRLFs kept). */
  async item(timeoutMs = 5000): Promise<string> {
    let text = '';
    for (;;) {
      const line = Buffer.from(await this.raw.line(timeoutMs), 'latin1').toString('utf8');
      text += line;
      const m = /\{(\d+)\}$/.exec(line);
      if (!m) return `${text}\r\n`;
      text += `\r\n${(await this.raw.bytes(Number(m[1]), timeoutMs)).toString('utf8')}`;
    }
  }

  /** Everything up to and including the OK, NO or BYE line. */
  async answer(timeoutMs = 5000): Promise<SieveAnswer> {
    let text = '';
    for (;;) {
      const item = await this.item(timeoutMs);
      text += item;
      const m = /^(OK|NO|BYE)\b/.exec(item);
      if (m) return { text, status: m[1] };
    }
  }

  /** Sends `command` CRLF and reads its answer. */
  async command(command: string | Buffer, timeoutMs = 5000): Promise<SieveAnswer> {
    this.send(typeof command === 'string' ? `${command}\r\n` : Buffer.concat([command, Buffer.from('\r\n')]));
    return this.answer(timeoutMs);
  }

  send(data: string | Buffer): void {
    this.raw.send(data);
  }

  close(): void {
    this.raw.close();
  }
}

/** A script as a non-synchronising literal (RFC 5804 section 4). */
export function literal(text: string | Buffer): string {
  const b = Buffer.from(text);
  return `{${b.length}+}\r\n${b.toString('utf8')}`;
}
