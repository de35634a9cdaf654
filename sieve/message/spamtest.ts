// spamtest and virustest (RFC 5235): the scanner's verdict read from a configured header field (config keys
// sieve.spamtest / sieve.virustest, Pigeonhole's sieve_spamtest_* / sieve_virustest_* settings) and turned into
// the value the test compares: "0" when the message was not tested (no header, no match, no configuration),
// else "1".."10" (spamtest 1: surely not spam ... 10: surely spam; virustest 1: clean ... 5: infected); with
// spamtest's :percent, "0".."100" (RFC 5235 section 3.2).
import type { SieveSettings } from '../config.js';
import type { SieveMessage } from './sieve-message.js';

export type TestHeaderSettings = NonNullable<SieveSettings['spamtest']>;

/**
 * "Header-Name" or "Header-Name: regex" (Pigeonhole's form): the first such field's value (decoded, as the header
 * test reads it) or, with a regex, what its first group matched; null when there is no field, no match or no group.
 * The regex is a POSIX extended one in Pigeonhole, case-sensitive; here a JavaScript one (the same for the
 * usual patterns such as "(-?[0-9]+(\\.[0-9]+)?)").
 */
function readHeader(message: SieveMessage, spec: string): string | null {
  const trimmed = spec.replace(/^[ \t]+/, '');
  const end = trimmed.search(/[: \t]/);
  const name = end < 0 ? trimmed : trimmed.slice(0, end);
  const rest = end < 0 ? '' : trimmed.slice(end).replace(/^[ \t]+/, '');
  const value = message.headerValues(name)[0];
  if (value === undefined) return null;
  if (!rest.startsWith(':')) return value;
  let re: RegExp;
  try {
    re = new RegExp(rest.slice(1).replace(/^[ \t]+/, ''));
  } catch {
    return null;
  }
  const m = re.exec(value);
  return m?.[1] ?? null;
}

/** A decimal as Pigeonhole reads a score: [+-] at most five digits, then "." or "," and at most five more. */
function decimal(s: string): number | null {
  const m = /^([+-]?)(\d{0,5})(?:[.,](\d{0,5}))?$/.exec(s);
  if (m === null || s === '') return null;
  const v = Number(`${m[2] || '0'}.${m[3] || '0'}`);
  return m[1] === '-' ? -v : v;
}

/** A strlen status ("*****"): the count of one repeated character; "" is 0; mixed characters do not count. */
function strlen(s: string): number | null {
  if (s === '') return 0;
  return [...s].every((c) => c === s[0]) ? s.length : null;
}

/** The verdict as a fraction of the maximum (0..1), or null when not tested (RFC 5235 section 3.2 "0"). */
function verdict(message: SieveMessage, s: TestHeaderSettings, levels: number): number | null {
  let max: number | null;
  if (s.statusType === 'text') max = levels;
  else if (s.maxHeader !== null) {
    const m = readHeader(message, s.maxHeader);
    max = m === null ? null : decimal(m);
  } else max = s.maxValue;
  if (max === null || max === 0) return null;
  const status = readHeader(message, s.statusHeader);
  if (status === null) return null;
  let value: number | null;
  if (s.statusType === 'score') value = decimal(status);
  else if (s.statusType === 'strlen') value = strlen(status);
  else {
    value = null;
    for (let i = 0; i <= levels && value === null; i++) if (s.textValues[String(i)] === status) value = i;
  }
  if (value === null) return null;
  return value < 0 ? 0 : value > max ? 1 : Math.fround(value / max);
}

/**
 * The spamtest value (RFC 5235 section 3.2), as Pigeonhole scales it: "0" untested, else 1 + the verdict times 9
 * rounded down (a score at or below 0 is "1", at or above the maximum "10"); with :percent (spamtestplus) the
 * verdict times 100 rounded down. A text status i (textValues, 0..10) counts as a score of i out of 10.
 */
export function spamtestValue(message: SieveMessage, settings: TestHeaderSettings | null, percent = false): string {
  const v = settings === null ? null : verdict(message, settings, 10);
  if (v === null) return '0';
  return String(Math.trunc(percent ? v * 100 + 0.001 : v * 9 + 1.001));
}

/** The virustest value (RFC 5235 section 3.3): "0" untested, else 1 + the verdict times 4 (a text status i of 0..5). */
export function virustestValue(message: SieveMessage, settings: TestHeaderSettings | null): string {
  const v = settings === null ? null : verdict(message, settings, 5);
  if (v === null) return '0';
  return String(Math.trunc(v * 4 + 1.001));
}
