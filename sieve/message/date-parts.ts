// The date and currentdate tests' parts (RFC 5260 section 4): a date-time read from a header field (RFC 5322
// section 3.3, with the obsolete forms of section 4.3 Dovecot reads: two-digit years, alphabetic zones,
// comments, a missing day of week or seconds; parseDateTime), shifted to a zone (:zone "+0100", :originalzone, or the server's local
// zone by default) and cut into one of the named parts. A date that does not parse gives no value: the test
// is false for it (as Pigeonhole).
import { Lexer } from '../../mime/rfc822-lexer.js';
import type { FieldIndex, SieveMessage } from './sieve-message.js';

export const DATE_PARTS = [
  'year',
  'month',
  'day',
  'date',
  'julian',
  'hour',
  'minute',
  'second',
  'time',
  'iso8601',
  'std11',
  'zone',
  'weekday',
] as const;
export type DatePartName = (typeof DATE_PARTS)[number];

/** An instant and the zone it is read in. */
export interface ZonedDate {
  /** Milliseconds since the epoch (UTC). */
  readonly time: number;
  /** The zone's offset east of UTC, in minutes. */
  readonly offset: number;
}

/** Where the parts are read: the date's own zone (:originalzone), a given one (:zone), or the server's (default). */
export type DateZone = { readonly original: true } | { readonly zone: string } | null;

const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];
const DAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];

/** A zone "+hhmm"/"-hhmm" (RFC 5260 section 4.1 :zone) to minutes east of UTC; null when malformed. */
export function parseZone(zone: string): number | null {
  const m = /^([+-])(\d\d)(\d\d)$/.exec(zone);
  if (m === null) return null;
  const hours = Number(m[2]);
  const minutes = Number(m[3]);
  if (hours > 23 || minutes > 59) return null;
  return (m[1] === '-' ? -1 : 1) * (hours * 60 + minutes);
}

/**
 * A date-time's zone as Dovecot reads it (RFC 5322 sections 3.3 and 4.3): "+hhmm"; a military letter the way
 * RFC 822 meant it (A..I +1..+9, K..M +10..+12, N..Y -1..-12, Z and J 0); UT; GMT and the US zones EST..PDT
 * (the last letter upper case); anything else reads as +0000.
 */
function zoneOffset(z: string): number {
  if (z.length === 5 && (z[0] === '+' || z[0] === '-')) {
    if (!/^\d{4}$/.test(z.slice(1))) return 0;
    const o = Number(z.slice(1, 3)) * 60 + Number(z.slice(3));
    return z[0] === '+' ? o : -o;
  }
  const code = z.charCodeAt(0);
  if (z.length === 1) {
    const up = z.toUpperCase();
    if (up < 'J') return (code - 0x41 + 1) * 60;
    if (up === 'J') return 0;
    if (up <= 'M') return (code - 0x41) * 60;
    if (up < 'Z') return (0x4d - code) * 60;
    return 0;
  }
  if (z.length === 3 && z[2] === 'T') {
    const base = { E: -300, C: -360, M: -420, P: -480 }[z[0].toUpperCase()];
    if (base === undefined) return 0;
    const kind = z[1].toUpperCase();
    return kind === 'D' ? base + 60 : kind === 'S' ? base : 0;
  }
  return 0;
}

/**
 * A date-time as a header field holds it, read the way Dovecot reads it (RFC 5322 section 3.3 and the obsolete
 * forms of 4.3): an optional three-letter day name followed by "," (not checked against the date), a one- or
 * two-digit day, a month named by its first three letters, a two-digit (70..99: 19xx, else 20xx) or four-digit
 * year (1900 on), hh:mm[:ss] (":" or "."), an optional zone (unknown zones are +0000); comments and folding
 * skipped, trailing text ignored. A date that does not exist (31 Feb, hour 24) is null; second 60 reads 59.
 */
export function parseDateTime(value: string): ZonedDate | null {
  const lex = new Lexer(Buffer.from(value, 'latin1'));
  lex.skipLwsp();
  const token = (): string | null => {
    if (lex.atEnd) return null;
    const out: number[] = [];
    if (lex.atom(out) < 0) return null;
    return Buffer.from(out).toString('latin1');
  };
  const timeSeparator = (): boolean => {
    const c = lex.c();
    if (c !== 0x3a && c !== 0x2e) return false;
    lex.pos++;
    lex.skipLwsp();
    return true;
  };
  let t = token();
  if (t === null) return null;
  if (t.length === 3) {
    if (lex.c() !== 0x2c) return null;
    lex.pos++;
    lex.skipLwsp();
    t = token();
    if (t === null) return null;
  }
  if (!/^\d{1,2}$/.test(t)) return null;
  const day = Number(t);
  const mon = token();
  if (mon === null || mon.length < 3) return null;
  const month = MONTHS.indexOf(mon.slice(0, 3).toLowerCase());
  if (month < 0) return null;
  const y = token();
  if (y === null || !/^(\d\d|\d{4})$/.test(y)) return null;
  let year = Number(y);
  if (y.length === 2) year += year < 70 ? 2000 : 1900;
  else if (year < 1900) return null;
  const h = token();
  if (h === null || !/^\d{1,2}$/.test(h) || !timeSeparator()) return null;
  const mi = lex.atEnd ? '' : token();
  if (mi === null || !/^\d\d$/.test(mi)) return null;
  let second = 0;
  if (!lex.atEnd && timeSeparator()) {
    const sec = token();
    if (sec === null || !/^\d\d$/.test(sec)) return null;
    second = Number(sec);
  }
  const zone = token();
  const offset = zone === null ? 0 : zoneOffset(zone);
  const hour = Number(h);
  const minute = Number(mi);
  if (day < 1 || day > daysIn(year, month) || hour > 23 || minute > 59 || second > 60) return null;
  const time = Date.UTC(year, month, day, hour, minute, Math.min(second, 59)) - offset * 60_000;
  return { time, offset };
}

function daysIn(year: number, month: number): number {
  return new Date(Date.UTC(year, month + 1, 0)).getUTCDate();
}

/** The server's local zone offset at `time`, in minutes east of UTC. */
export function localOffset(time: number): number {
  return -new Date(time).getTimezoneOffset();
}

/** The date read in `zone`; null when :zone is malformed. */
export function inZone(date: ZonedDate, zone: DateZone): ZonedDate | null {
  if (zone !== null && 'original' in zone) return date;
  if (zone === null) return { time: date.time, offset: localOffset(date.time) };
  const offset = parseZone(zone.zone);
  return offset === null ? null : { time: date.time, offset };
}

const pad = (n: number, width = 2) => String(n).padStart(width, '0');

function zoneText(offset: number): string {
  const a = Math.abs(offset);
  return `${offset < 0 ? '-' : '+'}${pad(Math.floor(a / 60))}${pad(a % 60)}`;
}

/** One named part of a date (RFC 5260 section 4.2 table); null for an unknown part name. */
export function datePart(date: ZonedDate, part: string): string | null {
  const d = new Date(date.time + date.offset * 60_000); // its UTC fields are the wall clock in the zone
  const year = pad(d.getUTCFullYear(), 4);
  const month = pad(d.getUTCMonth() + 1);
  const day = pad(d.getUTCDate());
  const time = `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`;
  const zone = zoneText(date.offset);
  switch (part.toLowerCase()) {
    case 'year':
      return year;
    case 'month':
      return month;
    case 'day':
      return day;
    case 'date':
      return `${year}-${month}-${day}`;
    case 'julian':
      // Modified Julian Day: days since 1858-11-17 (RFC 5260 section 4.2)
      return String(Math.floor((Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate()) - Date.UTC(1858, 10, 17)) / 86_400_000));
    case 'hour':
      return pad(d.getUTCHours());
    case 'minute':
      return pad(d.getUTCMinutes());
    case 'second':
      return pad(d.getUTCSeconds());
    case 'time':
      return time;
    case 'iso8601':
      return `${year}-${month}-${day}T${time}${date.offset === 0 ? 'Z' : `${zone.slice(0, 3)}:${zone.slice(3)}`}`;
    case 'std11': {
      const wd = DAYS[d.getUTCDay()];
      const mo = MONTHS[d.getUTCMonth()];
      const cap = (s: string) => s[0].toUpperCase() + s.slice(1);
      return `${cap(wd)}, ${day} ${cap(mo)} ${year} ${time} ${zone}`;
    }
    case 'zone':
      return zone;
    case 'weekday':
      return String(d.getUTCDay());
    default:
      return null;
  }
}

/**
 * The date test's values (RFC 5260 section 4): for each field named `header` (or the one :index picks), its
 * date-time in the asked zone, cut into `part`. Fields whose date does not parse give nothing (the test is
 * false for them). The Received field's date is what follows its last ";" (RFC 5260 section 4.1).
 */
export function dateParts(
  message: SieveMessage,
  header: string,
  part: DatePartName | string,
  options: { readonly zone?: DateZone; readonly at?: FieldIndex } = {},
): string[] {
  const out: string[] = [];
  for (let value of message.headerValues(header, { decoded: false, at: options.at })) {
    if (header.toLowerCase() === 'received') value = value.slice(value.lastIndexOf(';') + 1);
    const date = parseDateTime(value);
    if (date === null) continue;
    const zoned = inZone(date, options.zone ?? null);
    const v = zoned === null ? null : datePart(zoned, part);
    if (v !== null) out.push(v);
  }
  return out;
}

/** The currentdate test's value (RFC 5260 section 5): `now` in :zone (or the server's local zone), cut into `part`. */
export function currentDateParts(now: Date, part: DatePartName | string, zone: string | null = null): string | null {
  const zoned = inZone({ time: now.getTime(), offset: 0 }, zone === null ? null : { zone });
  return zoned === null ? null : datePart(zoned, part);
}
