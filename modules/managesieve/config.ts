// The ManageSieve module's config section (managesieve: in postern.yaml): its schema, owned here, composed
// into the whole config by the kernel, and the settings sessions run with. The limits on the scripts
// themselves (size, count, storage) are the `sieve:` section's (sieve/config.ts), shared with the CLI.
// Every key is documented in README.md.
import { resolve } from 'node:path';
import { z } from 'zod';
import { count, type DefaultListener, type LoadedConfig, seconds } from '../../server/config.js';
import type { MechanismName } from '../../sessions/sasl.js';
import { authFailureDelaySchema, authFailureTimeSchema, saslMechanismsSchema } from '../../sessions/sign-in-settings.js';

export const managesieveConfigSchema = z
  .strictObject({
    /** Most ManageSieve connections at once; more are refused. */
    maxChannels: count('simultaneous connections', 1, 1_000_000).default(200),
    /** Most ManageSieve connections at once from one client address. */
    maxChannelsPerAddress: count('simultaneous connections from one address', 1, 1_000_000).default(20),
    /** Most connections at once that have not signed in; past it the oldest waiting one is closed. */
    maxUnauthenticated: count('connections not signed in', 1, 1_000_000).default(100),
    /** Most connections at once from one address that have not signed in. */
    maxUnauthenticatedPerAddress: count('connections not signed in from one address', 1, 1_000_000).default(10),
    /** Close a session idle this long (seconds; Dovecot: 30 minutes). */
    idleTimeout: seconds('idle time before a session is closed').default(1800),
    /** Seconds a connection may take to sign in. */
    loginTimeout: seconds('time to sign in').default(60),
    /** Seconds a command line may take to arrive once it has begun. */
    commandTimeout: seconds('time to send one command line').default(60),
    /** Where passwords may travel unencrypted (AUTHENTICATE PLAIN and LOGIN): elsewhere only after STARTTLS. */
    cleartextAuth: z.enum(['never', 'loopback', 'always'], { error: 'expected never, loopback or always' }).default('loopback'),
    /** SASL mechanisms offered (sessions/sign-in-settings.ts). */
    saslMechanisms: saslMechanismsSchema,
    /** Failed sign-ins before the connection is closed. */
    maxAuthAttempts: count('failed sign-ins per connection', 1, 100).default(3),
    /** Seconds a failed sign-in takes at least, from the client's line, whatever the reason. */
    authFailureTime: authFailureTimeSchema,
    /** Seconds added to the answer to the third failed sign-in from one address, doubling after (0 = off). */
    authFailureDelay: authFailureDelaySchema,
    /**
     * Octets of one command, its lines and string literals together (Dovecot's managesieve_max_line_length); the
     * script of PUTSCRIPT and CHECKSCRIPT is bounded by sieve.maxScriptSize instead.
     */
    maxLineLength: count('octets in a command', 1024, 16 * 1024 * 1024).default(65536),
    /** Bad commands in a row before the connection is closed. */
    maxBadCommands: count('bad commands in a row', 1, 1000).default(20),
    /** Seconds of the first wait when a client stops reading; doubled four times, then the connection is dropped. */
    blockedOutputWait: seconds('first wait for a client that stopped reading').default(2),
  })
  .prefault({});

export type ManageSieveConfig = z.infer<typeof managesieveConfigSchema>;

export const managesieveConfigSection = { key: 'managesieve', schema: managesieveConfigSchema } as const;

/** ManageSieve in the embedded default config: port 4190 in clear text, offering STARTTLS (RFC 5804 section 1.8). */
export const managesieveDefaultListeners: readonly DefaultListener[] = [{ name: 'sieve', port: 4190, tls: 'none' }];

export function managesieveConfig(config: LoadedConfig): ManageSieveConfig {
  return config.sections.managesieve as ManageSieveConfig;
}

export interface ManageSieveSettings {
  readonly idleTimeoutMs: number;
  readonly loginTimeoutMs: number;
  readonly commandTimeoutMs: number;
  readonly cleartextAuth: 'never' | 'loopback' | 'always';
  readonly saslMechanisms: readonly MechanismName[];
  readonly maxAuthAttempts: number;
  readonly authFailureTimeMs: number;
  readonly maxLineLength: number;
  readonly maxBadCommands: number;
  readonly blockedOutputWaitMs: number;
  readonly hostname: string;
  /** The script limits of sieve: (0 = no limit for the count and the storage). */
  readonly maxScriptSize: number;
  readonly maxScripts: number;
  readonly maxStorage: number;
  /** sieve.maxRedirects, announced as MAXREDIRECTS. */
  readonly maxRedirects: number;
  /** sieve.global, relative to the config file's folder: where `include :global` scripts are (null: none). */
  readonly globalDir: string | null;
  /** sieve.maxCpuTime and sieve.maxMemory: what compiling a large script on a thread may take. */
  readonly compileLimits: { readonly maxCpuTime: number; readonly maxMemory: number };
}

export function managesieveSettings(config: LoadedConfig): ManageSieveSettings {
  const section = managesieveConfig(config);
  return {
    idleTimeoutMs: section.idleTimeout * 1000,
    loginTimeoutMs: section.loginTimeout * 1000,
    commandTimeoutMs: section.commandTimeout * 1000,
    cleartextAuth: section.cleartextAuth,
    saslMechanisms: section.saslMechanisms,
    maxAuthAttempts: section.maxAuthAttempts,
    authFailureTimeMs: section.authFailureTime * 1000,
    maxLineLength: section.maxLineLength,
    maxBadCommands: section.maxBadCommands,
    blockedOutputWaitMs: section.blockedOutputWait * 1000,
    hostname: config.mainDomain,
    maxScriptSize: config.sieve.maxScriptSize,
    maxScripts: config.sieve.maxScripts,
    maxStorage: config.sieve.maxStorage,
    maxRedirects: config.sieve.maxRedirects,
    globalDir: config.sieve.global === null ? null : resolve(config.baseDir, config.sieve.global),
    compileLimits: { maxCpuTime: config.sieve.maxCpuTime, maxMemory: Math.max(config.sieve.maxMemory, 256 * 1024 * 1024) },
  };
}
