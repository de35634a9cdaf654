// The SMTP submission module's config section (submissionService: in postern.yaml): its connections, timeouts
// and sign-in. What every way of submitting shares (submission.maxSize, maxPerHour, senders, relay) stays in the
// server's `submission:` section, read by XTND XMIT too. Every key is documented in README.md.
import { z } from 'zod';
import { count, type DefaultListener, type LoadedConfig } from '../../server/config.js';
import { sessionKeys } from '../../server/session-module.js';

export const submissionServiceSchema = z
  .strictObject({
    ...sessionKeys({
      maxChannels: 200,
      maxChannelsPerAddress: 20,
      // RFC 5321 section 4.5.3.2.7: a server waits at least 5 minutes for the next command
      idleTimeout: 300,
      loginTimeout: 60,
      commandTimeout: 60,
      maxAuthAttempts: 3,
    }),
    /** Recipients of one message (RFC 5321 section 4.5.3.1.8: at least 100; Dovecot's submission_max_recipients is 0, no limit). */
    maxRecipients: count('recipients per message', 1, 100_000).default(100),
  })
  .prefault({});

export type SubmissionServiceConfig = z.infer<typeof submissionServiceSchema>;

export const submissionServiceSection = { key: 'submissionService', schema: submissionServiceSchema } as const;

/** RFC 8314 section 3.3 and RFC 6409: 465 with TLS from the first byte, 587 offering STARTTLS. */
export const submissionDefaultListeners: readonly DefaultListener[] = [
  { name: 'submission', port: 587, tls: 'none' },
  { name: 'submissions', port: 465, tls: 'implicit' },
];

export function submissionServiceConfig(config: LoadedConfig): SubmissionServiceConfig {
  return config.sections.submissionService as SubmissionServiceConfig;
}
