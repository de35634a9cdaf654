// The parts of an address a Sieve test compares (RFC 5228 section 2.7.4 :all :localpart :domain, RFC 5233
// :user :detail), and the envelope's addresses (RFC 5228 section 5.4): a path as the MTA gave it, its source
// route dropped, the null reverse-path compared as "" whatever the part.

/** An address as the address and envelope tests see it. */
export interface SieveAddress {
  /** The local part, unquoted; null when the address did not parse (then only :all sees it, as `text`). */
  readonly localPart: string | null;
  /** The domain; null when the address has none (a bare local part) or did not parse. */
  readonly domain: string | null;
  /** The address as :all compares it: localpart@domain, or the text as written when it did not parse. */
  readonly text: string;
}

export type AddressPartName = 'all' | 'localpart' | 'domain' | 'user' | 'detail';

/** Pigeonhole's default recipient_delimiter (sieve_subaddress_sep): "+". */
export const DEFAULT_SUBADDRESS_SEPARATOR = '+';

/** A local part as :all writes it: as it is when a dot-atom (RFC 5322 section 3.2.3), else quoted. */
export function localPartText(local: string): string {
  if (/^[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~\x80-\u{10ffff}]+(\.[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~\x80-\u{10ffff}]+)*$/u.test(local)) return local;
  return `"${local.replace(/(["\\])/g, '\\$1')}"`;
}

/** A parsed address from its parts; `text` is localpart@domain (the local part quoted when not a dot-atom). */
export function makeAddress(localPart: string, domain: string | null): SieveAddress {
  const local = localPartText(localPart);
  return { localPart, domain, text: domain === null ? local : `${local}@${domain}` };
}

/** What an empty address field gives Pigeonhole: one address whose every part, :detail too, is "". */
export const EMPTY_ADDRESS: SieveAddress = { localPart: '', domain: '', text: '' };

/** An address that did not parse: :all sees the text, the other parts nothing (RFC 5228 section 2.7.4). */
export function invalidAddress(text: string): SieveAddress {
  return { localPart: null, domain: null, text };
}

/**
 * The part of `addr` a test compares, or null when the address has no such part: an unparsable address
 * has only :all; :detail is null when the local part holds no separator (RFC 5233 section 4: the test then
 * fails), and "" when the separator ends it ("user+" has an empty detail, which :is "" matches). The
 * separator may be several characters: each one separates (Pigeonhole's recipient_delimiter), the first
 * occurrence of any of them counts.
 */
export function addressPart(addr: SieveAddress, part: AddressPartName, separator: string = DEFAULT_SUBADDRESS_SEPARATOR): string | null {
  if (part === 'all') return addr.text;
  if (addr.localPart === null) return null;
  if (addr === EMPTY_ADDRESS) return '';
  switch (part) {
    case 'localpart':
      return addr.localPart;
    case 'domain':
      return addr.domain;
    case 'user': {
      const at = separatorIndex(addr.localPart, separator);
      return at < 0 ? addr.localPart : addr.localPart.slice(0, at);
    }
    case 'detail': {
      const at = separatorIndex(addr.localPart, separator);
      return at < 0 ? null : addr.localPart.slice(at + 1);
    }
  }
}

function separatorIndex(localPart: string, separator: string): number {
  let best = -1;
  for (const c of separator.length === 0 ? DEFAULT_SUBADDRESS_SEPARATOR : separator) {
    const i = localPart.indexOf(c);
    if (i >= 0 && (best < 0 || i < best)) best = i;
  }
  return best;
}

/**
 * An envelope path (MAIL FROM or RCPT TO, with or without its <>) as an address: a source route
 * ("@a,@b:user@host", RFC 5321 section 4.1.2) is dropped, a quoted local part unquoted. The null path ("" or
 * "<>") is null: the envelope test compares it as "" whatever the part (RFC 5228 section 5.4); an unparsable
 * path is an invalid address.
 */
export function parseEnvelopeAddress(path: string): SieveAddress | null {
  let s = path.trim();
  if (s.startsWith('<') && s.endsWith('>')) s = s.slice(1, -1).trim();
  if (s === '') return null;
  if (s.startsWith('@')) {
    const colon = s.indexOf(':');
    if (colon < 0) return invalidAddress(path);
    s = s.slice(colon + 1);
  }
  let localPart: string;
  let rest: string;
  if (s.startsWith('"')) {
    let i = 1;
    let lp = '';
    for (; i < s.length && s[i] !== '"'; i++) {
      if (s[i] === '\\' && i + 1 < s.length) i++;
      lp += s[i];
    }
    if (i >= s.length) return invalidAddress(path);
    localPart = lp;
    rest = s.slice(i + 1);
  } else {
    const at = s.lastIndexOf('@');
    localPart = at < 0 ? s : s.slice(0, at);
    rest = at < 0 ? '' : s.slice(at);
  }
  if (rest === '') return localPart === '' ? invalidAddress(path) : makeAddress(localPart, null);
  if (!rest.startsWith('@') || rest.length === 1 || /[\s<>@,;:"]/.test(rest.slice(1))) return invalidAddress(path);
  if (localPart === '') return invalidAddress(path);
  return makeAddress(localPart, rest.slice(1));
}

/** The part of an envelope path a test compares: the null path gives "" for every part (RFC 5228 section 5.4). */
export function envelopePart(path: string, part: AddressPartName, separator: string = DEFAULT_SUBADDRESS_SEPARATOR): string | null {
  const addr = parseEnvelopeAddress(path);
  return addr === null ? '' : addressPart(addr, part, separator);
}
