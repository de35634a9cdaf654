// POP3 UIDLs (RFC 1939 section 7) as Dovecot makes them, so a mailbox moved from Dovecot (or shared
// with it) shows every client the UIDLs it knew: a UIDL another server gave a message (the uidlist's P
// field) wins; otherwise pop.uidlFormat is expanded with Dovecot's pop3_uidl_format variables:
//   %u %{uid}           the IMAP UID            %v %{uidvalidity}   the mailbox's UIDVALIDITY
//   %f %{filename}      the stored file's name  %g %{guid}          the message's GUID (its file name here)
//   %m %{md5}           MD5 of the header, hex
// with an optional zero-padded width and X for hexadecimal (lower-case, as Dovecot prints it):
// Dovecot's default "%08Xu%08Xv" gives "000000016b0c6c3f".
import { createHash } from 'node:crypto';

export interface UidlValues {
  uid: number;
  uidValidity: number;
  filename: string;
  /** The header section, read only when the format asks for %m. */
  header?: Buffer;
}

const VAR = /%(-?)(0?)(\d*)(X?)(?:\{([a-z]+)\}|([uvfgm%]))/g;
const LONG: Record<string, string> = { uid: 'u', uidvalidity: 'v', filename: 'f', guid: 'g', md5: 'm' };

/** A format Postern can expand: only the variables above. The error message names the bad part. */
export function checkUidlFormat(format: string): string | null {
  const rest = format.replace(VAR, (all, _a, _b, _c, _d, long: string | undefined) => (long && !LONG[long] ? all : ''));
  if (rest.includes('%'))
    return `"${format}" has a variable Postern does not know; use %u %v %f %g %m (Dovecot's pop3_uidl_format variables)`;
  if (!/%-?0?\d*X?(?:[ufg]|\{(?:uid|filename|guid)\})/.test(format)) {
    return `"${format}" gives two messages the same UIDL: it needs %u (with %v) or %f`;
  }
  return null;
}

/** True when the format needs the header (%m). */
export function needsHeader(format: string): boolean {
  return /%(?:-?0?\d*X?)(?:m|\{md5\})/.test(format);
}

export function expandUidl(format: string, v: UidlValues): string {
  const out = format.replace(
    VAR,
    (_all, _minus: string, zero: string, width: string, hex: string, long: string | undefined, short: string | undefined) => {
      const name = long ? LONG[long] : short;
      let value: string;
      switch (name) {
        case '%':
          return '%';
        case 'u':
          value = hex ? v.uid.toString(16) : String(v.uid);
          break;
        case 'v':
          value = hex ? v.uidValidity.toString(16) : String(v.uidValidity);
          break;
        case 'f':
        case 'g':
          value = v.filename;
          break;
        case 'm':
          value = createHash('md5')
            .update(v.header ?? Buffer.alloc(0))
            .digest('hex');
          break;
        default:
          return '';
      }
      return width ? value.padStart(Number(width), zero ? '0' : ' ') : value;
    },
  );
  return validUidl(out);
}

/** RFC 1939: 1-70 characters of 0x21-0x7E. What does not fit is replaced by a hash of it. */
export function validUidl(uidl: string): string {
  if (uidl.length > 0 && uidl.length <= 70 && /^[\x21-\x7e]+$/.test(uidl)) return uidl;
  return `h${createHash('sha256').update(uidl).digest('hex').slice(0, 40)}`;
}
