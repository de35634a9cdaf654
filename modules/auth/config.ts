// The auth module's config section (auth: in postern.yaml): Dovecot's authentication protocol for an MTA
// (Postfix `smtpd_sasl_type = dovecot`, Exim's dovecot authenticator) on a listener `module: auth`. The
// sign-in keys are those of the other modules (sessions/sign-in-settings.ts); every key is documented in
// README.md and postern.example.yaml.
import { z } from 'zod';
import { count, type LoadedConfig, seconds } from '../../server/config.js';
import { authFailureDelaySchema, authFailureTimeSchema, saslMechanismsSchema } from '../../sessions/sign-in-settings.js';

export const authConfigSchema = z
  .strictObject({
    /** Most MTA connections at once (Postfix opens one per smtpd process); more are refused. */
    maxChannels: count('simultaneous connections', 1, 100_000).default(1000),
    /** SASL mechanisms offered to the MTA's clients (its MECH lines). */
    saslMechanisms: saslMechanismsSchema,
    /**
     * Where the passwords the MTA passes on may travel unencrypted: a unix socket and loopback always may
     * (`loopback`); elsewhere only over a `tls: implicit` listener unless `always`.
     */
    cleartextAuth: z.enum(['never', 'loopback', 'always'], { error: 'expected never, loopback or always' }).default('loopback'),
    /** Seconds a failed sign-in takes at least, counted from the MTA's line (Dovecot's auth_failure_delay). */
    authFailureTime: authFailureTimeSchema,
    /** Seconds added to the answer to the third failed sign-in from one client address (the MTA's rip=), doubling after (0 = off). */
    authFailureDelay: authFailureDelaySchema,
    /** Seconds a request may wait for the MTA's next CONT line before it is dropped (Dovecot: 150). */
    requestTimeout: seconds('time a request waits for its continuation').default(150),
  })
  .prefault({});

export type AuthConfig = z.infer<typeof authConfigSchema>;

export const authConfigSection = { key: 'auth', schema: authConfigSchema } as const;

export function authConfig(config: LoadedConfig): AuthConfig {
  return config.sections.auth as AuthConfig;
}
