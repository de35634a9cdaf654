// ManageSieve's side of the wire (RFC 5804 section 4): strings as the server sends them, quoted or as a
// literal by Dovecot's rules (Pigeonhole's managesieve-quote.c: a quoted string unless the text holds a CR
// or LF, then a literal {n}; in answer texts runs of blanks are folded into one space), the OK/NO/BYE
// answers with their response codes, and the arguments of a client's command (atoms, numbers, quoted
// strings, literals {n} and {n+}) with the parser errors Pigeonhole gives.

/** The response codes of RFC 5804 section 1.3 (QUOTA/..., TAG, WARNINGS, ...), as sent in "(...)". */
export type ResponseCode =
  | 'AUTH-TOO-WEAK'
  | 'ENCRYPT-NEEDED'
  | 'QUOTA'
  | 'QUOTA/MAXSCRIPTS'
  | 'QUOTA/MAXSIZE'
  | 'QUOTA/MAXSTORAGE'
  | 'REFERRAL'
  | 'SASL'
  | 'TRANSITION-NEEDED'
  | 'TRYLATER'
  | 'ACTIVE'
  | 'NONEXISTENT'
  | 'ALREADYEXISTS'
  | 'TAG'
  | 'WARNINGS';

/**
 * `value` as a ManageSieve string: "quoted" (with \" and \\), or {n} CRLF and the octets when it holds a CR
 * or LF. `foldBlanks` (answer texts): tabs become spaces, a run of blanks one space, and leading blanks go.
 */
export function quoteString(value: string | Buffer, foldBlanks = false): string {
  let text = typeof value === 'string' ? value : value.toString('utf8');
  if (foldBlanks) text = text.replace(/\t/g, ' ').replace(/(^|[ \r\n]) +/g, '$1');
  if (/[\r\n]/.test(text)) return `{${Buffer.byteLength(text)}}\r\n${text}`;
  return `"${text.replace(/["\\]/g, '\\$&')}"`;
}

/**
 * A name the client sent, as an answer's text quotes it: UTF-8 as it is (names are UTF-8, RFC 5804 section 1.6),
 * a control character (a name that can never be valid may hold one) as \xNN, so that no answer carries one.
 */
export function shownName(name: string): string {
  return name.replace(/[\x00-\x1f\x7f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

/** One answer line (RFC 5804 section 4): OK, NO or BYE, an optional (CODE ...), and the text as a string. */
export function answerLine(status: 'OK' | 'NO' | 'BYE', code: string | null, text: string | null): string {
  let line = status;
  if (code) line += ` (${code})`;
  if (text !== null) line += ` ${quoteString(text, true)}`;
  return line;
}

/** One argument of a command: an atom (a verb, a number, ACTIVE) or a string (quoted or a literal). */
export type Arg = { readonly kind: 'atom'; readonly text: string } | { readonly kind: 'string'; readonly bytes: Buffer };

/** A command the parser refused, with Pigeonhole's words (answered "Error in MANAGESIEVE command VERB: ..."). */
export class ParseError extends Error {}

// Pigeonhole's IS_ATOM_SPECIAL: ( ) { SP CTL % * " \ (and 8-bit octets are refused apart).
const ATOM_SPECIAL = /[(){ \x00-\x1f\x7f%*"\\]/;

/** A piece of a command: text from a line (without CRLF, without the "{n}" of a literal after it), or a literal's octets. */
export type Part = { readonly kind: 'text'; readonly bytes: Buffer } | { readonly kind: 'literal'; readonly bytes: Buffer };

/** The arguments in `parts` (the verb and what follows it), in order. */
export function parseArgs(parts: readonly Part[]): Arg[] {
  const args: Arg[] = [];
  for (const part of parts) {
    if (part.kind === 'literal') {
      if (!isUtf8(part.bytes)) throw new ParseError('Invalid UTF-8 character in literal string.');
      args.push({ kind: 'string', bytes: part.bytes });
      continue;
    }
    const b = part.bytes;
    let i = 0;
    while (i < b.length) {
      if (b[i] === 0x20) {
        i++;
        continue;
      }
      if (b[i] === 0x22) {
        const { bytes, end } = quoted(b, i + 1);
        args.push({ kind: 'string', bytes });
        i = end;
        continue;
      }
      if (b[i] === 0x7b) throw new ParseError('Invalid literal size'); // a "{" not announcing a literal at the line's end
      let end = i;
      while (end < b.length && b[end] !== 0x20) {
        if (b[end] >= 0x80) throw new ParseError('8bit data in atom');
        if (ATOM_SPECIAL.test(String.fromCharCode(b[end]))) throw new ParseError('Invalid characters in atom');
        end++;
      }
      args.push({ kind: 'atom', text: b.subarray(i, end).toString('latin1') });
      i = end;
    }
  }
  return args;
}

/** A quoted string from `start` (after its opening quote): its octets unescaped and where it ends (after the closing quote). */
function quoted(b: Buffer, start: number): { bytes: Buffer; end: number } {
  const out: number[] = [];
  for (let i = start; i < b.length; i++) {
    const c = b[i];
    if (c === 0x22) {
      const bytes = Buffer.from(out);
      if (!isUtf8(bytes)) throw new ParseError('Invalid UTF-8 character in quoted-string.');
      return { bytes, end: i + 1 };
    }
    if (c === 0x5c) {
      const next = b[i + 1];
      if (next !== 0x22 && next !== 0x5c) throw new ParseError('Escaped quoted-string character is not a QUOTED-SPECIAL.');
      out.push(next);
      i++;
      continue;
    }
    if (c === 0) throw new ParseError('String contains invalid character.');
    out.push(c);
  }
  throw new ParseError('String contains invalid character.'); // the line's end (a CR or LF) inside the string
}

const decoder = new TextDecoder('utf-8', { fatal: true });

function isUtf8(bytes: Buffer): boolean {
  try {
    decoder.decode(bytes);
    return true;
  } catch {
    return false;
  }
}

/** The literal announced at the end of a line ("{n}" or "{n+}"): where it starts and its size. */
export function literalAt(text: Buffer): { at: number; size: number } | null {
  if (text.length === 0 || text[text.length - 1] !== 0x7d) return null; // "}"
  const tail = text.subarray(Math.max(0, text.length - 24)).toString('latin1');
  const m = /\{(\d{1,20})\+?\}$/.exec(tail);
  if (!m) return null;
  return { at: text.length - m[0].length, size: Number(m[1]) };
}
