// The date and currentdate tests' parts (RFC 5260 section 4): a date-time read from a header field (RFC 5322
// section 3.3, with the obsolete forms of section 4.3: two- and three-digit years, alphabetic zones, comments,
// a missing day of week or seconds), shifted to a zone (:zone "+0100", :originalzone, or the server's local
// zone by default) and cut into one of the named parts. A date that does not parse gives no value: the test
// is false for it (as Pigeonhole).
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
/** RFC 5322 section 4.3 obs-zone: UT/GMT, the US zones; military letters read as -0000 (their sign was unsure). */
const ZONES: Record<string, number> = {
  ut: 0,
  gmt: 0,
  z: 0,
  est: -300,
  edt: -240,
  cst: -360,
  cdt: -300,
  mst: -420,
  mdt: -360,
  pst: -480,
  pdt: -420,
};

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
 * A date-time as a header field holds it (RFC 5322 section 3.3 and the obsolete syntax of 4.3), or null when it
 * does not parse. Comments and folding are skipped; the day of week is optional and not checked against the date.
 */
export function parseDateTime(value: string): ZonedDate | null {
  const s = value
    .replace(/\([^()]*\)/g, ' ')
    .replace(/[\r\n\t]/g, ' ')
    .trim()
    .toLowerCase();
  const m =
    /^(?:([a-z]+)\s*,?\s*)?(\d{1,2})\s*([a-z]+)\s*(\d{2,4})\s+(\d{1,2})\s*:\s*(\d{2})(?:\s*:\s*(\d{2}))?(?:\s+([+-]\d{4}|[a-z]+))?\s*$/.exec(
      s,
    );
  if (m === null) return null;
  if (m[1] !== undefined && !DAYS.includes(m[1].slice(0, 3))) return null;
  const day = Number(m[2]);
  const month = MONTHS.indexOf(m[3].slice(0, 3));
  if (month < 0 || m[3].length > 3) return null;
  let year = Number(m[4]);
  if (m[4].length === 2) year += year < 50 ? 2000 : 1900;
  else if (m[4].length === 3) year += 1900;
  const hour = Number(m[5]);
  const minute = Number(m[6]);
  const second = m[7] === undefined ? 0 : Number(m[7]);
  if (day < 1 || day > daysIn(year, month) || hour > 23 || minute > 59 || second > 60) return null;
  let offset = 0;
  if (m[8] !== undefined) {
    if (m[8].startsWith('+') || m[8].startsWith('-')) {
      const z = Number(m[8].slice(1, 3)) * 60 + Number(m[8].slice(3));
      offset = m[8].startsWith('-') ? -z : z;
    } else if (m[8] in ZONES) offset = ZONES[m[8]];
    else if (m[8].length !== 1) return null; // a military zone letter reads as -0000 (RFC 5322 section 4.3)
  }
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
      return `${year}-${month}-${day}T${time}${zone.slice(0, 3)}:${zone.slice(3)}`;
    case 'std11': {
      const wd = DAYS[d.getUTCDay()];
      const mo = MONTHS[d.getUTCMonth()];
      const cap = (s: string) => s[0].toUpperCase() + s.slice(1);
      return `${cap(wd)}, ${d.getUTCDate()} ${cap(mo)} ${year} ${time} ${zone}`;
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
