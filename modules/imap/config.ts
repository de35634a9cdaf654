// The IMAP module's config section (imap: in postern.yaml): its schema, owned here, composed into the
// whole config by the kernel, and the settings sessions run with. Every key is documented in README.md
// and postern.example.yaml.
import { z } from 'zod';
import { count, type DefaultListener, type LoadedConfig, seconds } from '../../server/config.js';
import { sessionKeys } from '../../server/session-module.js';

export const imapConfigSchema = z
  .strictObject({
    ...sessionKeys({
      maxChannels: 1000,
      maxChannelsPerAddress: 50,
      idleTimeout: 1800,
      loginTimeout: 60,
      commandTimeout: 60,
      maxAuthAttempts: 3,
    }),
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
