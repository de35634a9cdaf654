// Content-Type / Content-Disposition parameters (RFC 2045 section 5.1) with RFC 2231 continuations
// merged the way Dovecot 2.3 does (lib-mail rfc2231-parser): name*0, name*1... become one "name"
// (or "name*" when any piece is extended), values stay raw (charset'lang' prefix and %XX kept, a plain
// piece's "%" escaped as %25 when merged with extended ones); with a missing index the pieces stay apart.
// Hand-written: BODYSTRUCTURE shows these values, which must match Dovecot's byte for byte.
import type { Lexer } from './rfc822-lexer.js';

export type Param = [Buffer, Buffer];

interface Piece {
  key: string; // latin1 name before '*'
  value: Buffer;
  idx: number;
  extended: boolean;
}

function escapePercent(v: Buffer): Buffer {
  return Buffer.from(v.toString('latin1').replace(/%/g, '%25'), 'latin1');
}

/** Reads "; name=value" pairs from `lex` to its end. */
export function parseParams(lex: Lexer): Param[] {
  const result: Param[] = [];
  const pieces: Piece[] = [];
  let idx = 0; // like Dovecot, "name*" without a number keeps the previous piece's index
  for (;;) {
    const { ret, key, value } = lex.contentParam();
    if (ret === 0) break;
    if (ret < 0 || key === null || value === null) {
      if (lex.atEnd) break;
      lex.pos++;
      continue;
    }
    const k = key.toString('latin1');
    const star = k.indexOf('*');
    if (star >= 0) {
      let p = star;
      if (p + 1 < k.length) {
        p++;
        idx = 0;
        while (p < k.length && k[p] >= '0' && k[p] <= '9') idx = idx * 10 + (k.charCodeAt(p++) - 48);
      }
      let extended = false;
      if (k[p] === '*') {
        extended = true;
        p++;
      }
      if (p === k.length || (p === star && k.length === star + 1)) {
        pieces.push({ key: k.slice(0, star), value, idx, extended });
        continue;
      }
    }
    result.push([key, value]);
  }
  if (pieces.length === 0) return result;
  pieces.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : a.idx - b.idx));
  for (let i = 0; i < pieces.length; ) {
    let j = i;
    let ok = true;
    let anyExtended = false;
    for (let next = 0; j < pieces.length && pieces[j].key.toLowerCase() === pieces[i].key.toLowerCase(); j++, next++) {
      if (pieces[j].idx !== next) ok = false;
      if (pieces[j].extended) anyExtended = true;
    }
    if (!ok) {
      for (let m = i; m < j; m++) {
        const name = `${pieces[m].key}*${pieces[m].idx}${pieces[m].extended ? '*' : ''}`;
        result.push([Buffer.from(name, 'latin1'), pieces[m].value]);
      }
    } else {
      const parts: Buffer[] = [];
      if (!pieces[i].extended && anyExtended) parts.push(Buffer.from("''"));
      for (let m = i; m < j; m++) parts.push(!pieces[m].extended && anyExtended ? escapePercent(pieces[m].value) : pieces[m].value);
      result.push([Buffer.from(pieces[i].key + (anyExtended ? '*' : ''), 'latin1'), Buffer.concat(parts)]);
    }
    i = j;
  }
  return result;
}
