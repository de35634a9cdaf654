// The text SEARCH FROM/TO/CC/BCC look in (RFC 9051 section 6.4.4: "the envelope structure's FROM field"):
// the field's addresses as the ENVELOPE parses them (mime/address.ts: comments and quoting gone, missing
// parts filled in), each written back the way Dovecot 2.3 writes addresses for its search (lib-mail
// message_address_write): `Name <route:mailbox@domain>` ("<mailbox@domain>" without a name), a display name
// quoted (and " \ ' escaped) only when it holds a character outside atext or a dot, left as it is when it
// holds an encoded word; a group's name as `name:` (`name:;` when the group is empty). So "Doe, John"
// <john@example.com> (a comment) is searched as `"Doe, John" <john@example.com>`.
// Each address is searched on its own, so a needle never spans two addresses: `x.org, b` is not found in
// `a@x.org, b@y.org` (Dovecot 2.3 writes the whole list as one string joined by ", " and finds it there; the
// envelope's field is a list of addresses, and an address's text is what a needle is meant to be found in).
import { type Address, parseAddresses } from './address.js';
import { casemap } from './casemap.js';
import { MAX_PARSED_VALUE } from './header.js';
import { searchFieldText } from './mime-text.js';

const ATEXT_SPECIALS = new Set([...`!#$%&'*+-/=?^_\`{|}~`].map((c) => c.charCodeAt(0)));

function isAtext(c: number): boolean {
  // 8-bit octets count as atext (RFC 6532), as in Dovecot's table
  return (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c >= 0x80 || ATEXT_SPECIALS.has(c);
}

function maybeQuoted(out: number[], s: Buffer, escapeDot: boolean): void {
  let plain = true;
  for (const c of s) {
    if (!isAtext(c) && (escapeDot || c !== 0x2e)) {
      plain = false;
      break;
    }
  }
  if (plain) {
    for (const c of s) out.push(c);
    return;
  }
  out.push(0x22);
  for (const c of s) {
    if (c === 0x22 || c === 0x5c || c === 0x27) out.push(0x5c);
    out.push(c);
  }
  out.push(0x22);
}

function hasEncodedWord(s: Buffer): boolean {
  return s.includes('=?');
}

function phrase(out: number[], s: Buffer): void {
  // RFC 2047 section 5: an encoded word may not stand in a quoted string, so such a name stays as it is
  if (hasEncodedWord(s)) for (const c of s) out.push(c);
  else maybeQuoted(out, s, true);
}

function append(out: number[], text: string): void {
  for (let i = 0; i < text.length; i++) out.push(text.charCodeAt(i));
}

/** The addresses written as one string of octets (encoded words and 8-bit text not yet decoded). */
export function writeAddresses(addrs: readonly Address[]): Buffer {
  const out: number[] = [];
  if (addrs.length === 0) return Buffer.alloc(0);
  if (addrs[0].mailbox === null && addrs[0].domain === null && addrs.length === 1) return Buffer.from('<>');
  let first = true;
  let inGroup = false;
  for (const a of addrs) {
    if (first) first = false;
    else append(out, ', ');
    if (a.domain === null) {
      if (!inGroup) {
        // a group's start: its name in the mailbox slot
        if (a.mailbox !== null && a.mailbox.length > 0) phrase(out, a.mailbox);
        else append(out, '""');
        append(out, ': ');
        first = true;
      } else {
        // a group's end: the ", " (or the space after ":") before it goes
        if (out.length >= 2 && out[out.length - 2] === 0x2c && out[out.length - 1] === 0x20) out.length -= 2;
        else if (out.length >= 2 && out[out.length - 2] === 0x3a && out[out.length - 1] === 0x20) out.length -= 1;
        out.push(0x3b);
      }
      inGroup = !inGroup;
      continue;
    }
    const mailbox = a.mailbox ?? Buffer.alloc(0);
    if (a.name !== null) phrase(out, a.name);
    if (a.route !== null || mailbox.length > 0 || a.domain.length > 0) {
      if (a.name !== null && a.name.length > 0) out.push(0x20);
      out.push(0x3c);
      if (a.route !== null) {
        for (const c of a.route) out.push(c);
        out.push(0x3a);
      }
      if (mailbox.length === 0) append(out, '""');
      else maybeQuoted(out, mailbox, false);
      if (a.domain.length > 0) {
        out.push(0x40);
        for (const c of a.domain) out.push(c);
      }
      out.push(0x3e);
    }
  }
  return Buffer.from(out);
}

/**
 * The texts FROM/TO/CC/BCC search in an address field's value (its first MAX_PARSED_VALUE octets, as ENVELOPE):
 * one per address and one per group name, each written as writeAddresses writes it, decoded as a header
 * value is (mime-text.ts searchFieldText) and folded (casemap.ts).
 */
export function addressSearchTexts(value: Buffer): string[] {
  const addrs = parseAddresses(value.length > MAX_PARSED_VALUE ? value.subarray(0, MAX_PARSED_VALUE) : value) ?? [];
  if (addrs.length === 1 && addrs[0].mailbox === null && addrs[0].domain === null) return ['<>'];
  const out: string[] = [];
  let inGroup = false;
  for (let i = 0; i < addrs.length; i++) {
    const a = addrs[i];
    let written: Buffer;
    if (a.domain !== null) written = writeAddresses([a]);
    else {
      inGroup = !inGroup;
      if (!inGroup) continue; // a group's end
      const end = addrs[i + 1];
      const empty = end === undefined || (end.domain === null && end.mailbox === null);
      const group = writeAddresses([a, { name: null, route: null, mailbox: null, domain: null }]); // "name:;"
      written = empty ? group : group.subarray(0, group.length - 1);
    }
    out.push(casemap(searchFieldText(written)));
  }
  return out;
}
