// spamtest and virustest (RFC 5235): the scanner's verdict read from a configured header field (config keys
// sieve.spamtest / sieve.virustest, Pigeonhole's sieve_spamtest_* / sieve_virustest_* settings) and turned into
// the value the test compares: "0" when the message was not tested (no header, no match, no configuration),
// else "1".."10" (spamtest 1: surely not spam ... 10: surely spam; virustest 1: clean ... 5: infected); with
// spamtest's :percent, "0".."100" (RFC 5235 section 3.2).
import type { SieveSettings } from '../config.js';
import type { SieveMessage } from './sieve-message.js';

export type TestHeaderSettings = NonNullable<SieveSettings['spamtest']>;

/** "Header-Name" or "Header-Name: regex" (Pigeonhole's form); the regex's first group, else its whole match. */
function readHeader(message: SieveMessage, spec: string): string | null {
  const colon = spec.indexOf(':');
  const name = (colon < 0 ? spec : spec.slice(0, colon)).trim();
  const pattern = colon < 0 ? null : spec.slice(colon + 1).trim();
  const values = message.headerValues(name, { decoded: false });
  if (values.length === 0) return null;
  const value = values[0].trim();
  if (pattern === null || pattern === '') return value;
  let re: RegExp;
  try {
    re = new RegExp(pattern, 'i');
  } catch {
    return null;
  }
  const m = re.exec(value);
  if (m === null) return null;
  return m[1] ?? m[0];
}

/**
 * The verdict as a fraction of the maximum (0..1), or null when not tested: score: value / max (max from
 * `maxValue` or the `maxHeader` field), strlen: length / max, text: the index of the matching text value / 10.
 */
function verdict(message: SieveMessage, s: TestHeaderSettings): number | null {
  const value = readHeader(message, s.statusHeader);
  if (value === null) return null;
  if (s.statusType === 'text') {
    for (let i = 0; i <= 10; i++) if (s.textValues[String(i)] === value) return i / 10;
    return null;
  }
  let max = s.maxValue;
  if (s.maxHeader !== null) {
    const m = readHeader(message, s.maxHeader);
    max = m === null ? null : Number(m);
  }
  if (max === null || !Number.isFinite(max) || max <= 0) return null;
  const n = s.statusType === 'strlen' ? value.length : Number(value);
  if (!Number.isFinite(n) || value === '') return null;
  return Math.min(Math.max(n / max, 0), 1);
}

/**
 * The spamtest value (RFC 5235 section 3.2): "0" untested, else 1 + the verdict scaled to 1..10 ("1" is a
 * score at or below 0); with `percent`, the verdict as 0..100. A text status maps straight to its index.
 */
export function spamtestValue(message: SieveMessage, settings: TestHeaderSettings | null, percent = false): string {
  if (settings === null) return '0';
  const v = verdict(message, settings);
  if (v === null) return '0';
  if (percent) return String(Math.round(v * 100));
  if (settings.statusType === 'text') return String(Math.max(1, Math.round(v * 10)));
  return String(1 + Math.round(v * 9));
}

/** The virustest value (RFC 5235 section 3.3): "0" untested, else 1..5 scaled from the verdict. */
export function virustestValue(message: SieveMessage, settings: TestHeaderSettings | null): string {
  if (settings === null) return '0';
  const v = verdict(message, settings);
  if (v === null) return '0';
  if (settings.statusType === 'text') return String(Math.max(1, Math.round(v * 10)));
  return String(1 + Math.round(v * 4));
}
