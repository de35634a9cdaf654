// The date and currentdate tests' parts (RFC 5260 section 4): a date-time read from a header field (RFC 5322
// section 3.3, with the obsolete forms of section 4.3 Dovecot reads: two-digit years, alphabetic zones,
// comments, a missing day of week or seconds; parseDateTime), shifted to a zone (:zone "+0100", :originalzone, or the server's local
// zone by default) and cut into one of the named parts. A date that does not parse gives no value: the test
// is false for it (as Pigeonhole).
import { parseZonedDate, type ZonedTime } from '../../mime/message-date.js';
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

/** An instant and the zone it is read in (milliseconds since the epoch, minutes east of UTC). */
export type ZonedDate = ZonedTime;

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
 * A date-time as a header field holds it, read as Dovecot reads it (mime/message-date.ts: RFC 5322 section 3.3
 * and the obsolete forms of 4.3 Dovecot accepts), or null when it names no date.
 */
export function parseDateTime(value: string): ZonedDate | null {
  return parseZonedDate(Buffer.from(value, 'utf8'));
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
 * The date test's values (RFC 5260 section 4): the date-time of the first field named `header` (as Pigeonhole:
 * later fields of that name are not read), or of the one :index picks (RFC 5260 section 6; Pigeonhole 0.5.19
 * ignores :index here and reads the first field, README "Sieve"), in the asked zone, cut into `part`. A date
 * that does not parse gives nothing (the test is false). The Received field's date is what follows its last ";"
 * (RFC 5260 section 4.1).
 */
export function dateParts(
  message: SieveMessage,
  header: string,
  part: DatePartName | string,
  options: { readonly zone?: DateZone; readonly at?: FieldIndex } = {},
): string[] {
  let value = message.headerValues(header, { decoded: false, at: options.at ?? { index: 1 } })[0];
  if (value === undefined) return [];
  if (header.toLowerCase() === 'received') value = value.slice(value.lastIndexOf(';') + 1);
  const date = parseDateTime(value);
  const zoned = date === null ? null : inZone(date, options.zone ?? null);
  const v = zoned === null ? null : datePart(zoned, part);
  return v === null ? [] : [v];
}

/** The currentdate test's value (RFC 5260 section 5): `now` in :zone (or the server's local zone), cut into `part`. */
export function currentDateParts(now: Date, part: DatePartName | string, zone: string | null = null): string | null {
  const zoned = inZone({ time: now.getTime(), offset: 0 }, zone === null ? null : { zone });
  return zoned === null ? null : datePart(zoned, part);
}
