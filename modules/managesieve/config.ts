// The ManageSieve module's config section (managesieve: in postern.yaml): its schema, owned here, composed
// into the whole config by the kernel, and the settings sessions run with. The limits on the scripts
// themselves (size, count, storage) are the `sieve:` section's (sieve/config.ts), shared with the CLI.
// Every key is documented in README.md.
import { resolve } from 'node:path';
import { z } from 'zod';
import { count, type DefaultListener, type LoadedConfig, seconds } from '../../server/config.js';
import type { MechanismName } from '../../sessions/sasl.js';
import { sessionKeys } from '../../server/session-module.js';

export const managesieveConfigSchema = z
  .strictObject({
    ...sessionKeys({
      maxChannels: 200,
      maxChannelsPerAddress: 20,
      idleTimeout: 1800,
      loginTimeout: 60,
      commandTimeout: 60,
      maxAuthAttempts: 3,
    }),
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
    // the compiler holds about 30 octets per octet of script (a 2 MB script does not compile in 64 MB): 64 per
    // octet of the largest script a client may send, and no less than 256 MB
    compileLimits: {
      maxCpuTime: config.sieve.maxCpuTime,
      maxMemory: Math.max(config.sieve.maxMemory, 256 * 1024 * 1024, 64 * config.sieve.maxScriptSize),
    },
  };
}
