// The calendar day of a Date: field (RFC 5322 section 3.3), for SEARCH SENTBEFORE/SENTON/SENTSINCE
// (RFC 9051 section 6.4.4). The only reader of RFC 5322 dates: ENVELOPE sends the field as written, and
// IMAP's own date and date-time (APPEND, SEARCH keys, INTERNALDATE) are another format, in
// wire/date-time.ts, whose month names this shares.
import { monthOf } from '../wire/date-time.js';

export interface Day {
  readonly year: number;
  readonly month: number;
  readonly day: number;
}

/** Day 1-31 of month 1-12: the field is taken as written, a 31 February included (no calendar check). */
function plausibleDay(year: number, month: number, day: number): Day | null {
  if (!(month >= 1 && month <= 12 && day >= 1 && day <= 31 && year >= 0 && year <= 9999)) return null;
  return { year, month, day };
}

/**
 * The calendar day of an RFC 5322 date-time as written (its own zone; the time and zone are ignored),
 * leniently: day-of-week optional, obsolete 2- and 3-digit years (RFC 5322 section 4.3), full month names,
 * comments, stray punctuation; failing that an ISO 8601 "yyyy-mm-dd". Null when there is no date in it.
 */
export function parseDateDay(text: string): Day | null {
  const s = text.replace(/\([^()]*\)/g, ' ');
  const m = /(?:^|[^0-9])(\d{1,2})[\s\-.]*([a-z]{3})[a-z]*\.?[\s\-.,]*(\d{2,4})(?![0-9])/i.exec(s);
  if (m) {
    const month = monthOf(m[2]);
    if (month !== 0) {
      let year = Number(m[3]);
      if (m[3].length === 2) year += year < 50 ? 2000 : 1900;
      else if (m[3].length === 3) year += 1900;
      const d = plausibleDay(year, month, Number(m[1]));
      if (d) return d;
    }
  }
  const iso = /(\d{4})-(\d{1,2})-(\d{1,2})/.exec(s);
  if (iso) return plausibleDay(Number(iso[1]), Number(iso[2]), Number(iso[3]));
  return null;
}
