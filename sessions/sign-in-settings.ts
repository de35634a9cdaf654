// The sign-in keys every protocol module offers in its own config section (pop.authFailureTime,
// imap.authFailureTime, ...): their schemas written once, their values each module's own (sign-in.ts
// and sasl.ts read them).
import { z } from 'zod';

/** SASL mechanisms offered (RFC 5034 AUTH, RFC 9051 AUTHENTICATE). CRAM-MD5 checks the account's shared secret (--apop-secret). */
export const saslMechanismsSchema = z
  .array(z.enum(['PLAIN', 'LOGIN', 'CRAM-MD5'], { error: 'expected PLAIN, LOGIN or CRAM-MD5' }), {
    error: 'expected a list such as [PLAIN, LOGIN]',
  })
  .default(['PLAIN', 'LOGIN']);

/**
 * Seconds a failed sign-in takes at least, counted from the client's last line, whatever the reason
 * (unknown name, wrong password, wrong digest): the answer's timing tells nothing.
 */
export const authFailureTimeSchema = z
  .number({ error: 'expected a number of seconds' })
  .min(0.01, { error: 'expected a number of seconds, at least 0.01' })
  .max(10, { error: 'expected a number of seconds, at most 10' })
  .default(0.2);

/** Seconds of delay added to the answer to the third failed sign-in from one address, doubling after (0 = off). */
export const authFailureDelaySchema = z
  .number({ error: 'expected a number of seconds (0 turns the delay off)' })
  .min(0, { error: 'expected a number of seconds, 0 or more' })
  .default(1);
