// Maildir file names: BASE[,S=<size>][,W=<pop size>][:2,<flags>]
// BASE is "SECS.M<usec>P<pid>Q<n>.HOST" for files Postern writes; other agents use other forms.
import { createHash } from 'node:crypto';
import { hostname } from 'node:os';

export interface MaildirName {
  /** The unique part, before any ",key=value" field or ":2," info. */
  base: string;
  /** W=, the POP octet count, when present. */
  popSize: number | undefined;
  /** The flag letters after ":2,", or "" (no info part, as in new/). */
  flags: string;
}

export function parseMaildirName(name: string): MaildirName {
  const colon = name.indexOf(':');
  const head = colon < 0 ? name : name.slice(0, colon);
  const info = colon < 0 ? '' : name.slice(colon + 1);
  const comma = head.indexOf(',');
  const base = comma < 0 ? head : head.slice(0, comma);
  let popSize: number | undefined;
  if (comma >= 0) {
    const w = /,W=(\d+)/.exec(head);
    if (w) popSize = Number(w[1]);
  }
  return { base, popSize, flags: info.startsWith('2,') ? info.slice(2) : '' };
}

/** The file name with `flags` as its info part (sorted, as the Maildir spec asks). */
export function withFlags(name: string, flags: string): string {
  const colon = name.indexOf(':');
  const head = colon < 0 ? name : name.slice(0, colon);
  return `${head}:2,${[...new Set(flags)].sort().join('')}`;
}

/** A UIDL for a base name: the base itself when it fits RFC 1939's 1-70 chars of 0x21-0x7E, else a hash. */
export function uidlFor(base: string): string {
  if (base.length > 0 && base.length <= 70 && /^[\x21-\x7e]+$/.test(base)) return base;
  return `h${createHash('sha256').update(base).digest('hex').slice(0, 40)}`;
}

// The Maildir spec: "/" and ":" in the host name are written as \057 and \072.
const host = hostname().replace(/\//g, '\\057').replace(/:/g, '\\072') || 'localhost';
let sequence = 0;

/**
 * Who wrote a file, as its Maildir name says: the pid (P<pid> in the part after the seconds, as Postern
 * and Dovecot write it) and the host, and whether the host is this one. Undefined for other forms.
 */
export function writerOf(name: string): { pid: number; host: string; here: boolean } | undefined {
  const m = /^\d+\.([^.]*)\.([^,:]+)/.exec(name);
  const pid = m && /P(\d+)/.exec(m[1]);
  if (!m || !pid) return undefined;
  return { pid: Number(pid[1]), host: m[2], here: m[2] === host };
}

/** A new unique base name: seconds, microseconds, pid and a per-process counter, then the host. */
export function newBaseName(now = Date.now()): string {
  const secs = Math.floor(now / 1000);
  const usec = (now % 1000) * 1000 + Math.floor(Math.random() * 1000);
  sequence += 1;
  return `${secs}.M${usec}P${process.pid}Q${sequence}.${host}`;
}

/** Where a Maildir name says the message arrived: seconds, then microseconds (M<usec>), or -1 when absent. */
export function arrivalTime(name: string): { secs: number; usec: number } {
  const digits = /^\d*/.exec(name)![0];
  const secs = digits === '' ? 0 : Number(digits);
  let usec = -1;
  if (name[digits.length] === '.') {
    // the dot-separated part after the seconds, up to the next "." or ":", may hold M<usec>
    const part = /^[^.:]*/.exec(name.slice(digits.length + 1))![0];
    const m = /M(\d+)/.exec(part);
    if (m) usec = Number(m[1]);
  }
  return { secs, usec };
}

/** A message's place in arrival order, computed once per name (sorting compares it many times). */
export interface ArrivalKey {
  secs: number;
  usec: number;
  /** The name after its leading digits, up to the first ":". */
  rest: string;
  /** True when `rest` is ASCII (then it compares as a JavaScript string). */
  ascii: boolean;
  name: string;
}

export function arrivalKey(name: string): ArrivalKey {
  const { secs, usec } = arrivalTime(name);
  const digits = /^\d*/.exec(name)![0].length;
  const colon = name.indexOf(':', digits);
  const rest = name.slice(digits, colon < 0 ? undefined : colon);
  return { secs, usec, rest, ascii: /^[\x00-\x7f]*$/.test(rest), name };
}

/** Byte-wise, as C compares signed chars on x86-64: an octet of 0x80 or more sorts before ASCII. */
function compareSignedBytes(a: string, b: string): number {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    const p = x[i] > 127 ? x[i] - 256 : x[i];
    const q = y[i] > 127 ? y[i] - 256 : y[i];
    if (p !== q) return p - q;
  }
  return x.length - y.length;
}

/**
 * Oldest first, exactly as Dovecot orders files that get UIDs together (maildir_filename_sort_cmp):
 * leading seconds (none counts as 0), then microseconds when both names have them, then the rest of
 * the names byte by byte. UIDs given in this order agree with Dovecot's.
 */
export function compareArrival(x: ArrivalKey, y: ArrivalKey): number {
  if (x.secs !== y.secs) return x.secs - y.secs;
  if (x.usec >= 0 && y.usec >= 0 && x.usec !== y.usec) return x.usec - y.usec;
  // ASCII names (all that Postern and Dovecot make) compare as JavaScript strings do
  if (x.ascii && y.ascii) return x.rest < y.rest ? -1 : x.rest > y.rest ? 1 : 0;
  return compareSignedBytes(x.rest, y.rest);
}
