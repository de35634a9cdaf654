// The POP3 module's config section (pop: in postern.yaml): its schema, owned here, composed into the
// whole config by the kernel, and the settings sessions run with. Every key is documented in README.md
// and postern.example.yaml.
import { resolve } from 'node:path';
import { z } from 'zod';
import { count, type DefaultListener, type LoadedConfig, seconds } from '../../server/config.js';
import { sessionKeys } from '../../server/session-module.js';
import type { PopSettings } from './context.js';
import { checkUidlFormat } from './uidl.js';

export const popConfigSchema = z
  .strictObject({
    ...sessionKeys({
      maxChannels: 200,
      maxChannelsPerAddress: 20,
      idleTimeout: 600,
      loginTimeout: 60,
      commandTimeout: 30,
      maxAuthAttempts: 2,
    }),
    /** false turns USER/PASS off (OpenVMS TCPIP$POP_DISUSERPASS). */
    userPass: z.boolean({ error: 'expected true or false' }).default(true),
    /** Longest command line accepted, in octets (RFC 2449 keeps clients within 255). */
    maxLineLength: count('octets in a command line', 255, 65536).default(1024),
    /** Bad commands in a row before the connection is closed. */
    maxBadCommands: count('bad commands in a row', 1, 1000).default(10),
    /** Moved to the top level (delivery, submission and every protocol use it). */
    realToHeader: z
      .never({ error: 'pop.realToHeader is now the top-level key realToHeader (delivery and every protocol use it)' })
      .optional(),
    /** Most messages shown per session, oldest first (OpenVMS TCPIP$POP_MESSAGE_MAXIMUM); 0 = all. */
    messageMaximum: count('messages per session (0 = all)', 0, 10_000_000).default(0),
    /** popper -b: folder of numbered bulletin files delivered to every account once; null = off. */
    bulletinDir: z.string({ error: 'expected a folder path' }).nullable().default(null),
    /** What QUIT does with deleted messages: expunge, flag (Maildir T flag; POP hides them, IMAP sees them) or move:FOLDER. */
    deleteAction: z
      .string()
      .regex(/^(expunge|flag|move:[^/\\.\x00-\x1f][^\x00-\x1f]{0,199})$/, {
        error: 'expected expunge, flag, or move:FOLDER (for example move:Trash)',
      })
      .default('expunge'),
    /** Where QUIT moves messages retrieved but not deleted (OpenVMS MAIL folder); null = leave them. */
    moveReadTo: z.string({ error: 'expected a mailbox name, like Read' }).nullable().default(null),
    /** OpenVMS TCPIP$POP_SEND_ID_HEADERS: add X-POP3-Server and X-POP3-ID to what RETR and TOP send. */
    idHeaders: z.boolean({ error: 'expected true or false' }).default(false),
    /** Seconds of the first wait when a client stops reading; doubled four times (2, 4, 8, 16, 32), then the connection is dropped. */
    blockedOutputWait: seconds('first wait for a client that stopped reading').default(2),
    /** Dovecot's pop3_uidl_format (and its default): the UIDL of a message that has none of its own. */
    uidlFormat: z
      .string({ error: 'expected a format such as "%08Xu%08Xv"' })
      .superRefine((format, ctx) => {
        const problem = checkUidlFormat(format);
        if (problem) ctx.addIssue({ code: 'custom', message: problem });
      })
      .default('%08Xu%08Xv'),
  })
  .prefault({});

export type PopConfig = z.infer<typeof popConfigSchema>;

export const popConfigSection = { key: 'pop', schema: popConfigSchema } as const;

/** POP3 in the embedded default config: port 110 in clear text, offering STLS (RFC 2595), and 995 with implicit TLS (RFC 8314). */
export const popDefaultListeners: readonly DefaultListener[] = [
  { name: 'pop3', port: 110, tls: 'none' },
  { name: 'pop3s', port: 995, tls: 'implicit' },
];

/** The pop section of a loaded config (validated by popConfigSchema when it was loaded). */
export function popConfig(config: LoadedConfig): PopConfig {
  return config.sections.pop as PopConfig;
}

/** pop.bulletinDir, relative to the config file's folder; null when bulletins are off. */
export function bulletinDir(config: LoadedConfig): string | null {
  const dir = popConfig(config).bulletinDir;
  return dir ? resolve(config.baseDir, dir) : null;
}

export function popSettings(config: LoadedConfig): PopSettings {
  const pop = popConfig(config);
  return {
    idleTimeoutMs: pop.idleTimeout * 1000,
    maxAuthAttempts: pop.maxAuthAttempts,
    userPass: pop.userPass,
    maxLineLength: pop.maxLineLength,
    maxBadCommands: pop.maxBadCommands,
    cleartextAuth: pop.cleartextAuth,
    saslMechanisms: pop.saslMechanisms,
    blockedOutputWaitMs: pop.blockedOutputWait * 1000,
    loginTimeoutMs: pop.loginTimeout * 1000,
    commandTimeoutMs: pop.commandTimeout * 1000,
    authFailureTimeMs: pop.authFailureTime * 1000,
    hostname: config.mainDomain,
    realToHeader: config.realToHeader,
    maxSubmissionSize: config.submission.maxSize,
    messageMaximum: pop.messageMaximum,
    deleteAction: parseDeleteAction(pop.deleteAction),
    moveReadTo: pop.moveReadTo,
    idHeaders: pop.idHeaders,
    uidlFormat: pop.uidlFormat,
  };
}

function parseDeleteAction(value: string): PopSettings['deleteAction'] {
  if (value === 'flag') return { kind: 'flag' };
  if (value.startsWith('move:')) return { kind: 'move', mailbox: value.slice(5) };
  return { kind: 'expunge' };
}
