// The Content-* fields of one part (RFC 2045 sections 5-8, RFC 2183 disposition, RFC 3282 language,
// RFC 2557 location, RFC 1864 MD5) as BODYSTRUCTURE reports them. The first field of each kind counts;
// values keep the case they were written in; broken fields give what Dovecot 2.3 gives (a type without
// subtype reads as subtype "", a broken Content-Type keeps its type but loses its parameters).
import type { HeaderField } from './header.js';
import { type Param, parseParams } from './rfc2231.js';
import { Lexer } from './rfc822-lexer.js';

export interface PartData {
  /** type as written; null without a (MIME) Content-Type */
  contentType: Buffer | null;
  contentSubtype: Buffer;
  /** false when the Content-Type was broken before its parameters */
  typeParsed: boolean;
  params: Param[];
  encoding: Buffer | null;
  id: Buffer | null;
  description: Buffer | null;
  md5: Buffer | null;
  location: Buffer | null;
  disposition: Buffer | null;
  dispositionParams: Param[];
  language: Buffer[] | null;
}

/** Zero octets: nothing can be written into it, so every part may share it. */
const NO_OCTETS = Buffer.alloc(0);

function emptyData(): PartData {
  return {
    contentType: null,
    contentSubtype: NO_OCTETS,
    typeParsed: false,
    params: [],
    encoding: null,
    id: null,
    description: null,
    md5: null,
    location: null,
    disposition: null,
    dispositionParams: [],
    language: null,
  };
}

function parseContentType(d: PartData, value: Buffer): void {
  const lex = new Lexer(value);
  lex.skipLwsp();
  const out: number[] = [];
  const ret = lex.contentType(out);
  const s = Buffer.from(out);
  const slash = s.indexOf(0x2f);
  d.contentType = slash < 0 ? s : s.subarray(0, slash);
  d.contentSubtype = slash < 0 ? NO_OCTETS : s.subarray(slash + 1);
  if (ret < 0) return; // broken: the parameters are not read
  d.typeParsed = true;
  d.params = parseParams(lex);
}

function parseEncoding(d: PartData, value: Buffer): void {
  const lex = new Lexer(value);
  lex.skipLwsp();
  const out: number[] = [];
  if (lex.mimeToken(out) >= 0 && lex.skipLwsp() === 0 && out.length > 0) d.encoding = Buffer.from(out);
}

function parseDisposition(d: PartData, value: Buffer): void {
  const lex = new Lexer(value);
  lex.skipLwsp();
  const out: number[] = [];
  if (lex.mimeToken(out) < 0) return;
  d.disposition = Buffer.from(out);
  d.dispositionParams = parseParams(lex);
}

/** Content-Language: 1#Language-tag (RFC 3282 section 2). */
function parseLanguage(d: PartData, value: Buffer): void {
  const lex = new Lexer(value);
  const langs: Buffer[] = [];
  lex.skipLwsp();
  for (;;) {
    const out: number[] = [];
    if (lex.atom(out) < 0) break;
    langs.push(Buffer.from(out));
    if (lex.atEnd || lex.c() !== 0x2c) break;
    lex.pos++;
    lex.skipLwsp();
  }
  if (langs.length > 0) d.language = langs;
}

/** The part data of a header; `isMime` false: Content-* fields are ignored (RFC 2045 section 4). */
export function parsePartData(fields: HeaderField[], isMime: boolean): PartData {
  const d = emptyData();
  if (!isMime) return d;
  for (const f of fields) {
    if (!f.name.startsWith('content-')) continue;
    switch (f.name.slice(8)) {
      case 'type':
        if (d.contentType === null) parseContentType(d, f.value);
        break;
      case 'transfer-encoding':
        if (d.encoding === null) parseEncoding(d, f.value);
        break;
      case 'id':
        d.id ??= f.value;
        break;
      case 'md5':
        d.md5 ??= f.value;
        break;
      case 'description':
        d.description ??= f.value;
        break;
      case 'location':
        d.location ??= f.value;
        break;
      case 'language':
        if (d.language === null) parseLanguage(d, f.value);
        break;
      case 'disposition':
        // like Dovecot: a later field replaces a first one without parameters
        if (d.dispositionParams.length === 0) parseDisposition(d, f.value);
        break;
    }
  }
  return d;
}
