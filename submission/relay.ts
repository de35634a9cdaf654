// Sending to remote recipients through the configured SMTP relay, with nodemailer's SMTP transport.
// nodemailer is loaded at the first message: `postern deliver`, which an MTA starts for every message, builds a
// relay for Sieve's redirect and vacation but seldom sends anything.
import type { Transporter } from 'nodemailer';
/** The relay's settings (submission.relay in the config). */
export interface RelayConfig {
  host: string;
  port: number;
  /** TLS from the first byte (port 465); otherwise STARTTLS when offered. */
  secure: boolean;
  /** Refuse to send unless STARTTLS succeeds. */
  requireTLS: boolean;
  auth?: { user: string; pass: string };
  /** Check the relay's certificate. */
  rejectUnauthorized: boolean;
}

export interface RelayResult {
  accepted: string[];
  rejected: string[];
}

/** The relay refused the message or could not be reached; `temporary` when trying later may work. */
export class RelayError extends Error {
  constructor(
    message: string,
    readonly temporary: boolean,
  ) {
    super(message);
  }
}

export class Relay {
  /** Made at the first send, shared by the sends after it. */
  private transport: Transporter | null = null;
  private loading: Promise<Transporter> | null = null;

  constructor(private readonly config: RelayConfig) {}

  private connect(): Promise<Transporter> {
    this.loading ??= this.createTransport();
    return this.loading;
  }

  private async createTransport(): Promise<Transporter> {
    const config = this.config;
    const nodemailer = (await import('nodemailer')).default;
    this.transport = nodemailer.createTransport({
      host: config.host,
      port: config.port,
      secure: config.secure,
      requireTLS: config.requireTLS,
      auth: config.auth ? { user: config.auth.user, pass: config.auth.pass } : undefined,
      tls: { rejectUnauthorized: config.rejectUnauthorized },
      connectionTimeout: 30_000,
      greetingTimeout: 30_000,
      socketTimeout: 120_000,
    });
    return this.transport;
  }

  /** Sends `raw` as is (no header changes) to `to`, with `from` as the envelope sender. */
  async send(from: string, to: string[], raw: Buffer): Promise<RelayResult> {
    try {
      const info = await (await this.connect()).sendMail({ envelope: { from, to }, raw });
      return { accepted: (info.accepted as string[]).map(String), rejected: (info.rejected as string[]).map(String) };
    } catch (err) {
      const e = err as Error & { responseCode?: number; code?: string; rejected?: string[] };
      const temporary = e.responseCode === undefined || e.responseCode < 500;
      const message = e.rejected?.length
        ? `The relay refused ${e.rejected.join(', ')}`
        : `The relay ${temporary ? 'is not available' : 'refused the message'}: ${e.message.split('\n')[0]}`;
      throw new RelayError(message, temporary);
    }
  }

  close(): void {
    this.transport?.close();
  }
}
