// The LMTP module's config section (lmtp: in postern.yaml). The message size limit is delivery.maxSize,
// shared with `postern deliver`. Every key is documented in README.md and postern.example.yaml.
import { z } from 'zod';
import { count, type LoadedConfig, seconds } from '../../server/config.js';

export const lmtpConfigSchema = z
  .strictObject({
    /** Most LMTP connections at once (an MTA opens a few per destination); more are refused with 421. */
    maxChannels: count('simultaneous connections', 1, 100_000).default(100),
    /** Seconds of silence from the MTA before the connection is closed (RFC 5321 4.5.3.2: 5 minutes). */
    idleTimeout: seconds('idle time before a connection is closed').default(300),
    /** Recipients in one transaction (Postfix sends up to lmtp_destination_recipient_limit, 50). */
    maxRecipients: count('recipients per message', 1, 100_000).default(1000),
  })
  .prefault({});

export type LmtpConfig = z.infer<typeof lmtpConfigSchema>;

export const lmtpConfigSection = { key: 'lmtp', schema: lmtpConfigSchema } as const;

export function lmtpConfig(config: LoadedConfig): LmtpConfig {
  return config.sections.lmtp as LmtpConfig;
}
