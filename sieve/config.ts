// The `sieve:` section of the config: what every Sieve run of this server may do (Pigeonhole's sieve_*
// settings under Postern's names, README "Sieve"). Read by delivery (the runs), the ManageSieve module (the
// script quotas) and the CLI (`postern sieve`); composed into the config by server/config.ts.
import { z } from 'zod';
import { parseSize } from '../store/quota/quota.js';

const octets = (what: string) =>
  z
    .union([z.string(), z.number()], { error: `expected ${what}, like 1M, 64K or 1048576` })
    .refine((v) => parseSize(v) !== null, { error: `expected ${what}, like 1M, 64K or 1048576` })
    .transform((v) => parseSize(v)!);

const whole = (what: string, min: number, max: number) =>
  z
    .number({ error: `expected a whole number of ${what}` })
    .int({ error: `expected a whole number of ${what}` })
    .min(min, { error: `expected at least ${min} ${what}` })
    .max(max, { error: `expected at most ${max} ${what}` });

const scriptPaths = z
  .array(z.string({ error: 'expected the path of a .sieve file or of a folder of them' }), {
    error: 'expected a list of paths of .sieve files or folders of them',
  })
  .default([]);

/**
 * Where spamtest/virustest read a scanner's verdict (Pigeonhole's sieve_spamtest_* and sieve_virustest_*):
 * `statusHeader` is "Header-Name" or "Header-Name: regex" whose first group is the value; `statusType` score (a
 * number scaled by `maxValue` or the number `maxHeader` gives), strlen (the length of the value, e.g. "*****") or
 * text (the value compared with `textValues`, the strings for the results 0..10).
 */
const testHeaderSchema = z.strictObject({
  statusHeader: z.string({ error: 'expected a header name, optionally ": regex"' }),
  statusType: z.enum(['score', 'strlen', 'text'], { error: 'expected score, strlen or text' }).default('score'),
  maxValue: z.number({ error: 'expected a number' }).positive({ error: 'expected a number above 0' }).nullable().default(null),
  maxHeader: z.string({ error: 'expected a header name, optionally ": regex"' }).nullable().default(null),
  textValues: z.record(z.string(), z.string(), { error: 'expected values 0..10 mapped to strings' }).default({}),
});

export const sieveSchema = z
  .strictObject({
    /** false: deliveries run no script at all (the users' scripts are kept, ManageSieve still edits them). */
    enabled: z.boolean({ error: 'expected true or false' }).default(true),
    /** Site-wide scripts run before the user's (Pigeonhole's sieve_before): files, or folders whose .sieve files run by name. */
    before: scriptPaths,
    /** Site-wide scripts run after the user's (sieve_after). */
    after: scriptPaths,
    /** The folder `include :global "name"` reads (sieve_global); null: none. */
    global: z.string({ error: 'expected a folder path' }).nullable().default(null),
    /** Actions one run may take (sieve_max_actions). */
    maxActions: whole('actions', 1, 10_000).default(32),
    /** Redirects one run may take (sieve_max_redirects). */
    maxRedirects: whole('redirects', 0, 1_000).default(4),
    /** Seconds a redirect of one message to one address is remembered and not done again (sieve_redirect_duplicate_period). */
    redirectDuplicatePeriod: whole('seconds', 0, 10 * 365 * 86_400).default(12 * 3600),
    /** Milliseconds of CPU one run may use; past it the message is kept in INBOX (sieve_max_cpu_time). */
    maxCpuTime: whole('milliseconds', 10, 600_000).default(5_000),
    /** Memory one run may use (the run's thread is stopped past it and the message kept). */
    maxMemory: octets('octets of memory').default(64 * 1024 * 1024),
    /** Largest script a user may store (sieve_max_script_size; ManageSieve answers NO (QUOTA/MAXSIZE)). */
    maxScriptSize: octets('octets').default(1024 * 1024),
    /** Scripts a user may keep (sieve_quota_max_scripts); 0 = no limit. */
    maxScripts: whole('scripts', 0, 100_000).default(0),
    /** Octets of scripts a user may keep (sieve_quota_max_storage); 0 = no limit. */
    maxStorage: octets('octets (0 = no limit)').default(0),
    /** Vacation's shortest :days/:seconds period in seconds (sieve_vacation_min_period; a shorter one is raised to it). */
    vacationMinPeriod: whole('seconds', 0, 10 * 365 * 86_400).default(86_400),
    /** Vacation's period when the script names none, in seconds (sieve_vacation_default_period). */
    vacationDefaultPeriod: whole('seconds', 0, 10 * 365 * 86_400).default(7 * 86_400),
    /** Vacation's longest period in seconds (sieve_vacation_max_period; 0 = no limit). */
    vacationMaxPeriod: whole('seconds', 0, 10 * 365 * 86_400).default(0),
    /** spamtest (RFC 5235): where the scanner's verdict is read (Pigeonhole's sieve_spamtest_*); null: not configured. */
    spamtest: testHeaderSchema.nullable().default(null),
    /** virustest (RFC 5235): the same for the virus scanner's verdict (sieve_virustest_*). */
    virustest: testHeaderSchema.nullable().default(null),
  })
  .prefault({});

export type SieveSettings = z.infer<typeof sieveSchema>;
