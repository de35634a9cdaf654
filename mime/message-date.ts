// The instant a date-time field names (RFC 5322 section 3.3) and the zone it was written in, parsed as
// Dovecot parses it (lib-mail message-date), since IMAP's SORT DATE and THREAD (RFC 5256 sections 3 and 4)
// must answer as Dovecot and Sieve's date test (RFC 5260) as Pigeonhole: "[weekday ","] day month [yy]yy
// hh(":"|".")mm[(":"|".")ss] [zone]" with comments allowed between the atoms; a two-digit year is
// 1970-2069; an unknown zone counts as UTC (military zones as RFC 822 has them); a date that does not exist
// (31 Feb, 25:00) is no date; a leap second (:60) reads as :59. No date (null) makes SORT use the internal
// date (RFC 5256 section 3, "sent date") and Sieve's date test false.
import { Lexer } from './rfc822-lexer.js';

const MONTHS = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'];
const isDigit = (c: number) => c >= 0x30 && c <= 0x39;
const isTimeSep = (c: number | undefined) => c === 0x3a || c === 0x2e;

/** The zone's offset in minutes east of UTC (Dovecot's table). */
function zoneOffset(z: Buffer): number {
  const t = z.toString('latin1');
  if (t.length === 5 && (t[0] === '+' || t[0] === '-')) {
    if (!/^[+-]\d{4}$/.test(t)) return 0;
    const minutes = Number(t.slice(1, 3)) * 60 + Number(t.slice(3, 5));
    return t[0] === '+' ? minutes : -minutes;
  }
  if (t.length === 1) {
    const c = t.toUpperCase().charCodeAt(0);
    const raw = t.charCodeAt(0);
    if (c < 0x4a) return (raw - 0x41 + 1) * 60;
    if (c === 0x4a) return 0;
    if (c <= 0x4d) return (raw - 0x41) * 60;
    if (c < 0x5a) return (0x4d - raw) * 60;
    return 0;
  }
  if (t.length === 3 && t[2] === 'T') {
    const base = { E: -300, C: -360, M: -420, P: -480 }[t[0].toUpperCase()];
    if (base === undefined) return 0;
    const ds = t[1].toUpperCase();
    return ds === 'D' ? base + 60 : ds === 'S' ? base : 0;
  }
  return 0;
}

/** An instant and the zone its field was written in. */
export interface ZonedTime {
  /** Milliseconds since the epoch (UTC). */
  readonly time: number;
  /** The zone's offset east of UTC, in minutes (0 when the field named none, or one unknown). */
  readonly offset: number;
}

/** The instant of a Date: field in seconds since the epoch, or null (SORT and THREAD). */
export function parseMessageDate(value: Buffer): number | null {
  const t = parseZonedDate(value);
  return t === null ? null : t.time / 1000;
}

/** The instant of a date-time field and its zone, or null when it names no date. */
export function parseZonedDate(value: Buffer): ZonedTime | null {
  const lex = new Lexer(value);
  /** The next atom (then CFWS skipped): its bytes, null at the end, or undefined when no atom is there. */
  const token = (): Buffer | null | undefined => {
    if (lex.atEnd) return null;
    const out: number[] = [];
    if (lex.atom(out) < 0) return undefined;
    return Buffer.from(out);
  };
  const digits = (b: Buffer | null | undefined, min: number, max: number): number | null => {
    if (!b || b.length < min || b.length > max) return null;
    let n = 0;
    for (const c of b) {
      if (!isDigit(c)) return null;
      n = n * 10 + c - 0x30;
    }
    return n;
  };
  if (lex.skipLwsp() < 0) return null;
  let t = token();
  if (!t) return null;
  if (t.length === 3) {
    // the weekday: its name is not checked, the comma is required
    if (lex.c() !== 0x2c) return null;
    lex.pos++;
    lex.skipLwsp();
    t = token();
    if (!t) return null;
  }
  if (!isDigit(t[0])) return null;
  const day = digits(t, 1, 2);
  const monthToken = token();
  if (day === null || !monthToken || monthToken.length < 3) return null;
  const month = MONTHS.indexOf(monthToken.toString('latin1', 0, 3).toUpperCase());
  if (month < 0) return null;
  const yearToken = token();
  if (!yearToken || (yearToken.length !== 2 && yearToken.length !== 4)) return null;
  let year = digits(yearToken, 2, 4);
  if (year === null) return null;
  if (yearToken.length === 2) year += year < 70 ? 2000 : 1900;
  else if (year < 1900) return null;
  const hourToken = token();
  if (!hourToken || !isDigit(hourToken[0])) return null;
  const hour = digits(hourToken, 1, 2);
  if (hour === null || !isTimeSep(lex.c())) return null;
  lex.pos++;
  lex.skipLwsp();
  const minute = digits(token(), 2, 2);
  if (minute === null) return null;
  let second = 0;
  if (!lex.atEnd && isTimeSep(lex.c())) {
    lex.pos++;
    lex.skipLwsp();
    const s = digits(token(), 2, 2);
    if (s === null) return null;
    second = s;
  }
  const zone = token();
  if (zone === undefined) return null;
  const offset = zone === null ? 0 : zoneOffset(zone);
  // a calendar date and time that exists (Dovecot's utc_mktime refuses what timegm would normalise, once a
  // leap second has been read as :59)
  if (second === 60) second = 59;
  const ms = Date.UTC(year, month, day, hour, minute, second);
  const d = new Date(ms);
  if (d.getUTCFullYear() !== year || d.getUTCMonth() !== month || d.getUTCDate() !== day || d.getUTCHours() !== hour) return null;
  if (d.getUTCMinutes() !== minute || d.getUTCSeconds() !== second) return null;
  return { time: ms - offset * 60_000, offset };
}
