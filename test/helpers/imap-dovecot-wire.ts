// Reading IMAP answers for test/interop/imap-dovecot.test.ts, where the same commands go to Postern and to a real
// Dovecot 2.3 and their answers are compared. Answers come from RawImap (test/helpers/imap-client.ts)
// as latin1 strings with literals inline ("{n}\r\n" + n octets). What is normalised here, and why:
//
//  - strings: a string may be quoted on one side and a literal ({n}) or literal8 (~{n}, BINARY) on the
//    other - a wire choice (RFC 9051 section 4.3, RFC 3516 section 4), so they are compared by their
//    content (canonical()); parentheses, spaces, atoms and NIL stay as they were;
//  - the order of FETCH items within one FETCH response (RFC 9051 section 7.5.2 fixes none);
//  - \Recent in FLAGS: Dovecot gives it to the first session that sees a message, Postern keeps none
//    (README: "\Recent counts (always 0 ...)"); RFC 9051 dropped \Recent altogether;
//  - flags are compared as sets (RFC 9051 section 2.3.2 gives them no order);
//  - the human-readable text after a response code (RFC 9051 section 7.1: the text is for humans).
//
// Mailbox names in LIST/LSUB are astrings (RFC 3501 section 9): an atom on one side may be a quoted
// string on the other, so they are compared by their content as well.

/** The end (exclusive) of the IMAP value that starts at `pos` in `s`. */
export function valueEnd(s: string, pos: number): number {
  const c = s[pos];
  if (c === '"') {
    let i = pos + 1;
    while (i < s.length && s[i] !== '"') i += s[i] === '\\' ? 2 : 1;
    return i + 1;
  }
  if (c === '{' || (c === '~' && s[pos + 1] === '{')) {
    const close = s.indexOf('}', pos);
    const n = Number(s.slice(s.indexOf('{', pos) + 1, close).replace('+', ''));
    return close + 3 + n;
  }
  if (c === '(') {
    let i = pos + 1;
    while (i < s.length && s[i] !== ')') {
      if (s[i] === ' ') i++;
      else i = valueEnd(s, i);
    }
    return i + 1;
  }
  // an atom, NIL, a number, or a FETCH item name with [section] and <partial> (spaces inside brackets)
  let i = pos;
  let depth = 0;
  while (i < s.length) {
    const ch = s[i];
    if (ch === '[') depth++;
    else if (ch === ']') depth--;
    else if (depth === 0 && (ch === ' ' || ch === ')' || ch === '(')) break;
    else if (depth > 0 && ch === '"') {
      i = valueEnd(s, i);
      continue;
    }
    i++;
  }
  return i;
}

/** A value with every string in one form (JSON of its latin1 text), whatever form it came in. */
export function canonical(s: string): string {
  let out = '';
  for (let pos = 0; pos < s.length; ) {
    const c = s[pos];
    if (c === '"' || c === '{' || (c === '~' && s[pos + 1] === '{')) {
      const end = valueEnd(s, pos);
      out += JSON.stringify(stringValue(s.slice(pos, end)));
      pos = end;
    } else {
      out += c;
      pos++;
    }
  }
  return out;
}

/** The content of a quoted string, a literal or a literal8 (an atom as it is). */
export function stringValue(token: string): string {
  if (token.startsWith('"')) return token.slice(1, -1).replace(/\\(.)/g, '$1');
  const m = /^~?\{(\d+)\+?\}\r\n/.exec(token);
  if (m) return token.slice(m[0].length, m[0].length + Number(m[1]));
  return token;
}

export interface FetchResponse {
  seq: number;
  /** Item name (upper case) -> its value as sent. */
  items: Map<string, string>;
}

/** Parses "* n FETCH (NAME value NAME value ...)"; null for any other response. */
export function parseFetch(response: string): FetchResponse | null {
  const m = /^\* (\d+) FETCH \(/.exec(response);
  if (!m) return null;
  const items = new Map<string, string>();
  let pos = m[0].length;
  while (pos < response.length && response[pos] !== ')') {
    const nameEnd = valueEnd(response, pos);
    const name = response.slice(pos, nameEnd).toUpperCase();
    const end = valueEnd(response, nameEnd + 1);
    items.set(name, response.slice(nameEnd + 1, end));
    pos = response[end] === ' ' ? end + 1 : end;
  }
  return { seq: Number(m[1]), items };
}

/** The flags of a FLAGS value "(\Seen $Work)", as a sorted list without \Recent. */
export function flagList(value: string): string[] {
  return value
    .replace(/^\(|\)$/g, '')
    .split(' ')
    .filter((f) => f !== '' && f.toLowerCase() !== '\\recent')
    .sort();
}

/** Every FETCH response of an answer, items normalised: FLAGS as sorted sets, strings by content. */
export function fetches(untagged: string[]): { seq: number; items: Record<string, string> }[] {
  const out: { seq: number; items: Record<string, string> }[] = [];
  for (const line of untagged) {
    const f = parseFetch(line);
    if (!f) continue;
    const items: Record<string, string> = {};
    for (const [name, value] of [...f.items].sort(([a], [b]) => a.localeCompare(b))) {
      items[name] = name === 'FLAGS' ? `(${flagList(value).join(' ')})` : canonical(value);
    }
    out.push({ seq: f.seq, items });
  }
  return out;
}

/** "* SEARCH 1 2 3" -> [1, 2, 3] (sorted: RFC 9051 gives the hits no order). */
export function searchHits(untagged: string[]): number[] | null {
  const line = untagged.find((l) => /^\* SEARCH\b/i.test(l));
  if (line === undefined) return null;
  return line
    .slice('* SEARCH'.length)
    .trim()
    .split(' ')
    .filter((t) => t !== '')
    .map(Number)
    .sort((a, b) => a - b);
}

export interface ListEntry {
  attributes: string[];
  delimiter: string;
  /** The name as sent on the wire (modified UTF-7 for IMAP4rev1), by content. */
  name: string;
}

/** "* LIST (\HasNoChildren) "/" INBOX" (or LSUB) -> its parts; attributes sorted, lower-cased. */
export function parseList(line: string, kind = 'LIST'): ListEntry | null {
  const head = `* ${kind} `;
  if (!line.toUpperCase().startsWith(head)) return null;
  let pos = head.length;
  const attrEnd = valueEnd(line, pos);
  const attributes = line
    .slice(pos + 1, attrEnd - 1)
    .split(' ')
    .filter((a) => a !== '')
    .map((a) => a.toLowerCase())
    .sort();
  pos = attrEnd + 1;
  const delimEnd = valueEnd(line, pos);
  const delimiter = stringValue(line.slice(pos, delimEnd));
  pos = delimEnd + 1;
  const nameEnd = valueEnd(line, pos);
  return { attributes, delimiter, name: stringValue(line.slice(pos, nameEnd)) };
}

/** The untagged status responses of a SELECT, by what they say. */
export interface SelectSummary {
  exists: number;
  uidValidity: number;
  uidNext: number;
  unseen: number | null;
  flags: string[];
  /** PERMANENTFLAGS without keywords: the system flags and \* (the keywords in use may differ). */
  permanentFlags: string[];
  /** "OK [READ-WRITE]" or "OK [READ-ONLY]": the tagged status and code, without its text. */
  tagged: string;
}

export function selectSummary(answer: { untagged: string[]; tagged: string }): SelectSummary {
  const code = (name: string): string | null => {
    for (const l of answer.untagged) {
      const m = new RegExp(`^\\* OK \\[${name}(?: ([^\\]]*))?\\]`, 'i').exec(l);
      if (m) return m[1] ?? '';
    }
    return null;
  };
  const exists = answer.untagged.map((l) => /^\* (\d+) EXISTS$/i.exec(l)).find((m) => m);
  const flags = answer.untagged.find((l) => /^\* FLAGS /i.test(l));
  const permanent = code('PERMANENTFLAGS');
  const unseen = code('UNSEEN');
  return {
    exists: exists ? Number(exists[1]) : -1,
    uidValidity: Number(code('UIDVALIDITY')),
    uidNext: Number(code('UIDNEXT')),
    unseen: unseen === null ? null : Number(unseen),
    flags: flags ? flagList(flags.slice('* FLAGS '.length)) : [],
    permanentFlags: permanent === null ? [] : flagList(permanent).filter((f) => f.startsWith('\\')),
    tagged: /^\S+ (\w+(?: \[[^\]]*\])?)/.exec(answer.tagged)?.[1] ?? answer.tagged,
  };
}
