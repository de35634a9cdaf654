// The IMAP module's config section (imap: in postern.yaml): its schema, owned here, composed into the
// whole config by the kernel, and the settings sessions run with. Every key is documented in README.md
// and postern.example.yaml.
import { z } from 'zod';
import { count, type DefaultListener, type LoadedConfig, seconds } from '../../server/config.js';
import { authFailureDelaySchema, authFailureTimeSchema, saslMechanismsSchema } from '../../sessions/sign-in-settings.js';

export const imapConfigSchema = z
  .strictObject({
    /** Most IMAP connections at once; more are refused. */
    maxChannels: count('simultaneous connections', 1, 1_000_000).default(1000),
    /** Most IMAP connections at once from one client address (a phone and a desktop keep several each). */
    maxChannelsPerAddress: count('simultaneous connections from one address', 1, 1_000_000).default(50),
    /** Most connections at once that have not signed in; past it the oldest waiting one is closed. */
    maxUnauthenticated: count('connections not signed in', 1, 1_000_000).default(100),
    /** Most connections at once from one address that have not signed in. */
    maxUnauthenticatedPerAddress: count('connections not signed in from one address', 1, 1_000_000).default(10),
    /** Close a session idle this long (seconds). RFC 9051 section 5.4 asks for at least 30 minutes. */
    idleTimeout: seconds('idle time before a session is closed').default(1800),
    /** Seconds a connection may take to sign in. */
    loginTimeout: seconds('time to sign in').default(60),
    /** Seconds a command line may take to arrive once it has begun. */
    commandTimeout: seconds('time to send one command line').default(60),
    /** Where passwords may travel unencrypted (LOGIN, AUTHENTICATE PLAIN and LOGIN): LOGINDISABLED elsewhere until STARTTLS. */
    cleartextAuth: z.enum(['never', 'loopback', 'always'], { error: 'expected never, loopback or always' }).default('loopback'),
    /** SASL mechanisms offered (sessions/sign-in-settings.ts). */
    saslMechanisms: saslMechanismsSchema,
    /** Failed sign-ins before the connection is closed. */
    maxAuthAttempts: count('failed sign-ins per connection', 1, 100).default(3),
    /** Seconds a failed sign-in takes at least, from the client's line, whatever the reason. */
    authFailureTime: authFailureTimeSchema,
    /** Seconds added to the answer to the third failed sign-in from one address, doubling after (0 = off). */
    authFailureDelay: authFailureDelaySchema,
    /** Octets of one command, its lines and literals together (an APPEND's message aside); more is refused with [TOOBIG]. */
    maxLineLength: count('octets in a command', 1024, 16 * 1024 * 1024).default(65536),
    /** Largest message APPEND accepts (APPENDLIMIT); larger is refused with [TOOBIG]. */
    maxLiteralSize: count('octets in an appended message', 1024, 4 * 1024 * 1024 * 1024).default(52428800),
    /** Bad commands in a row before the connection is closed. */
    maxBadCommands: count('bad commands in a row', 1, 1000).default(20),
    /** Seconds between "* OK Still here" during IDLE (keeps NAT entries alive, as Dovecot does). */
    idleKeepalive: count('seconds between keepalives in IDLE', 1, 86400).default(120),
    /**
     * Seconds between looks at the mailbox during IDLE when nothing said it changed (Dovecot's mailbox_idle_check_interval): catches what
     * no watch or notice reports.
     */
    idleCheckInterval: count('seconds between mailbox checks in IDLE', 1, 86400).default(30),
    /** Seconds of the first wait when a client stops reading; doubled four times, then the connection is dropped. */
    blockedOutputWait: seconds('first wait for a client that stopped reading').default(2),
    /** METADATA (RFC 5464): the largest value of one entry, and the most entries on one mailbox (or the server) per user. */
    metadata: z
      .strictObject({
        maxSize: count('octets in one metadata value', 1024, 16 * 1024 * 1024).default(16384),
        maxEntries: count('metadata entries on one mailbox', 10, 100_000).default(100),
        /**
         * The server entries /shared/admin (a mailto: or other URI) and /shared/comment every user reads
         * (Dovecot's mail_server_admin and mail_server_comment).
         */
        admin: z.string().min(1).max(1024).optional(),
        comment: z.string().min(1).max(1024).optional(),
      })
      .prefault({}),
  })
  .prefault({});

export type ImapConfig = z.infer<typeof imapConfigSchema>;

export const imapConfigSection = { key: 'imap', schema: imapConfigSchema } as const;

/** IMAP in the embedded default config: port 143 in clear text, offering STARTTLS, and 993 with implicit TLS (RFC 8314). */
export const imapDefaultListeners: readonly DefaultListener[] = [
  { name: 'imap', port: 143, tls: 'none' },
  { name: 'imaps', port: 993, tls: 'implicit' },
];

export function imapConfig(config: LoadedConfig): ImapConfig {
  return config.sections.imap as ImapConfig;
}

export interface ImapSettings {
  readonly idleTimeoutMs: number;
  readonly loginTimeoutMs: number;
  readonly commandTimeoutMs: number;
  readonly cleartextAuth: 'never' | 'loopback' | 'always';
  readonly saslMechanisms: readonly ('PLAIN' | 'LOGIN' | 'CRAM-MD5')[];
  readonly maxAuthAttempts: number;
  readonly authFailureTimeMs: number;
  readonly maxCommand: number;
  readonly maxAppend: number;
  readonly maxBadCommands: number;
  readonly idleKeepaliveMs: number;
  readonly idleCheckIntervalMs: number;
  readonly blockedOutputWaitMs: number;
  readonly hostname: string;
  /** METADATA limits (imap.metadata). */
  readonly metadata: { readonly maxSize: number; readonly maxEntries: number; readonly admin?: string; readonly comment?: string };
}

export function imapSettings(config: LoadedConfig): ImapSettings {
  const imap = imapConfig(config);
  return {
    idleTimeoutMs: imap.idleTimeout * 1000,
    loginTimeoutMs: imap.loginTimeout * 1000,
    commandTimeoutMs: imap.commandTimeout * 1000,
    cleartextAuth: imap.cleartextAuth,
    saslMechanisms: imap.saslMechanisms,
    maxAuthAttempts: imap.maxAuthAttempts,
    authFailureTimeMs: imap.authFailureTime * 1000,
    maxCommand: imap.maxLineLength,
    maxAppend: imap.maxLiteralSize,
    maxBadCommands: imap.maxBadCommands,
    idleKeepaliveMs: imap.idleKeepalive * 1000,
    idleCheckIntervalMs: imap.idleCheckInterval * 1000,
    blockedOutputWaitMs: imap.blockedOutputWait * 1000,
    hostname: config.mainDomain,
    metadata: imap.metadata,
  };
}
