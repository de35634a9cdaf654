// IMAP dates (RFC 3501 and RFC 9051 section 9): date-time for APPEND and INTERNALDATE ("dd-Mon-yyyy
// hh:mm:ss +zzzz", the day may have a leading space) and date for SEARCH ("d-Mon-yyyy"). Each field is checked as
// written, in the zone it is written in: the zone moves the instant, never the validity of the day.

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const MONTHS_UPPER = MONTHS.map((m) => m.toUpperCase());

/** The month (1-12) of a three-letter name in any case, or 0. */
export function monthOf(name: string): number {
  return MONTHS_UPPER.indexOf(name.toUpperCase()) + 1;
}

/** An instant as a date-time in UTC (RFC 9051 section 9: date-day-fixed, so " 6-Mar-2025 01:00:00 +0000"). */
export function formatDateTime(d: Date): string {
  const p = (n: number) => String(n).padStart(2, '0');
  const time = `${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())}`;
  return `${String(d.getUTCDate()).padStart(2, ' ')}-${MONTHS[d.getUTCMonth()]}-${d.getUTCFullYear()} ${time} +0000`;
}

/** True when day `day` exists in `month` (1-12) of `year` (proleptic Gregorian calendar). */
export function validDay(year: number, month: number, day: number): boolean {
  if (month < 1 || month > 12 || day < 1) return false;
  return day <= new Date(Date.UTC(year, month, 0)).getUTCDate(); // day 0 of the next month: the last of this one
}

/** A date-time as an instant; null when it is malformed or names no real time (31-Feb, 24:00:00, zone minutes past 59). */
export function parseDateTime(text: string): Date | null {
  const m = /^ ?(\d{1,2})-([A-Za-z]{3})-(\d{4}) (\d{2}):(\d{2}):(\d{2}) ([+-])(\d{2})(\d{2})$/.exec(text);
  if (!m) return null;
  const [day, year, hour, minute, second, zoneHours, zoneMinutes] = [m[1], m[3], m[4], m[5], m[6], m[8], m[9]].map(Number);
  const month = monthOf(m[2]);
  if (!validDay(year, month, day) || hour > 23 || minute > 59 || second > 59 || zoneMinutes > 59) return null;
  const offset = (m[7] === '-' ? -1 : 1) * (zoneHours * 60 + zoneMinutes);
  const date = new Date(0);
  date.setUTCFullYear(year, month - 1, day); // (Date.UTC would take years 0-99 as 1900-1999)
  date.setUTCHours(hour, minute, second, 0);
  date.setTime(date.getTime() - offset * 60_000);
  return Number.isNaN(date.getTime()) ? null : date;
}
