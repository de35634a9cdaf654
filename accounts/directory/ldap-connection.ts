// One connection to an LDAP directory as the LDAP driver (ldap.ts) uses it: opened on first use to the
// first of the configured urls that answers (libldap's rule for Dovecot's `uris`), STARTTLS when asked,
// bound as the service DN (or left anonymous), and opened again, bound again, after the server closed it.
// ldapts reconnects by itself on the next operation but forgets the bind: an operation here never runs on
// a connection that was not bound by this code. Whatever is not an answer from the server (refused,
// closed, timed out, a TLS failure) is DirectoryUnavailable.
import type { ConnectionOptions } from 'node:tls';
import { isIP } from 'node:net';
import type { Client } from 'ldapts';
import { DirectoryUnavailable } from './contract.js';

type Ldapts = typeof import('ldapts');

export interface LdapConnectionSettings {
  readonly urls: readonly string[];
  readonly startTls: boolean;
  /** Milliseconds for connecting and for each operation. */
  readonly timeoutMs: number;
  /** Extra TLS options (a private CA); the system's CAs and NODE_EXTRA_CA_CERTS otherwise. */
  readonly tls?: ConnectionOptions;
}

/** An url without anything between "//" and "@" (an LDAP url carries no password, but a pasted one might). */
export function safeUrl(url: string): string {
  return url.replace(/^(\w+:\/\/)[^/@]*@/, '$1');
}

export class LdapConnection {
  private current: Client | null = null;
  private opening: Promise<Client> | null = null;
  private closed = false;

  constructor(
    private readonly ldapts: Ldapts,
    private readonly settings: LdapConnectionSettings,
    /** Who to bind as once connected; null: stay anonymous (auth-bind connections bind per request). */
    private readonly bindAs: { readonly dn: string; readonly password: string } | null,
  ) {}

  /** True for an error that is the server's answer (a result code), not a failure to reach it. */
  isAnswer(err: unknown): err is Error & { code: number } {
    return err instanceof this.ldapts.ResultCodeError;
  }

  /**
   * Runs `op` on a connected, bound client. A connection that broke under the operation (the server
   * restarted between two sign-ins) is opened again and the operation tried once more; a timeout is not.
   */
  async run<T>(op: (client: Client) => Promise<T>): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      const client = await this.client();
      try {
        return await op(client);
      } catch (err) {
        if (this.isAnswer(err)) throw err;
        this.drop(client);
        const timedOut = err instanceof Error && /timed? ?out/i.test(err.message);
        if (attempt > 0 || timedOut || this.closed) throw unavailable(this.settings.urls, err);
      }
    }
  }

  private async client(): Promise<Client> {
    if (this.closed) throw new DirectoryUnavailable('the LDAP directory is closed');
    // checked here, in the same turn as the operation that follows: ldapts would otherwise reconnect unbound
    if (this.current?.isConnected) return this.current;
    if (this.current) this.drop(this.current);
    this.opening ??= this.open().finally(() => {
      this.opening = null;
    });
    const client = await this.opening;
    if (!client.isConnected) {
      this.drop(client);
      throw unavailable(this.settings.urls, new Error('connection closed as it opened'));
    }
    return client;
  }

  private async open(): Promise<Client> {
    let lastError: unknown = null;
    for (const url of this.settings.urls) {
      const client = new this.ldapts.Client({
        url,
        timeout: this.settings.timeoutMs,
        connectTimeout: this.settings.timeoutMs,
        tlsOptions: url.startsWith('ldaps:') ? { ...this.settings.tls } : undefined,
      });
      try {
        if (this.settings.startTls && url.startsWith('ldap:')) await client.startTLS(this.tlsFor(url));
        if (this.bindAs) await client.bind(this.bindAs.dn, this.bindAs.password);
        else if (!client.isConnected) await connectNow(client);
        if (this.closed) {
          this.drop(client);
          break;
        }
        this.current = client;
        unref(client);
        return client;
      } catch (err) {
        this.drop(client);
        lastError = err;
      }
    }
    throw unavailable(this.settings.urls, lastError);
  }

  /** The TLS options of STARTTLS: ldapts passes none of its own, so the host to check is given here. */
  private tlsFor(url: string): ConnectionOptions {
    const host = new URL(url).hostname.replace(/^\[(.*)\]$/, '$1');
    return { ...this.settings.tls, host, ...(isIP(host) ? {} : { servername: host }) };
  }

  private drop(client: Client): void {
    if (this.current === client) this.current = null;
    client.unbind().catch(() => {});
  }

  async close(): Promise<void> {
    this.closed = true;
    const client = this.current;
    this.current = null;
    if (client) await client.unbind().catch(() => {});
  }
}

/**
 * Connects a client that neither binds nor starts TLS at once (an auth-bind connection): ldapts connects
 * lazily, inside its next operation, where a refused url could no longer be passed over for the next one.
 * Its connect step is not public; ldapts is pinned (package-lock.json), and the test of several urls fails
 * if this stops working.
 */
async function connectNow(client: Client): Promise<void> {
  await (client as unknown as { _connect(): Promise<void> | undefined })._connect();
}

/**
 * Lets the process end with the connection open (a CLI command that looked a user up exits when it is
 * done, as with the account.json files). Safe while a request waits: ldapts holds a timer for each one
 * (the timeout is always set here), which keeps the process alive until the answer or the timeout.
 */
function unref(client: Client): void {
  (client as unknown as { socket?: { unref(): void } }).socket?.unref();
}

function unavailable(urls: readonly string[], err: unknown): DirectoryUnavailable {
  const why = err instanceof Error ? err.message.split('\n')[0] : String(err);
  return new DirectoryUnavailable(`LDAP directory ${urls.map(safeUrl).join(' ')} cannot answer: ${why}`);
}
