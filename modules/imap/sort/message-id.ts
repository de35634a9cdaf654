// Message-IDs as REFERENCES threading reads them (RFC 5256 section 4, step 1: "parse the Message-ID,
// References and In-Reply-To"), read the way Dovecot reads them so the threads are Dovecot's: the text
// between "<" and ">" with white space removed when it holds an "@" and no '"' or "(" (a quick scan that
// lets a domain literal through as written); otherwise a msg-id parsed properly (CFWS, a quoted or
// dot-atom left part, "@", a dot-atom right part). Text that is neither (no "@", garbage) is skipped and
// the next "<" tried.
import { Lexer } from '../../../mime/rfc822-lexer.js';

function slowId(value: Buffer, from: number): { id: string; next: number } | null {
  const lex = new Lexer(value, from);
  lex.skipLwsp();
  const out: number[] = [];
  const r = lex.c() === 0x22 ? lex.quotedString(out) : lex.dotAtom(out);
  if (r <= 0 || lex.c() !== 0x40) return null;
  out.push(0x40);
  lex.pos++;
  lex.skipLwsp();
  if (lex.dotAtom(out) <= 0 || lex.c() !== 0x3e) return null;
  return { id: Buffer.from(out).toString('latin1'), next: lex.pos + 1 };
}

/** Every message-id of a field's value, in order (References); the first is the Message-ID or In-Reply-To. */
export function messageIds(value: Buffer, max = Infinity): string[] {
  const ids: string[] = [];
  let pos = 0;
  while (ids.length < max) {
    const open = value.indexOf(0x3c, pos);
    if (open < 0) break;
    const from = open + 1;
    let p = from;
    let at = false;
    let stop = -1;
    for (; p < value.length; p++) {
      const c = value[p];
      if (c >= 0x41) continue;
      if (c === 0x40) at = true;
      if (c === 0x3e || c === 0x22 || c === 0x28 || c === 0x5b) {
        stop = c;
        break;
      }
      if (c === 0) break;
    }
    if (stop < 0) break; // the end of the value inside an id
    if (stop === 0x3e) {
      pos = p + 1;
      if (at) ids.push(value.toString('latin1', from, p).replace(/[ \t\r\n]/g, ''));
      continue;
    }
    const slow = slowId(value, from);
    if (slow) {
      ids.push(slow.id);
      pos = slow.next;
    } else pos = from;
  }
  return ids;
}
